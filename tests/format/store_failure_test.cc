// Store failures: a writer that hit MDB_MAP_FULL (a bounded map) records the loss as a `gap` event,
// continues from its last commit, and can end the session incomplete; the async writer reports the
// failure once, counts what it refused and takes events again after the gap.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "format/store.h"
#include "tests/format/temp_dir.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;

using testing::TempDir;

// A store whose map cannot grow past 1 MiB.
std::unique_ptr<Store> BoundedStore(const std::string& dir) {
  StoreOptions so;
  so.initial_map_bytes = 512 << 10;
  so.max_map_bytes = 1 << 20;
  auto s = Store::Open(dir, so);
  AT_CHECK_MSG(s.ok(), s.status().ToString());
  return std::move(*s);
}

// Incompressible, so that a few hundred fill the map.
Event BigEvent(std::mt19937_64& rng, int64_t n) {
  Event e;
  e.kind = EventKind::kToolResult;
  e.size = n;
  e.json.resize(4096);
  for (auto& c : e.json) c = static_cast<char>('a' + rng() % 26);
  return e;
}

// A new session of `store` behind an AsyncSessionWriter.
std::unique_ptr<AsyncSessionWriter> StartAsync(Store& store, const WriterOptions& options) {
  auto w = store.CreateSession(SessionInfo{}, options);
  AT_CHECK_MSG(w.ok(), w.status().ToString());
  auto started = AsyncSessionWriter::Start(std::move(*w), options);
  AT_CHECK_MSG(started.ok(), started.status().ToString());
  return std::move(*started);
}

std::vector<Event> ReadAll(Store& store, const SessionId& id, Status* error) {
  std::vector<Event> out;
  auto reader = store.OpenSession(id);
  if (!reader.ok()) {
    *error = reader.status();
    return out;
  }
  for (;;) {
    auto e = (*reader)->Next();
    if (!e.ok()) {
      *error = e.status();
      return out;
    }
    if (*e == nullptr) return out;
    out.push_back(**e);
  }
}

TEST(StoreFailureTest, MapFullThenGapContinuesFromTheLastCommitAndEndsIncomplete) {
  TempDir dir;
  auto store = BoundedStore(dir.path());
  WriterOptions wo;
  wo.chunk_max_raw_bytes = 64 << 10;  // several sealed chunks before the map is full
  auto w = store->CreateSession(SessionInfo{}, wo);
  ASSERT_TRUE(w.ok());
  std::mt19937_64 rng(3);
  Status last;
  uint64_t appended = 0;
  for (int i = 0; i < 2000 && last.ok(); ++i) {
    auto r = (*w)->Append(BigEvent(rng, i));
    last = r.status();
    ++appended;
    if (last.ok() && i % 10 == 9) last = (*w)->Flush();
  }
  ASSERT_EQ(last.code(), StatusCode::kResourceExhausted) << last.ToString();
  EXPECT_THAT(last.message(), HasSubstr("MDB_MAP_FULL"));
  const SessionId id = (*w)->info().id;
  const uint64_t committed = store->GetSession(id)->event_count;
  ASSERT_GT(committed, 0u);
  ASSERT_LT(committed, appended);
  EXPECT_FALSE((*w)->Append(BigEvent(rng, -1)).ok());  // unusable until the gap

  auto gap = (*w)->RecordGap(5, "store failure: test", 1234);
  ASSERT_TRUE(gap.ok()) << gap.status().ToString();
  EXPECT_EQ(*gap, appended - committed + 5);
  Event after;
  after.kind = EventKind::kAnnotation;
  after.text = "after the gap";
  ASSERT_TRUE((*w)->Append(after).ok());
  ASSERT_TRUE((*w)->FinishIncomplete(0, 9).ok());

  SessionInfo info = *store->GetSession(id);
  EXPECT_EQ(info.state, SessionState::kIncomplete);
  EXPECT_EQ(info.exit_signal, 9);
  EXPECT_EQ(info.event_count, committed + 2);
  Status err;
  std::vector<Event> back = ReadAll(*store, id, &err);
  ASSERT_TRUE(err.ok()) << err.ToString();
  ASSERT_EQ(back.size(), committed + 2);
  for (size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i].seq, i);
  for (uint64_t i = 0; i < committed; ++i) ASSERT_EQ(back[i].size, static_cast<int64_t>(i));
  const Event& g = back[committed];
  EXPECT_EQ(g.kind, EventKind::kGap);
  EXPECT_EQ(g.size, static_cast<int64_t>(*gap));
  EXPECT_EQ(g.text, "store failure: test");
  EXPECT_EQ(g.duration_ns, 1234);
  EXPECT_EQ(back.back().text, "after the gap");
  auto verified = store->Verify(id);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->problem;
}

