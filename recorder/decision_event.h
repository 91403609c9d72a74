// The event that records a request-time decision next to the request it decided, so that the evidence
// says what was enforced: the verdict, the deciding rule and its reason, and who answered an ask.
//
// Thread-safety: pure functions.
#ifndef AGENTTRACE_RECORDER_DECISION_EVENT_H_
#define AGENTTRACE_RECORDER_DECISION_EVENT_H_

#include <string_view>

#include "format/event.h"
#include "format/request_decider.h"

namespace agenttrace {

// "allow", "ask", "deny".
std::string_view RequestVerdictName(RequestVerdict v);

// The decision event for `request` (a tool.call): `ask` is the answer to an ask (null when the
// verdict was not ask or nobody answered); `allowed` is what was enforced. Times are the request's.
Event DecisionEvent(const Event& request, const RequestDecision& decision, const AskAnswer* ask, bool allowed);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_DECISION_EVENT_H_
