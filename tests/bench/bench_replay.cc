// Replay throughput.
//  BM_EvaluateEvents: one core evaluating a realistic event mix against a policy of ~200 rules with
//    long path lists (plain, sequence and budget rules), in events/s.
//  BM_ReplayStore: the whole replay of SESSIONS x EVENTS stored events (default 1000 x 10000; override
//    with AGENTTRACE_BENCH_SESSIONS / AGENTTRACE_BENCH_EVENTS) read from an LMDB store with
//    decompression and hash checks, on AGENTTRACE_BENCH_THREADS threads (default 2). The store is
//    written once, in a temporary directory, before timing. Reports wall time, and the process CPU
//    time of the replay (replay_cpu_s, events_per_cpu_s: the per-core rate, less sensitive to load).
//  BM_DecideLatency/R: request-time decisions (`agenttrace run`): LiveDecider::Decide on the same policy
//    and event mix, one request at a time, with (R=1) or without (R=0) building the "decision" event
//    that is recorded; counters p50_us and p99_us of single decisions (clock_gettime around each).
//  BM_DecideLatencyDistinct/C: LiveDecider::Decide without recording on requests whose paths the
//    session has not seen (a git-like mix), so the evaluator's per-path caches never hit; C=1 evicts
//    the CPU caches before each request. Counters p50_us, p99_us, mean_us.
//  BM_DecideRecordPath/W/C: the whole per-request path the tracer pays under `agenttrace run`: the
//    decision, its "decision" event, and handing that event to a real AsyncSessionWriter on a
//    temporary store (tracer_us per request, timed around each; tracer_p50_us its median), plus the
//    writer thread's CPU per request (writer_us: encoding, compression, LMDB commits). W=0 the event
//    mix above, W=1 loopback connects (tcpstorm); C=1 evicts the caches before each request, as the
//    tracer's sleep in wait4 does.
// Run: build-dir/tests/bench/bench_replay --benchmark_filter=...
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "format/store.h"
#include "replayer/engine.h"
#include "replayer/live_decider.h"
#include "replayer/policy.h"
#include "replayer/replay.h"

