// The end of a recording (recorder/end_of_run.h), on a real store whose map is bounded: a store
// failure that surfaces only in the final drain, after the agent exited, is recorded as a gap and
// handled by the --on-store-failure policy, as one during the run is. Deterministic: the writer
// thread commits only on a flush (no timed commit), so the events the test queues are first written
// by FinishRecording itself.
#include "recorder/end_of_run.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "format/store.h"
#include "tests/format/read_session.h"
#include "tests/format/temp_dir.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

constexpr uint64_t kCommitted = 5;  // events stored before the run ends
constexpr uint64_t kQueued = 11;    // events still queued when it ends: 10 small, 1 over the map

class EndOfRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions so;
    so.initial_map_bytes = 512 << 10;
    so.max_map_bytes = 1 << 20;
    auto store = Store::Open(dir_.path(), so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    WriterOptions wo;
    wo.commit_interval_ms = 600'000;  // nothing is written before the test flushes
    auto w = store_->CreateSession(SessionInfo{}, wo);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    auto async = AsyncSessionWriter::Start(std::move(*w), wo);
    ASSERT_TRUE(async.ok()) << async.status().ToString();
    writer_ = std::move(*async);
    id_ = writer_->id();
  }

  static Event Small(int64_t n) {
    Event e;
    e.kind = EventKind::kAnnotation;
    e.size = n;
    e.text = "event " + std::to_string(n);
    return e;
  }

  // Stores kCommitted events, then queues kQueued more whose first write fails (MDB_MAP_FULL): the
  // last one is 2 MiB of incompressible text, twice the whole map.
  void CommitThenQueueAnOverflow() {
    for (uint64_t i = 0; i < kCommitted; ++i) ASSERT_TRUE(writer_->Append(Small(static_cast<int64_t>(i))).ok());
    ASSERT_TRUE(writer_->Flush().ok());
    ASSERT_EQ(store_->GetSession(id_)->event_count, kCommitted);
    for (uint64_t i = 0; i + 1 < kQueued; ++i) ASSERT_TRUE(writer_->Append(Small(100 + static_cast<int64_t>(i))).ok());
    Event big = Small(-1);
    std::mt19937_64 rng(7);
    big.text.resize(2 << 20);
    for (auto& c : big.text) c = static_cast<char>('a' + rng() % 26);
    ASSERT_TRUE(writer_->Append(big).ok());  // queued: the writer has not tried it yet
  }

  std::vector<Event> ReadBack() { return ReadSessionEvents(*store_, id_); }

  // The session after a store failure at the end: every committed event kept, then one gap counting
  // exactly the queued events; incomplete, with the agent's exit status.
  void ExpectGapAfterTheCommittedEvents(const EndOfRun& end) {
    EXPECT_FALSE(end.store_failure.ok());
    EXPECT_THAT(end.store_failure.message(), HasSubstr("MDB_MAP_FULL"));
    EXPECT_TRUE(end.failure_at_end);
    EXPECT_FALSE(end.failure_ended_run);
    EXPECT_TRUE(end.gap_error.ok()) << end.gap_error.ToString();
    EXPECT_TRUE(end.finish_error.ok()) << end.finish_error.ToString();
    EXPECT_EQ(end.events_lost, kQueued);
    SessionInfo info = *store_->GetSession(id_);
    EXPECT_EQ(info.state, SessionState::kIncomplete);
    EXPECT_EQ(info.exit_code, 3);
    std::vector<Event> back = ReadBack();
    ASSERT_EQ(back.size(), kCommitted + 1);
    for (uint64_t i = 0; i < kCommitted; ++i) EXPECT_EQ(back[i].size, static_cast<int64_t>(i));
    EXPECT_EQ(back.back().kind, EventKind::kGap);
    EXPECT_EQ(back.back().size, static_cast<int64_t>(kQueued));
    EXPECT_THAT(back.back().text, HasSubstr("MDB_MAP_FULL"));
    auto verified = store_->Verify(id_);
    ASSERT_TRUE(verified.ok());
    EXPECT_TRUE(verified->ok) << verified->problem;
  }

  EndOfRunFacts Facts(StoreFailurePolicy policy) {
    EndOfRunFacts f;
    f.exit_code = 3;
    f.policy = policy;
    return f;
  }

  TempDir dir_{"agenttrace-end-of-run-test"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<AsyncSessionWriter> writer_;
  SessionId id_;
};

TEST_F(EndOfRunTest, NothingLostCompletesTheSession) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer_->Append(Small(i)).ok());  // queued, stored by the drain
  EndOfRun end = FinishRecording(*writer_, Facts(StoreFailurePolicy::kStop));
  EXPECT_TRUE(end.store_failure.ok()) << end.store_failure.ToString();
  EXPECT_FALSE(end.fails_recording);
  SessionInfo info = *store_->GetSession(id_);
  EXPECT_EQ(info.state, SessionState::kComplete);
  EXPECT_EQ(info.event_count, 3u);
  EXPECT_EQ(info.exit_code, 3);
}

// The stress run's case: the agent exited before the writer reached the write that fails. The
// recorder used to return the error (exit 125 under every policy) without a gap.
TEST_F(EndOfRunTest, FailureInTheFinalDrainUnderContinueRecordsAGapAndKeepsTheAgentsStatus) {
  CommitThenQueueAnOverflow();
  EndOfRun end = FinishRecording(*writer_, Facts(StoreFailurePolicy::kContinue));
  ExpectGapAfterTheCommittedEvents(end);
  EXPECT_FALSE(end.fails_recording);
}

TEST_F(EndOfRunTest, FailureInTheFinalDrainUnderStopRecordsAGapAndFailsTheRecording) {
  CommitThenQueueAnOverflow();
  EndOfRun end = FinishRecording(*writer_, Facts(StoreFailurePolicy::kStop));
  ExpectGapAfterTheCommittedEvents(end);
  EXPECT_TRUE(end.fails_recording);
}

// A pause whose gap could be written is one the store came back from: the agent's status stands.
TEST_F(EndOfRunTest, FailureInTheFinalDrainUnderPauseRecordsAGapAndKeepsTheAgentsStatus) {
  CommitThenQueueAnOverflow();
  EndOfRun end = FinishRecording(*writer_, Facts(StoreFailurePolicy::kPause));
  ExpectGapAfterTheCommittedEvents(end);
  EXPECT_FALSE(end.fails_recording);
}

// A failure the supervisor already acted on (here: continue) is recorded the same way, and is not
// reported as one found at the end.
TEST_F(EndOfRunTest, FailureSeenDuringTheRunIsRecordedAsAGap) {
  CommitThenQueueAnOverflow();
  Status seen = writer_->Flush();
  ASSERT_EQ(seen.code(), StatusCode::kResourceExhausted) << seen.ToString();
  EXPECT_FALSE(writer_->Append(Small(200)).ok());  // refused after the failure: lost too
  EndOfRunFacts f = Facts(StoreFailurePolicy::kContinue);
  f.seen_failure = seen;
  EndOfRun end = FinishRecording(*writer_, f);
  EXPECT_FALSE(end.failure_at_end);
  EXPECT_FALSE(end.fails_recording);
  EXPECT_EQ(end.events_lost, kQueued + 1);
  EXPECT_EQ(store_->GetSession(id_)->state, SessionState::kIncomplete);
}

}  // namespace
}  // namespace agenttrace