TEST(StoreFailureTest, GapThatCannotBeWrittenKeepsItsCountForTheNextAttempt) {
  TempDir dir;
  auto store = BoundedStore(dir.path());
  auto w = store->CreateSession(SessionInfo{}, WriterOptions{});
  ASSERT_TRUE(w.ok());
  std::mt19937_64 rng(4);
  Status last;
  uint64_t appended = 0;
  for (int i = 0; i < 2000 && last.ok(); ++i) {
    last = (*w)->Append(BigEvent(rng, i)).status();
    ++appended;
    if (last.ok() && i % 10 == 9) last = (*w)->Flush();
  }
  ASSERT_FALSE(last.ok());
  const uint64_t committed = (*w)->info().event_count;
  // A gap whose text alone overflows the map fails; its count is carried to the next attempt.
  std::string huge(4 << 20, ' ');
  for (auto& c : huge) c = static_cast<char>('a' + rng() % 26);
  auto too_big = (*w)->RecordGap(2, huge, 0);
  ASSERT_FALSE(too_big.ok());
  // The count is in the error: when no gap can be written, it is what the user is told.
  EXPECT_THAT(too_big.status().message(),
              HasSubstr(std::to_string(appended - committed + 2) + " event(s) lost, not recorded as a gap"));
  auto gap = (*w)->RecordGap(3, "second try", 0);
  ASSERT_TRUE(gap.ok()) << gap.status().ToString();
  EXPECT_EQ(*gap, appended - committed + 2 + 3);
}

TEST(StoreFailureTest, AsyncWriterReportsOnceCountsRefusedEventsAndResumesAfterTheGap) {
  TempDir dir;
  auto store = BoundedStore(dir.path());
  // Commits only where the test flushes (or a chunk fills), as in the synchronous test above: with
  // commits on a timer, how full the map is when a commit fails depends on the scheduling, and now
  // and then not even the gap fits (that case: GapThatCannotBeWrittenKeepsItsCountForTheNextAttempt).
  WriterOptions wo;
  wo.commit_interval_ms = 600'000;
  auto started = StartAsync(*store, wo);
  AsyncSessionWriter& async = *started;
  std::atomic<int> reports{0};
  std::string reported;
  async.SetFailureCallback([&](const Status& st) {
    reported = st.message();
    reports.fetch_add(1);
  });
  std::mt19937_64 rng(5);
  uint64_t offered = 0;
  Status st;
  for (int i = 0; i < 5000 && st.ok(); ++i) {
    st = async.Append(BigEvent(rng, i));
    ++offered;
    if (st.ok() && i % 10 == 9) st = async.Flush();
  }
  ASSERT_FALSE(st.ok()) << "the map never filled";
  for (int i = 0; i < 10; ++i, ++offered) EXPECT_FALSE(async.Append(BigEvent(rng, -1)).ok());
  // The writer thread reports after it has stopped taking events: wait for it (for long: a loaded
  // machine may run it late).
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       reports.load() == 0 && std::chrono::steady_clock::now() < end;) {
    usleep(10 * 1000);
  }
  EXPECT_EQ(reports.load(), 1);
  EXPECT_THAT(reported, HasSubstr("MDB_MAP_FULL"));

  const SessionId id = async.id();
  const uint64_t committed = store->GetSession(id)->event_count;
  auto gap = async.RecordGap("store failure: test");
  ASSERT_TRUE(gap.ok()) << gap.status().ToString();
  EXPECT_EQ(*gap, offered - committed);  // every event offered and not committed
  Event after;
  after.kind = EventKind::kAnnotation;
  after.text = "after";
  ASSERT_TRUE(async.Append(after).ok());
  ASSERT_TRUE(async.FinishIncomplete(0, 0).ok());
  EXPECT_EQ(reports.load(), 1);
  SessionInfo info = *store->GetSession(id);
  EXPECT_EQ(info.state, SessionState::kIncomplete);
  EXPECT_EQ(info.event_count, committed + 2);
}