namespace agenttrace {
namespace {

std::string RealisticPolicy() {
  std::string y = "version: 1\ndefault: deny\nsecrets: [\"~/.ssh/**\", \"~/.aws/**\", \"**/.env\", \"**/id_rsa*\"]\n";
  y += "lists:\n  allowed_hosts: [\"10.0.0.0/8:443\", \"127.0.0.1\", \"[::1]:8000-8999\"]\n  sys_paths:\n";
  for (int i = 0; i < 300; ++i) y += "    - \"/usr/share/pkg" + std::to_string(i) + "/**\"\n";
  y += "rules:\n";
  y += "  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: [\"${workspace}/**\", \"${tmp}/**\"]}\n";
  y += "  - {id: sys, decision: allow, class: [file.read, exec], paths: [\"/usr/**\", \"/etc/**\", \"/lib/**\", \"/proc/**\"]}\n";
  y += "  - {id: sys-list, decision: allow, class: file.read, paths: $sys_paths}\n";
  y += "  - {id: net, decision: allow, class: net.connect, hosts: $allowed_hosts}\n";
  y += "  - {id: secrets, decision: deny, class: secret.read}\n";
  for (int i = 0; i < 180; ++i) {
    std::string n = std::to_string(i);
    switch (i % 6) {
      case 0: y += "  - {id: deny-dir" + n + ", decision: deny, class: [file.read, file.write], paths: [\"/srv/data" + n + "/**\", \"~/private" + n + "/**/*.{db,sqlite}\"]}\n"; break;
      case 1: y += "  - {id: ask-git" + n + ", decision: ask, class: file.write, paths: [\"${workspace}/.git/hooks" + n + "/*\"]}\n"; break;
      case 2: y += "  - {id: exec" + n + ", decision: ask, class: exec, paths: [\"**/tool" + n + "\"], argv: [\"* --danger" + n + "*\"]}\n"; break;
      case 3: y += "  - {id: host" + n + ", decision: deny, class: net.connect, hosts: [\"192.0." + std::to_string(i % 250) + ".0/24\"]}\n"; break;
      case 4: y += "  - {id: tool" + n + ", decision: deny, class: tool.call, tools: [\"write_*" + n + "\"], args: [{pointer: /path, glob: \"/etc/**\"}]}\n"; break;
      case 5: y += "  - {id: cfg" + n + ", decision: ask, class: file.write, paths: [\"${home}/.config/app" + n + "/**\"]}\n"; break;
    }
  }
  y += "  - id: exfil\n    decision: deny\n    sequence:\n      steps: [{class: secret.read}, {class: net.connect, not_hosts: $allowed_hosts}]\n      within: {events: 100}\n";
  y += "  - id: write-run\n    decision: deny\n    sequence:\n      steps: [{class: file.write, paths: [\"${tmp}/**\"]}, {class: exec}]\n      same_resource: true\n";
  y += "  - {id: exec-budget, decision: ask, class: exec, budget: {max: 100000, per: {seconds: 60}}}\n";
  return y;
}

std::vector<Event> EventMix(size_t n) {
  std::vector<Event> out;
  out.reserve(n);
  const char* reads[] = {"/usr/lib/python3.11/os.py", "/home/u/proj/src/module/file.py", "/etc/ld.so.cache",
                         "/usr/share/pkg42/data/table.bin", "/home/u/proj/tests/test_parser.py",
                         "/proc/self/status", "/lib/x86_64-linux-gnu/libc.so.6", "/home/u/proj/README.md"};
  for (size_t i = 0; i < n; ++i) {
    Event e;
    e.seq = i;
    e.mono_ns = static_cast<int64_t>(i) * 50000;
    e.pid = 1000 + static_cast<int>(i % 7);
    switch (i % 16) {
      case 10:
        e.kind = EventKind::kFileOpen;
        e.flags = O_WRONLY | O_CREAT | O_TRUNC;
        e.path = "/home/u/proj/build/obj" + std::to_string(i % 100) + ".o";
        e.result = 4;
        break;
      case 11:
        e.kind = EventKind::kExec;
        e.path = "/usr/bin/cc";
        e.argv = {"cc", "-c", "x.c", "-o", "x.o"};
        break;
      case 12:
        e.kind = EventKind::kNetConnect;
        e.family = AF_INET;
        e.address = "10.1.2.3";
        e.port = 443;
        break;
      case 13:
        e.kind = EventKind::kProcExit;
        break;
      default:
        e.kind = EventKind::kFileOpen;
        e.flags = O_RDONLY;
        e.path = reads[i % 8];
        e.result = 3;
        break;
    }
    out.push_back(std::move(e));
  }
  return out;
}

void BM_EvaluateEvents(benchmark::State& state) {
  static const std::string yaml = RealisticPolicy();
  auto policy = ParsePolicy(yaml, "bench.yaml");
  if (!policy.ok()) {
    state.SkipWithError(policy.status().ToString().c_str());
    return;
  }
  auto cp = CompiledPolicy::Compile(*policy, PathVars{"/home/u/proj", "/home/u", "/tmp"});
  if (!cp.ok()) {
    state.SkipWithError(cp.status().ToString().c_str());
    return;
  }
  std::vector<Event> events = EventMix(1 << 16);
  SessionEvaluator ev(*cp);
  uint64_t denies = 0;
  for (auto _ : state) {
    for (const Event& e : events) denies += ev.Evaluate(e).decision == Decision::kDeny;
  }
  benchmark::DoNotOptimize(denies);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.size()));
  state.counters["rules"] = static_cast<double>(policy->rules.size());
}
BENCHMARK(BM_EvaluateEvents)->Unit(benchmark::kMillisecond);

