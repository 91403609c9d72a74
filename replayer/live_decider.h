// The request-time decider of one `agenttrace run` session: format/request_decider.h implemented over
// one SessionEvaluator, shared by every producer of the session (the tracer at seccomp stops, the MCP
// proxy at tools/call, the event socket for framework hooks). One evaluator means one state: a secret
// read through a tool and a connect through a syscall complete the same sequence rule, and a budget
// counts writes from every source.
//
// Requests are evaluated as known at request time: their result is not known, so every request is an
// attempt that has not failed (docs/policy.md, "Enforcement"). Each evaluated request is recorded as a
// "decision" event (format/decision_event.h) through the `record` callback, called while the lock is
// held, so the session holds the decisions in the order the evaluator made them; `agenttrace replay`
// re-evaluates those requests in that order and reports the same decisions for the same policy.
//
// Reload replaces the policy atomically for later requests: the new policy is compiled for the same
// session directories and gets a fresh evaluator (its stateful rules start from nothing; replay resets
// at the same point, the "policy.reload" event). A policy that does not compile leaves the old one.
//
// Fail closed: an exception from the evaluator denies the request with `error` set.
//
// Thread-safety: every method may be called from any thread; Decide calls are serialised.
#ifndef AGENTTRACE_REPLAYER_LIVE_DECIDER_H_
#define AGENTTRACE_REPLAYER_LIVE_DECIDER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "format/decision_event.h"
#include "format/request_decider.h"
#include "format/status.h"
#include "replayer/engine.h"
#include "replayer/policy.h"

namespace agenttrace {

struct LiveDeciderOptions {
  EnforceMode mode = EnforceMode::kEnforce;  // only written into the decision events
  // Records the decisions and reloads (format/decision_event.h). Called with the decider's lock held:
  // it must not call back into the decider. May be empty (nothing is recorded). A plain
  // `[](const Event&)` callback gets every event built; one with `decision` set gets the decisions as
  // their parts and builds their events itself (`agenttrace run`: on the session's writer thread).
  DecisionRecorder record;
};

// Decisions made so far, by verdict (evaluated requests only).
struct DecisionCounts {
  uint64_t allow = 0, ask = 0, deny = 0;
  uint64_t errors = 0;   // of the denies: the evaluator failed
  uint64_t reloads = 0;  // successful reloads
};

class LiveDecider final : public RequestDecider {
 public:
  // Compiles `policy` for `vars` (the session's ${workspace}, ${home}, ${tmp}). `name` and `digest`
  // identify the policy in events (file name, content digest).
  static Result<std::unique_ptr<LiveDecider>> Create(std::shared_ptr<const Policy> policy, const PathVars& vars,
                                                     LiveDeciderOptions options);
  // The same with `policy` already compiled for the session's variables (compiled->vars()), e.g. by
  // the PolicyCache that also served the Landlock plan; `compiled` must be of `policy`.
  static Result<std::unique_ptr<LiveDecider>> Create(std::shared_ptr<const Policy> policy,
                                                     std::shared_ptr<const CompiledPolicy> compiled,
                                                     LiveDeciderOptions options);

  // Decides `request` (format/request_decider.h). A request that maps to no action class is allowed
  // with an empty rule and not recorded.
  RequestDecision Decide(const Event& request) override;
  // The same into the caller's reused *out (format/request_decider.h): no allocation per request.
  void DecideInto(const Event& request, RequestDecision* out) override;

  // Replaces the policy for later requests and records a "policy.reload" event. On a compile failure
  // the old policy stays, the refusal is recorded and the error returned.
  Status Reload(std::shared_ptr<const Policy> policy, const std::string& name, const std::string& digest);
  // Records a reload that was refused before it reached the decider (the file did not parse).
  void RecordRefusedReload(const std::string& name, const std::string& digest, const std::string& error);

  DecisionCounts counts() const;
  // The policy in force.
  std::shared_ptr<const Policy> policy() const;

 private:
  LiveDecider(std::shared_ptr<const Policy> policy, std::shared_ptr<const CompiledPolicy> compiled,
              const PathVars& vars, LiveDeciderOptions options);

  const PathVars vars_;
  const LiveDeciderOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const Policy> policy_;            // guarded by mu_
  std::shared_ptr<const CompiledPolicy> compiled_;  // guarded by mu_
  std::unique_ptr<SessionEvaluator> evaluator_;     // guarded by mu_
  DecisionCounts counts_;                           // guarded by mu_
  Event scratch_;                                   // guarded by mu_: the request being recorded, numbered
  uint64_t next_seq_ = 0;                           // guarded by mu_: its sequence number
  Event decision_event_;                            // guarded by mu_: its decision event, when built here (reused)
};

// The decision the engine's verdict `v` stands for, with the rule's id and description.
RequestDecision ToRequestDecision(const Policy& policy, const EventVerdict& v);
// The same into *d, overwriting every field and reusing its strings' capacity.
void ToRequestDecision(const Policy& policy, const EventVerdict& v, RequestDecision* d);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_LIVE_DECIDER_H_
