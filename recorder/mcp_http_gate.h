// Request-time decisions for the MCP Streamable HTTP proxy (recorder/mcp_http_proxy.h): each client
// request body is classified as the stdio proxy classifies a line (ClassifyClientMessage), and a
// `tools/call` is decided before it is forwarded, with the pieces the stdio proxy uses
// (recorder/mcp_decision.h), so that both transports decide, answer and record alike.
//
//   - One plain tools/call: decided (an ask goes to the resolver). Allowed: forwarded. Denied: never
//     forwarded; answered 200 application/json with the JSON-RPC error naming the rule and reason.
//   - A message that may be a tools/call but cannot be decided (ClassifyClientMessage kRefuse: a batch
//     holding a call, odd spellings, invalid JSON): recorded as a protocol.error, never forwarded;
//     answered 200 with the JSON-RPC error(s) for its request ids (an array for a batch), or, when it
//     has no id to answer (a notification), 400 with one JSON-RPC error whose id is null.
//   - Anything else: forwarded.
// Audit mode: everything is forwarded; decisions and would-be refusals are recorded.
//
// Before classifying, whitespace around the body is ignored (a server parses the body as one JSON
// document); a carriage return inside it is refused as on stdio (compact JSON, as SDKs send, has none).
//
// Order: a tool call's request is queued for the record and decided under one lock, so the order of
// the record is the order in which the decider saw the calls (stateful rules replay the same).
//
// Thread-safety: every method may be called from any thread.
#ifndef AGENTTRACE_RECORDER_MCP_HTTP_GATE_H_
#define AGENTTRACE_RECORDER_MCP_HTTP_GATE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "format/decision_event.h"
#include "format/event.h"
#include "format/request_decider.h"
#include "recorder/jsonrpc_framing.h"
#include "recorder/mcp_decision.h"

namespace agenttrace {

struct McpHttpGateOptions {
  RequestDecider* decider = nullptr;  // required; must outlive the gate
  AskResolver* ask = nullptr;         // null: an ask is denied, and the answer says so
  EnforceMode mode = EnforceMode::kEnforce;
  McpTrackerOptions tracker;  // how a tools/call becomes the event that is decided (bounds, redaction)
};

// What the proxy answers instead of forwarding.
struct McpHttpGateAnswer {
  int status = 200;
  std::string body;          // JSON, Content-Type application/json
  bool is_response = false;  // JSON-RPC response(s) to the request: recorded as the server's would be
};

class McpHttpGate {
 public:
  explicit McpHttpGate(McpHttpGateOptions options);

  // Every message the upstream sends, before the client can see it: the server's name, from the
  // initialize answer, names the calls decided afterwards.
  void OnServerMessage(std::string_view message);

  // Decides one request body. `record_request` queues the body for the record and is called exactly
  // once, before the decision; `record_event` queues an event of the proxy's own (a refusal, who
  // answered an ask). Returns the answer to give the client, or nullopt: forward the request.
  std::optional<McpHttpGateAnswer> Check(std::string_view body, const std::function<void()>& record_request,
                                         const std::function<void(Event)>& record_event);

  uint64_t denied() const { return denied_.load(); }  // calls denied and messages refused
  uint64_t asked() const { return asked_.load(); }

 private:
  const McpHttpGateOptions o_;
  McpServerName server_name_;
  std::mutex order_mu_;
  std::atomic<uint64_t> denied_{0}, asked_{0};
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_MCP_HTTP_GATE_H_
