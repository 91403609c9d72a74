// The narrow interface through which the producers of events ask the policy at request time, before
// the action takes effect: the tracer at a syscall's seccomp stop, the MCP proxy at a `tools/call`,
// the event socket for a framework hook's pre-tool-use. It sits on the ground floor so that the
// recorder can ask without knowing the policy language: the replayer's evaluator implements it and
// tools/ wires the two (docs/architecture.md). The same evaluator decides in `replay`, so what the
// gate promoted is what `agenttrace run` enforces.
//
// Fail closed: a decider that cannot decide (evaluator error, policy unreadable) answers kDeny with
// `error` set and says why in `reason`; a caller that cannot reach its decider denies too.
#ifndef AGENTTRACE_FORMAT_REQUEST_DECIDER_H_
#define AGENTTRACE_FORMAT_REQUEST_DECIDER_H_

#include <cstdint>
#include <string>

#include "format/event.h"

namespace agenttrace {

enum class RequestVerdict : uint8_t { kAllow = 0, kAsk = 1, kDeny = 2 };

struct RequestDecision {
  RequestVerdict verdict = RequestVerdict::kDeny;  // the zero value denies
  std::string rule;    // id of the deciding rule; "default" for the policy's default; empty on error
  std::string reason;  // the rule's description, or why no decision could be made
  bool error = false;  // the decider failed; verdict is kDeny
};

class RequestDecider {
 public:
  virtual ~RequestDecider() = default;
  // Decides `request`: the event as known at request time (for a syscall: its arguments and paths,
  // no result yet; for a tool: the tool.call). Called once per request, in the order the requests
  // happen in the session; stateful rules (sequences, budgets) advance here. Thread-safe.
  virtual RequestDecision Decide(const Event& request) = 0;
  // The same into `*out`, which the caller reuses from request to request so that its strings keep
  // their capacity: the tracer's per-request path, where a malloc per decision is measurable
  // (docs/benchmarks.md). Every field of `*out` is overwritten. The default calls Decide.
  virtual void DecideInto(const Event& request, RequestDecision* out) { *out = Decide(request); }
};

// Answers an `ask`: a fixed answer, a human at the terminal, or a program. May block for as long
// as the human takes; the caller calls it where blocking stops only the request that asked.
struct AskAnswer {
  bool allow = false;
  std::string who;  // who answered: "deny", "allow", "tty", "tty-timeout", "exec:PROG", ...
};

class AskResolver {
 public:
  virtual ~AskResolver() = default;
  virtual AskAnswer Ask(const Event& request, const RequestDecision& decision) = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_REQUEST_DECIDER_H_
