// Deciders for tests of the MCP proxies (stdio and Streamable HTTP): FakeDecider denies tool "zap",
// asks about "ask" and allows the rest; FixedAsk answers every ask the same. Thread-safe.
#ifndef AGENTTRACE_TESTS_MCP_FAKE_DECIDER_H_
#define AGENTTRACE_TESTS_MCP_FAKE_DECIDER_H_

#include <gtest/gtest.h>

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
