// The transparent MCP stdio proxy: spawns the real MCP server and relays newline-delimited JSON-RPC
// between the agent (our stdin/stdout) and the server, recording tool events on the side.
//
// Transparency: every byte read from one side is written to the other unchanged and in order, never
// re-serialised: as soon as it is read (no waiting for a line end), except that with a decider the
// agent's messages go line by line (a request must be whole to be decided; a denied one is not sent). The server's stderr is inherited. A copy
// of each read is queued just before it is forwarded (so the queue order is causal: an answer is queued
// before the agent can react to it) for a lower-priority recorder thread that splits lines, parses them
// (McpTracker) and hands events to the sink; parsing never delays forwarding, except that a forwarding
// thread waits when the queue holds kMaxQueuedBytes (the recorder never drops bytes).
//
// Lifetime: the agent closing our stdin closes the server's stdin; the server gets 2 s to exit, then
// SIGTERM, then SIGKILL 5 s after the stdin close. The server exiting (or closing its stdout) closes our
// stdout. SIGTERM/SIGINT/SIGHUP sent to the proxy are passed on to the server. The result is the
// server's wait status.
//
// No hang: each direction reads ahead of its peer into a buffer bounded by max_buffered_bytes, and no
// write ever blocks indefinitely, so an agent that stops reading does not hold the shutdown; nor does
// one that also leaves requests unsent while the server, blocked writing its answers, stops reading
// them: the end of the agent's input is seen even when the buffer is full (its writer closed the pipe),
// the 2 s / 5 s rule above ends the server, and 1 s after the server's end what could not be
// delivered is still recorded but no longer delivered, and counted (undelivered_*) in a `gap` event.
//
// Request-time decisions: with a decider, each `tools/call` the agent sends is decided before it is
// forwarded (recorder/mcp_relay.h). Allowed: forwarded. Denied (or an ask answered no, or an ask with
// no resolver): never forwarded; the proxy answers the agent with a JSON-RPC error with the same id
// naming the rule and its reason. The decider records its decision (replayer/live_decider.h); the
// proxy records the tool.call and, for an ask it put to its resolver, who answered
// (format/decision_event.h). In audit mode nothing is blocked and asks are not put to anyone.
//
// Thread-safety: RunMcpProxy is called from one thread; it starts and joins its own threads. It
// changes the process's SIGPIPE disposition to ignored and blocks SIGCHLD/SIGTERM/SIGINT/SIGHUP while
// it runs (restored afterwards), so only one proxy may run per process at a time.
#ifndef AGENTTRACE_RECORDER_MCP_PROXY_H_
#define AGENTTRACE_RECORDER_MCP_PROXY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/decision_event.h"
#include "format/event.h"
#include "format/event_sink.h"
#include "format/request_decider.h"
#include "format/status.h"
#include "recorder/jsonrpc_framing.h"

namespace agenttrace {

inline constexpr size_t kMaxQueuedBytes = 64u << 20;

struct McpProxyOptions {
  std::vector<std::string> command;  // the server's argv; argv[0] is searched in PATH
  int agent_in_fd = 0;               // what the agent writes (we read)
  int agent_out_fd = 1;              // what the agent reads (we write); closed when the server is done
  size_t max_result_bytes = 64u << 10;
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  int64_t term_after_ms = 2000;              // after the agent closed stdin: SIGTERM the server ...
  int64_t kill_after_ms = 5000;              // ... and SIGKILL it
  std::function<void(std::string*)> redact;  // secret redaction of recorded JSON; may be empty
  // Called (from RunMcpProxy's thread) once the server has exited, before the proxy drains and joins
  // its threads: a sink that may wait (back-pressure) bounds its waits from here. May be empty.
  std::function<void()> on_server_exit;
  // Per direction, what is read ahead of a peer that does not take it yet; reading stops beyond it.
  size_t max_buffered_bytes = 16u << 20;
  // Decides each agent tools/call before it is forwarded; null: everything is forwarded. Must stay
  // valid until the process ends (a decision still in progress at shutdown is abandoned, not joined).
  RequestDecider* decider = nullptr;
  AskResolver* ask = nullptr;  // answers asks; null: an ask is denied, and the answer says so
  EnforceMode mode = EnforceMode::kEnforce;
};

struct McpProxyResult {
  int32_t exit_code = 0;    // the server's exit code, when it exited
  int32_t exit_signal = 0;  // the signal that killed it, else 0
  std::string server_name;  // from initialize, else the command's basename
  uint64_t events = 0;
  uint64_t bytes_to_server = 0;
  uint64_t bytes_to_agent = 0;
  Status sink_status;   // the first error the sink returned (recording stopped there), else OK
  uint64_t denied = 0;  // tools/call requests (and messages that may be one) refused by the proxy
  uint64_t asked = 0;   // tools/call requests the policy asked about
  // Read and never delivered, recorded as one `gap` event: toward the server, any (the recording
  // holds requests the server never got); toward the agent, what remained when the proxy stopped
  // while the agent was not reading. An agent that closed its end before the last answers (a client
  // exiting) is not a gap: lost_to_agent_bytes.
  uint64_t undelivered_to_server_bytes = 0, undelivered_to_agent_bytes = 0;
  uint64_t undelivered_messages = 0;
  uint64_t lost_to_agent_bytes = 0;
  // 128+n for signal n, else the exit code: what the proxy should exit with.
  int ExitStatus() const { return exit_signal != 0 ? 128 + exit_signal : exit_code; }
};

// Blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP in the calling thread. A program that starts other
// threads before RunMcpProxy (a store writer, say) must call this first, so that those threads inherit
// the mask and the proxy's signalfd sees every such signal (otherwise SIGTERM could kill the process
// through a thread that does not block it, before the server is told).
void BlockProxySignals();

// Runs the proxy until the server has exited and both directions are done. Errors: NotFound when the
// command does not exist, PermissionDenied when it cannot be executed, IOError for pipe/fork failures.
// `sink` receives the events on the recorder thread; its first non-OK Append stops recording
// (forwarding continues) and is reported as sink_status.
Result<McpProxyResult> RunMcpProxy(const McpProxyOptions& options, EventSink& sink);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_MCP_PROXY_H_
