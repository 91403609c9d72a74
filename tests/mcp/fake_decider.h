// Deciders for tests of the MCP proxies (stdio and Streamable HTTP): FakeDecider denies tool "zap",
// asks about "ask" and allows the rest; FixedAsk answers every ask the same. Thread-safe.
#ifndef AGENTTRACE_TESTS_MCP_FAKE_DECIDER_H_
#define AGENTTRACE_TESTS_MCP_FAKE_DECIDER_H_

#include <mutex>
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

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_MCP_FAKE_DECIDER_H_
