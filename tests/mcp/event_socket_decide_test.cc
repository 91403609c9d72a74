// The event socket's decision requests ({"decide": ...}): answered by the session's decider, an ask put
// to the session's resolver without holding other connections, no policy answered explicitly, and the
// nested proxy's SocketDecider denying when the socket fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "format/decision_event.h"
#include "recorder/event_socket.h"
#include "recorder/socket_decider.h"
#include "tests/mcp/fake_writer.h"

namespace agenttrace {
namespace {

// Denies "zap", asks about "ask", allows the rest.
class FakeDecider final : public RequestDecider {
 public:
  RequestDecision Decide(const Event& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(e);
    RequestDecision d;
    d.verdict = e.tool == "zap"   ? RequestVerdict::kDeny
                : e.tool == "ask" ? RequestVerdict::kAsk
                                  : RequestVerdict::kAllow;
    d.rule = e.tool == "zap" ? "no-zap" : e.tool == "ask" ? "ask-first" : "default";
    d.reason = "because " + e.tool;
    return d;
  }
  std::vector<Event> Seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<Event> seen_;
};

// Answers once released: stands for a human taking their time.
class GatedAsk final : public AskResolver {
 public:
  AskAnswer Ask(const Event&, const RequestDecision&) override {
    std::unique_lock<std::mutex> lock(mu_);
    asked_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    return {true, "tty"};
  }
  void WaitAsked() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return asked_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool asked_ = false, released_ = false;
};

class EventSocketDecideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/at-dec-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/events.sock";
  }
  void Start(EventSocketDecisions d) {
    auto s = EventSocketServer::Start(path_, &writer_, nullptr, d);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  void TearDown() override {
    server_.reset();
    ::rmdir(dir_.c_str());
  }
  std::unique_ptr<EventSocketClient> Client() {
    auto c = EventSocketClient::Connect(path_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::string dir_, path_;
  FakeAsyncWriter writer_;
  std::unique_ptr<EventSocketServer> server_;
};

constexpr char kZap[] = R"({"kind":"tool.call","server":"s","tool":"zap","json":"{\"a\":1}"})";

TEST_F(EventSocketDecideTest, WithoutAPolicyTheAnswerSaysSoAndAllows) {
  Start({});
  auto c = Client();
  auto d = c->Decide(kZap, true, 5000);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->policy);
  EXPECT_EQ(d->decision.verdict, RequestVerdict::kAllow);
  EXPECT_NE(d->decision.reason.find("no policy"), std::string::npos);
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 1u);  // the tool call is recorded all the same
  EXPECT_EQ(ev[0].kind, EventKind::kToolCall);
  EXPECT_EQ(ev[0].tool, "zap");
}

TEST_F(EventSocketDecideTest, TheSessionsDeciderAnswersAndTheCallIsRecorded) {
  FakeDecider decider;
  Start({&decider, nullptr, EnforceMode::kEnforce});
  auto c = Client();
  auto d = c->Decide(kZap, true, 5000);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->policy);
  EXPECT_EQ(d->decision.verdict, RequestVerdict::kDeny);
  EXPECT_EQ(d->decision.rule, "no-zap");
  EXPECT_EQ(d->decision.reason, "because zap");
  EXPECT_EQ(d->mode, EnforceMode::kEnforce);
  // The line protocol is unchanged for plain events on the same connection.
  ASSERT_TRUE(c->SendLine(R"({"kind":"annotation","text":"after"})").ok());
  auto seen = decider.Seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].json, R"({"a":1})");
  EXPECT_EQ(seen[0].pid, ::getpid());  // stamped by the server, as recorded
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, EventKind::kToolCall);
  EXPECT_EQ(ev[1].text, "after");
}

TEST_F(EventSocketDecideTest, HookPayloadIsDecidedAsItsToolCall) {
  FakeDecider decider;
  Start({&decider, nullptr, EnforceMode::kEnforce});
  auto c = Client();
  auto d = c->Decide(
      R"({"hook_event_name":"PreToolUse","tool_name":"ask","tool_input":{"command":"ls"},"tool_use_id":"toolu_1","agenttrace_hook":"claude-code"})",
      /*resolve_ask=*/false, 5000);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->decision.verdict, RequestVerdict::kAsk);  // not resolved: the framework asks
  EXPECT_FALSE(d->answered);
  auto seen = decider.Seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].server, "claude-code");
  EXPECT_EQ(seen[0].tool, "ask");
  EXPECT_EQ(seen[0].json, R"({"command":"ls"})");
}

