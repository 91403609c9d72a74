// The MCP stdio proxy against a stand-in server (fake_mcp_server): byte-exact forwarding, recording
// of tool events, and the lifetime rules (who closes, who is signalled, which status is returned).
#include "recorder/mcp_proxy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "format/decision_event.h"
#include "format/request_decider.h"
#include "tests/format/vector_sink.h"
#include "tests/mcp/fake_decider.h"
#include "tests/mcp/stdio_proxy_run.h"

namespace agenttrace {
namespace {

#ifndef FAKE_MCP_SERVER
#error "FAKE_MCP_SERVER must be defined by the build"
#endif

std::vector<Event> OfKind(const std::vector<Event>& ev, EventKind k) {
  std::vector<Event> out;
  for (const Event& e : ev)
    if (e.kind == k) out.push_back(e);
  return out;
}

TEST(McpProxyTest, ForwardsBytesUnchangedIncludingPartialLinesInvalidJsonAndLargeMessages) {
  ProxyRun run({FAKE_MCP_SERVER, "echo"});
  std::string big = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"w","arguments":{"d":")" +
                    std::string(5u << 20, 'b') + "\"}}}\n";
  std::vector<std::string> pieces = {
      "{\"jsonrpc\":\"2.0\",\"id\":0,\"met",
      "hod\":\"ping\"}\n",  // split line
      "not json at all\n",
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"b\"}\n",  // two in one write
      "{\"s\":\"raw \xe2\x80\xa8 U+2028 and \xff bytes\"}\n",
      big,
  };
  std::string all;
  for (auto& p : pieces) all += p;
  std::string got;
  std::thread reader([&] { got = run.ReadAll(); });
  for (auto& p : pieces) run.Write(p);
  run.CloseAgentStdin();
  reader.join();
  EXPECT_EQ(got.size(), all.size());
  EXPECT_TRUE(got == all) << "forwarded bytes differ";
  auto& r = run.Join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitStatus(), 0);
  EXPECT_EQ(r->bytes_to_server, all.size());
  EXPECT_EQ(r->bytes_to_agent, all.size());
  auto ev = run.Events();
  // Both directions carry the same lines (echo): each invalid line gives a protocol.error per direction.
  auto errs = OfKind(ev, EventKind::kProtocolError);
  EXPECT_EQ(errs.size(), 4u);
  // The echoed request comes back as a "request" travelling to the agent: both are recorded.
  EXPECT_EQ(OfKind(ev, EventKind::kToolCall).size(), 2u);
  auto calls = OfKind(ev, EventKind::kToolCall);
  // Forwarded whole, recorded bounded: arguments over kMaxRecordedArgumentsBytes become the explicit
  // truncation marker with their size.
  EXPECT_EQ(calls[0].size, static_cast<int64_t>((5u << 20) + 8));
  EXPECT_NE(calls[0].json.find("\"truncated\":true"), std::string::npos) << calls[0].json;
}

TEST(McpProxyTest, RecordsAnMcpSession) {
  ProxyRun run({FAKE_MCP_SERVER, "mcp"});
  run.Write(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}})"
      "\n");
  EXPECT_NE(run.ReadLine().find("fake-mcp"), std::string::npos);
  run.Write(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
            "\n");
  run.Write(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})"
            "\n");
  EXPECT_NE(run.ReadLine().find("\"tools\""), std::string::npos);
  run.Write(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"x":1}}})"
            "\n");
  run.Write(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"zap","arguments":{}}})"
            "\n");
  run.Write(R"({"jsonrpc":"2.0","id":4,"method":"resources/list"})"
            "\n");
  for (int i = 0; i < 3; ++i) run.ReadLine();
  run.CloseAgentStdin();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->server_name, "fake-mcp");
  auto ev = run.Events();
  EXPECT_EQ(r->events, ev.size());
  for (const Event& e : ev) EXPECT_EQ(e.server, "fake-mcp") << EventKindName(e.kind);
  auto defs = OfKind(ev, EventKind::kToolDef);
  ASSERT_EQ(defs.size(), 2u);
  EXPECT_EQ(defs[0].tool, "echo");
  auto calls = OfKind(ev, EventKind::kToolCall);
  auto results = OfKind(ev, EventKind::kToolResult);
  ASSERT_EQ(calls.size(), 2u);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(calls[0].json, R"({"x":1})");
  EXPECT_FALSE(results[0].is_error);
  EXPECT_TRUE(results[1].is_error);
  EXPECT_GT(results[0].duration_ns, 0);
  auto responses = OfKind(ev, EventKind::kMcpResponse);
  ASSERT_EQ(responses.size(), 3u);  // initialize, tools/list, resources/list
  EXPECT_TRUE(responses[2].is_error);
  EXPECT_EQ(OfKind(ev, EventKind::kMcpNotification).size(), 1u);
}

