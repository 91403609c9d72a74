// The cassette index and player on recordings made by the MCP tracker itself (the proxy's event
// shapes), without processes: matching, ids, _meta, progress, repeats, strict and sequential modes,
// answers that cannot be reproduced, and the live path through a fake upstream.
#include "recorder/cassette.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "recorder/cassette_serve.h"
#include "recorder/first_failure_sink.h"
#include "recorder/jsonrpc_framing.h"
#include "tests/format/vector_sink.h"

namespace agenttrace {
namespace {

using Json = nlohmann::json;
constexpr Direction kUp = Direction::kToServer;
constexpr Direction kDown = Direction::kToAgent;

// Gives events the sequence numbers a writer would.
std::vector<Event> Numbered(std::vector<Event> events) {
  for (size_t i = 0; i < events.size(); ++i) events[i].seq = i;
  return events;
}

// Records a conversation as the proxy would (same tracker), seq numbered.
std::vector<Event> Record(const std::vector<std::pair<Direction, std::string>>& lines, size_t max_result = 64u << 10,
                          std::function<void(std::string*)> redact = {}) {
  std::vector<Event> out;
  McpTrackerOptions o;
  o.max_result_bytes = max_result;
  o.fallback_server_name = "srv";
  o.redact = std::move(redact);
  VectorEventSink sink;
  McpTracker t(o, sink);
  for (const auto& [d, l] : lines) t.OnLine(d, l, 0, 0);
  t.Flush();
  return Numbered(sink.TakeEvents());
}

std::string Call(int id, const std::string& tool, const std::string& args, const std::string& meta = "") {
  return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"tools/call\",\"params\":{" +
         (meta.empty() ? "" : "\"_meta\":" + meta + ",") + "\"name\":\"" + tool + "\",\"arguments\":" + args + "}}";
}
std::string Answer(int id, const std::string& text) {
  return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) +
         ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" + text + "\"}]}}";
}
const std::string kInit =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"rec","version":"1"}}})";
const std::string kInitAnswer =
    R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"srv","version":"1"}}})";

Cassette Load(const std::vector<Event>& events) {
  Cassette c;
  VectorEventSource src(&events);
  EXPECT_TRUE(c.AddSession("S1", src, "").ok());
  return c;
}

Json Last(const PlayerStep& s) { return Json::parse(s.replies.back()); }

std::vector<std::pair<Direction, std::string>> Basic() {
  return {{kUp, kInit},
          {kDown, kInitAnswer},
          {kUp, R"({"jsonrpc":"2.0","method":"notifications/initialized"})"},
          {kUp, Call(1, "next", "{}")},
          {kDown, Answer(1, "one")},
          {kUp, Call(2, "next", "{}")},
          {kDown, Answer(2, "two")},
          {kUp, Call(3, "read", R"({"path":"a","mode":"text"})")},
          {kDown, Answer(3, "A")}};
}

TEST(CassetteTest, LiveIdOnRecordedAnswerAndInitializeFromAnotherClient) {
  Cassette c = Load(Record(Basic()));
  ASSERT_EQ(c.exchanges().size(), 4u);
  CassettePlayer p(&c, {});
  PlayerStep s = p.OnClientMessage(
      R"({"jsonrpc":"2.0","id":"init-7","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"roots":{}},"clientInfo":{"name":"other","version":"9"}}})");
  ASSERT_EQ(s.replies.size(), 1u);
  EXPECT_EQ(Last(s)["id"], "init-7");
  EXPECT_EQ(Last(s)["result"]["serverInfo"]["name"], "srv");
  EXPECT_EQ(s.served, "replayed");
  EXPECT_EQ(s.source, "S1#1");
}

TEST(CassetteTest, MetaAndKeyOrderIgnoredArgumentsMatter) {
  Cassette c = Load(Record(Basic()));
  CassettePlayer p(&c, {});
  PlayerStep s = p.OnClientMessage(Call(40, "read", R"({"mode":"text","path":"a"})", R"({"progressToken":40,"x":1})"));
  EXPECT_EQ(Last(s)["id"], 40);
  EXPECT_EQ(Last(s)["result"]["content"][0]["text"], "A");
  PlayerStep miss = p.OnClientMessage(Call(41, "read", R"({"mode":"text","path":"b"})"));
  EXPECT_EQ(miss.served, "miss");
  EXPECT_EQ(Last(miss)["error"]["code"], kCassetteMissCode);
  EXPECT_EQ(Last(miss)["error"]["message"], "no recorded answer for tools/call read with these arguments");
  EXPECT_EQ(p.misses(), 1u);
}