TEST_F(EventSocketDecideTest, OnlyToolCallsCanBeDecided) {
  FakeDecider decider;
  Start({&decider, nullptr, EnforceMode::kEnforce});
  auto c = Client();
  auto d = c->Decide(R"({"kind":"annotation","text":"x"})", true, 5000);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("only a tool.call"), std::string::npos) << d.status().message();
  auto d2 = c->Decide(R"("not an object")", true, 5000);
  ASSERT_FALSE(d2.ok());
  EXPECT_TRUE(decider.Seen().empty());
}

TEST_F(EventSocketDecideTest, AnAskIsPutToTheResolverWhileOtherConnectionsFlow) {
  FakeDecider decider;
  GatedAsk ask;
  Start({&decider, &ask, EnforceMode::kEnforce});
  Result<EventSocketClient::Decision> asked = Status::Internal("not answered");
  std::thread asker([&] {
    auto c = Client();
    asked = c->Decide(R"({"kind":"tool.call","server":"s","tool":"ask","json":"{}"})", true, 10000);
  });
  ask.WaitAsked();
  // Another connection is served while the human thinks (had it waited for the ask, it would time
  // out: the ask is released only below; the bound is long for a loaded machine).
  auto other = Client();
  auto d = other->Decide(kZap, true, 30000);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->decision.verdict, RequestVerdict::kDeny);
  ask.Release();
  asker.join();
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  EXPECT_EQ(asked->decision.verdict, RequestVerdict::kAsk);
  EXPECT_TRUE(asked->answered);
  EXPECT_TRUE(asked->answer.allow);
  EXPECT_EQ(asked->answer.who, "tty");
  bool answer_recorded = false;
  for (const Event& e : writer_.Events()) {
    if (e.kind == EventKind::kAnnotation && e.text == kDecisionAnswerText) {
      answer_recorded = true;
      EXPECT_NE(e.json.find("\"by\":\"tty\""), std::string::npos) << e.json;
    }
  }
  EXPECT_TRUE(answer_recorded);
}

TEST_F(EventSocketDecideTest, SocketDeciderMapsTheSessionsAnswers) {
  FakeDecider decider;
  Start({&decider, nullptr, EnforceMode::kEnforce});
  SocketDecider sd(path_, 5000);
  Event call;
  call.kind = EventKind::kToolCall;
  call.tool = "zap";
  call.json = "{}";
  RequestDecision d = sd.Decide(call);
  EXPECT_EQ(d.verdict, RequestVerdict::kDeny);
  EXPECT_EQ(d.rule, "no-zap");
  EXPECT_FALSE(d.error);
  call.tool = "echo";
  EXPECT_EQ(sd.Decide(call).verdict, RequestVerdict::kAllow);
}

TEST_F(EventSocketDecideTest, SocketDeciderInAuditSessionAllowsAndSaysWhatWouldHappen) {
  FakeDecider decider;
  Start({&decider, nullptr, EnforceMode::kAudit});
  SocketDecider sd(path_, 5000);
  Event call;
  call.kind = EventKind::kToolCall;
  call.tool = "zap";
  RequestDecision d = sd.Decide(call);
  EXPECT_EQ(d.verdict, RequestVerdict::kAllow);
  EXPECT_NE(d.reason.find("audit"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("deny"), std::string::npos) << d.reason;
}

TEST_F(EventSocketDecideTest, SocketDeciderDeniesWhenTheSocketIsGone) {
  Start({});
  server_.reset();  // the recording ended: nothing listens
  SocketDecider sd(path_, 2000);
  Event call;
  call.kind = EventKind::kToolCall;
  call.tool = "echo";
  RequestDecision d = sd.Decide(call);
  EXPECT_EQ(d.verdict, RequestVerdict::kDeny);
  EXPECT_TRUE(d.error);
  EXPECT_NE(d.reason.find("denied"), std::string::npos) << d.reason;
}

}  // namespace
}  // namespace agenttrace
