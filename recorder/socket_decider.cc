#include "recorder/socket_decider.h"

#include "format/event_json.h"

namespace agenttrace {
namespace {

RequestDecision Denied(const std::string& why) {
  RequestDecision d;
  d.verdict = RequestVerdict::kDeny;
  d.error = true;
  d.reason = why + ": denied (a request that cannot be decided is refused)";
  return d;
}

}  // namespace

RequestDecision SocketDecider::Decide(const Event& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (client_ == nullptr) {
    auto c = EventSocketClient::Connect(path_);
    if (!c.ok()) return Denied("the session's event socket: " + c.status().message());
    client_ = std::move(*c);
  }
  std::string line;
  AppendEventJson(request, &line);
  // The proxy records the tool.call itself, in wire order with the rest of its events.
  auto answer = client_->Decide(line, /*resolve_ask=*/true, timeout_ms_, /*record=*/false);
  if (!answer.ok()) {
    client_.reset();  // out of step (an answer may still come): a new connection next time
    return Denied(answer.status().message());
  }
  RequestDecision d = answer->decision;
  if (!answer->policy) {
    d.verdict = RequestVerdict::kAllow;
    return d;
  }
  if (answer->mode == EnforceMode::kAudit) {
    d.reason = "audit mode (the session records \"" + std::string(RequestVerdictName(d.verdict)) +
               "\", blocks nothing)" + (d.reason.empty() ? "" : ": " + d.reason);
    d.verdict = RequestVerdict::kAllow;
    return d;
  }
  if (answer->answered) {
    d.verdict = answer->answer.allow ? RequestVerdict::kAllow : RequestVerdict::kDeny;
    d.reason = "ask answered \"" + std::string(answer->answer.allow ? "allow" : "deny") + "\" by " +
               answer->answer.who + (d.reason.empty() ? "" : ": " + d.reason);
  }
  return d;
}

}  // namespace agenttrace