// Events still queued when the writer thread failed are dropped by RecordGap and counted in the gap.
// Their bytes must leave the pending-byte bound with them: counted on, they made the bound trip at the
// second event after the gap, and the producer (the traced program) waited for the next timed commit,
// commit_interval_ms later, with nothing queued.
TEST(StoreFailureTest, EventsDroppedByTheGapNoLongerCountAgainstThePendingByteBound) {
  TempDir dir;
  auto store = BoundedStore(dir.path());
  WriterOptions wo;
  wo.commit_interval_ms = 600'000;        // no timed commit rescues a waiting producer
  wo.async_max_pending_bytes = 64 << 10;  // a few small events, not one big one
  auto started = StartAsync(*store, wo);
  AsyncSessionWriter& async = *started;
  const SessionId id = async.id();
  std::mt19937_64 rng(6);
  Event big = BigEvent(rng, 1);
  big.json.resize(2 << 20);  // larger than the whole map: its commit fails
  for (auto& c : big.json) c = static_cast<char>('a' + rng() % 26);

  // Holding the writer (UpdateInfo runs `fn` under its lock) keeps the thread between taking the
  // first big event and writing it, so the second one waits in the queue when the write fails.
  Status flushed;
  std::thread flusher;
  async.UpdateInfo([&](SessionInfo*) {
    ASSERT_TRUE(async.Append(big).ok());
    flusher = std::thread([&] { flushed = async.Flush(); });
    // Over the byte bound with the first one queued: returns once the thread has taken the first.
    ASSERT_TRUE(async.Append(big).ok());
  });
  flusher.join();
  ASSERT_EQ(flushed.code(), StatusCode::kResourceExhausted) << flushed.ToString();
  EXPECT_FALSE(async.Append(big).ok());  // refused after the failure, counted as lost

  auto gap = async.RecordGap("store failure: test");
  ASSERT_TRUE(gap.ok()) << gap.status().ToString();
  EXPECT_EQ(*gap, 3u);  // the one written and not committed, the one queued, the one refused

  Event small;
  small.kind = EventKind::kAnnotation;
  small.text = "after the gap";
  ASSERT_TRUE(async.Append(small).ok());
  // Two small events fit the bound: the second is queued at once.
  auto second = std::async(std::launch::async, [&] { return async.Append(small); });
  const bool waited = second.wait_for(std::chrono::seconds(20)) != std::future_status::ready;
  EXPECT_FALSE(waited) << "the producer waited on the bytes of events the gap had dropped";
  if (waited) {
    ASSERT_TRUE(async.Flush().ok());  // lets it go, so that the test ends
  }
  ASSERT_TRUE(second.get().ok());
  ASSERT_TRUE(async.FinishIncomplete(0, 0).ok());

  Status err;
  std::vector<Event> back = ReadAll(*store, id, &err);
  ASSERT_TRUE(err.ok()) << err.ToString();
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].kind, EventKind::kGap);
  EXPECT_EQ(back[0].size, 3);
  EXPECT_EQ(back[1].text, "after the gap");
  EXPECT_EQ(back[2].text, "after the gap");
}

}  // namespace
}  // namespace agenttrace