TEST(McpProxyTest, ServerExitEndsTheSessionAndClosesTheAgentsStdout) {
  ProxyRun run({FAKE_MCP_SERVER, "exit", "3"});
  EXPECT_EQ(run.ReadAll(), "");  // EOF although the agent's stdin is still open
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->ExitStatus(), 3);
}

TEST(McpProxyTest, ServerThatIgnoresEofGetsSigterm) {
  McpProxyOptions o;
  o.term_after_ms = 100;
  o.kill_after_ms = 10000;  // far off: the SIGTERM must end it, however slow the machine
  ProxyRun run({FAKE_MCP_SERVER, "hold"}, o);
  EXPECT_NE(run.ReadLine().find("ready"), std::string::npos);
  auto start = std::chrono::steady_clock::now();
  run.CloseAgentStdin();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_signal, SIGTERM);
  EXPECT_EQ(r->ExitStatus(), 128 + SIGTERM);
  // Ended by the SIGTERM, without waiting for the kill timer. Seconds of margin for a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

TEST(McpProxyTest, ServerThatIgnoresSigtermGetsSigkill) {
  McpProxyOptions o;
  o.term_after_ms = 50;
  o.kill_after_ms = 300;
  ProxyRun run({FAKE_MCP_SERVER, "stubborn"}, o);
  EXPECT_NE(run.ReadLine().find("ready"), std::string::npos);  // SIGTERM is ignored from now on
  run.CloseAgentStdin();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_signal, SIGKILL);
  EXPECT_EQ(r->ExitStatus(), 137);
}

