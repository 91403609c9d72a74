// Line splitting and request/response matching on byte streams, without I/O.
#include "recorder/jsonrpc_framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "recorder/first_failure_sink.h"

namespace agenttrace {
namespace {

struct CollectLines : LineSink {
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, uint64_t>> oversized;
  std::vector<bool> oversized_complete;
  std::vector<std::string> trailing;
  void OnLine(std::string_view l) override { lines.emplace_back(l); }
  void OnOversized(std::string_view head, uint64_t size, bool complete) override {
    oversized.emplace_back(std::string(head), size);
    oversized_complete.push_back(complete);
  }
  void OnTrailingBytes(std::string_view b) override { trailing.emplace_back(b); }
};

TEST(LineSplitterTest, LineSplitAcrossReads) {
  LineSplitter s;
  CollectLines c;
  s.Feed("{\"a\":", &c);
  EXPECT_TRUE(c.lines.empty());
  s.Feed("1}", &c);
  EXPECT_TRUE(c.lines.empty());
  s.Feed("\n", &c);
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0], "{\"a\":1}");
  EXPECT_EQ(s.buffered(), 0u);
}

TEST(LineSplitterTest, SeveralMessagesInOneReadAndATailKept) {
  LineSplitter s;
  CollectLines c;
  s.Feed("one\ntwo\nthr", &c);
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_EQ(c.lines[0], "one");
  EXPECT_EQ(c.lines[1], "two");
  s.Feed("ee\n", &c);
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[2], "three");
}

TEST(LineSplitterTest, ByteByByteEqualsWhole) {
  std::string stream = "{\"x\":\"\xe2\x80\xa8 u2028 inside\"}\n\n{\"y\":2}\n";
  LineSplitter s1, s2;
  CollectLines a, b;
  s1.Feed(stream, &a);
  for (char ch : stream) s2.Feed(std::string_view(&ch, 1), &b);
  EXPECT_EQ(a.lines, b.lines);
  ASSERT_EQ(a.lines.size(), 3u);
  EXPECT_EQ(a.lines[1], "");
}

TEST(LineSplitterTest, TenMiBLineInPieces) {
  std::string big = "{\"data\":\"" + std::string(10u << 20, 'x') + "\"}";
  LineSplitter s;
  CollectLines c;
  for (size_t off = 0; off < big.size(); off += 65536) s.Feed(std::string_view(big).substr(off, 65536), &c);
  EXPECT_TRUE(c.lines.empty());
  s.Feed("\n", &c);
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0].size(), big.size());
  EXPECT_EQ(c.lines[0], big);
}

TEST(LineSplitterTest, OversizedLineIsBoundedAndReportedOnce) {
  const size_t max = 1000;
  LineSplitter s(max);
  CollectLines c;
  std::string chunk(700, 'a');
  for (int i = 0; i < 100; ++i) {
    s.Feed(chunk, &c);
    EXPECT_LE(s.buffered(), max);  // memory stays bounded while the line grows
  }
  EXPECT_TRUE(c.oversized.empty());
  s.Feed("tail\n{\"next\":1}\n", &c);
  ASSERT_EQ(c.oversized.size(), 1u);
  EXPECT_EQ(c.oversized[0].second, 70000u + 4);
  EXPECT_EQ(c.oversized[0].first, std::string(max, 'a'));  // head bounded by the maximum too
  EXPECT_TRUE(c.oversized_complete[0]);
  ASSERT_EQ(c.lines.size(), 1u);  // the splitter recovers at the next newline
  EXPECT_EQ(c.lines[0], "{\"next\":1}");
}

TEST(LineSplitterTest, OversizedAtEofAndTrailingBytes) {
  LineSplitter s(10);
  CollectLines c;
  s.Feed("0123456789ABC", &c);
  s.Finish(&c);
  ASSERT_EQ(c.oversized.size(), 1u);
  EXPECT_FALSE(c.oversized_complete[0]);
  EXPECT_EQ(c.oversized[0].second, 13u);
  s.Feed("ok\npart", &c);
  s.Finish(&c);
  ASSERT_EQ(c.trailing.size(), 1u);
  EXPECT_EQ(c.trailing[0], "part");
}