TEST(CassetteTest, RepeatedIdenticalCallsInRecordedOrderThenAMiss) {
  Cassette c = Load(Record(Basic()));
  CassettePlayer p(&c, {});
  p.OnClientMessage(kInit);
  EXPECT_EQ(Last(p.OnClientMessage(Call(7, "next", "{}")))["result"]["content"][0]["text"], "one");
  EXPECT_EQ(Last(p.OnClientMessage(Call(8, "next", "{}")))["result"]["content"][0]["text"], "two");
  PlayerStep third = p.OnClientMessage(Call(9, "next", "{}"));
  EXPECT_EQ(third.served, "miss");
  // The error names what the cassette still expects.
  EXPECT_NE(Last(third)["error"]["data"]["next_expected"].get<std::string>().find("tools/call read"),
            std::string::npos);
}

TEST(CassetteTest, StrictNeedsTheRecordedOrder) {
  Cassette c = Load(Record(Basic()));
  PlayerOptions o;
  o.match = MatchMode::kStrict;
  CassettePlayer p(&c, o);
  EXPECT_EQ(p.OnClientMessage(kInit).served, "replayed");
  EXPECT_EQ(p.OnClientMessage(Call(3, "read", R"({"path":"a","mode":"text"})")).served, "miss");  // out of order
  EXPECT_EQ(p.OnClientMessage(Call(1, "next", "{}")).served, "replayed");
  // And initialize's own params count in strict mode.
  CassettePlayer q(&c, o);
  EXPECT_EQ(
      q.OnClientMessage(
           R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"other","version":"1"}}})")
          .served,
      "miss");
}

TEST(CassetteTest, SequentialIgnoresArgumentsButNotTheTool) {
  Cassette c = Load(Record(Basic()));
  PlayerOptions o;
  o.match = MatchMode::kSequential;
  CassettePlayer p(&c, o);
  EXPECT_EQ(Last(p.OnClientMessage(Call(5, "read", R"({"path":"zzz"})")))["result"]["content"][0]["text"], "A");
  EXPECT_EQ(p.OnClientMessage(Call(6, "write", R"({"path":"a"})")).served, "miss");
}

TEST(CassetteTest, ProgressReplayedInPlaceWithTheLiveTokenOrNotAtAll) {
  std::vector<std::pair<Direction, std::string>> conv = {
      {kUp, Call(5, "count", R"({"n":2})", R"({"progressToken":5})")},
      {kDown,
       R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":5,"progress":1,"total":2}})"},
      {kDown,
       R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":5,"progress":2,"total":2}})"},
      {kDown, Answer(5, "done")}};
  conv.push_back(conv[0]);
  conv.push_back(conv[1]);
  conv.push_back(conv[2]);
  conv.push_back(conv[3]);
  Cassette c = Load(Record(conv));
  ASSERT_EQ(c.exchanges().size(), 2u);
  EXPECT_EQ(c.exchanges()[0].notifications.size(), 2u);
  CassettePlayer p(&c, {});
  PlayerStep s = p.OnClientMessage(Call(99, "count", R"({"n":2})", R"({"progressToken":"tok-a"})"));
  ASSERT_EQ(s.replies.size(), 3u);
  EXPECT_EQ(Json::parse(s.replies[0])["params"]["progressToken"], "tok-a");
  EXPECT_EQ(Json::parse(s.replies[1])["params"]["progress"], 2);
  EXPECT_EQ(Last(s)["id"], 99);
  // No token asked: no progress sent (the server would not have sent any).
  PlayerStep quiet = p.OnClientMessage(Call(100, "count", R"({"n":2})"));
  EXPECT_EQ(quiet.replies.size(), 1u);
  EXPECT_EQ(Last(quiet)["result"]["content"][0]["text"], "done");
}