TEST(McpProxyTest, MissingCommandIsNotFound) {
  McpProxyOptions o;
  o.command = {"/nonexistent/mcp-server"};
  VectorEventSink sink;
  auto r = RunMcpProxy(o, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/mcp-server"), std::string::npos);
}

TEST(McpProxyTest, FailingSinkStopsRecordingButNotForwarding) {
  McpProxyOptions o;
  o.command = {FAKE_MCP_SERVER, "echo"};
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
  o.agent_in_fd = a[0];
  o.agent_out_fd = b[1];
  std::string msg = "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n";
  std::string all;
  for (int i = 0; i < 10; ++i) all += msg;
  ASSERT_EQ(::write(a[1], all.data(), all.size()), static_cast<ssize_t>(all.size()));
  ::close(a[1]);
  VectorEventSink sink;
  sink.FailWith(Status::IOError("disk full"));
  auto r = RunMcpProxy(o, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->events, 0u);
  EXPECT_EQ(r->sink_status.code(), StatusCode::kIOError);
  std::string got(all.size() + 10, '\0');
  EXPECT_EQ(::read(b[0], got.data(), got.size()), static_cast<ssize_t>(all.size()));
  ::close(a[0]);
  ::close(b[0]);
  ::close(b[1]);
}

// An agent that stops reading (and never closes its read end) while the server writes more than the
// pipes hold: the agent-bound write used to block for ever, so the proxy's shutdown, which joins that
// thread, hung after the server was terminated. Now the proxy returns 1 s after the server's end,
// having read (and recorded) what the server wrote though it could not deliver it.
void AgentStopsReading(bool agent_reads_a_socket) {
  McpProxyOptions o;
  o.command = {"head", "-c", "2000000", "/dev/zero"};  // blocks once the pipes are full
  // Generous: on a loaded machine the server may take a while to start writing (CI once saw it
  // terminated 100 ms after the agent's end before it had written a byte).
  o.term_after_ms = 1000;
  o.kill_after_ms = 1500;
  o.max_buffered_bytes = 64u << 10;  // smaller than what the server writes, so that it blocks
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
  if (agent_reads_a_socket) {  // node's stdio pipes are socket pairs
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
  } else {
    ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
  }
  o.agent_in_fd = a[0];
  o.agent_out_fd = b[1];
  std::atomic<bool> done{false};
  Result<McpProxyResult> r = Status::Internal("not run");
  VectorEventSink sink;
  std::thread proxy([&] {
    r = RunMcpProxy(o, sink);
    done = true;
  });
  // The agent reads the first byte (so the server is running and writing), is done talking, and
  // never reads b[0] again (until the end of the test).
  char first = 1;
  EXPECT_EQ(::read(b[0], &first, 1), 1);
  ::close(a[1]);
  auto start = std::chrono::steady_clock::now();
  while (!done && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  const bool finished = done;
  // Unblock whatever is stuck, so that the threads can be joined either way.
  std::thread drain([&] {
    char buf[65536];
    while (::read(b[0], buf, sizeof buf) > 0) {
    }
  });
  proxy.join();
  ::close(b[1]);
  drain.join();
  ::close(a[0]);
  ::close(b[0]);
  ASSERT_TRUE(finished) << "the proxy's shutdown hung on an agent that stopped reading";
  EXPECT_LT(took, std::chrono::seconds(15));  // some 2 s on a quiet machine; a hang is for ever
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_signal, SIGTERM);  // it was blocked writing
  EXPECT_GT(r->bytes_to_agent, 64u << 10);
}

TEST(McpProxyTest, AgentThatStopsReadingAPipeDoesNotHoldTheShutdown) { AgentStopsReading(false); }
TEST(McpProxyTest, AgentThatStopsReadingASocketDoesNotHoldTheShutdown) { AgentStopsReading(true); }

// docs/threat-model.md, #11: the agent stops reading *and* still has requests to send, while the
// server, blocked writing its answers, stops reading them. Each waited for the other, and the proxy
// never reached the end of the agent's input, so its shutdown hung for ever. Now the proxy reads ahead
// of the server (bounded), sees the end of the agent's input, ends the server and records a gap.
struct StallOutcome {
  bool finished = false;
  std::chrono::steady_clock::duration took{};
  Result<McpProxyResult> result = Status::Internal("not run");
  std::vector<Event> events;
};

// `agent_bytes` of requests are written (by a thread, as an agent would) and the agent closes its end;
// it never reads. With `prefill`, they are all in the pipe (made large enough) before the proxy starts.
StallOutcome RunStalled(size_t agent_bytes, size_t max_buffered, bool prefill) {
  StallOutcome out;
  McpProxyOptions o;
  o.command = {"cat", "/dev/zero"};  // writes for ever, never reads its stdin
  o.term_after_ms = 1000;            // time for the server to start writing, even on a loaded machine
  o.kill_after_ms = 1500;
  o.max_buffered_bytes = max_buffered;
  int a[2], b[2];
  AT_CHECK(pipe2(a, O_CLOEXEC) == 0);
  AT_CHECK(pipe2(b, O_CLOEXEC) == 0);
  o.agent_in_fd = a[0];
  o.agent_out_fd = b[1];
  std::string line = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"w","arguments":{"d":")" +
                     std::string(1000, 'x') + "\"}}}\n";
  std::string requests;
  while (requests.size() < agent_bytes) requests += line;
  std::thread writer;
  if (prefill) {
    AT_CHECK(fcntl(a[1], F_SETPIPE_SZ, 1 << 20) >= static_cast<int>(requests.size()));
    AT_CHECK(::write(a[1], requests.data(), requests.size()) == static_cast<ssize_t>(requests.size()));
    ::close(a[1]);
  } else {
    writer = std::thread([&, fd = a[1]] {
      std::string_view s = requests;
      while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n <= 0) break;
        s.remove_prefix(static_cast<size_t>(n));
      }
      ::close(fd);
    });
  }
  std::atomic<bool> done{false};
  std::mutex mu;
  VectorEventSink sink;
  std::thread proxy([&] {
    auto r = RunMcpProxy(o, sink);
    std::lock_guard<std::mutex> lock(mu);
    out.result = std::move(r);
    done = true;
  });
  auto start = std::chrono::steady_clock::now();
  while (!done && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  out.took = std::chrono::steady_clock::now() - start;
  out.finished = done;
  // Unblock whatever is stuck (the agent reads at last), so that the threads can be joined either way.
  std::thread drain([&] {
    char buf[65536];
    while (::read(b[0], buf, sizeof buf) > 0) {
    }
  });
  proxy.join();
  out.events = sink.TakeEvents();
  if (writer.joinable()) writer.join();
  ::close(b[1]);
  drain.join();
  ::close(a[0]);
  ::close(b[0]);
  return out;
}

void ExpectBoundedTeardownWithGap(const StallOutcome& s) {
  ASSERT_TRUE(s.finished) << "the proxy hung: agent and server each waited for the other";
  EXPECT_LT(s.took, std::chrono::seconds(15));  // some 2 s on a quiet machine; a hang is for ever
  ASSERT_TRUE(s.result.ok()) << s.result.status().ToString();
  EXPECT_EQ(s.result->exit_signal, SIGTERM);  // it was blocked writing: ended by the proxy
  EXPECT_EQ(s.result->ExitStatus(), 128 + SIGTERM);
  EXPECT_GT(s.result->undelivered_to_server_bytes, 0u);
  EXPECT_GT(s.result->undelivered_to_agent_bytes, 0u);
  EXPECT_GT(s.result->undelivered_messages, 0u);
  auto gaps = OfKind(s.events, EventKind::kGap);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_NE(gaps[0].text.find("never delivered"), std::string::npos) << gaps[0].text;
  // What the agent sent is recorded although the server never got it.
  EXPECT_GT(OfKind(s.events, EventKind::kToolCall).size(), 100u);
}

TEST(McpProxyTest, AgentThatStopsReadingWithRequestsUnsentToAStuckServerDoesNotHang) {
  ExpectBoundedTeardownWithGap(RunStalled(2u << 20, 4u << 20, /*prefill=*/false));
}

TEST(McpProxyTest, AgentThatClosesWithMoreUnsentThanTheBufferBoundDoesNotHang) {
  // More is unread in the agent's pipe than the proxy buffers: the end of input is seen by POLLHUP.
  ExpectBoundedTeardownWithGap(RunStalled(900u << 10, 64u << 10, /*prefill=*/true));
}

// ---------------------------------------------------------------------------------------------------
// Request-time decisions

using Json = nlohmann::json;

// Sends initialize and the given tools/call requests (ids 10, 11, ...), reads one answer per request.
std::map<int, Json> CallTools(ProxyRun& run, const std::vector<std::string>& tools) {
  run.Write(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}})"
      "\n");
  std::map<int, Json> answers;
  Json init = Json::parse(run.ReadLine());
  answers[0] = init;
  for (size_t i = 0; i < tools.size(); ++i) {
    run.Write(R"({"jsonrpc":"2.0","id":)" + std::to_string(10 + i) + R"(,"method":"tools/call","params":{"name":")" +
              tools[i] + R"(","arguments":{"n":)" + std::to_string(i) + "}}}\n");
  }
  for (size_t i = 0; i < tools.size(); ++i) {
    Json j = Json::parse(run.ReadLine(), nullptr, false);
    if (j.is_object() && j.contains("id")) answers[j["id"].get<int>()] = j;
  }
  return answers;
}