// ------------------------------------------------------------------------------------------------

class TrackerTest : public ::testing::Test {
 protected:
  TrackerTest() { Reset({}); }
  void Reset(McpTrackerOptions o) {
    if (o.fallback_server_name.empty()) o.fallback_server_name = "fallback";
    events.clear();
    sink.refuse = false;
    tracker = std::make_unique<McpTracker>(o, sink);
    t = 1000;
  }
  void ToServer(std::string_view line) { tracker->OnLine(Direction::kToServer, line, t += 1000, 5); }
  void ToAgent(std::string_view line) { tracker->OnLine(Direction::kToAgent, line, t += 1000, 5); }
  std::vector<Event> OfKind(EventKind k) const {
    std::vector<Event> out;
    for (const Event& e : events)
      if (e.kind == k) out.push_back(e);
    return out;
  }

  // Keeps what the tracker emits in `events`, or refuses it while `refuse` is set (a failing store).
  class ListSink final : public EventSink {
   public:
    explicit ListSink(std::vector<Event>* out) : out_(out) {}
    Status Append(const Event& e) override {
      if (refuse) return Status::IOError("refused");
      out_->push_back(e);
      return Status::Ok();
    }
    bool refuse = false;

   private:
    std::vector<Event>* out_;
  };

  std::vector<Event> events;
  ListSink sink{&events};
  std::unique_ptr<McpTracker> tracker;
  int64_t t = 0;
};

TEST_F(TrackerTest, InitializeNamesTheServerOnEveryEvent) {
  ToServer(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"cli","version":"1"}}})");
  EXPECT_TRUE(events.empty());  // held until the server names itself
  ToAgent(
      R"({"result":{"protocolVersion":"2025-11-25","serverInfo":{"name":"fs-server","version":"2"},"capabilities":{}},"jsonrpc":"2.0","id":0})");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, EventKind::kMcpRequest);
  EXPECT_EQ(events[0].method, "initialize");
  EXPECT_EQ(events[0].request_id, "0");
  EXPECT_NE(events[0].json.find("\"clientInfo\""), std::string::npos);
  EXPECT_EQ(events[0].server, "fs-server");
  EXPECT_EQ(events[1].kind, EventKind::kMcpResponse);
  EXPECT_EQ(events[1].method, "initialize");
  EXPECT_EQ(events[1].server, "fs-server");
  EXPECT_NE(events[1].json.find("2025-11-25"), std::string::npos);
  EXPECT_EQ(events[1].duration_ns, 1000);
  EXPECT_EQ(tracker->server_name(), "fs-server");
}

TEST_F(TrackerTest, ToolsCallAndResultMatchedWithDuration) {
  ToServer(
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/w/a.txt"}}})");
  ToAgent(R"({"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hello"}],"isError":false}})");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, EventKind::kToolCall);
  EXPECT_EQ(events[0].tool, "read_file");
  EXPECT_EQ(events[0].json, R"({"path":"/w/a.txt"})");
  EXPECT_EQ(events[0].request_id, "7");
  EXPECT_EQ(events[0].direction, Direction::kToServer);
  EXPECT_EQ(events[0].server, "fallback");
  EXPECT_EQ(events[1].kind, EventKind::kToolResult);
  EXPECT_EQ(events[1].tool, "read_file");
  EXPECT_FALSE(events[1].is_error);
  EXPECT_EQ(events[1].duration_ns, 1000);
  EXPECT_NE(events[1].json.find("hello"), std::string::npos);
  EXPECT_EQ(tracker->pending_requests(), 0u);
}

