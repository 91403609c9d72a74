// The MCP Streamable HTTP proxy: an HTTP reverse proxy in front of a remote MCP server that forwards
// every exchange (POST of JSON-RPC, GET server stream, DELETE end of session, anything else) and
// records the JSON-RPC messages it carries with the stdio proxy's tracker (recorder/jsonrpc_framing.h),
// so both transports give the same event kinds.
//
// Forwarding: method, target (path and query) and body unchanged; request headers unchanged except the
// hop-by-hop ones (Connection, Keep-Alive, TE, Upgrade, Proxy-*, Transfer-Encoding), Host, which
// names the upstream (as a reverse proxy must for TLS and virtual hosts), and Accept-Encoding, so that
// answers come uncompressed and every message can be recorded. Status code (with the standard reason
// phrase) and response headers unchanged except the hop-by-hop ones; the body is relayed as it arrives
// (SSE events are never held back), with its Content-Length when the upstream gave one, else chunked.
// No content coding is added or removed. HTTP parsing and TLS are cpp-httplib's (OpenSSL).
//
// Recording: a request body is one JSON-RPC message (or a batch, recorded message by message); an
// application/json response body likewise; a text/event-stream response is split into events
// (recorder/sse_splitter.h) and each event's data is one message. The stream's bytes are observed,
// never changed. Headers are not recorded (Authorization, cookies and Mcp-Session-Id never reach the
// store). HTTP-level failures are protocol.error events whose text starts with "http: ".
//
// Request-time decisions: with a decider, each request body that is a `tools/call` is decided before
// it is forwarded, and one that may be a call but cannot be decided is refused; a denied or refused
// request never reaches the upstream and is answered by the proxy (recorder/mcp_http_gate.h). The
// decider records its decision; the proxy records the call, its answer, and who answered an ask, as
// the stdio proxy does (recorder/mcp_proxy.h), so that replay reads both alike. A decision in
// progress never holds the stop: its call is answered with a "stopped" error and never forwarded,
// and the stop waits at most 2 s for the decision before leaving it to finish alone.
//
// Bounds: a request body above max_message_bytes is refused with 413 (the server never sees it); a
// response message above it is forwarded intact and recorded as a protocol.error with its size and
// head; at most max_streams exchanges are in flight (503 beyond), each with its own thread and at most
// kRelayBufferBytes buffered between upstream and client, so a slow client stalls only its own stream
// (and is dropped after write_timeout_ms without progress).
//
// Thread-safety: RunMcpHttpProxy is called from one thread; it starts and joins its own threads. It
// blocks SIGTERM/SIGINT/SIGHUP in the calling thread while it runs and ignores SIGPIPE.
#ifndef AGENTTRACE_RECORDER_MCP_HTTP_PROXY_H_
#define AGENTTRACE_RECORDER_MCP_HTTP_PROXY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "format/decision_event.h"
#include "format/event_sink.h"
#include "format/request_decider.h"
#include "format/status.h"
#include "recorder/jsonrpc_framing.h"
#include "recorder/mcp_proxy.h"

namespace agenttrace {

inline constexpr size_t kRelayBufferBytes = 1u << 20;

struct McpHttpProxyOptions {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;   // 0: any free port (reported through on_listening)
  std::string upstream;  // http://HOST[:PORT][/PATH] or https://...; the path is the MCP endpoint
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  size_t max_result_bytes = 64u << 10;
  size_t max_streams = 64;
  int64_t connect_timeout_ms = 10000;
  int64_t idle_timeout_ms = 3600 * 1000;     // an upstream stream silent this long is closed
  int64_t write_timeout_ms = 30000;          // a client that takes nothing this long is dropped
  std::string ca_file;                       // extra CA bundle for an https upstream (tests); may be empty
  std::function<void(std::string*)> redact;  // secret redaction of recorded JSON; may be empty
  // Called once the proxy accepts connections, with the port it listens on.
  std::function<void(int port)> on_listening;
  // When >= 0, readable means "stop" (in addition to SIGTERM/SIGINT/SIGHUP); for tests.
  int stop_fd = -1;
  // Decides each tools/call before it is forwarded; null: everything is forwarded. Called from the
  // gate's decision thread. The decider and `ask` must stay valid until the process ends: a decision
  // still in progress at the stop is abandoned after 2 s, not joined (recorder/mcp_http_gate.h).
  RequestDecider* decider = nullptr;
  AskResolver* ask = nullptr;  // answers asks; null: an ask is denied, and the answer says so
  EnforceMode mode = EnforceMode::kEnforce;
  // Test-only: each upstream exchange waits this long after the upstream's answer has been read and
  // before its end is handled, which widens a race a test must be able to lose (the record of an
  // answer against the client's next request). tools/ never sets it.
  int test_delay_after_upstream_ms = 0;
};

struct McpHttpProxyResult {
  std::string server_name;  // from initialize, else the upstream's host
  uint64_t events = 0;
  uint64_t exchanges = 0;   // HTTP requests handled
  uint64_t refused = 0;     // answered 413/502/503 by the proxy itself
  uint64_t denied = 0;      // tools/call requests denied and messages refused by the decision gate
  uint64_t asked = 0;       // tools/call requests the policy asked about
  uint64_t stopped = 0;     // tools/call requests still being decided at the stop: answered, never forwarded
  int32_t stop_signal = 0;  // the signal that stopped the proxy, 0 when stop_fd did
  Status sink_status;       // the first error the sink returned (recording stopped there), else OK
};

// The upstream URL split up. InvalidArgument for anything but http(s)://host[:port][/path] (no
// user:password@, no fragment).
struct UpstreamUrl {
  bool tls = false;
  std::string host;
  int port = 0;
  std::string path;            // "/" when absent
  std::string Origin() const;  // scheme://host:port
};
Result<UpstreamUrl> ParseUpstreamUrl(const std::string& url);

// Serves until SIGTERM, SIGINT or SIGHUP (or stop_fd), then stops accepting, ends the streams in
// flight, answers the tool calls still being decided ("stopped"), records what they carried and
// returns. Errors: InvalidArgument for a bad upstream URL, IOError when the listening socket cannot
// be bound.
// `sink` receives the events on the recorder thread; its first non-OK Append stops recording.
Result<McpHttpProxyResult> RunMcpHttpProxy(const McpHttpProxyOptions& options, EventSink& sink);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_MCP_HTTP_PROXY_H_