// Seconds `f` takes, on the monotonic clock (one request's latency).
template <typename F>
double Timed(F&& f) {
  timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  f();
  clock_gettime(CLOCK_MONOTONIC, &b);
  return static_cast<double>(b.tv_sec - a.tv_sec) + static_cast<double>(b.tv_nsec - a.tv_nsec) / 1e9;
}

// The p-quantile of `sorted` (0 when empty).
double Quantile(const std::vector<double>& sorted, double p) {
  return sorted.empty() ? 0.0 : sorted[static_cast<size_t>(p * static_cast<double>(sorted.size() - 1))];
}

void BM_DecideLatency(benchmark::State& state) {
  static const std::string yaml = RealisticPolicy();
  auto policy = ParsePolicy(yaml, "bench.yaml");
  if (!policy.ok()) {
    state.SkipWithError(policy.status().ToString().c_str());
    return;
  }
  const bool record = state.range(0) != 0;
  const double rules = static_cast<double>(policy->rules.size());
  uint64_t recorded_bytes = 0;
  LiveDeciderOptions o;
  if (record) o.record = [&recorded_bytes](const Event& e) { recorded_bytes += e.json.size(); };
  auto decider = LiveDecider::Create(std::make_shared<const Policy>(std::move(*policy)),
                                     PathVars{"/home/u/proj", "/home/u", "/tmp"}, std::move(o));
  if (!decider.ok()) {
    state.SkipWithError(decider.status().ToString().c_str());
    return;
  }
  std::vector<Event> events = EventMix(1 << 14);
  for (Event& e : events) e.result = 0;  // requests: the result is not known yet
  std::vector<double> lat;
  lat.reserve(events.size() * 8);
  uint64_t denies = 0;
  for (auto _ : state) {
    for (const Event& e : events) {
      const double sec = Timed([&] { denies += (*decider)->Decide(e).verdict == RequestVerdict::kDeny; });
      if (lat.size() < lat.capacity()) lat.push_back(sec * 1e6);
    }
  }
  benchmark::DoNotOptimize(denies);
  std::sort(lat.begin(), lat.end());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.size()));
  state.counters["p50_us"] = Quantile(lat, 0.50);
  state.counters["p99_us"] = Quantile(lat, 0.99);
  state.counters["p999_us"] = Quantile(lat, 0.999);
  state.counters["rules"] = rules;
  state.counters["bytes_per_decision"] =
      record ? static_cast<double>(recorded_bytes) / static_cast<double>(state.iterations() * events.size()) : 0;
}
BENCHMARK(BM_DecideLatency)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Request number `i` of a git-like run on a repository (the profile of `run` that
// BM_DecideLatencyDistinct stands for), written into *e (its strings' capacity reused, as the tracer
// reuses its request): nearly every path is new to the session (objects, refs, work-tree files), with
// system reads, writes, deletes and execs between them.
void DistinctPathRequest(uint64_t i, Event* e) {
  char hex[48];
  const uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull;
  snprintf(hex, sizeof hex, "%02x/%016llx%016llx", static_cast<unsigned>(h >> 56), static_cast<unsigned long long>(h),
           static_cast<unsigned long long>(h * 31 + i));
  e->seq = i;
  e->mono_ns = static_cast<int64_t>(i) * 50000;
  e->pid = e->tid = 1000 + static_cast<int>(i % 3);
  e->kind = EventKind::kFileOpen;
  e->flags = O_RDONLY;
  e->result = 0;
  e->argv.clear();
  switch (i % 20) {
    case 0:
      e->flags = O_WRONLY | O_CREAT | O_EXCL;
      e->path.assign("/home/u/proj/.git/objects/").append(hex);
      break;
    case 1:
      e->kind = EventKind::kFileDelete;
      e->path.assign("/home/u/proj/.git/objects/tmp_obj_").append(std::to_string(i));
      break;
    case 2:
      e->path.assign("/usr/lib/git-core/templates/file").append(std::to_string(i));
      break;
    case 3:
      e->path.assign("/home/u/proj/src/dir").append(std::to_string(i % 97)).append("/file").append(std::to_string(i));
      break;
    case 4:
      e->kind = EventKind::kExec;
      e->path.assign("/usr/bin/git");
      e->argv = {"git", "cat-file", "-p", std::string(hex, 2)};
      break;
    case 5:
      e->path.assign("/home/u/proj/.git/refs/heads/branch").append(std::to_string(i));
      break;
    default:
      e->path.assign("/home/u/proj/.git/objects/").append(hex);
      break;
  }
}

// Request-time decisions on paths the session has not seen (DistinctPathRequest), without recording:
// the evaluator's own cost when its per-path caches cannot help. C=1 evicts the CPU caches before each
// request, as the tracer's sleep in wait4 does. Counters as BM_DecideLatency's.
void BM_DecideLatencyDistinct(benchmark::State& state) {
  static const std::string yaml = RealisticPolicy();
  auto policy = ParsePolicy(yaml, "bench.yaml");
  if (!policy.ok()) {
    state.SkipWithError(policy.status().ToString().c_str());
    return;
  }
  const bool cold = state.range(0) != 0;
  auto decider = LiveDecider::Create(std::make_shared<const Policy>(std::move(*policy)),
                                     PathVars{"/home/u/proj", "/home/u", "/tmp"}, LiveDeciderOptions{});
  if (!decider.ok()) {
    state.SkipWithError(decider.status().ToString().c_str());
    return;
  }
  std::vector<char> evict(cold ? 4u << 20 : 0);
  std::vector<double> lat;
  lat.reserve(1 << 18);
  uint64_t denies = 0;
  uint64_t next = 0;  // never repeats a path: the evaluator's caches cannot help
  Event e;
  for (auto _ : state) {
    for (int k = 0; k < 4096; ++k) {
      // The tracer sleeps (the caches go cold), then builds the request it decides (that is hot).
      for (size_t b = 0; b < evict.size(); b += 64) evict[b] = static_cast<char>(evict[b] + 1);
      DistinctPathRequest(next++, &e);
      const double sec = Timed([&] { denies += (*decider)->Decide(e).verdict == RequestVerdict::kDeny; });
      if (lat.size() < lat.capacity()) lat.push_back(sec * 1e6);
    }
  }
  benchmark::DoNotOptimize(denies);
  std::sort(lat.begin(), lat.end());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 4096));
  state.counters["p50_us"] = Quantile(lat, 0.50);
  state.counters["p99_us"] = Quantile(lat, 0.99);
  double sum = 0;
  for (double v : lat) sum += v;
  state.counters["mean_us"] = lat.empty() ? 0.0 : sum / static_cast<double>(lat.size());
}
BENCHMARK(BM_DecideLatencyDistinct)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// Requests like tcpstorm's (tests/bench/workloads/tcpstorm.c): loopback connects to one port.
std::vector<Event> LoopbackConnects(size_t n) {
  std::vector<Event> out(n);
  for (size_t i = 0; i < n; ++i) {
    Event& e = out[i];
    e.seq = i;
    e.mono_ns = static_cast<int64_t>(i) * 50000;
    e.wall_ns = 1'700'000'000'000'000'000 + e.mono_ns;
    e.pid = e.tid = 1000;
    e.kind = EventKind::kNetConnect;
    e.family = AF_INET;
    e.syscall_nr = 42;  // connect(2) on x86-64, as the tracer fills it in
    e.args = {4, 0x7ffc0000, 16, 0, 0, 0};
    e.address = "127.0.0.1";
    e.port = 40000;
  }
  return out;
}

