// Helpers for replayer tests: synthetic events and one-line policy evaluation.
#ifndef AGENTTRACE_TESTS_REPLAYER_TEST_UTIL_H_
#define AGENTTRACE_TESTS_REPLAYER_TEST_UTIL_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "replayer/engine.h"
#include "replayer/policy.h"

namespace agenttrace::testing {

inline PathVars TestVars() { return {"/home/u/proj", "/home/u", "/tmp"}; }

inline Policy MustParse(const std::string& yaml) {
  auto p = ParsePolicy(yaml, "test.yaml");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return Policy();
  return std::move(*p);
}

inline Event Open(std::string path, uint64_t flags = O_RDONLY, int64_t result = 3, std::string resolved = "") {
  Event e;
  e.kind = EventKind::kFileOpen;
  e.path = std::move(path);
  e.flags = flags;
  e.result = result;
  e.resolved = std::move(resolved);
  e.pid = 100;
  return e;
}

inline Event Simple(EventKind kind, std::string path, std::string path2 = "") {
  Event e;
  e.kind = kind;
  e.path = std::move(path);
  e.path2 = std::move(path2);
  e.pid = 100;
  return e;
}

inline Event Exec(std::string path, std::vector<std::string> argv, std::vector<std::string> secret_env = {}) {
  Event e;
  e.kind = EventKind::kExec;
  e.path = std::move(path);
  e.argv = std::move(argv);
  e.secret_env_names = std::move(secret_env);
  e.pid = 100;
  return e;
}

inline Event Connect(std::string address, uint16_t port, uint16_t family = AF_INET) {
  Event e;
  e.kind = EventKind::kNetConnect;
  e.family = family;
  e.address = std::move(address);
  e.port = port;
  e.pid = 100;
  return e;
}

inline Event ToolCall(std::string tool, std::string json, std::string server = "") {
  Event e;
  e.kind = EventKind::kToolCall;
  e.tool = std::move(tool);
  e.json = std::move(json);
  e.server = std::move(server);
  return e;
}

// Evaluates a stream in order; returns the verdicts (seq assigned densely, mono_ns = seq seconds
// unless already set).
class Harness {
 public:
  explicit Harness(const std::string& yaml, PathVars vars = TestVars()) : policy_(MustParse(yaml)) {
    auto cp = CompiledPolicy::Compile(policy_, vars);
    EXPECT_TRUE(cp.ok()) << cp.status().ToString();
    if (cp.ok()) ev_ = std::make_unique<SessionEvaluator>(*cp);
  }
  EventVerdict Eval(Event e) {
    if (e.seq == 0) e.seq = next_seq_;
    next_seq_ = e.seq + 1;
    if (e.mono_ns == 0) e.mono_ns = static_cast<int64_t>(e.seq) * 1000000000 + 1;
    return ev_->Evaluate(e);
  }
  std::string RuleOf(const EventVerdict& v) const { return v.rule < 0 ? "default" : policy_.rules[v.rule].id; }
  // "deny:rule-id" for compact assertions.
  std::string Decide(Event e) {
    EventVerdict v = Eval(std::move(e));
    if (!v.evaluated) return "not-evaluated";
    return std::string(DecisionName(v.decision)) + ":" + RuleOf(v);
  }
  const Policy& policy() const { return policy_; }
  SessionEvaluator& evaluator() { return *ev_; }

 private:
  Policy policy_;
  std::unique_ptr<SessionEvaluator> ev_;
  uint64_t next_seq_ = 1;
};

}  // namespace agenttrace::testing

#endif  // AGENTTRACE_TESTS_REPLAYER_TEST_UTIL_H_
