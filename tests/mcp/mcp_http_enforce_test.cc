// Request-time decisions in the MCP Streamable HTTP proxy (recorder/mcp_http_proxy.h,
// recorder/mcp_http_gate.h), against an upstream in this process that counts what reaches it: a
// denied tools/call is answered by the proxy and never forwarded, an allowed one is, audit mode
// forwards everything, undecidable messages (a batch holding a call, odd spellings) are refused, the
// session records a decided call exactly as the stdio proxy records it, and a decision in progress
// never holds the proxy's stop.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "format/decision_event.h"
#include "format/mcp_refusal.h"
#include "recorder/mcp_http_proxy.h"
#include "replayer/live_decider.h"
#include "replayer/policy.h"
#include "tests/format/vector_sink.h"
#include "tests/mcp/fake_decider.h"
#include "tests/mcp/fake_mcp_answer.h"
#include "tests/mcp/no_zap_policy.h"
#include "tests/mcp/stdio_proxy_run.h"

#ifndef FAKE_MCP_SERVER
#error "FAKE_MCP_SERVER must be defined by the build"
#endif

namespace agenttrace {
namespace {

using Json = nlohmann::json;

// An MCP server over HTTP that answers as fake_mcp_server's "mcp" mode does (FakeMcpAnswer), one
// application/json answer per POST, 202 for anything else, and keeps every body it got.
class Upstream {
 public:
  Upstream() {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(req.body);
      }
      auto answer = FakeMcpAnswer(req.body);
      if (!answer.has_value()) {  // a notification, an answer, a batch: accepted, nothing to say
        res.status = 202;
        return;
      }
      res.set_content(*answer, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the thread listens does nothing, and the join in the destructor would then wait
    // for ever (a test that never reaches the upstream hung so under load).
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Upstream() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  std::vector<std::string> Bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  // Bodies holding `s`.
  int Saw(const std::string& s) {
    int n = 0;
    for (const std::string& b : Bodies()) n += b.find(s) != std::string::npos;
    return n;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

struct Answer {
  int status = 0;
  std::string content_type;
  std::string body;
  Json json() const { return Json::parse(body, nullptr, false); }
};

// The proxy run in a thread of the test until Stop().
class HttpProxyRun {
 public:
  HttpProxyRun(const std::string& upstream, McpHttpProxyOptions o, EventSink* sink) : sink_(sink) {
    int p[2];
    AT_CHECK(::pipe2(p, O_CLOEXEC) == 0);
    stop_r_ = p[0];
    stop_w_ = p[1];
    o.listen_host = "127.0.0.1";
    o.upstream = upstream;
    o.stop_fd = stop_r_;
    auto port = listening_.get_future();
    o.on_listening = [this](int port) { listening_.set_value(port); };
    thread_ = std::thread([this, o] {
      result_ = RunMcpHttpProxy(o, *sink_);
      if (!result_.ok()) listening_.set_value(0);  // it failed before listening
    });
    port_ = port.get();
  }
  ~HttpProxyRun() {
    Stop();
    ::close(stop_r_);
    ::close(stop_w_);
  }
  Answer Post(const std::string& body) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(std::chrono::seconds(30));
    auto res = c.Post("/mcp", body, "application/json");
    if (!res) return {};
    return {res->status, res->get_header_value("Content-Type"), res->body};
  }
  Result<McpHttpProxyResult>& Stop() {
    if (thread_.joinable()) {
      AT_CHECK(::write(stop_w_, "x", 1) == 1);
      thread_.join();
    }
    return result_;
  }

 private:
  EventSink* sink_;
  int stop_r_ = -1, stop_w_ = -1;
  int port_ = 0;
  std::promise<int> listening_;
  std::thread thread_;
  Result<McpHttpProxyResult> result_ = Status::Internal("not run");
};

const char kInitialize[] =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}})";

std::string Call(int id, const std::string& tool, int n) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"tools/call","params":{"name":")" + tool +
         R"(","arguments":{"n":)" + std::to_string(n) + "}}}";
}