TEST_F(TrackerTest, ARefusedEventLeavesTheTrackingIntact) {
  sink.refuse = true;  // the store fails at the call ...
  ToServer(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{}}})");
  sink.refuse = false;  // ... and takes the result: it still names its tool and its duration
  ToAgent(R"({"jsonrpc":"2.0","id":7,"result":{"content":[],"isError":false}})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, EventKind::kToolResult);
  EXPECT_EQ(events[0].tool, "read_file");
  EXPECT_EQ(events[0].duration_ns, 1000);
  EXPECT_EQ(tracker->pending_requests(), 0u);
}

TEST_F(TrackerTest, BehindAFirstFailureSinkRecordingStopsAtTheFirstRefusal) {
  FirstFailureSink recorded(sink);
  McpTrackerOptions o;
  o.fallback_server_name = "srv";
  McpTracker behind(o, recorded);
  auto line = [&](Direction d, std::string_view l) { behind.OnLine(d, l, t += 1000, 5); };
  line(Direction::kToServer, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{}}})");
  sink.refuse = true;
  line(Direction::kToAgent, R"({"jsonrpc":"2.0","id":1,"result":{"content":[]}})");
  sink.refuse = false;  // a store that recovers does not get the events after the hole
  line(Direction::kToServer, R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b","arguments":{}}})");
  line(Direction::kToAgent, R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})");
  behind.Flush();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].tool, "a");
  EXPECT_EQ(recorded.appended(), 1u);
  EXPECT_EQ(recorded.status().code(), StatusCode::kIOError);
  EXPECT_EQ(recorded.Append(Event()).code(), StatusCode::kIOError);
  EXPECT_EQ(events.size(), 1u);
}

TEST_F(TrackerTest, ToolErrorResultAndJsonRpcError) {
  ToServer(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope","arguments":{}}})");
  ToAgent(R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"unknown tool"}],"isError":true}})");
  ToServer(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}})");
  ToAgent(R"({"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"bad params"}})");
  ToServer(R"({"jsonrpc":"2.0","id":3,"method":"bogus/method"})");
  ToAgent(R"({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found"}})");
  auto results = OfKind(EventKind::kToolResult);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].is_error);
  EXPECT_TRUE(results[1].is_error);
  EXPECT_NE(results[1].json.find("-32602"), std::string::npos);
  auto responses = OfKind(EventKind::kMcpResponse);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_TRUE(responses[0].is_error);
  EXPECT_EQ(responses[0].method, "bogus/method");
  EXPECT_NE(responses[0].json.find("-32601"), std::string::npos);
}

TEST_F(TrackerTest, ResponsesOutOfOrder) {
  ToServer(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{}}})");
  ToServer(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fast","arguments":{}}})");
  ToAgent(R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})");
  ToAgent(R"({"jsonrpc":"2.0","id":1,"result":{"content":[]}})");
  auto results = OfKind(EventKind::kToolResult);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].tool, "fast");
  EXPECT_EQ(results[0].request_id, "2");
  EXPECT_EQ(results[0].duration_ns, 1000);
  EXPECT_EQ(results[1].tool, "slow");
  EXPECT_EQ(results[1].duration_ns, 3000);
}

TEST_F(TrackerTest, ResponseAfterCancelIsMarked) {
  ToServer(R"({"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"long","arguments":{}}})");
  ToServer(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"a","reason":"user"}})");
  ToAgent(R"({"jsonrpc":"2.0","id":"a","result":{"content":[]}})");
  auto notes = OfKind(EventKind::kMcpNotification);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].method, "notifications/cancelled");
  EXPECT_EQ(notes[0].request_id, "\"a\"");
  auto results = OfKind(EventKind::kToolResult);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].text, "response after cancel");
  EXPECT_EQ(results[0].request_id, "\"a\"");
}

