// Bounds of the session writers: events the reader would refuse are refused at Append, and the
// asynchronous writer's queue is bounded by bytes, not only by event count.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "format/store.h"
#include "tests/format/temp_dir.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;

using testing::TempDir;

// A SessionWriter whose Append blocks until Release(): stands for a disk that stopped keeping up.
class StalledWriter final : public SessionWriter {
 public:
  Result<uint64_t> Append(const Event& event) override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return released_; });
    return appended_++;
  }
  Status Flush() override { return Status::Ok(); }
  Status Finish(int32_t, int32_t) override { return Status::Ok(); }
  void UpdateInfo(const std::function<void(SessionInfo*)>& fn) override { fn(&info_); }
  const SessionInfo& info() const override { return info_; }

  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  uint64_t appended() {
    std::lock_guard lock(mu_);
    return appended_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  uint64_t appended_ = 0;
  SessionInfo info_;
};

// With the writer stalled, a producer appending 100 items of 64 KiB through `append` stops near the
// 1 MiB byte bound: one batch inside the writer and at most 1 MiB pending (16 items). Counting items
// alone, all 100 would be queued. Once released, every item is written: blocked, never dropped.
void ExpectProducerStopsNearTheByteBound(const std::function<Status(AsyncSessionWriter&, const Event&)>& append) {
  auto owned = std::make_unique<StalledWriter>();
  StalledWriter* stalled = owned.get();
  WriterOptions wo;
  wo.async_max_pending_bytes = 1u << 20;
  auto async = AsyncSessionWriter::Start(std::move(owned), wo);
  ASSERT_TRUE(async.ok());
  constexpr int kEvents = 100;
  constexpr size_t kEventBytes = 64u << 10;
  std::atomic<int> accepted{0};
  std::thread producer([&] {
    Event e;
    e.kind = EventKind::kToolCall;
    e.mono_ns = 1;
    e.json.assign(kEventBytes, 'a');
    for (int i = 0; i < kEvents; ++i) {
      AT_CHECK(append(**async, e).ok());
      ++accepted;
    }
  });
  // The producer is seen to have started first (a loaded machine may start its thread late), then
  // given time to run into the bound.
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       accepted.load() == 0 && std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int held = accepted.load();
  EXPECT_GE(held, 1);
  EXPECT_LE(held, 2 * static_cast<int>((1u << 20) / kEventBytes) + 2) << "the queue grew past its byte bound";
  EXPECT_EQ(stalled->appended(), 0u);
  stalled->Release();
  producer.join();
  ASSERT_TRUE((*async)->Finish(0, 0).ok());
  EXPECT_EQ(stalled->appended(), static_cast<uint64_t>(kEvents));
}

TEST(AsyncWriterBoundsTest, ProducersBlockAtThePendingByteBoundAndNothingIsDropped) {
  ExpectProducerStopsNearTheByteBound([](AsyncSessionWriter& w, const Event& e) { return w.Append(e); });
}

// Decisions are queued as their requests (AppendDecision) and count towards the byte bound as events
// do: a producer of large requests stops near the bound too.
TEST(AsyncWriterBoundsTest, QueuedDecisionsCountTowardsThePendingByteBound) {
  const RequestDecision d{RequestVerdict::kAllow, "tools", "", false};
  ExpectProducerStopsNearTheByteBound(
      [&d](AsyncSessionWriter& w, const Event& request) { return w.AppendDecision(request, d, EnforceMode::kEnforce); });
}

TEST(AsyncWriterBoundsTest, AnEventAboveTheByteBoundAloneIsStillTaken) {
  auto owned = std::make_unique<StalledWriter>();
  StalledWriter* stalled = owned.get();
  stalled->Release();
  WriterOptions wo;
  wo.async_max_pending_bytes = 1000;
  auto async = AsyncSessionWriter::Start(std::move(owned), wo);
  ASSERT_TRUE(async.ok());
  Event e;
  e.kind = EventKind::kToolCall;
  e.json.assign(5000, 'a');
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*async)->Append(e).ok());
  ASSERT_TRUE((*async)->Finish(0, 0).ok());
  EXPECT_EQ(stalled->appended(), 3u);
}

TEST(SessionWriterBoundsTest, EventOverThePerEventBoundIsRefusedAndTheWriterGoesOn) {
  TempDir dir;
  auto store = Store::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto w = (*store)->CreateSession(SessionInfo{});
  ASSERT_TRUE(w.ok());
  Event big;
  big.kind = EventKind::kToolCall;
  big.json.assign(kMaxEventDecodedBytes + 1, 'a');
  auto r = (*w)->Append(big);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("per-event bound"));
  Event small;
  small.kind = EventKind::kAnnotation;
  small.text = "after";
  auto r2 = (*w)->Append(small);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(*r2, 0u);  // the refused event took no sequence number
  ASSERT_TRUE((*w)->Finish(0, 0).ok());

  auto w2 = (*store)->CreateSession(SessionInfo{});
  ASSERT_TRUE(w2.ok());
  auto async = AsyncSessionWriter::Start(std::move(*w2));
  ASSERT_TRUE(async.ok());
  Status st = (*async)->Append(big);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*async)->Append(small).ok());
  EXPECT_TRUE((*async)->Finish(0, 0).ok());
  auto info = (*store)->GetSession((*async)->id());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->event_count, 1u);
}

}  // namespace
}  // namespace agenttrace
