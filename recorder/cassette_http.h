// Serving a cassette (recorder/cassette.h) over the MCP Streamable HTTP transport: `agenttrace replay
// --serve --http --listen HOST:PORT` (docs/cli.md).
//
// One endpoint path (any path is accepted): POST of one JSON-RPC message per request. An `initialize`
// request opens an MCP session: a new CassettePlayer, and an `Mcp-Session-Id` header on the answer;
// later requests must carry that header (404 for an unknown session, 400 without one). A request is
// answered with `application/json`, or, when the recording holds notifications sent while it was
// pending (progress), with a `text/event-stream` of those notifications followed by the answer.
// Notifications and responses from the client get 202. GET (a server stream) gets 405: a cassette
// has nothing to push. DELETE ends the session. HTTP itself is cpp-httplib's.
//
// Every client message and every answer goes through the ServedRecorder, as on stdio. Players and the
// recorder are not thread-safe: requests are served one at a time (connections each have a thread,
// but take turns).
//
// Thread-safety: RunHttpServe is called from one thread; it blocks SIGTERM/SIGINT/SIGHUP in the calling
// thread while it runs and ignores SIGPIPE.
#ifndef AGENTTRACE_RECORDER_CASSETTE_HTTP_H_
#define AGENTTRACE_RECORDER_CASSETTE_HTTP_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "format/status.h"
#include "recorder/cassette.h"
#include "recorder/cassette_serve.h"
#include "recorder/jsonrpc_framing.h"

namespace agenttrace {

struct HttpServeOptions {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;  // 0: any free port (reported through on_listening)
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  size_t max_sessions = 64;  // MCP sessions open at once; initialize beyond it gets 503
  std::function<void(int port)> on_listening;
  int stop_fd = -1;  // when >= 0, readable means "stop" (in addition to the signals); for tests
};

// Serves until SIGTERM, SIGINT or SIGHUP (or stop_fd). `make_player` creates the player of each new
// MCP session. `recorder` may be null. Errors: IOError when the port cannot be bound.
Result<StdioServeResult> RunHttpServe(const HttpServeOptions& options,
                                      const std::function<std::unique_ptr<CassettePlayer>()>& make_player,
                                      ServedRecorder* recorder);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_CASSETTE_HTTP_H_