TEST(McpProxyTest, DeniedToolCallIsAnsweredByTheProxyAndNeverReachesTheServer) {
  FakeDecider decider;
  McpProxyOptions o;
  o.decider = &decider;
  ProxyRun run({FAKE_MCP_SERVER, "mcp"}, o);
  auto answers = CallTools(run, {"echo", "zap", "echo"});
  run.CloseAgentStdin();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(answers.size(), 4u);
  // Allowed calls reach the server (the fake echoes their arguments).
  EXPECT_EQ(answers[10]["result"]["content"][0]["text"], R"({"n":0})");
  EXPECT_EQ(answers[12]["result"]["content"][0]["text"], R"({"n":2})");
  // The denied one is answered by the proxy: a JSON-RPC error with the same id, naming the rule. Had
  // it been forwarded, the fake would have answered a result ("unknown tool zap").
  ExpectZapDenial(answers[11]);
  EXPECT_EQ(r->denied, 1u);
  // The decider saw each call as the recorder records it, with the server's own name.
  auto seen = decider.Seen();
  ASSERT_EQ(seen.size(), 3u);
  ExpectSawZapCall(seen[1]);
  // The session holds the call and the error the agent got (the decision is the decider's to record).
  auto ev = run.Events();
  auto calls = OfKind(ev, EventKind::kToolCall);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].tool, "zap");
  auto results = OfKind(ev, EventKind::kToolResult);
  ASSERT_EQ(results.size(), 3u);
  for (const Event& res : results) {
    if (res.request_id == "11") {
      EXPECT_TRUE(res.is_error);
      EXPECT_EQ(res.tool, "zap");
    }
  }
}