std::vector<Event> OfKind(const std::vector<Event>& ev, EventKind k) {
  std::vector<Event> out;
  for (const Event& e : ev)
    if (e.kind == k) out.push_back(e);
  return out;
}

TEST(McpHttpEnforceTest, DeniedToolCallIsAnsweredByTheProxyAndNeverReachesTheUpstream) {
  Upstream up;
  FakeDecider decider;
  VectorEventSink sink;
  McpHttpProxyOptions o;
  o.decider = &decider;
  HttpProxyRun run(up.url(), o, &sink);
  ASSERT_EQ(run.Post(kInitialize).status, 200);
  Answer allowed = run.Post(Call(10, "echo", 0));
  Answer denied = run.Post(Call(11, "zap", 1));
  auto& r = run.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  // The allowed call went through and the upstream answered it.
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.json()["result"]["content"][0]["text"], R"({"n":0})") << allowed.body;
  EXPECT_EQ(up.Saw(R"("name":"echo")"), 1);
  // The denied one: answered by the proxy with the stdio proxy's error, the upstream never saw it.
  EXPECT_EQ(up.Saw("zap"), 0);
  EXPECT_EQ(denied.status, 200);
  EXPECT_EQ(denied.content_type, "application/json");
  Json j = denied.json();
  ASSERT_TRUE(j.is_object()) << denied.body;
  EXPECT_EQ(j["jsonrpc"], "2.0");
  EXPECT_EQ(j["id"], 11);
  ExpectZapDenial(j);
  EXPECT_EQ(r->denied, 1u);
  // The decider saw each call as the recorder records it, named after the server's initialize answer.
  auto seen = decider.Seen();
  ASSERT_EQ(seen.size(), 2u);
  ExpectSawZapCall(seen[1]);
  // The session: both calls, and the error the client got as the denied call's result.
  auto ev = sink.Events();
  auto calls = OfKind(ev, EventKind::kToolCall);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].tool, "zap");
  auto results = OfKind(ev, EventKind::kToolResult);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].is_error);
  EXPECT_TRUE(results[1].is_error);
  EXPECT_EQ(results[1].tool, "zap");
  EXPECT_TRUE(OfKind(ev, EventKind::kProtocolError).empty());
}

// A client that sends its next call as soon as it has an answer finds that answer before its next
// call in the record: the proxy queues the upstream's JSON answer (Content-Length) for the record
// before the client can have its last byte. Before, it was queued once the upstream request had
// returned, and a denied call sent at once could be recorded with its error ahead of the answer
// (seen once in a loaded test run); the proxy's test delay after each upstream exchange makes that
// window wide enough to lose every time.
TEST(McpHttpEnforceTest, ASequentialClientsAnswersAreRecordedBeforeItsNextCall) {
  Upstream up;
  FakeDecider decider;
  VectorEventSink sink;
  McpHttpProxyOptions o;
  o.decider = &decider;
  o.test_delay_after_upstream_ms = 50;
  HttpProxyRun run(up.url(), o, &sink);
  ASSERT_EQ(run.Post(kInitialize).status, 200);
  constexpr int kPairs = 10;
  for (int i = 0; i < kPairs; ++i) {
    ASSERT_EQ(run.Post(Call(100 + 2 * i, "echo", i)).status, 200);
    ASSERT_EQ(run.Post(Call(101 + 2 * i, "zap", i)).status, 200);
  }
  auto& r = run.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->denied, static_cast<uint64_t>(kPairs));
  // In the record: call, its result, call, its result, ... in the order the client sent them.
  std::vector<std::string> order;
  for (const Event& e : sink.Events()) {
    if (e.kind == EventKind::kToolCall) order.push_back("call " + e.tool);
    if (e.kind == EventKind::kToolResult) order.push_back(std::string(e.is_error ? "error " : "result ") + e.tool);
  }
  ASSERT_EQ(order.size(), 4u * kPairs);
  for (int i = 0; i < kPairs; ++i) {
    ASSERT_EQ(order[4 * i], "call echo") << i;
    ASSERT_EQ(order[4 * i + 1], "result echo") << i;
    ASSERT_EQ(order[4 * i + 2], "call zap") << i;
    ASSERT_EQ(order[4 * i + 3], "error zap") << i;
  }
}

