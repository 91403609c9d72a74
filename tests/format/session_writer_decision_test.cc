// AsyncSessionWriter::AppendDecision: a decision queued as its request and verdict is stored as the
// "decision" event MakeDecisionEvent builds, in its place among the plain events, with the queue's
// bounds and the store's failures applying to it as to any event.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "format/decision_event.h"
#include "format/event_json.h"
#include "format/store.h"
#include "tests/format/read_session.h"
#include "tests/format/temp_dir.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::unique_ptr<AsyncSessionWriter> StartAsync(Store& store, const WriterOptions& options = {}) {
  auto w = store.CreateSession(SessionInfo{}, options);
  AT_CHECK_MSG(w.ok(), w.status().ToString());
  auto started = AsyncSessionWriter::Start(std::move(*w), options);
  AT_CHECK_MSG(started.ok(), started.status().ToString());
  return std::move(*started);
}

// One step of a session: a plain event, or a decision on a request.
struct Step {
  Event event;  // the plain event, or the request
  bool decision = false;
  RequestDecision verdict;
  EnforceMode mode = EnforceMode::kEnforce;
};

Event Request(EventKind kind, int64_t t) {
  Event e;
  e.kind = kind;
  e.pid = 4242;
  e.tid = 4243;
  e.mono_ns = t;
  e.wall_ns = 1'700'000'000'000'000'000 + t;
  e.syscall_nr = 257;
  e.args = {1, 2, 3, 4, 5, 6};
  e.env_names = {"HOME", "PATH"};
  return e;
}

// Every kind of request field the decision JSON carries, every verdict and both modes, with strings
// that need escaping and invalid UTF-8 (replaced, as nlohmann's dump() does).
std::vector<Step> Steps() {
  std::vector<Step> s;
  auto plain = [&](int64_t t) {
    Step p;
    p.event = Request(EventKind::kFileOpen, t);
    p.event.path = "/home/u/proj/plain-" + std::to_string(t);
    p.event.result = 3;
    s.push_back(p);
  };
  auto decide = [&](Event req, RequestVerdict v, std::string rule, std::string reason, bool error, EnforceMode m) {
    Step d;
    d.event = std::move(req);
    d.decision = true;
    d.verdict = RequestDecision{v, std::move(rule), std::move(reason), error};
    d.mode = m;
    s.push_back(d);
  };
  plain(1);
  Event open = Request(EventKind::kFileOpen, 2);
  open.path = "/home/u/proj/\"quoted\"\n\x01 caf\xc3\xa9";
  open.resolved = "/home/u/proj/real";
  open.flags = 0101;
  decide(open, RequestVerdict::kAllow, "ws", "the workspace", false, EnforceMode::kEnforce);
  plain(3);
  Event exec = Request(EventKind::kExec, 4);
  exec.path = "/usr/bin/git";
  exec.argv = {"git", "commit", "-m", "bad \xff byte", ""};
  decide(exec, RequestVerdict::kDeny, "no-git", "git is not for agents \xc3", false, EnforceMode::kEnforce);
  Event tool = Request(EventKind::kToolCall, 5);
  tool.server = "fs";
  tool.tool = "read_file";
  tool.method = "tools/call";
  tool.request_id = "7";
  tool.json = R"({"path":"/etc/passwd","n":[1,2]})";
  decide(tool, RequestVerdict::kAsk, "ask-reads", "a human decides", false, EnforceMode::kAudit);
  Event connect = Request(EventKind::kNetConnect, 6);
  connect.address = "93.184.216.34";
  connect.port = 443;
  connect.family = 2;
  connect.text = "note";
  decide(connect, RequestVerdict::kDeny, "", "the evaluator failed: boom", true, EnforceMode::kEnforce);
  decide(Request(EventKind::kFileDelete, 7), RequestVerdict::kAllow, "default", "no rule matched", false,
         EnforceMode::kAudit);
  plain(8);
  return s;
}

// The regression this guards: moving the decision event's JSON to the writer thread must not change
// a byte of what is stored, nor where the event sits.
TEST(AsyncWriterDecisionTest, QueuedDecisionsAreStoredAsMakeDecisionEventBuildsThemInOrder) {
  TempDir dir;
  auto store = Store::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto built = StartAsync(**store);     // the decision events built by the producer, as before
  auto deferred = StartAsync(**store);  // built by the writer thread
  for (const Step& s : Steps()) {
    if (!s.decision) {
      ASSERT_TRUE(built->Append(s.event).ok());
      ASSERT_TRUE(deferred->Append(s.event).ok());
      continue;
    }
    ASSERT_TRUE(built->Append(MakeDecisionEvent(s.event, s.verdict, s.mode)).ok());
    ASSERT_TRUE(deferred->AppendDecision(s.event, s.verdict, s.mode).ok());
  }
  ASSERT_TRUE(built->Finish(0, 0).ok());
  ASSERT_TRUE(deferred->Finish(0, 0).ok());
  std::vector<Event> want = ReadSessionEvents(**store, built->id());
  std::vector<Event> got = ReadSessionEvents(**store, deferred->id());
  ASSERT_EQ(want.size(), Steps().size());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(EventToJson(got[i]), EventToJson(want[i])) << "event " << i;
    EXPECT_EQ(got[i], want[i]) << "event " << i;
  }
  EXPECT_EQ(got[1].text, kDecisionText);
  EXPECT_EQ(got[2].path, "/home/u/proj/plain-3");  // in its place, not batched after the plain events
  EXPECT_EQ((*store)->GetSession(deferred->id())->raw_bytes, (*store)->GetSession(built->id())->raw_bytes);
}