TEST(McpProxyTest, AuditModeBlocksNothing) {
  FakeDecider decider;
  McpProxyOptions o;
  o.decider = &decider;
  o.mode = EnforceMode::kAudit;
  ProxyRun run({FAKE_MCP_SERVER, "mcp"}, o);
  auto answers = CallTools(run, {"zap", "ask"});
  run.CloseAgentStdin();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(decider.Seen().size(), 2u);                               // decided (and recorded by the decider) ...
  EXPECT_TRUE(answers[10].contains("result")) << answers[10].dump();  // ... but forwarded
  EXPECT_TRUE(answers[11].contains("result")) << answers[11].dump();
  EXPECT_EQ(r->denied, 0u);
}

TEST(McpProxyTest, AskWithoutAResolverIsDeniedAndSaysSo) {
  FakeDecider decider;
  McpProxyOptions o;
  o.decider = &decider;
  ProxyRun run({FAKE_MCP_SERVER, "mcp"}, o);
  auto answers = CallTools(run, {"ask"});
  run.CloseAgentStdin();
  ASSERT_TRUE(run.Join().ok());
  ASSERT_TRUE(answers[10].contains("error")) << answers[10].dump();
  std::string msg = answers[10]["error"]["message"];
  EXPECT_NE(msg.find("ask-first"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nobody"), std::string::npos) << msg;
  EXPECT_EQ(answers[10]["error"]["data"]["decision"], "ask");
}

TEST(McpProxyTest, AskAnsweredYesIsForwardedAndNoIsDenied) {
  for (bool allow : {true, false}) {
    FakeDecider decider;
    FixedAsk ask(allow);
    McpProxyOptions o;
    o.decider = &decider;
    o.ask = &ask;
    ProxyRun run({FAKE_MCP_SERVER, "mcp"}, o);
    auto answers = CallTools(run, {"ask"});
    run.CloseAgentStdin();
    auto& r = run.Join();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->asked, 1u);
    // The fake answers any tool but "echo" with an isError result: forwarded means a result.
    EXPECT_EQ(answers[10].contains("result"), allow) << answers[10].dump();
    EXPECT_EQ(answers[10].contains("error"), !allow) << answers[10].dump();
    bool found = false;
    for (const Event& e : OfKind(run.Events(), EventKind::kAnnotation)) {
      if (e.text != kDecisionAnswerText) continue;
      Json dj = Json::parse(e.json);
      EXPECT_EQ(dj["answer"], allow ? "allow" : "deny");
      EXPECT_EQ(dj["by"], allow ? "allow" : "deny");
      EXPECT_EQ(dj["rule"], "ask-first");
      found = true;
    }
    EXPECT_TRUE(found);
  }
}

// A hostile agent's tools/call spellings that a server's parser (node's JSON.parse, Python's json, a
// first-key-wins parser) can still read as a call of "zap". None may reach the server undecided: the
// stand-in server echoes what it gets, so anything forwarded comes back. Each is decided (and denied)
// or refused; a request with a usable id gets an error answer, a notification none.
TEST(McpProxyTest, ToolCallSpellingsThatAServerStillReadsNeverReachItUndecided) {
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  struct Case {
    std::string line;
    bool answered;  // an error answer carrying the request's id is expected
  };
  const std::vector<Case> cases = {
      {R"({"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"zap"}})", true},
      {R"({"jsonrpc":"2.0","id":1,"method":"\u0074ools/call","params":{"name":"zap"}})", true},
      {R"({"jsonrpc":"2.0","id":1.0,"method":"tools/call","params":{"name":"zap"}})", true},
      {R"({"jsonrpc":"2.0","id":1e0,"method":"tools/call","params":{"name":"zap"}})", true},
      {R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"zap"}})", false},
      {R"({"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"zap"}})", false},
      {R"({"jsonrpc":"2.0","id":{"a":1},"method":"tools/call","params":{"name":"zap"}})", false},
      {R"({"id":1,"method":"tools/call","params":{"name":"zap"}})", true},
      {R"({"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"zap"}})", true},
      {R"({"jsonrpc":"2.0","id":1,"method":" tools/call","params":{"name":"zap"}})", true},
      {R"([{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"zap"}}])", true},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"zap","name":"echo"}})", true},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{"name":"zap"}})", true},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"zap","arguments":{"p":"\ud800"}}})", false},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/"
       "call\",\"params\":{\"name\":\"zap\",\"arguments\":{\"p\":\"\xff\"}}}",
       false},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"zap","arguments":{"p":)" + deep + "}}}",
       false},
      // Python's SDK reads stdin with universal newlines: a lone \r ends a line there, not here.
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\r"
       R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"zap"}})"
       "\r}",
       true},
      // Go's SDK decodes a stream of values: two messages on one line, or one over two lines.
      {R"({"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"zap"}})",
       false},
      {"{\"jsonrpc\":\"2.0\",\"id\":2,\n"
       R"("method":"tools/call","params":{"name":"zap"}})",
       false},
      // A server reading C strings (cJSON, strcmp) stops at a NUL.
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call\u0000x","params":{"name":"zap"}})", true},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"zap\u0000echo"}})", true},
  };
  const std::string marker = R"({"jsonrpc":"2.0","id":99,"method":"ping"})";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line.substr(0, 120));
    FakeDecider decider;
    McpProxyOptions o;
    o.decider = &decider;
    ProxyRun run({FAKE_MCP_SERVER, "echo"}, o);
    run.Write(c.line + "\n" + marker + "\n");
    run.CloseAgentStdin();
    std::string out = run.ReadAll();
    ASSERT_TRUE(run.Join().ok());
    EXPECT_EQ(out.find(c.line), std::string::npos) << "forwarded undecided: " << out.substr(0, 300);
    EXPECT_NE(out.find(marker), std::string::npos) << "what follows must still be forwarded";
    for (const Event& d : decider.Seen()) {
      EXPECT_EQ(d.tool, "zap");  // never decided on another reading
    }
    if (c.answered) {
      EXPECT_NE(out.find("-32050"), std::string::npos) << out.substr(0, 300);
    }
  }
}