TEST(McpHttpEnforceTest, AuditModeForwardsAWouldBeDenialAndRecordsIt) {
  Upstream up;
  VectorEventSink sink;
  LiveDeciderOptions lo;
  lo.mode = EnforceMode::kAudit;
  lo.record = [&sink](const Event& e) { (void)sink.Append(e); };
  auto decider = LiveDecider::Create(NoZapPolicy(), PathVars{"/w", "/h", "/tmp"},
                                     std::move(lo));
  ASSERT_TRUE(decider.ok()) << decider.status().ToString();
  McpHttpProxyOptions o;
  o.decider = decider->get();
  o.mode = EnforceMode::kAudit;
  HttpProxyRun run(up.url(), o, &sink);
  ASSERT_EQ(run.Post(kInitialize).status, 200);
  Answer zap = run.Post(Call(11, "zap", 1));
  const std::string batch = "[" + Call(12, "zap", 2) + "]";
  Answer batch_answer = run.Post(batch);
  auto& r = run.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Forwarded and answered by the upstream ...
  EXPECT_EQ(up.Saw(R"("name":"zap")"), 2);
  EXPECT_TRUE(zap.json().contains("result")) << zap.body;
  EXPECT_EQ(batch_answer.status, 202);  // the upstream's answer to a batch
  EXPECT_EQ(r->denied, 0u);
  // ... and recorded as it would have been enforced: a deny decision in audit mode, and the batch as a
  // would-be refusal.
  int denies = 0, would_refuse = 0;
  for (const Event& e : sink.Events()) {
    if (IsDecisionEvent(e)) {
      auto d = ParseDecisionEvent(e);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      if (d->decision.verdict == RequestVerdict::kDeny) {
        ++denies;
        EXPECT_EQ(d->decision.rule, "no-zap");
        EXPECT_EQ(d->mode, EnforceMode::kAudit);
      }
    }
    if (e.kind == EventKind::kProtocolError && IsRefusedToolRequest(e)) {
      ++would_refuse;
      EXPECT_NE(e.text.find(kWouldRefuseUndecidableSuffix), std::string::npos) << e.text;
    }
  }
  EXPECT_EQ(denies, 1);
  EXPECT_EQ(would_refuse, 1);
}

