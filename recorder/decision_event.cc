#include "recorder/decision_event.h"

#include <nlohmann/json.hpp>

namespace agenttrace {

std::string_view RequestVerdictName(RequestVerdict v) {
  switch (v) {
    case RequestVerdict::kAllow:
      return "allow";
    case RequestVerdict::kAsk:
      return "ask";
    case RequestVerdict::kDeny:
      return "deny";
  }
  return "deny";
}

Event DecisionEvent(const Event& request, const RequestDecision& decision, const AskAnswer* ask, bool allowed) {
  using Json = nlohmann::ordered_json;
  Event e;
  e.kind = EventKind::kAnnotation;
  e.mono_ns = request.mono_ns;
  e.wall_ns = request.wall_ns;
  e.pid = request.pid;
  e.tid = request.tid;
  e.server = request.server;
  e.tool = request.tool;
  e.request_id = request.request_id;
  e.text = "decision " + std::string(allowed ? "allowed" : "denied") + ": " +
           std::string(RequestVerdictName(decision.verdict)) +
           (decision.rule.empty() ? std::string() : " by rule " + decision.rule);
  Json j = {{"decision", RequestVerdictName(decision.verdict)},
            {"enforced", allowed ? "allow" : "deny"},
            {"rule", decision.rule},
            {"reason", decision.reason},
            {"request",
             {{"kind", EventKindName(request.kind)},
              {"server", request.server},
              {"tool", request.tool},
              {"request_id", request.request_id}}}};
  if (decision.error) j["error"] = true;
  if (ask != nullptr) j["asked"] = ask->who;
  e.json = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return e;
}

}  // namespace agenttrace
