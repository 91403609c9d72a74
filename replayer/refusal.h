// Replay of the messages the MCP stdio proxy refused at request time (format/mcp_refusal.h): a
// message some server could read as a tools/call but that the proxy could not decide. Under
// `agenttrace run` (or `record --mcp --policy`) such a message never reached the server and the proxy
// counted it with the denials; no policy rule decided it, so there is no "decision" event. Replay
// reports it the same way whatever the policy: a deny of class tool.call by the reserved rule id
// "refused", counted in the session's denials (so the gate's max_violations sees it) and in its
// request-time decisions (replayed the same). docs/policy.md, "Refused tool requests".
//
// Thread-safety: pure functions.
#ifndef AGENTTRACE_REPLAYER_REFUSAL_H_
#define AGENTTRACE_REPLAYER_REFUSAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "format/mcp_refusal.h"
#include "replayer/engine.h"
#include "replayer/policy.h"

namespace agenttrace {

// The rule id of a refusal in findings, rule hits and reports; no policy rule may have it.
inline constexpr std::string_view kRefusedRuleId = "refused";
// EventVerdict::rule of a refusal (-1 is the policy's default).
inline constexpr int kRefusedRule = -2;

// Sets *v to the verdict of a refused message (evaluated, deny, class tool.call, rule kRefusedRule)
// and returns true when `e` records one; false (and *v untouched) for any other event.
inline bool RefusalVerdict(const Event& e, EventVerdict* v) {
  if (!IsRefusedToolRequest(e)) return false;
  *v = EventVerdict{};
  v->evaluated = true;
  v->decision = Decision::kDeny;
  v->rule = kRefusedRule;
  v->cls = ActionClass::kToolCall;
  return true;
}

// The id of the rule an EventVerdict names: the policy rule's, "default" or "refused".
inline std::string VerdictRuleId(const std::vector<Rule>& rules, int rule) {
  if (rule == kRefusedRule) return std::string(kRefusedRuleId);
  if (rule < 0 || static_cast<size_t>(rule) >= rules.size()) return "default";
  return rules[static_cast<size_t>(rule)].id;
}

// The normalised resource of a refusal's finding: the server it was meant for (the tool is what
// could not be read).
inline std::string RefusalResource(const Event& e) { return "tool.call " + e.server + "/(refused message)"; }

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_REFUSAL_H_
