#include "recorder/mcp_http_gate.h"

#include <time.h>

#include <utility>

#include "format/clock.h"
#include "format/status.h"

namespace agenttrace {

McpHttpGate::McpHttpGate(McpHttpGateOptions options)
    : o_(std::move(options)), server_name_(o_.tracker.fallback_server_name) {
  AT_CHECK(o_.decider != nullptr);
}

void McpHttpGate::OnServerMessage(std::string_view message) {
  if (server_name_.known()) return;
  if (auto name = ServerInfoName(message)) server_name_.Set(std::move(*name));
}

std::optional<McpHttpGateAnswer> McpHttpGate::Check(std::string_view body, const std::function<void()>& record_request,
                                                    const std::function<void(Event)>& record_event) {
  constexpr std::string_view kSpace = " \t\r\n";
  std::string_view message = body;
  size_t first = message.find_first_not_of(kSpace);
  message = first == std::string_view::npos ? std::string_view() : message.substr(first);
  message = message.substr(0, message.find_last_not_of(kSpace) + 1);

  ToolCallDecision d;
  ClientMessageVerdict v = ClassifyClientMessage(message, o_.tracker, &d.call);
  switch (v.action) {
    case ClientMessageAction::kForward:
      record_request();
      return std::nullopt;
    case ClientMessageAction::kRefuse: {
      record_request();
      Event e = RefusalEvent(v, message, o_.mode, o_.tracker.redact);
      e.server = server_name_.Get();
      record_event(std::move(e));
      if (o_.mode == EnforceMode::kAudit) return std::nullopt;
      ++denied_;
      if (v.answer_ids.empty()) return McpHttpGateAnswer{400, RefusalAnswerWithoutId(v), false};
      return McpHttpGateAnswer{200, RefusalAnswer(v), true};
    }
    case ClientMessageAction::kDecide:
      break;
  }
  d.call.server = server_name_.Get();
  d.call.mono_ns = ClockNs(CLOCK_MONOTONIC);
  d.call.wall_ns = ClockNs(CLOCK_REALTIME);
  {
    // Recorded and decided in one order (see the header).
    std::lock_guard<std::mutex> lock(order_mu_);
    record_request();
    DecideToolCall(o_.decider, o_.ask, o_.mode, &d);
  }
  if (d.asked) {
    ++asked_;
    record_event(MakeAnswerEvent(d.call, d.decision, o_.mode, d.answer));
  }
  if (d.allowed) return std::nullopt;
  ++denied_;
  return McpHttpGateAnswer{200, DenialAnswer(d), true};
}

}  // namespace agenttrace
