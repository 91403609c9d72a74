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
// Order: a tool call's request is queued for the record and handed to the decision thread under one
// lock, and that thread decides the calls one at a time in the order it got them, so the order of
// the record is the order in which the decider saw the calls (stateful rules replay the same).
//
// Stop: decisions run on the gate's own thread, so that one in progress (an ask put to a human, the
// enclosing run's decider) never holds the proxy's stop. After Stop, a Check still waiting for its
// decision (in progress or queued behind one) returns at once with the "stopped" answer: a JSON-RPC
// error for its id (code -32050, data.decision "stopped"), and the call is never forwarded, in audit
// mode too, even if the decision later comes back allow; a call that reaches Check after Stop is
// recorded and answered the same without being decided. Shutdown then waits for the decision in
// progress at most kDecisionStopWait after Stop, and leaves it to finish on its thread, which owns
// its state and touches nothing else but the decider and the resolver: those must stay valid until
// the process ends; what the decision returns is discarded.
//
// Thread-safety: every method may be called from any thread.
#ifndef AGENTTRACE_RECORDER_MCP_HTTP_GATE_H_
#define AGENTTRACE_RECORDER_MCP_HTTP_GATE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "format/decision_event.h"
#include "format/event.h"
#include "format/request_decider.h"
#include "recorder/jsonrpc_framing.h"
#include "recorder/mcp_decision.h"

namespace agenttrace {

struct McpHttpGateOptions {
  // Required. The decider and the resolver must stay valid until the process ends: a decision in
  // progress at the stop is abandoned, not joined.
  RequestDecider* decider = nullptr;
  AskResolver* ask = nullptr;  // null: an ask is denied, and the answer says so
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
  // Starts the decision thread.
  explicit McpHttpGate(McpHttpGateOptions options);
  // Shutdown().
  ~McpHttpGate();
  McpHttpGate(const McpHttpGate&) = delete;
  McpHttpGate& operator=(const McpHttpGate&) = delete;

  // Every message the upstream sends, before the client can see it: the server's name, from the
  // initialize answer, names the calls decided afterwards.
  void OnServerMessage(std::string_view message);

  // Decides one request body. `record_request` queues the body for the record and is called exactly
  // once, before the decision; `record_event` queues an event of the proxy's own (a refusal, who
  // answered an ask). Both are called on the calling thread only, before Check returns. Returns the
  // answer to give the client, or nullopt: forward the request. Blocks while the call is decided,
  // until Stop.
  std::optional<McpHttpGateAnswer> Check(std::string_view body, const std::function<void()>& record_request,
                                         const std::function<void(Event)>& record_event);

  // The proxy stops: see "Stop" above. Does not block; may be called more than once.
  void Stop();
  // Stop, then waits until the decision thread has ended, at most until kDecisionStopWait after the
  // first Stop; a thread still deciding then is detached. Call once no Check runs any more.
  void Shutdown();

  uint64_t denied() const { return denied_.load(); }  // calls denied and messages refused
  uint64_t asked() const { return asked_.load(); }
  uint64_t stopped() const { return stopped_.load(); }  // calls answered "stopped" (never forwarded)

 private:
  struct Worker;   // the decision thread's state, shared with it
  struct Pending;  // one call on its way through the decision thread

  // The decision thread's body; uses nothing of the gate's but `w`.
  static void DecideLoop(const std::shared_ptr<Worker>& w);

  const McpHttpGateOptions o_;
  McpServerName server_name_;
  std::mutex order_mu_;
  std::shared_ptr<Worker> worker_;
  std::thread thread_;
  std::atomic<uint64_t> denied_{0}, asked_{0}, stopped_{0};
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_MCP_HTTP_GATE_H_
