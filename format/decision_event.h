// The events that record request-time enforcement (`agenttrace run`, docs/format.md "Decision
// events"). They are annotations with a fixed `text` and a JSON object in `json`, so a session
// recorded under `run` needs no new event kind and older readers show them as notes:
//
//   "decision"          one per decided request, queued while the decider's lock is held, so their
//                       order in the session is the order in which the live evaluator saw the requests
//                       (under `run` the writer thread builds them: DecisionRecorder below).
//                       json: {"decision","error"?,"mode","reason"?,"rule","request":{event as known
//                       at request time, in the JSON-lines form without ts_ns, mono_ns, pid, tid,
//                       env_names, syscall_nr, arch and args (AppendRequestJson): the annotation's own pid,
//                       tid and times are the request's}}. Sessions recorded before carry those fields in
//                       the request too; both forms parse. Replay re-evaluates the requests in that order
//                       (the result is never consulted: it was not known) and compares.
//   "decision.answer"   how an ask was answered: {"answer":"allow"|"deny","by","rule","mode"}; pid, tid
//                       and mono_ns are those of the request it answers.
//   "decision.failed"   a denial could not be applied (register write failed); the agent's tree is
//                       killed: {"reason","rule"}.
//   "policy.reload"     {"ok","policy","digest","error"?}; ok: later requests are decided by the new
//                       policy with fresh state for its stateful rules; !ok: the old policy stays.
//   "enforcement"       the first decision-related event of a run: {"mode","policy","digest"}.
//
// Thread-safety: free functions on values.
#ifndef AGENTTRACE_FORMAT_DECISION_EVENT_H_
#define AGENTTRACE_FORMAT_DECISION_EVENT_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "format/event.h"
#include "format/request_decider.h"
#include "format/status.h"

namespace agenttrace {

inline constexpr std::string_view kDecisionText = "decision";
inline constexpr std::string_view kDecisionAnswerText = "decision.answer";
inline constexpr std::string_view kDecisionFailedText = "decision.failed";
inline constexpr std::string_view kPolicyReloadText = "policy.reload";
inline constexpr std::string_view kEnforcementText = "enforcement";

// How decisions are applied: enforce (a deny blocks) or audit (nothing is blocked; the decisions
// record what would have been enforced).
enum class EnforceMode : uint8_t { kEnforce = 0, kAudit = 1 };
std::string_view EnforceModeName(EnforceMode m);
std::optional<EnforceMode> ParseEnforceMode(std::string_view name);

std::string_view RequestVerdictName(RequestVerdict v);  // "allow", "ask", "deny"
std::optional<RequestVerdict> ParseRequestVerdict(std::string_view name);

// A "decision" event for `request` (its pid, tid and times are copied).
Event MakeDecisionEvent(const Event& request, const RequestDecision& decision, EnforceMode mode);
// The same into *out, reusing its strings' capacity (the per-request path of the live decider).
void AppendDecisionEvent(const Event& request, const RequestDecision& decision, EnforceMode mode, Event* out);

// Where a live decider records its events (LiveDeciderOptions::record, EnforceOptions::start). `event`
// takes any event (a reload; the caller's own "enforcement"). `decision`, when set, takes each decision
// as its parts, so that the receiver can build the "decision" event later and off the deciding thread
// (AsyncSessionWriter::AppendDecision builds it on the writer thread, in queue order: the agent waits
// in its stop while the tracer decides); unset, Record builds the event and gives it to `event`. Both
// are called with the decider's lock held and must not call back into the decider.
struct DecisionRecorder {
  using EventFn = std::function<void(const Event&)>;
  using DecisionFn = std::function<void(const Event& request, const RequestDecision& decision, EnforceMode mode)>;

  DecisionRecorder() = default;
  DecisionRecorder(EventFn event_fn, DecisionFn decision_fn)
      : event(std::move(event_fn)), decision(std::move(decision_fn)) {}
  // A plain event callback: decisions reach it built. Implicit, so that `record = [](const Event&){...}`
  // keeps working for the recorders that need nothing more.
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, DecisionRecorder> &&
                                                    std::is_invocable_v<F&, const Event&>>>
  DecisionRecorder(F event_fn) : event(std::move(event_fn)) {}  // NOLINT(google-explicit-constructor)

  explicit operator bool() const { return event || decision; }
  void operator()(const Event& e) const {
    if (event) event(e);
  }
  // Records the decision on `request`: through `decision` when set; else built into `*scratch` (reused
  // by the caller) with AppendDecisionEvent and given to `event`.
  void Record(const Event& request, const RequestDecision& d, EnforceMode mode, Event* scratch) const;

  EventFn event;
  DecisionFn decision;
};

struct DecisionRecord {
  RequestDecision decision;
  EnforceMode mode = EnforceMode::kEnforce;
  Event request;
};
// Whether `e` is a "decision" event.
bool IsDecisionEvent(const Event& e);
// Parses a "decision" event. Corruption (with what is wrong) for a malformed one.
Result<DecisionRecord> ParseDecisionEvent(const Event& e);

// A "decision.answer" event for an ask on `request`.
Event MakeAnswerEvent(const Event& request, const RequestDecision& decision, EnforceMode mode, const AskAnswer& answer);
// A "decision.failed" event: the denial of `request` could not be applied.
Event MakeDecisionFailedEvent(const Event& request, const RequestDecision& decision, std::string_view reason);
// A "policy.reload" event. `error` empty: the reload took effect.
Event MakeReloadEvent(std::string_view policy, std::string_view digest, std::string_view error);
bool IsReloadEvent(const Event& e);
// An "enforcement" event that opens a run's decisions.
Event MakeEnforcementEvent(EnforceMode mode, std::string_view policy, std::string_view digest);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_DECISION_EVENT_H_
