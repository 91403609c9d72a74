// Start-up cost of `agenttrace run --policy P` before the agent starts (docs/benchmarks.md,
// "Start-up cost of run"): the benchmark policy of bench_record.sh (tests/bench/bench_policy.sh, 199
// rules), generated at build time, or the file named by $AGENTTRACE_BENCH_POLICY.
//  BM_StartupParse: ParsePolicy (YAML and validation).
//  BM_StartupCompile: CompiledPolicy::Compile for one session environment.
//  BM_StartupLandlockPlan: PlanLandlock (the kernel part of `--mode enforce`), file system not consulted.
//  BM_StartupRun: what `run --mode enforce` does with the policy before the agent starts: parse, plan
//    Landlock and compile the decider's policy (through one PolicyCache, as tools/cmd_run.cc does).
// Counter `regexes`: RE2 objects and sets the compiled policy holds (CompiledPolicy::regex_count).
// Run: build-dir/tests/bench/bench_startup --benchmark_filter=...
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "replayer/engine.h"
#include "replayer/landlock_plan.h"
#include "replayer/policy.h"

#ifndef AGENTTRACE_BENCH_POLICY_FILE
#error "AGENTTRACE_BENCH_POLICY_FILE must name the generated benchmark policy"
#endif

namespace agenttrace {
namespace {

const PathVars kVars{"/home/u/proj", "/home/u", "/tmp"};

const std::string& PolicyText() {
  static const std::string text = [] {
    const char* env = std::getenv("AGENTTRACE_BENCH_POLICY");
    std::ifstream in(env != nullptr && *env != 0 ? env : AGENTTRACE_BENCH_POLICY_FILE);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  return text;
}

void BM_StartupParse(benchmark::State& state) {
  size_t rules = 0;
  for (auto _ : state) {
    auto p = ParsePolicy(PolicyText(), "bench.yaml");
    if (!p.ok()) {
      state.SkipWithError(p.status().ToString().c_str());
      return;
    }
    rules = p->rules.size();
  }
  state.counters["rules"] = static_cast<double>(rules);
}
BENCHMARK(BM_StartupParse)->Unit(benchmark::kMillisecond);

void BM_StartupCompile(benchmark::State& state) {
  auto p = ParsePolicy(PolicyText(), "bench.yaml");
  if (!p.ok()) {
    state.SkipWithError(p.status().ToString().c_str());
    return;
  }
  size_t regexes = 0;
  for (auto _ : state) {
    auto cp = CompiledPolicy::Compile(*p, kVars);
    if (!cp.ok()) {
      state.SkipWithError(cp.status().ToString().c_str());
      return;
    }
    regexes = (*cp)->regex_count();
  }
  state.counters["regexes"] = static_cast<double>(regexes);
}
BENCHMARK(BM_StartupCompile)->Unit(benchmark::kMillisecond);

void BM_StartupLandlockPlan(benchmark::State& state) {
  auto p = ParsePolicy(PolicyText(), "bench.yaml");
  if (!p.ok()) {
    state.SkipWithError(p.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    PolicyCache cache(&*p);
    auto lp = PlanLandlock(*p, kVars, nullptr, &cache);
    if (!lp.ok()) {
      state.SkipWithError(lp.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(lp->plan);
  }
}
BENCHMARK(BM_StartupLandlockPlan)->Unit(benchmark::kMillisecond);

void BM_StartupRun(benchmark::State& state) {
  for (auto _ : state) {
    auto p = ParsePolicy(PolicyText(), "bench.yaml");
    if (!p.ok()) {
      state.SkipWithError(p.status().ToString().c_str());
      return;
    }
    PolicyCache cache(&*p);
    auto lp = PlanLandlock(*p, kVars, nullptr, &cache);
    auto cp = cache.Get(kVars);
    if (!lp.ok() || !cp.ok()) {
      state.SkipWithError("plan or compile failed");
      return;
    }
    benchmark::DoNotOptimize(*cp);
  }
}
BENCHMARK(BM_StartupRun)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace agenttrace

BENCHMARK_MAIN();
