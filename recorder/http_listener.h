// The life of the recorder's HTTP servers (`record --mcp-http`, `replay --serve --http`) from bind to
// stop: bind the listening socket, serve on a thread of its own, report the port once it serves, wait
// for a stop signal or the caller's stop descriptor, stop the server and join its thread. One copy, so that the
// two servers bind, report and stop alike.
//
// Thread-safety: call from the thread that made the ServerSignals, before the server has any other
// thread; it starts and joins the server's thread itself.
#ifndef AGENTTRACE_RECORDER_HTTP_LISTENER_H_
#define AGENTTRACE_RECORDER_HTTP_LISTENER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "format/status.h"
#include "recorder/server_signals.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace agenttrace {

struct HttpListenOptions {
  std::string host;
  int port = 0;                                // 0: any free port
  std::function<void(int port)> on_listening;  // called with the bound port once it accepts; may be empty
  int stop_fd = -1;                            // when >= 0, readable or hung up means "stop"
  std::function<void()> before_stop;           // run after the wait, before the server stops; may be empty
};

// Binds `server` (handlers set, not yet listening) to host:port, serves it until a stop signal arrives
// on `signals` or stop_fd says stop, then stops it and joins its thread. Returns the number of the stop
// signal, 0 when stop_fd (or a failing poll) ended the wait. Errors: IOError "cannot listen on
// HOST:PORT" when the socket cannot be bound; the server was then never started.
Result<int32_t> ServeHttpUntilStopped(httplib::Server* server, const HttpListenOptions& options,
                                      const ServerSignals& signals);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_HTTP_LISTENER_H_