// The TypeScript SDK drops progress that arrives in the same read as its answer (its notification
// handlers run a microtask later; the answer removes the progress handler at once). A client that is
// descheduled while the server writes would read both at once; the serve loop must hold the answer
// until the client has read the notifications, however late that is. Closes both fds.
void ExpectAnswerWaitsUntilProgressWasRead(int client_read_fd, int serve_out_fd) {
  std::vector<std::pair<Direction, std::string>> conv = {
      {kUp, Call(5, "count", R"({"n":2})", R"({"progressToken":5})")},
      {kDown,
       R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":5,"progress":1,"total":2}})"},
      {kDown,
       R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":5,"progress":2,"total":2}})"},
      {kDown, Answer(5, "done")}};
  Cassette c = Load(Record(conv));
  CassettePlayer p(&c, {});
  int in[2];
  ASSERT_EQ(::pipe(in), 0);
  const std::string request = Call(7, "count", R"({"n":2})", R"({"progressToken":7})") + "\n";
  ASSERT_EQ(::write(in[1], request.data(), request.size()), static_cast<ssize_t>(request.size()));
  ::close(in[1]);
  StdioServeOptions o;
  o.in_fd = in[0];
  o.out_fd = serve_out_fd;
  std::thread serve([&] {
    EXPECT_TRUE(RunStdioServe(o, p, nullptr).ok());
    ::close(serve_out_fd);
  });
  // A slow client: once the notifications are there (one write; a loaded machine may run the serve
  // thread late, so wait for them rather than guess), it reads only after far longer than any fixed
  // pause the server could afford per answer.
  pollfd ready{client_read_fd, POLLIN, 0};
  EXPECT_EQ(::poll(&ready, 1, 30'000), 1) << "the server wrote nothing";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  char buf[4096];
  ssize_t n = ::read(client_read_fd, buf, sizeof buf);
  std::string first(buf, static_cast<size_t>(std::max<ssize_t>(n, 0)));
  EXPECT_EQ(first.find("\"result\""), std::string::npos) << "the answer came in the same read: " << first;
  EXPECT_NE(first.find("\"progress\":2"), std::string::npos) << first;
  std::string rest;
  while ((n = ::read(client_read_fd, buf, sizeof buf)) > 0) rest.append(buf, static_cast<size_t>(n));
  serve.join();
  ::close(in[0]);
  ::close(client_read_fd);
  EXPECT_NE(rest.find("\"id\":7"), std::string::npos) << rest;
  EXPECT_NE(rest.find("done"), std::string::npos) << rest;
}

TEST(CassetteServeTest, AnswerWaitsUntilTheClientReadItsProgressThroughASocketpair) {
  int sv[2];  // what Node (libuv) gives a child process as its stdout
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ExpectAnswerWaitsUntilProgressWasRead(sv[0], sv[1]);
}

TEST(CassetteServeTest, AnswerWaitsUntilTheClientReadItsProgressThroughAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ExpectAnswerWaitsUntilProgressWasRead(fds[0], fds[1]);
}

// The store fails while a cassette is served: the client still gets every answer; recording stops at
// the first refused event and reports it (as the MCP proxies do).
TEST(CassetteServeTest, AFailingSinkStopsRecordingButNotServing) {
  Cassette c = Load(Record(
      {{kUp, Call(1, "roll", "{}")}, {kDown, Answer(1, "4")}, {kUp, Call(2, "roll", "{}")}, {kDown, Answer(2, "6")}}));
  CassettePlayer p(&c, {});
  // Counts what reaches the store, which refuses the third event and then would take more.
  class FlakyStore final : public EventSink {
   public:
    Status Append(const Event&) override { return ++attempts == 3 ? Status::IOError("disk full") : Status::Ok(); }
    int attempts = 0;
  } store;
  FirstFailureSink recorded(store);
  McpTrackerOptions o;
  o.fallback_server_name = "srv";
  ServedRecorder rec(o, recorded);
  int in[2], out[2];
  ASSERT_EQ(::pipe(in), 0);
  ASSERT_EQ(::pipe(out), 0);
  const std::string requests = Call(11, "roll", "{}") + "\n" + Call(12, "roll", "{}") + "\n";
  ASSERT_EQ(::write(in[1], requests.data(), requests.size()), static_cast<ssize_t>(requests.size()));
  ::close(in[1]);
  StdioServeOptions so;
  so.in_fd = in[0];
  so.out_fd = out[1];
  auto served = RunStdioServe(so, p, &rec);
  ::close(out[1]);
  ::close(in[0]);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_EQ(served->replayed, 2u);
  std::string answers;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) answers.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  EXPECT_NE(answers.find(R"("id":11,)"), std::string::npos) << answers;
  EXPECT_NE(answers.find(R"("id":12,)"), std::string::npos) << answers;
  EXPECT_NE(answers.find(R"("text":"6")"), std::string::npos) << answers;
  // tool.call, tool.result, then the refused served marker; nothing is offered after it.
  EXPECT_EQ(store.attempts, 3);
  EXPECT_EQ(recorded.appended(), 2u);
  EXPECT_EQ(recorded.status().code(), StatusCode::kIOError);
}

TEST(CassetteTest, TruncatedAnswerIsAnErrorNotAWrongAnswer) {
  std::string big(200, 'x');
  Cassette c = Load(Record({{kUp, Call(1, "dump", "{}")}, {kDown, Answer(1, big)}}, /*max_result=*/100));
  CassettePlayer p(&c, {});
  PlayerStep s = p.OnClientMessage(Call(1, "dump", "{}"));
  EXPECT_EQ(s.served, "unusable");
  EXPECT_EQ(Last(s)["error"]["code"], kCassetteUnusableCode);
  EXPECT_NE(Last(s)["error"]["message"].get<std::string>().find("truncated at recording"), std::string::npos);
}

TEST(CassetteTest, RedactedAnswerIsAnErrorAndRedactedArgumentsStillMatch) {
  auto redact = [](std::string* s) {
    for (size_t at; (at = s->find("hunter2-secret")) != std::string::npos;) {
      s->replace(at, 14, "<secret:fp:abcd>");
    }
  };
  Cassette c = Load(Record({{kUp, Call(1, "login", R"({"password":"hunter2-secret"})")},
                            {kDown, Answer(1, "ok")},
                            {kUp, Call(2, "whoami", "{}")},
                            {kDown, Answer(2, "token hunter2-secret")}},
                           64u << 10, redact));
  PlayerOptions o;
  o.redact = redact;
  CassettePlayer p(&c, o);
  EXPECT_EQ(p.OnClientMessage(Call(1, "login", R"({"password":"hunter2-secret"})")).served, "replayed");
  PlayerStep s = p.OnClientMessage(Call(2, "whoami", "{}"));
  EXPECT_EQ(s.served, "unusable");
  EXPECT_NE(Last(s)["error"]["message"].get<std::string>().find("redacted"), std::string::npos);
}

TEST(CassetteTest, AnswerThatNeededSamplingIsReportedUnsupported) {
  Cassette c = Load(Record(
      {{kUp, Call(1, "think", "{}")},
       {kDown, R"({"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{"messages":[],"maxTokens":5}})"},
       {kUp,
        R"({"jsonrpc":"2.0","id":0,"result":{"role":"assistant","content":{"type":"text","text":"hi"},"model":"m"}})"},
       {kDown, Answer(1, "thought")},
       {kDown, R"({"jsonrpc":"2.0","id":1,"method":"roots/list"})"}}));
  ASSERT_EQ(c.exchanges().size(), 1u);
  EXPECT_EQ(c.unplayed_server_requests().size(), 1u);  // roots/list outside any request
  CassettePlayer p(&c, {});
  PlayerStep s = p.OnClientMessage(Call(1, "think", "{}"));
  EXPECT_EQ(s.served, "unusable");
  EXPECT_NE(Last(s)["error"]["message"].get<std::string>().find("sampling/createMessage"), std::string::npos);
}