// Audit mode blocks nothing, not even a message it would refuse: it is recorded as such and forwarded.
TEST(McpProxyTest, AuditModeRecordsAWouldBeRefusalAndForwards) {
  FakeDecider decider;
  McpProxyOptions o;
  o.decider = &decider;
  o.mode = EnforceMode::kAudit;
  ProxyRun run({FAKE_MCP_SERVER, "echo"}, o);
  const std::string line = R"([{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"zap"}}])";
  run.Write(line + "\n");
  run.CloseAgentStdin();
  std::string out = run.ReadAll();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(out, line + "\n");
  EXPECT_EQ(r->denied, 0u);
  bool recorded = false;
  for (const Event& e : OfKind(run.Events(), EventKind::kProtocolError)) {
    recorded = recorded || e.text.find("would have been refused") != std::string::npos;
  }
  EXPECT_TRUE(recorded);
}

// A refused batch is answered as a batch: one error per request in it, in an array.
TEST(McpProxyTest, RefusedBatchIsAnsweredWithAnArrayOfErrors) {
  FakeDecider decider;
  McpProxyOptions o;
  o.decider = &decider;
  ProxyRun run({FAKE_MCP_SERVER, "echo"}, o);
  run.Write(
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo"}}])"
      "\n");
  run.CloseAgentStdin();
  std::string out = run.ReadAll();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  Json a = Json::parse(out, nullptr, false);
  ASSERT_TRUE(a.is_array()) << out;
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0]["id"], 1);
  EXPECT_EQ(a[1]["id"], 2);
  EXPECT_EQ(a[1]["error"]["code"], -32050);
  EXPECT_EQ(a[1]["error"]["data"]["decision"], "refused");
  EXPECT_EQ(r->denied, 1u);
  EXPECT_TRUE(decider.Seen().empty());
}

}  // namespace
}  // namespace agenttrace
