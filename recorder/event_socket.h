// The recorder's event socket: a Unix stream socket on which agent frameworks (through `agenttrace
// emit`, hooks, or a nested `agenttrace record --mcp`) send tool events as JSON lines, recorded into
// the running session in arrival order.
//
// Protocol (docs/cli.md, "Event socket"): each line is one JSON object, either an event in the JSON-lines
// form of format/event_json.h without seq/ts (the recorder stamps them), or a Claude Code / Codex /
// Gemini CLI hook payload (recognised by "hook_event_name"). Each line is answered by one line:
// {"ok":true} or {"ok":false,"error":"..."}. A malformed line is answered with an error and recorded as
// a protocol.error event; it never stops the recording. Lines are bounded (kMaxJsonLineBytes).
//
// Thread-safety: the server runs its own thread; Start/Stop from one thread.
#ifndef AGENTTRACE_RECORDER_EVENT_SOCKET_H_
#define AGENTTRACE_RECORDER_EVENT_SOCKET_H_

#include <memory>
#include <string>

#include "format/status.h"
#include "format/store.h"

namespace agenttrace {

// Environment variables the recorder exports to the traced agent.
inline constexpr char kEnvSocket[] = "AGENTTRACE_SOCKET";    // path of the event socket
inline constexpr char kEnvSession[] = "AGENTTRACE_SESSION";  // id of the session being recorded

class SecretScanner;

class EventSocketServer {
 public:
  // Listens on a new socket at `path` (which must not exist) and records what arrives into `sink`.
  // `sink` and `secrets` (may be null) must outlive the server.
  static Result<std::unique_ptr<EventSocketServer>> Start(const std::string& path, AsyncSessionWriter* sink,
                                                          const SecretScanner* secrets);
  virtual ~EventSocketServer() = default;  // stops, closes connections, unlinks the socket
  virtual const std::string& path() const = 0;
  // Stops accepting, drains what was already received, joins the thread.
  virtual void Stop() = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_EVENT_SOCKET_H_