TEST_F(TrackerTest, IdReusedAfterCompletionIsAFreshRequest) {
  for (int round = 0; round < 2; ++round) {
    ToServer(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"t","arguments":{}}})");
    ToAgent(R"({"jsonrpc":"2.0","id":5,"result":{"content":[]}})");
  }
  EXPECT_EQ(OfKind(EventKind::kToolCall).size(), 2u);
  EXPECT_EQ(OfKind(EventKind::kToolResult).size(), 2u);
  EXPECT_TRUE(OfKind(EventKind::kProtocolError).empty());
  // A second answer to a completed request does not match anything.
  ToAgent(R"({"jsonrpc":"2.0","id":5,"result":{"content":[]}})");
  auto responses = OfKind(EventKind::kMcpResponse);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].text, "unmatched response");
}

TEST_F(TrackerTest, SameIdInBothDirections) {
  // The client's initialize and the server's roots/list are both id 0.
  ToServer(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})");
  ToAgent(R"({"jsonrpc":"2.0","id":0,"method":"roots/list"})");
  ToServer(R"({"jsonrpc":"2.0","id":0,"result":{"roots":[{"uri":"file:///w"}]}})");
  ToAgent(R"({"jsonrpc":"2.0","id":0,"result":{"serverInfo":{"name":"srv"},"protocolVersion":"2025-11-25"}})");
  tracker->Flush();
  auto responses = OfKind(EventKind::kMcpResponse);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].method, "roots/list");
  EXPECT_EQ(responses[0].direction, Direction::kToServer);
  EXPECT_NE(responses[0].json.find("file:///w"), std::string::npos);
  EXPECT_EQ(responses[1].method, "initialize");
  EXPECT_EQ(responses[1].direction, Direction::kToAgent);
  EXPECT_EQ(tracker->server_name(), "srv");
  EXPECT_TRUE(OfKind(EventKind::kProtocolError).empty());
}

TEST_F(TrackerTest, NotificationsProgressAndOthers) {
  ToServer(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  ToAgent(
      R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":3,"progress":50,"total":100}})");
  auto notes = OfKind(EventKind::kMcpNotification);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].method, "notifications/initialized");
  EXPECT_EQ(notes[0].json, "");
  EXPECT_EQ(notes[1].method, "notifications/progress");
  EXPECT_EQ(notes[1].direction, Direction::kToAgent);
  EXPECT_NE(notes[1].json.find("\"progress\":50"), std::string::npos);
}

TEST_F(TrackerTest, ToolsListGivesOneDefinitionPerToolWithStableHash) {
  ToServer(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  ToAgent(
      R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","description":"A","inputSchema":{"type":"object"}},{"inputSchema":{"type":"object"},"name":"b","description":"B"}]}})");
  auto defs = OfKind(EventKind::kToolDef);
  ASSERT_EQ(defs.size(), 2u);
  EXPECT_EQ(defs[0].tool, "a");
  EXPECT_EQ(defs[1].tool, "b");
  EXPECT_EQ(defs[0].text.size(), 64u);
  EXPECT_EQ(defs[0].text, Blake2bHex(defs[0].json));
  EXPECT_NE(defs[0].text, defs[1].text);
  // Same definition with another key order: same hash. A changed description: another hash.
  Reset({});
  ToServer(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  ToAgent(
      R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"inputSchema":{"type":"object"},"description":"A","name":"a"},{"name":"b","description":"B changed","inputSchema":{"type":"object"}}]}})");
  auto defs2 = OfKind(EventKind::kToolDef);
  ASSERT_EQ(defs2.size(), 2u);
  EXPECT_EQ(defs2[0].text, defs[0].text);
  EXPECT_NE(defs2[1].text, defs[1].text);
}

TEST_F(TrackerTest, LargeResultIsTruncatedToSizeAndHash) {
  McpTrackerOptions o;
  o.max_result_bytes = 100;
  Reset(o);
  ToServer(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"big","arguments":{}}})");
  std::string text(500, 'z');
  ToAgent(R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":")" + text + R"("}]}})");
  auto results = OfKind(EventKind::kToolResult);
  ASSERT_EQ(results.size(), 1u);
  std::string body = R"({"content":[{"text":")" + text + R"(","type":"text"}]})";
  EXPECT_EQ(results[0].size, static_cast<int64_t>(body.size()));
  EXPECT_EQ(results[0].json, R"({"blake2b":")" + Blake2bHex(body) + R"(","size":)" + std::to_string(body.size()) +
                                 R"(,"truncated":true})");
}

