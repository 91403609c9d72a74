// Cost of secret classification and redaction on the recorder's paths (docs/benchmarks.md, "Secret
// classification"): classifying an exec's environment (done for every exec), redacting an ordinary
// command line, and redacting a tool call's JSON arguments. Uses only SecretScanner's constructor and
// Redact, so that the same file builds against earlier versions of recorder/secrets.cc.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "recorder/secrets.h"

namespace agenttrace {
namespace {

// A developer machine's environment: mostly configuration, two credentials.
std::vector<std::string> Environment() {
  std::vector<std::string> env = {
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "HOME=/home/dev",
      "PWD=/workspace",
      "OLDPWD=/home/dev",
      "LANG=C.UTF-8",
      "TERM=xterm-256color",
      "SHELL=/bin/bash",
      "USER=dev",
      "AWS_REGION=us-east-1",
      "AWS_PROFILE=dev",
      "AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
      "AWS_DEFAULT_OUTPUT=json",
      "AWS_SDK_LOAD_CONFIG=1",
      "KUBECONFIG=/home/dev/.kube/config",
      "DOCKER_HOST=unix:///var/run/docker.sock",
      "CI=true",
      "GITHUB_ACTIONS=true",
      "GITHUB_SHA=0123456789abcdef0123456789abcdef01234567",
      "GITHUB_REF=refs/heads/main",
      "RUNNER_TEMP=/home/runner/_temp",
      "GIT_AUTHOR_NAME=Dev Example",
      "GIT_AUTHOR_EMAIL=dev@example.com",
      "SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent.1",
      "PGHOST=db",
      "PGPORT=5432",
      "PGUSER=app",
      "DATABASE_URL=postgres://localhost/dev",
      "REDIS_URL=redis://localhost:6379/0",
      "PASSWORD_MIN_LENGTH=12",
      "PIP_INDEX_URL=https://pypi.org/simple",
      "NPM_CONFIG_REGISTRY=https://registry.npmjs.org/",
      "NODE_OPTIONS=--max-old-space-size=4096",
      "NODE_ENV=production",
      "PYTHONPATH=/workspace/src",
      "LD_LIBRARY_PATH=/usr/local/cuda/lib64",
      "HF_HOME=/data/hf",
      "TOKENIZERS_PARALLELISM=false",
      "CUDA_VISIBLE_DEVICES=0,1",
      "WANDB_MODE=offline",
      "MLFLOW_TRACKING_URI=http://mlflow:5000",
      "OPENAI_BASE_URL=https://api.openai.com/v1",
      "XDG_RUNTIME_DIR=/run/user/1000",
      "XDG_CONFIG_HOME=/home/dev/.config",
      "EDITOR=vim",
      "PAGER=less",
      "LESS=-R",
      "HISTSIZE=10000",
      "COLORTERM=truecolor",
      "TZ=UTC",
      "GOPATH=/home/dev/go",
      "GOPROXY=https://proxy.golang.org,direct",
      "CARGO_HOME=/home/dev/.cargo",
      "RUSTUP_HOME=/home/dev/.rustup",
      "JAVA_HOME=/usr/lib/jvm/default",
      "MAVEN_OPTS=-Xmx2g",
      "VIRTUAL_ENV=/workspace/.venv",
      "CONDA_PREFIX=/opt/conda",
  };
  env.push_back(std::string("GITHUB_TOKEN=ghp_") + "BenchToken0123456789abcdefGHIJKLMNOP");
  env.push_back("DB_PASSWORD=correct-horse-battery");
  return env;
}

void BM_ClassifyEnvironment(benchmark::State& state) {
  Hash256 key{};
  const std::vector<std::string> env = Environment();
  for (auto _ : state) {
    SecretScanner scanner(key, env);
    benchmark::DoNotOptimize(scanner.secret_env_names().size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(env.size()));
}
BENCHMARK(BM_ClassifyEnvironment);

void BM_RedactCommandLine(benchmark::State& state) {
  Hash256 key{};
  SecretScanner scanner(key, Environment());
  const std::vector<std::string> argv = {"/usr/bin/python3",
                                         "-m",
                                         "pytest",
                                         "tests/test_tokenizer.py",
                                         "-k",
                                         "test_max_tokens",
                                         "--maxfail=1",
                                         "-q",
                                         "--cov=src",
                                         "--cov-report=term-missing",
                                         "--basetemp=/tmp/pytest-of-dev/pytest-42"};
  for (auto _ : state) {
    for (const std::string& a : argv) {
      std::string s = a;
      benchmark::DoNotOptimize(scanner.Redact(&s));
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(argv.size()));
}
BENCHMARK(BM_RedactCommandLine);

void BM_RedactToolJson(benchmark::State& state) {
  Hash256 key{};
  SecretScanner scanner(key, Environment());
  std::string json = "{\"path\":\"/workspace/src/app.py\",\"edits\":[";
  for (int i = 0; i < 40; ++i) {
    json +=
        "{\"old_text\":\"def handler(event, context):\\n    return process(event)\",\"new_text\":\"def handler(event, "
        "context):\\n    log.info('event %s', event)\\n    return process(event)\"},";
  }
  json += "{}]}";
  for (auto _ : state) {
    std::string s = json;
    benchmark::DoNotOptimize(scanner.Redact(&s));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_RedactToolJson);

}  // namespace
}  // namespace agenttrace

BENCHMARK_MAIN();
