#include "recorder/mcp_decision.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>

#include "format/mcp_refusal.h"

namespace agenttrace {
namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json RefusalError(const Json& id, const ClientMessageVerdict& v) {
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"error",
           {{"code", kMcpDeniedErrorCode},
            {"message", "agenttrace: message refused: " + v.reason},
            {"data", {{"decision", "refused"}, {"reason", v.reason}}}}}};
}

}  // namespace

void DecideToolCall(RequestDecider* decider, AskResolver* ask, EnforceMode mode, ToolCallDecision* d) {
  try {
    d->decision = decider->Decide(d->call);
  } catch (const std::exception& e) {
    d->decision = RequestDecision{};
    d->decision.error = true;
    d->decision.reason = std::string("the policy could not decide: ") + e.what();
  }
  if (mode == EnforceMode::kAudit) {  // recorded as it would have been enforced; nothing blocked
    d->allowed = true;
    return;
  }
  switch (d->decision.verdict) {
    case RequestVerdict::kAllow:
      d->allowed = true;
      break;
    case RequestVerdict::kDeny:
      d->allowed = false;
      break;
    case RequestVerdict::kAsk:
      d->asked = true;
      if (ask == nullptr) {
        d->answer = AskAnswer{false, "nobody (no ask resolver here: denied)"};
      } else {
        try {
          d->answer = ask->Ask(d->call, d->decision);
        } catch (const std::exception& e) {
          d->answer = AskAnswer{false, std::string("ask failed: ") + e.what()};
        }
      }
      d->allowed = d->answer.allow;
      break;
  }
}

// The JSON-RPC error answering tools/call `call` (its id as the request had it).
std::string ToolCallError(const Event& call, const std::string& message, const Json& data) {
  Json id = Json::parse(call.request_id, nullptr, false);
  if (id.is_discarded()) id = call.request_id;
  return Dump({{"jsonrpc", "2.0"},
               {"id", id},
               {"error", {{"code", kMcpDeniedErrorCode}, {"message", message}, {"data", data}}}});
}

std::string DenialAnswer(const ToolCallDecision& d) {
  const RequestDecision& r = d.decision;
  std::string msg = "agenttrace: tools/call \"" + d.call.tool + "\" denied";
  if (!r.rule.empty()) msg += " by rule " + r.rule;
  if (d.asked) msg += " (ask answered by " + d.answer.who + ")";
  if (!r.reason.empty()) msg += ": " + r.reason;
  Json data = {{"decision", RequestVerdictName(r.verdict)}, {"rule", r.rule}, {"reason", r.reason}};
  if (d.asked) data["asked"] = d.answer.who;
  return ToolCallError(d.call, msg, data);
}

std::string StoppedAnswer(const Event& call, std::string_view reason) {
  Json data = {{"decision", "stopped"}, {"reason", reason}};
  return ToolCallError(call, "agenttrace: tools/call \"" + call.tool + "\" not forwarded: " + std::string(reason), data);
}

std::string RefusalAnswer(const ClientMessageVerdict& v) {
  Json answers = Json::array();
  for (const std::string& id_text : v.answer_ids) {
    Json id = Json::parse(id_text, nullptr, false);
    if (id.is_discarded()) id = nullptr;
    answers.push_back(RefusalError(id, v));
  }
  return Dump(v.batch ? answers : answers.at(0));
}

std::string RefusalAnswerWithoutId(const ClientMessageVerdict& v) { return Dump(RefusalError(nullptr, v)); }

Event RefusalEvent(const ClientMessageVerdict& v, std::string_view message, EnforceMode mode,
                   const std::function<void(std::string*)>& redact) {
  Event e;
  e.kind = EventKind::kProtocolError;
  e.direction = Direction::kToServer;
  // Audit mode: recorded as it would have been refused, and forwarded.
  e.text =
      v.reason + std::string(mode == EnforceMode::kAudit ? kWouldRefuseUndecidableSuffix : kRefusedUndecidableSuffix);
  e.json.assign(message.substr(0, std::min(message.size(), kProtocolErrorSnippetBytes)));
  if (redact) redact(&e.json);
  e.size = static_cast<int64_t>(message.size());
  return e;
}

std::optional<std::string> ServerInfoName(std::string_view message) {
  if (message.find("\"serverInfo\"") == std::string_view::npos) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(message.begin(), message.end(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto r = j.find("result");
  if (r == j.end() || !r->is_object()) return std::nullopt;
  auto si = r->find("serverInfo");
  if (si == r->end() || !si->is_object()) return std::nullopt;
  auto n = si->find("name");
  if (n == si->end() || !n->is_string() || n->get_ref<const std::string&>().empty()) return std::nullopt;
  return n->get<std::string>();
}

}  // namespace agenttrace