TEST_F(TrackerTest, LargeArgumentsAreTruncatedToSizeAndHashExplicitly) {
  McpTrackerOptions o;
  o.max_arguments_bytes = 100;
  Reset(o);
  std::string text(500, 'z');
  ToServer(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"big","arguments":{"t":")" + text +
           R"("}}})");
  ToServer(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"small","arguments":{"t":"a"}}})");
  auto calls = OfKind(EventKind::kToolCall);
  ASSERT_EQ(calls.size(), 2u);
  std::string body = R"({"t":")" + text + R"("})";
  EXPECT_EQ(calls[0].size, static_cast<int64_t>(body.size()));
  EXPECT_EQ(calls[0].json, R"({"blake2b":")" + Blake2bHex(body) + R"(","size":)" + std::to_string(body.size()) +
                               R"(,"truncated":true})");
  EXPECT_EQ(calls[1].json, R"({"t":"a"})");
  EXPECT_EQ(McpTrackerOptions{}.max_arguments_bytes, kMaxRecordedArgumentsBytes);
}

TEST_F(TrackerTest, ArgumentsAreRedacted) {
  McpTrackerOptions o;
  o.redact = [](std::string* s) {
    size_t p;
    while ((p = s->find("hunter2hunter2")) != std::string::npos) s->replace(p, 14, "<secret>");
  };
  Reset(o);
  ToServer(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"login","arguments":{"password":"hunter2hunter2"}}})");
  auto calls = OfKind(EventKind::kToolCall);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].json, R"({"password":"<secret>"})");
}

TEST_F(TrackerTest, InvalidJsonAndNonRpcAreProtocolErrorsAndDoNotStopTracking) {
  ToServer("this is not json");
  ToServer("[1,2]");
  ToServer(R"({"id":1,"method":"x"})");
  ToAgent(R"({"jsonrpc":"2.0","id":1})");
  ToServer(R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"t","arguments":{}}})");
  ToAgent(R"({"jsonrpc":"2.0","id":9,"result":{}})");
  auto errs = OfKind(EventKind::kProtocolError);
  ASSERT_EQ(errs.size(), 4u);
  EXPECT_EQ(errs[0].text, "invalid JSON");
  EXPECT_EQ(errs[0].json, "this is not json");
  EXPECT_EQ(errs[1].text, "JSON-RPC batch (not allowed in MCP)");
  EXPECT_EQ(OfKind(EventKind::kToolResult).size(), 1u);
}

TEST_F(TrackerTest, OversizedLineThroughFeederKeepsBoundedSnippet) {
  DirectionalFeeder f(Direction::kToAgent, tracker.get(), 1u << 16);
  std::string big = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"" + std::string(1u << 20, 'q') + "\"}\n";
  for (size_t off = 0; off < big.size(); off += 4096) f.Feed(std::string_view(big).substr(off, 4096), 1, 1);
  EXPECT_LE(f.buffered(), 1u << 16);
  auto errs = OfKind(EventKind::kProtocolError);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].size, static_cast<int64_t>(big.size() - 1));
  EXPECT_EQ(errs[0].json.size(), kProtocolErrorSnippetBytes);
  EXPECT_NE(errs[0].text.find("exceeds the maximum"), std::string::npos);
}

}  // namespace
}  // namespace agenttrace

