// What the deciding MCP proxies share, whatever carries their messages (stdio lines in
// recorder/mcp_relay.h, HTTP bodies in recorder/mcp_http_gate.h): how one tools/call is decided
// (the decider, then an ask put to its resolver, audit mode forwarding everything), the JSON-RPC
// answers a client gets for a denied call or a refused message, the protocol.error text that records
// a refusal (format/mcp_refusal.h), and the server's name learnt from the initialize answer so that
// a call decided before the recorder has seen that answer names the same server the record will.
//
// Thread-safety: the functions are pure (DecideToolCall calls the decider and resolver, which are
// thread-safe); McpServerName is thread-safe.
#ifndef AGENTTRACE_RECORDER_MCP_DECISION_H_
#define AGENTTRACE_RECORDER_MCP_DECISION_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "format/decision_event.h"
#include "format/event.h"
#include "format/request_decider.h"
#include "recorder/jsonrpc_framing.h"

namespace agenttrace {

// The JSON-RPC error code of a tools/call the policy refused (implementation-defined server range).
inline constexpr int kMcpDeniedErrorCode = -32050;

// One tools/call and what became of it.
struct ToolCallDecision {
  Event call;  // as ClassifyClientMessage made it, with the server's name and the request's times
  RequestDecision decision;
  AskAnswer answer;      // when asked
  bool asked = false;    // the verdict was ask and it was put to the resolver (or denied for want of one)
  bool allowed = false;  // forward it
};

// Decides `d->call` with `decider` (an exception or error denies: fail closed). Enforce mode: an ask
// goes to `ask` (null: denied, and the answer says so). Audit mode: decided, never blocked, no ask.
void DecideToolCall(RequestDecider* decider, AskResolver* ask, EnforceMode mode, ToolCallDecision* d);

// The JSON-RPC error (one line of JSON, no newline) answering a denied call: its id, code
// kMcpDeniedErrorCode, a message naming the rule, who answered an ask and the rule's reason, and the
// same in `data`.
std::string DenialAnswer(const ToolCallDecision& d);

// The JSON-RPC error answering a call a proxy gave up on at its stop, undecided or not yet answered:
// like a denial's (code kMcpDeniedErrorCode), with data.decision "stopped", `reason` and no rule.
std::string StoppedAnswer(const Event& call, std::string_view reason);

// How long a proxy's stop waits for a decision in progress (an ask put to a human, say) before it
// leaves the decision to finish on its own thread.
inline constexpr std::chrono::milliseconds kDecisionStopWait{2000};

// The JSON-RPC error(s) (no newline) answering a refused message: one per v.answer_ids, an array for
// a batch. Precondition: v.answer_ids is not empty.
std::string RefusalAnswer(const ClientMessageVerdict& v);

// The same for a refused message with no id to answer (a notification, an unreadable id): an error
// with id null, for transports that must answer something (HTTP).
std::string RefusalAnswerWithoutId(const ClientMessageVerdict& v);

// The protocol.error (direction to-server, no server name, no times) recording a refused message:
// its reason with the suffix of format/mcp_refusal.h for `mode`, the head of `message` (redacted with
// `redact`, if set) and its size.
Event RefusalEvent(const ClientMessageVerdict& v, std::string_view message, EnforceMode mode,
                   const std::function<void(std::string*)>& redact);

// result.serverInfo.name of an initialize answer, when `message` is one.
std::optional<std::string> ServerInfoName(std::string_view message);

// The server's name as the proxy learns it from the initialize answer, for decisions taken before
// the recorder thread has seen it.
class McpServerName {
 public:
  explicit McpServerName(std::string fallback) : name_(std::move(fallback)) {}
  std::string Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return name_;
  }
  void Set(std::string n) {
    std::lock_guard<std::mutex> lock(mu_);
    name_ = std::move(n);
    known_ = true;
  }
  bool known() const { return known_.load(); }

 private:
  std::mutex mu_;
  std::string name_;
  std::atomic<bool> known_{false};
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_MCP_DECISION_H_
