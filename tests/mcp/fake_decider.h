// Deciders for tests of the MCP proxies (stdio and Streamable HTTP): FakeDecider denies tool "zap",
// asks about "ask" and allows the rest; FixedAsk answers every ask the same; HeldDecider holds its
// decisions until the test releases them. Thread-safe.
#ifndef AGENTTRACE_TESTS_MCP_FAKE_DECIDER_H_
#define AGENTTRACE_TESTS_MCP_FAKE_DECIDER_H_

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "format/event.h"
#include "format/request_decider.h"

namespace agenttrace {

// Denies tool "zap", asks about "ask", allows the rest; remembers what it was asked.
class FakeDecider final : public RequestDecider {
 public:
  RequestDecision Decide(const Event& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen.push_back(e);
    RequestDecision d;
    if (e.tool == "zap") {
      d.verdict = RequestVerdict::kDeny;
      d.rule = "no-zap";
      d.reason = "zapping is not allowed";
    } else if (e.tool == "ask") {
      d.verdict = RequestVerdict::kAsk;
      d.rule = "ask-first";
      d.reason = "a human must agree";
    } else {
      d.verdict = RequestVerdict::kAllow;
      d.rule = "default";
    }
    return d;
  }
  std::vector<Event> Seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen;
  }

 private:
  std::mutex mu_;
  std::vector<Event> seen;
};

class FixedAsk final : public AskResolver {
 public:
  explicit FixedAsk(bool allow) : allow_(allow) {}
  AskAnswer Ask(const Event&, const RequestDecision&) override { return {allow_, allow_ ? "allow" : "deny"}; }

 private:
  bool allow_;
};

// A decision that takes as long as the test wants (a human answering an ask, the enclosing run's
// decider): FakeDecider's, except that a call of tool "slow" is held in Decide and every ask in Ask
// until Release(), then allowed. A hold also ends after `safety`, so that a proxy that waits for it
// fails a test by its time rather than hanging it. Proxies may abandon a held decision, so make one
// with KeepForTheProcess (they require their decider to stay valid until the process ends).
class HeldDecider final : public RequestDecider, public AskResolver {
 public:
  explicit HeldDecider(std::chrono::milliseconds safety) : safety_(safety) {}

  static HeldDecider& KeepForTheProcess(std::chrono::milliseconds safety) {
    static std::mutex mu;
    static std::vector<std::unique_ptr<HeldDecider>>* kept = new std::vector<std::unique_ptr<HeldDecider>>;
    std::lock_guard<std::mutex> lock(mu);
    kept->push_back(std::make_unique<HeldDecider>(safety));
    return *kept->back();
  }

  RequestDecision Decide(const Event& e) override {
    if (e.tool != "slow") return fake_.Decide(e);
    Hold();
    RequestDecision d;
    d.verdict = RequestVerdict::kAllow;
    d.rule = "slow-but-fine";
    return d;
  }
  AskAnswer Ask(const Event&, const RequestDecision&) override {
    Hold();
    return {true, "held"};
  }

  // Whether `n` decisions were held (or have returned) within `timeout`.
  bool WaitHeld(int n, std::chrono::milliseconds timeout) { return WaitCount(&held_, n, timeout); }
  bool WaitReturned(int n, std::chrono::milliseconds timeout) { return WaitCount(&returned_, n, timeout); }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  void Hold() {
    std::unique_lock<std::mutex> lock(mu_);
    ++held_;
    cv_.notify_all();
    cv_.wait_for(lock, safety_, [&] { return released_; });
    ++returned_;
    cv_.notify_all();
  }
  bool WaitCount(const int* count, int n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return *count >= n; });
  }

  const std::chrono::milliseconds safety_;
  FakeDecider fake_;
  std::mutex mu_;
  std::condition_variable cv_;
  int held_ = 0, returned_ = 0;
  bool released_ = false;
};

// The answer a proxy gives a tools/call that FakeDecider denied: a JSON-RPC error naming the rule
// and its reason, never a result.
inline void ExpectZapDenial(const nlohmann::json& answer) {
  ASSERT_TRUE(answer.contains("error")) << answer.dump();
  EXPECT_FALSE(answer.contains("result"));
  EXPECT_EQ(answer["error"]["code"], -32050);
  std::string msg = answer["error"]["message"];
  EXPECT_NE(msg.find("no-zap"), std::string::npos) << msg;
  EXPECT_NE(msg.find("zapping is not allowed"), std::string::npos) << msg;
  EXPECT_EQ(answer["error"]["data"]["rule"], "no-zap");
}

// What FakeDecider was asked about the denied call `zap` with arguments {"n":1} and id 11: the call
// as the recorder records it, named after the server's initialize answer ("fake-mcp").
inline void ExpectSawZapCall(const Event& e) {
  EXPECT_EQ(e.kind, EventKind::kToolCall);
  EXPECT_EQ(e.tool, "zap");
  EXPECT_EQ(e.json, R"({"n":1})");
  EXPECT_EQ(e.request_id, "11");
  EXPECT_EQ(e.server, "fake-mcp");
}

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_MCP_FAKE_DECIDER_H_