namespace agenttrace {
namespace {

TEST_F(TrackerTest, DeeplyNestedMessageIsRefusedBeforeParsing) {
  std::string deep =
      R"({"jsonrpc":"2.0","method":"n","params":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  ToAgent(deep);
  auto errs = OfKind(EventKind::kProtocolError);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].text.find("nested deeper"), std::string::npos);
  EXPECT_FALSE(JsonNestingExceeds(R"({"a":"[[[[[[[[[[[[\"[[["})", 3));
  EXPECT_TRUE(JsonNestingExceeds("[[[[", 3));
}

// ---------------------------------------------------------------------------------------------------
// ClassifyClientMessage: what a deciding proxy forwards, decides or refuses.

TEST(ClassifyClientMessageTest, OrdinaryTrafficIsForwardedUntouched) {
  McpTrackerOptions o;
  Event call;
  for (const char* line : {
           R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})",
           R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
           R"({"jsonrpc":"2.0","id":3,"result":{"roots":[]}})",
           R"({"jsonrpc":"2.0","id":4,"method":"tools/list"})",
           R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}])",
           R"({"jsonrpc":"2.0","id":5,"method":"tools/callx","params":{"name":"zap"}})",
           "",
           "  \r",
       }) {
    SCOPED_TRACE(line);
    EXPECT_EQ(ClassifyClientMessage(line, o, &call).action, ClientMessageAction::kForward);
  }
}

TEST(ClassifyClientMessageTest, EscapedSpellingsAreDecidedOnTheUnescapedValues) {
  McpTrackerOptions o;
  Event call;
  auto v = ClassifyClientMessage(
      R"({"jsonrpc":"2.0","id":"a","method":"tools\/c\u0061ll","params":{"n\u0061me":"z\u0061p","arguments":{"p":"\/x"}}})"
      "\r",
      o, &call);
  ASSERT_EQ(v.action, ClientMessageAction::kDecide) << v.reason;
  EXPECT_EQ(call.kind, EventKind::kToolCall);
  EXPECT_EQ(call.tool, "zap");
  EXPECT_EQ(call.json, R"({"p":"/x"})");
  EXPECT_EQ(call.request_id, R"("a")");
  EXPECT_EQ(call.direction, Direction::kToServer);
}

TEST(ClassifyClientMessageTest, RefusalsSayWhyAndWhomToAnswer) {
  McpTrackerOptions o;
  Event call;
  auto dup = ClassifyClientMessage(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a","name":"b"}})",
                                   o, &call);
  EXPECT_EQ(dup.action, ClientMessageAction::kRefuse);
  EXPECT_NE(dup.reason.find("duplicate key \"name\""), std::string::npos) << dup.reason;
  EXPECT_EQ(dup.answer_ids, std::vector<std::string>{"7"});

  auto note = ClassifyClientMessage(R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"a"}})", o, &call);
  EXPECT_EQ(note.action, ClientMessageAction::kRefuse);
  EXPECT_NE(note.reason.find("notification"), std::string::npos) << note.reason;
  EXPECT_TRUE(note.answer_ids.empty());

  auto fl =
      ClassifyClientMessage(R"({"jsonrpc":"2.0","id":2.0,"method":"tools/call","params":{"name":"a"}})", o, &call);
  EXPECT_EQ(fl.action, ClientMessageAction::kRefuse);
  EXPECT_EQ(fl.answer_ids, std::vector<std::string>{"2.0"});

  auto noname =
      ClassifyClientMessage(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":5}})", o, &call);
  EXPECT_EQ(noname.action, ClientMessageAction::kRefuse);

  auto batch = ClassifyClientMessage(
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"a"}},{"jsonrpc":"2.0","method":"notifications/x"}])",
      o, &call);
  EXPECT_EQ(batch.action, ClientMessageAction::kRefuse);
  EXPECT_TRUE(batch.batch);
  EXPECT_EQ(batch.answer_ids, (std::vector<std::string>{"1", R"("b")"}));

  auto bad = ClassifyClientMessage("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"\xc3\"}", o, &call);
  EXPECT_EQ(bad.action, ClientMessageAction::kRefuse);
  EXPECT_NE(bad.reason.find("not valid JSON"), std::string::npos) << bad.reason;
}

}  // namespace
}  // namespace agenttrace