// A batch holding a call and the spellings a server still reads as a call of "zap" are refused: never
// forwarded, answered with the refusal error(s) when they carry an id (a batch with an array), else
// with 400 and an error whose id is null; each recorded as the stdio proxy records a refusal.
TEST(McpHttpEnforceTest, UndecidableMessagesAreRefusedAndNeverForwarded) {
  struct Case {
    std::string body;
    int status;
    bool batch;
  };
  const std::vector<Case> cases = {
      {"[" + Call(1, "echo", 0) + R"(,{"jsonrpc":"2.0","id":2,"method":"ping"}])", 200, true},
      {R"({"jsonrpc":"2.0","id":4,"method":"Tools/Call","params":{"name":"zap"}})", 200, false},
      {R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","name":"zap"}})", 200, false},
      {R"({"jsonrpc":"2.0","id":6.0,"method":"tools/call","params":{"name":"zap"}})", 200, false},
      {R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"zap"}})", 400, false},
      {R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"zap\u0000echo"}})", 200, false},
      {R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"zap"})", 400, false},  // cut short
  };
  Upstream up;
  FakeDecider decider;
  VectorEventSink sink;
  McpHttpProxyOptions o;
  o.decider = &decider;
  HttpProxyRun run(up.url(), o, &sink);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Answer a = run.Post(c.body);
    EXPECT_EQ(a.status, c.status) << a.body;
    EXPECT_EQ(a.content_type, "application/json");
    Json j = a.json();
    if (c.batch) {
      ASSERT_TRUE(j.is_array()) << a.body;
      ASSERT_EQ(j.size(), 2u);
      EXPECT_EQ(j[0]["id"], 1);
      EXPECT_EQ(j[1]["id"], 2);
      EXPECT_EQ(j[0]["error"]["code"], -32050);
      EXPECT_EQ(j[0]["error"]["data"]["decision"], "refused");
    } else {
      ASSERT_TRUE(j.is_object()) << a.body;
      EXPECT_EQ(j["error"]["code"], -32050);
      EXPECT_EQ(j["error"]["data"]["decision"], "refused");
      if (c.status == 400) {
        EXPECT_TRUE(j["id"].is_null());
      }
    }
  }
  // A plain request still goes through afterwards.
  EXPECT_TRUE(run.Post(Call(9, "echo", 9)).json().contains("result"));
  auto& r = run.Stop();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(up.Bodies().size(), 1u) << "only the last, plain call may reach the upstream";
  EXPECT_EQ(r->denied, cases.size());
  for (const Event& d : decider.Seen()) EXPECT_EQ(d.request_id, "9");  // nothing else was decided
  int refusals = 0;
  for (const Event& e : OfKind(sink.Events(), EventKind::kProtocolError)) {
    if (!IsRefusedToolRequest(e)) continue;
    ++refusals;
    EXPECT_NE(e.text.find(kRefusedUndecidableSuffix), std::string::npos) << e.text;
    EXPECT_EQ(e.direction, Direction::kToServer);
  }
  EXPECT_EQ(refusals, static_cast<int>(cases.size()));
}

TEST(McpHttpEnforceTest, AskIsPutToTheResolverAndItsAnswerRecorded) {
  for (bool allow : {true, false}) {
    SCOPED_TRACE(allow);
    Upstream up;
    FakeDecider decider;
    FixedAsk ask(allow);
    VectorEventSink sink;
    McpHttpProxyOptions o;
    o.decider = &decider;
    o.ask = &ask;
    HttpProxyRun run(up.url(), o, &sink);
    Answer a = run.Post(Call(10, "ask", 0));
    auto& r = run.Stop();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->asked, 1u);
    EXPECT_EQ(a.json().contains("result"), allow) << a.body;
    EXPECT_EQ(up.Saw("\"ask\""), allow ? 1 : 0);
    int answers = 0;
    for (const Event& e : OfKind(sink.Events(), EventKind::kAnnotation)) {
      if (e.text != kDecisionAnswerText) continue;
      ++answers;
      EXPECT_EQ(Json::parse(e.json)["answer"], allow ? "allow" : "deny");
    }
    EXPECT_EQ(answers, 1);
  }
}

// Without a resolver an ask is denied (fail closed), and a decider that throws denies too.
TEST(McpHttpEnforceTest, AnAskNobodyAnswersAndADeciderFailureDeny) {
  class Throwing final : public RequestDecider {
   public:
    RequestDecision Decide(const Event&) override { throw std::runtime_error("evaluator broke"); }
  };
  Upstream up;
  FakeDecider decider;
  Throwing throwing;
  for (RequestDecider* d : std::vector<RequestDecider*>{&decider, &throwing}) {
    VectorEventSink sink;
    McpHttpProxyOptions o;
    o.decider = d;
    HttpProxyRun run(up.url(), o, &sink);
    Answer a = run.Post(Call(10, "ask", 0));
    ASSERT_TRUE(run.Stop().ok());
    ASSERT_TRUE(a.json().contains("error")) << a.body;
    EXPECT_NE(a.body.find(d == &decider ? "nobody" : "evaluator broke"), std::string::npos) << a.body;
  }
  EXPECT_EQ(up.Bodies().size(), 0u);
}