// A request without times is stamped when it is queued (when it was decided), not when the writer
// thread gets to it.
TEST(AsyncWriterDecisionTest, RequestWithoutTimesIsStampedWhenQueued) {
  TempDir dir;
  auto store = Store::Open(dir.path());
  ASSERT_TRUE(store.ok());
  WriterOptions wo;
  wo.commit_interval_ms = 600'000;
  auto async = StartAsync(**store, wo);
  Event req;
  req.kind = EventKind::kToolCall;
  req.tool = "t";
  timespec a;
  clock_gettime(CLOCK_MONOTONIC, &a);
  const int64_t before = static_cast<int64_t>(a.tv_sec) * 1000000000 + a.tv_nsec;
  Status queued;
  // The writer is held (UpdateInfo runs `fn` under its lock) while the decision is queued and for a
  // while after: the stamp must be from before the wait.
  async->UpdateInfo([&](SessionInfo*) {
    queued = async->AppendDecision(req, RequestDecision{RequestVerdict::kAllow, "r", "", false}, EnforceMode::kEnforce);
    timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    const int64_t queued_at = static_cast<int64_t>(b.tv_sec) * 1000000000 + b.tv_nsec;
    struct timespec pause = {0, 50'000'000};
    nanosleep(&pause, nullptr);
    req.mono_ns = queued_at;  // the latest a stamp taken when queued can be
  });
  ASSERT_TRUE(queued.ok());
  ASSERT_TRUE(async->Finish(0, 0).ok());
  std::vector<Event> back = ReadSessionEvents(**store, async->id());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_GE(back[0].mono_ns, before);
  EXPECT_LE(back[0].mono_ns, req.mono_ns);
  EXPECT_GT(back[0].wall_ns, 1'600'000'000'000'000'000);
  auto parsed = ParseDecisionEvent(back[0]);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.tool, "t");
}

// A decision whose event would exceed the per-event bound is not stored, as Append refuses such an
// event; the writer goes on. Found on the writer thread: the JSON is built there.
TEST(AsyncWriterDecisionTest, DecisionOverThePerEventBoundIsNotStoredAndTheWriterGoesOn) {
  TempDir dir;
  auto store = Store::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto async = StartAsync(**store);
  Event req;
  req.kind = EventKind::kFileOpen;
  req.mono_ns = 1;
  req.path.assign(kMaxEventDecodedBytes / 6 + 1024, '\x01');  // each escaped to \u0001 in the JSON
  ASSERT_LE(EventStringBytes(req), kMaxEventDecodedBytes);    // the request alone is within the bound
  const RequestDecision d{RequestVerdict::kDeny, "r", "why", false};
  ASSERT_GT(EventStringBytes(MakeDecisionEvent(req, d, EnforceMode::kEnforce)), kMaxEventDecodedBytes);
  EXPECT_TRUE(async->AppendDecision(req, d, EnforceMode::kEnforce).ok());
  Event after;
  after.kind = EventKind::kAnnotation;
  after.text = "after";
  ASSERT_TRUE(async->Append(after).ok());
  ASSERT_TRUE(async->Finish(0, 0).ok());
  std::vector<Event> back = ReadSessionEvents(**store, async->id());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].text, "after");
}

// A store failure: decisions are refused and counted like events, and the gap counts the queued ones.
TEST(AsyncWriterDecisionTest, DecisionsAreRefusedAndCountedAfterAStoreFailure) {
  TempDir dir;
  StoreOptions so;
  so.initial_map_bytes = 512 << 10;
  so.max_map_bytes = 1 << 20;
  auto store = Store::Open(dir.path(), so);
  ASSERT_TRUE(store.ok());
  WriterOptions wo;
  wo.commit_interval_ms = 600'000;  // commits where the test flushes: see store_failure_test.cc
  auto async = StartAsync(**store, wo);
  std::mt19937_64 rng(7);
  Event req;
  req.kind = EventKind::kToolCall;
  req.mono_ns = 1;
  req.json.resize(4096);
  const RequestDecision d{RequestVerdict::kAllow, "tools", "", false};
  uint64_t offered = 0;
  Status st;
  for (int i = 0; i < 5000 && st.ok(); ++i) {
    for (auto& c : req.json) c = static_cast<char>('a' + rng() % 26);  // incompressible
    st = async->AppendDecision(req, d, EnforceMode::kEnforce);
    ++offered;
    if (st.ok() && i % 10 == 9) st = async->Flush();
  }
  ASSERT_FALSE(st.ok()) << "the map never filled";
  EXPECT_THAT(st.message(), HasSubstr("MDB_MAP_FULL"));
  for (int i = 0; i < 5; ++i, ++offered) EXPECT_FALSE(async->AppendDecision(req, d, EnforceMode::kEnforce).ok());
  const uint64_t committed = (*store)->GetSession(async->id())->event_count;
  auto gap = async->RecordGap("store failure: test");
  ASSERT_TRUE(gap.ok()) << gap.status().ToString();
  EXPECT_EQ(*gap, offered - committed);
  ASSERT_TRUE(async->AppendDecision(req, d, EnforceMode::kEnforce).ok());
  ASSERT_TRUE(async->FinishIncomplete(0, 0).ok());
  std::vector<Event> back = ReadSessionEvents(**store, async->id());
  ASSERT_EQ(back.size(), committed + 2);
  EXPECT_EQ(back[committed].kind, EventKind::kGap);
  EXPECT_TRUE(IsDecisionEvent(back.back()));
}

}  // namespace
}  // namespace agenttrace