TEST(CassetteTest, ServedSessionsContributeOnlyTheirLiveEpisodes) {
  // A serving run recorded through ServedRecorder: one replayed exchange, one live one.
  VectorEventSink sink;
  McpTrackerOptions o;
  o.fallback_server_name = "srv";
  ServedRecorder rec(o, sink);
  auto serve = [&](const std::string& req, const std::string& answer, const std::string& how) {
    rec.OnClientLine(req, 0, 0);
    PlayerStep s;
    s.request = true;
    s.request_id = std::to_string(Json::parse(req)["id"].get<int>());
    s.method = "tools/call";
    s.served = how;
    s.replies = {answer};
    rec.OnStep(s);
  };
  serve(Call(1, "old", "{}"), Answer(1, "from the cassette"), "replayed");
  serve(Call(2, "new", "{}"), Answer(2, "from the live server"), "live");
  rec.Flush();
  Cassette c = Load(Numbered(sink.TakeEvents()));
  ASSERT_EQ(c.exchanges().size(), 1u);
  EXPECT_EQ(c.exchanges()[0].tool, "new");
}

class FakeUpstream final : public LiveUpstream {
 public:
  explicit FakeUpstream(std::vector<std::string>* log) : log_(log) {}
  Result<std::vector<std::string>> Exchange(const std::string& request) override {
    log_->push_back(request);
    Json r = Json::parse(request);
    return std::vector<std::string>{
        R"({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"live"}})",
        Json{{"jsonrpc", "2.0"}, {"id", r["id"]}, {"result", {{"live", r["method"]}}}}.dump()};
  }
  Status Notify(const std::string& n) override {
    log_->push_back(n);
    return Status::Ok();
  }

