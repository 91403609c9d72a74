// Trace store throughput and size on a realistic agent mix (tests/format/synthetic_events.h).
//
//   BM_StoreIngest   SessionWriter::Append of pre-built events + the commits (one core), counters:
//                    events_per_s, stored_bytes_per_event, raw_bytes_per_event.
//   BM_StoreReadBack SessionReader over the session written once: fetch, hash and chain checks,
//                    decompress, decode into Event; counter events_per_s.
//   BM_AsyncIngest   AsyncSessionWriter::Append from the benchmark thread (the encoding happens on
//                    the writer thread): producer_events_per_s is the producer-side cost.
// The store lives in a fresh directory under $TMPDIR (or /tmp), removed afterwards.
// Rates: events_per_s (and items_per_second) divide by the benchmark thread's CPU time, i.e. the
// throughput of one core, unaffected by other processes competing for the CPU; events_per_wall_s
// divides by elapsed time (includes fsync waits, and any CPU contention on the machine).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "format/store.h"
#include "tests/format/synthetic_events.h"

namespace agenttrace {
namespace {

constexpr size_t kEvents = 1'000'000;

const std::vector<Event>& Mix() {
  static const std::vector<Event> events = testing::AgentMix(42).Take(kEvents);
  return events;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agenttrace-bench-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

#define BENCH_CHECK(st)                                  \
  do {                                                   \
    if (!(st).ok()) {                                    \
      state.SkipWithError((st).ToString().c_str());      \
      return;                                            \
    }                                                    \
  } while (0)

void BM_StoreIngest(benchmark::State& state) {
  const auto& events = Mix();
  uint64_t stored = 0, raw = 0, n = 0;
  double wall = 0;
  for (auto _ : state) {
    state.PauseTiming();
    TempDir dir;
    auto store = Store::Open(dir.path());
    BENCH_CHECK(store.status());
    auto writer = (*store)->CreateSession(SessionInfo{});
    BENCH_CHECK(writer.status());
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& e : events) {
      auto r = (*writer)->Append(e);
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        return;
      }
    }
    BENCH_CHECK((*writer)->Flush());
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.PauseTiming();
    stored += (*writer)->info().stored_bytes;
    raw += (*writer)->info().raw_bytes;
    n += (*writer)->info().event_count;
    writer->reset();
    store->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["events_per_wall_s"] = static_cast<double>(n) / wall;
  state.counters["stored_bytes_per_event"] = static_cast<double>(stored) / static_cast<double>(n);
  state.counters["raw_bytes_per_event"] = static_cast<double>(raw) / static_cast<double>(n);
}
BENCHMARK(BM_StoreIngest)->Unit(benchmark::kMillisecond);

void BM_StoreReadBack(benchmark::State& state) {
  const auto& events = Mix();
  TempDir dir;
  auto store = Store::Open(dir.path());
  BENCH_CHECK(store.status());
  SessionId id;
  {
    auto writer = (*store)->CreateSession(SessionInfo{});
    BENCH_CHECK(writer.status());
    for (const auto& e : events) BENCH_CHECK((*writer)->Append(e).status());
    BENCH_CHECK((*writer)->Finish(0, 0));
    id = (*writer)->info().id;
  }
  uint64_t n = 0;
  double wall = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto reader = (*store)->OpenSession(id);
    BENCH_CHECK(reader.status());
    uint64_t got = 0;
    for (;;) {
      auto e = (*reader)->Next();
      BENCH_CHECK(e.status());
      if (*e == nullptr) break;
      benchmark::DoNotOptimize((*e)->seq);
      ++got;
    }
    if (got != events.size()) {
      state.SkipWithError("read back a different number of events");
      return;
    }
    n += got;
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["events_per_wall_s"] = static_cast<double>(n) / wall;
}
BENCHMARK(BM_StoreReadBack)->Unit(benchmark::kMillisecond);

void BM_AsyncIngest(benchmark::State& state) {
  const auto& events = Mix();
  uint64_t n = 0;
  double wall = 0;
  for (auto _ : state) {
    state.PauseTiming();
    TempDir dir;
    auto store = Store::Open(dir.path());
    BENCH_CHECK(store.status());
    auto writer = (*store)->CreateSession(SessionInfo{});
    BENCH_CHECK(writer.status());
    auto async = AsyncSessionWriter::Start(std::move(*writer));
    BENCH_CHECK(async.status());
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& e : events) BENCH_CHECK((*async)->Append(e));
    BENCH_CHECK((*async)->Finish(0, 0));
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    n += events.size();
    state.PauseTiming();
    async->reset();
    store->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["producer_events_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["events_per_wall_s"] = static_cast<double>(n) / wall;  // until Finish returned
}
BENCHMARK(BM_AsyncIngest)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace agenttrace

BENCHMARK_MAIN();