// Whether `pred` holds within `timeout` (polled).
bool Within(std::chrono::milliseconds timeout, const std::function<bool()>& pred) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A decision in progress at the stop (a human answering an ask, the enclosing run's decider asking
// one) must not hold the stop: its call, and one queued behind it, are answered with the "stopped"
// error and never forwarded, in audit mode too; the stop returns after at most the 2 s it waits for
// the decision; when the decision then comes back allow, nothing is forwarded or recorded.
TEST(McpHttpEnforceTest, StopDoesNotWaitForADecisionInProgressAndNeverForwardsItsCall) {
  using std::chrono::milliseconds;
  // Far above the bound of the stop: a proxy that waits for the held decision fails on time.
  constexpr milliseconds kHeld(20000);
  constexpr milliseconds kStopBound(6000);  // 2 s wait, and room for a loaded or sanitized build
  struct Case {
    const char* name;
    EnforceMode mode;
    std::string tool;  // held in Decide ("slow") or in Ask ("ask")
  };
  for (const Case& c : {Case{"held decider", EnforceMode::kEnforce, "slow"},
                        Case{"held ask", EnforceMode::kEnforce, "ask"}, Case{"audit", EnforceMode::kAudit, "slow"}}) {
    SCOPED_TRACE(c.name);
    HeldDecider& held = HeldDecider::KeepForTheProcess(kHeld);
    Upstream up;
    VectorEventSink sink;
    McpHttpProxyOptions o;
    o.decider = &held;
    o.ask = &held;
    o.mode = c.mode;
    HttpProxyRun run(up.url(), o, &sink);
    ASSERT_EQ(run.Post(kInitialize).status, 200);
    auto first = std::async(std::launch::async, [&] { return run.Post(Call(21, c.tool, 1)); });
    ASSERT_TRUE(held.WaitHeld(1, milliseconds(10000)));
    // Decisions are taken one at a time: this one waits behind the held one (recorded, then queued).
    auto second = std::async(std::launch::async, [&] { return run.Post(Call(22, "echo", 2)); });
    ASSERT_TRUE(Within(milliseconds(10000), [&] {
      for (const Event& e : OfKind(sink.Events(), EventKind::kToolCall))
        if (e.request_id == "22") return true;
      return false;
    }));

    auto t0 = std::chrono::steady_clock::now();
    auto& r = run.Stop();
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_LT(took, kStopBound) << "the stop waited for the decision in progress";
    EXPECT_EQ(r->stopped, 2u);
    EXPECT_EQ(r->denied, 0u);
    EXPECT_EQ(r->asked, 0u);

    // Each client got the JSON-RPC error for its id, before its connection closed.
    for (auto* f : {&first, &second}) {
      ASSERT_EQ(f->wait_for(milliseconds(10000)), std::future_status::ready);
      Answer a = f->get();
      EXPECT_EQ(a.status, 200);
      EXPECT_EQ(a.content_type, "application/json");
      Json j = a.json();
      ASSERT_TRUE(j.is_object()) << a.body;
      EXPECT_EQ(j["id"], f == &first ? 21 : 22);
      EXPECT_FALSE(j.contains("result")) << a.body;
      EXPECT_EQ(j["error"]["code"], -32050);
      EXPECT_EQ(j["error"]["data"]["decision"], "stopped");
      EXPECT_NE(j["error"]["message"].get<std::string>().find("the proxy stopped"), std::string::npos) << a.body;
    }
    EXPECT_EQ(up.Bodies().size(), 1u) << "only initialize may reach the upstream";

    // Recorded as a denied call is: the call, and the error the client got as its result; no answer
    // to the ask (none came in time).
    auto ev = sink.Events();
    auto calls = OfKind(ev, EventKind::kToolCall);
    ASSERT_EQ(calls.size(), 2u);
    auto results = OfKind(ev, EventKind::kToolResult);
    ASSERT_EQ(results.size(), 2u);
    for (const Event& e : results) {
      EXPECT_TRUE(e.is_error);
      EXPECT_NE(e.json.find("stopped"), std::string::npos) << e.json;
    }
    for (const Event& e : OfKind(ev, EventKind::kAnnotation)) EXPECT_NE(e.text, kDecisionAnswerText);

    // The held decision comes back allow after the stop: it is discarded.
    held.Release();
    ASSERT_TRUE(held.WaitReturned(1, milliseconds(10000)));
    EXPECT_FALSE(Within(milliseconds(300), [&] { return up.Bodies().size() > 1; }));
    EXPECT_EQ(sink.Events().size(), ev.size());
  }
}

// Kind, tool, request id and error flag of each event about a tool call, decisions included.
std::vector<std::tuple<std::string, std::string, std::string, bool>> ToolCallRecord(const std::vector<Event>& ev) {
  std::vector<std::tuple<std::string, std::string, std::string, bool>> out;
  for (const Event& e : ev) {
    if (IsDecisionEvent(e)) {
      auto d = ParseDecisionEvent(e);
      EXPECT_TRUE(d.ok());
      if (!d.ok()) continue;
      out.emplace_back("decision:" + std::string(RequestVerdictName(d->decision.verdict)) + ":" + d->decision.rule,
                       d->request.tool, d->request.request_id, false);
    } else if (e.kind == EventKind::kToolCall || e.kind == EventKind::kToolResult) {
      out.emplace_back(std::string(EventKindName(e.kind)), e.tool, e.request_id, e.is_error);
    }
  }
  return out;
}

// Replay reads both transports alike only if they record a decided call alike: the same calls, the
// same decision events (recorded by the decider), the same results, the denial's error among them.
TEST(McpHttpEnforceTest, ADecidedCallIsRecordedAsTheStdioProxyRecordsIt) {
  auto make_decider = [](VectorEventSink* sink) {
    LiveDeciderOptions lo;
    lo.record = [sink](const Event& e) { (void)sink->Append(e); };
    auto d = LiveDecider::Create(NoZapPolicy(), PathVars{"/w", "/h", "/tmp"},
                                 std::move(lo));
    AT_CHECK(d.ok());
    return std::move(*d);
  };
  const std::vector<std::string> requests = {kInitialize, Call(10, "echo", 0), Call(11, "zap", 1), Call(12, "echo", 2)};

  VectorEventSink http_sink;
  auto http_decider = make_decider(&http_sink);
  {
    Upstream up;
    McpHttpProxyOptions o;
    o.decider = http_decider.get();
    HttpProxyRun run(up.url(), o, &http_sink);
    for (const std::string& r : requests) ASSERT_EQ(run.Post(r).status, 200);
    ASSERT_TRUE(run.Stop().ok());
  }
  // The stdio proxy's decider records into the proxy's own sink, as `record --mcp --policy` does.
  McpProxyOptions so;
  VectorEventSink stdio_decisions;
  auto stdio_decider = make_decider(&stdio_decisions);
  so.decider = stdio_decider.get();
  ProxyRun stdio({FAKE_MCP_SERVER, "mcp"}, so);
  for (const std::string& r : requests) {
    stdio.Write(r + "\n");
    (void)stdio.ReadLine();  // one at a time, as the HTTP client sends them
  }
  stdio.CloseAgentStdin();
  ASSERT_TRUE(stdio.Join().ok());
  std::vector<Event> stdio_all = stdio_decisions.Events();
  for (const Event& e : stdio.Events()) stdio_all.push_back(e);

  auto sorted = [](auto v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  auto http_record = ToolCallRecord(http_sink.Events());
  EXPECT_EQ(sorted(http_record), sorted(ToolCallRecord(stdio_all)));
  EXPECT_EQ(http_record.size(), 9u);  // 3 decisions, 3 calls, 3 results
}

}  // namespace
}  // namespace agenttrace