 private:
  std::vector<std::string>* log_;
};

TEST(CassetteTest, NewEpisodesInitializesTheLiveServerThenForwardsOnlyMisses) {
  Cassette c = Load(Record(Basic()));
  std::vector<std::string> log;
  PlayerOptions o;
  o.record = RecordMode::kNewEpisodes;
  int starts = 0;
  o.start_live = [&]() -> Result<std::unique_ptr<LiveUpstream>> {
    ++starts;
    return std::unique_ptr<LiveUpstream>(new FakeUpstream(&log));
  };
  CassettePlayer p(&c, o);
  EXPECT_EQ(p.OnClientMessage(kInit).served, "replayed");
  EXPECT_EQ(p.OnClientMessage(Call(1, "next", "{}")).served, "replayed");
  EXPECT_EQ(starts, 0);
  PlayerStep s = p.OnClientMessage(Call(77, "fresh", "{}"));
  EXPECT_EQ(s.served, "live");
  ASSERT_EQ(s.replies.size(), 2u);  // the live notification, then the answer
  EXPECT_EQ(Last(s)["id"], 77);
  EXPECT_EQ(Last(s)["result"]["live"], "tools/call");
  ASSERT_EQ(log.size(), 3u);  // initialize (the client's params), initialized, the call
  EXPECT_EQ(Json::parse(log[0])["method"], "initialize");
  EXPECT_EQ(Json::parse(log[0])["params"]["clientInfo"]["name"], "rec");
  EXPECT_EQ(Json::parse(log[1])["method"], "notifications/initialized");
  EXPECT_EQ(Json::parse(log[2])["params"]["name"], "fresh");
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(p.live(), 1u);
  EXPECT_EQ(p.misses(), 0u);
}

TEST(CassetteTest, PingIsAnsweredLocallyAndNotificationsGetNoAnswer) {
  Cassette c = Load(Record(Basic()));
  CassettePlayer p(&c, {});
  PlayerStep ping = p.OnClientMessage(R"({"jsonrpc":"2.0","id":3,"method":"ping"})");
  EXPECT_EQ(ping.served, "local");
  EXPECT_EQ(Last(ping)["result"], Json::object());
  EXPECT_TRUE(p.OnClientMessage(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").replies.empty());
  EXPECT_TRUE(p.OnClientMessage("not json").replies.empty());
}

TEST(CassetteTest, ModeNamesRoundTrip) {
  for (auto m : {MatchMode::kMethodParams, MatchMode::kStrict, MatchMode::kSequential}) {
    EXPECT_EQ(ParseMatchMode(MatchModeName(m)), m);
  }
  for (auto m : {RecordMode::kNone, RecordMode::kOnce, RecordMode::kNewEpisodes, RecordMode::kAll}) {
    EXPECT_EQ(ParseRecordMode(RecordModeName(m)), m);
  }
  EXPECT_FALSE(ParseMatchMode("exact"));
  EXPECT_FALSE(ParseRecordMode("never"));
}

}  // namespace
}  // namespace agenttrace