void BM_DecideRecordPath(benchmark::State& state) {
  static const std::string yaml = RealisticPolicy();
  auto policy = ParsePolicy(yaml, "bench.yaml");
  if (!policy.ok()) {
    state.SkipWithError(policy.status().ToString().c_str());
    return;
  }
  const bool connects = state.range(0) != 0;
  const bool cold = state.range(1) != 0;
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("agenttrace-bench-decide-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = Store::Open(dir.string());
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  SessionInfo info;
  info.cwd = "/home/u/proj";
  info.home = "/home/u";
  info.tmp = "/tmp";
  auto session = (*store)->CreateSession(info);
  if (!session.ok()) {
    state.SkipWithError(session.status().ToString().c_str());
    return;
  }
  auto writer = AsyncSessionWriter::Start(std::move(*session));
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  AsyncSessionWriter* sink = writer->get();
  LiveDeciderOptions o;
  // As recorder/recorder.cc wires it for tools/cmd_run.cc: RecordingSink::AppendRedacted and
  // AppendRedactedDecision forward to the writer, whose thread builds the decision events.
  o.record = DecisionRecorder([sink](const Event& e) { (void)sink->Append(e); },
                              [sink](const Event& request, const RequestDecision& d, EnforceMode mode) {
                                (void)sink->AppendDecision(request, d, mode);
                              });
  auto decider = LiveDecider::Create(std::make_shared<const Policy>(std::move(*policy)),
                                     PathVars{"/home/u/proj", "/home/u", "/tmp"}, std::move(o));
  if (!decider.ok()) {
    state.SkipWithError(decider.status().ToString().c_str());
    return;
  }
  std::vector<Event> events = connects ? LoopbackConnects(1 << 12) : EventMix(1 << 12);
  for (Event& e : events) e.result = 0;  // requests: the result is not known yet
  // Cold: between two requests the tracer sleeps in wait4 while the kernel and the traced program run,
  // which evicts its caches; writing a buffer larger than the last-level cache stands for that.
  // 4 MiB: twice this VM's L2 (the L3 is shared and large; what the tracer loses between stops is
  // mostly its L1 and L2).
  std::vector<char> evict(cold ? 4u << 20 : 0);
  auto cpu = [](clockid_t c) {
    timespec ts;
    clock_gettime(c, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  const double process0 = cpu(CLOCK_PROCESS_CPUTIME_ID), thread0 = cpu(CLOCK_THREAD_CPUTIME_ID);
  uint64_t denies = 0;
  double total_s = 0;
  std::vector<double> lat;
  lat.reserve(events.size() * 16);
  RequestDecision d;  // reused, as the tracer's (recorder/tracer.cc DecideEntry)
  for (auto _ : state) {
    double iteration_s = 0;
    for (const Event& e : events) {
      for (size_t k = 0; k < evict.size(); k += 64) evict[k] = static_cast<char>(evict[k] + 1);
      const double s = Timed([&] {
        (*decider)->DecideInto(e, &d);
        denies += d.verdict == RequestVerdict::kDeny;
      });
      iteration_s += s;
      if (lat.size() < lat.capacity()) lat.push_back(s * 1e6);
    }
    state.SetIterationTime(iteration_s);
    total_s += iteration_s;
  }
  if (Status st = sink->Finish(0, 0); !st.ok()) state.SkipWithError(st.ToString().c_str());
  // The writer thread's CPU (the process's minus this thread's): encoding, compression, commits.
  const double writer_s = (cpu(CLOCK_PROCESS_CPUTIME_ID) - process0) - (cpu(CLOCK_THREAD_CPUTIME_ID) - thread0);
  benchmark::DoNotOptimize(denies);
  const double n = static_cast<double>(state.iterations() * events.size());
  state.SetItemsProcessed(static_cast<int64_t>(n));
  // The median is what a request costs when the thread is not preempted (the machine is shared); the
  // mean (manual time) includes preemptions.
  std::sort(lat.begin(), lat.end());
  state.counters["tracer_p50_us"] = Quantile(lat, 0.50);
  // The tail: preemptions, and waits for a writer that falls behind (requests here come back to back,
  // with none of the tracer's stops between them to give the writer thread time).
  state.counters["tracer_p99_us"] = Quantile(lat, 0.99);
  state.counters["tracer_us"] = total_s / n * 1e6;
  state.counters["writer_us"] = writer_s / n * 1e6;
  writer->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}
// Args: requests (0: the mix of BM_EvaluateEvents, 1: loopback connects), caches (0: warm, 1: evicted
// before each request).
BENCHMARK(BM_DecideRecordPath)
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({1, 0})
    ->Args({1, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

uint64_t EnvOr(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != 0 ? std::strtoull(v, nullptr, 10) : def;
}

void BM_ReplayStore(benchmark::State& state) {
  const uint64_t sessions = EnvOr("AGENTTRACE_BENCH_SESSIONS", 1000);
  const uint64_t events = EnvOr("AGENTTRACE_BENCH_EVENTS", 10000);
  const unsigned threads = static_cast<unsigned>(EnvOr("AGENTTRACE_BENCH_THREADS", 2));
  static const std::string yaml = RealisticPolicy();
  auto policy = ParsePolicy(yaml, "bench.yaml");
  if (!policy.ok()) {
    state.SkipWithError(policy.status().ToString().c_str());
    return;
  }
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("agenttrace-bench-replay-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::shared_ptr<Store> store;
  {
    auto s = Store::Open(dir.string());
    if (!s.ok()) {
      state.SkipWithError(s.status().ToString().c_str());
      return;
    }
    store = std::move(*s);
    std::vector<Event> mix = EventMix(events);
    for (uint64_t i = 0; i < sessions; ++i) {
      SessionInfo info;
      info.label = "bench-" + std::to_string(i % 10);
      info.cwd = "/home/u/proj";
      info.home = "/home/u";
      info.tmp = "/tmp";
      auto w = store->CreateSession(info);
      if (!w.ok()) {
        state.SkipWithError(w.status().ToString().c_str());
        return;
      }
      for (const Event& e : mix) {
        if (auto r = (*w)->Append(e); !r.ok()) {
          state.SkipWithError(r.status().ToString().c_str());
          return;
        }
      }
      if (Status st = (*w)->Finish(0, 0); !st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
    }
  }
  auto list = store->ListSessions();
  if (!list.ok()) {
    state.SkipWithError(list.status().ToString().c_str());
    return;
  }
  uint64_t total = 0;
  double cpu_s = 0;  // process CPU time (all threads) spent in RunReplay
  auto process_cpu = [] {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  };
  for (auto _ : state) {
    std::vector<SessionInput> inputs;
    for (const SessionInfo& info : *list) {
      SessionInput in;
      in.info = info;
      in.origin = "store";
      SessionId id = info.id;
      in.open = [store, id]() -> Result<std::unique_ptr<EventSource>> {
        auto r = store->OpenSession(id);
        if (!r.ok()) return r.status();
        return std::unique_ptr<EventSource>(std::move(*r));
      };
      inputs.push_back(std::move(in));
    }
    ReplayOptions opt;
    opt.threads = threads;
    opt.promotion = policy->promotion;
    const double cpu0 = process_cpu();
    auto report = RunReplay(*policy, std::move(inputs), opt);
    cpu_s += process_cpu() - cpu0;
    if (!report.ok() || !report->first_error.ok()) {
      state.SkipWithError("replay failed");
      break;
    }
    for (const SessionResult& s : report->sessions) total += s.events;
  }
  state.SetItemsProcessed(static_cast<int64_t>(total));
  state.counters["sessions"] = static_cast<double>(sessions);
  state.counters["events_per_session"] = static_cast<double>(events);
  state.counters["threads"] = threads;
  // CPU time is less distorted than wall time when other work shares the cores.
  state.counters["replay_cpu_s"] = cpu_s;
  state.counters["events_per_cpu_s"] = cpu_s > 0 ? static_cast<double>(total) / cpu_s : 0;
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ReplayStore)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace agenttrace

BENCHMARK_MAIN();
