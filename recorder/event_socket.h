// The recorder's event socket: a Unix stream socket on which agent frameworks (through `agenttrace
// emit`, hooks, or a nested `agenttrace record --mcp`) send tool events as JSON lines, recorded into
// the running session in arrival order.
//
// Protocol (docs/cli.md, "Event socket"): each line is one JSON object, either an event in the JSON-lines
// form of format/event_json.h without seq/ts (the recorder stamps them), or a Claude Code / Codex /
// Gemini CLI hook payload (recognised by "hook_event_name"). Each line is answered by one line:
// {"ok":true} or {"ok":false,"error":"..."}. A malformed line is answered with an error and recorded as
// a protocol.error event; it never stops the recording. Lines are bounded (kMaxJsonLineBytes). Kinds
// the tracer records (syscalls, escapes) are refused; tool kinds, annotations, protocol errors and
// gaps are accepted.
//
// Thread-safety: the server runs its own thread; Start/Stop from one thread.
#ifndef AGENTTRACE_RECORDER_EVENT_SOCKET_H_
#define AGENTTRACE_RECORDER_EVENT_SOCKET_H_

#include <memory>
#include <string>
#include <string_view>

#include "format/event.h"
#include "format/status.h"
#include "format/store.h"
#include "format/unique_fd.h"

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

// The client side (`agenttrace emit`, a nested `agenttrace record --mcp`): one connection; each line
// sent waits for its answer line, so an acknowledged event is in the recording's queue.
// Thread-compatible (one thread at a time).
class EventSocketClient {
 public:
  // Connects to the socket at `path`. IOError naming the path when nothing listens there.
  static Result<std::unique_ptr<EventSocketClient>> Connect(const std::string& path);

  // Sends `line` (one JSON object without a newline) and waits up to `timeout_ms` for the answer.
  // OK on {"ok":true}; InvalidArgument carrying the server's error for {"ok":false,...}; IOError when
  // the connection fails or no answer comes in time.
  Status SendLine(std::string_view line, int timeout_ms = 10000);
  // Sends `event` in the JSON-lines form (its seq and times are restamped by the server).
  Status SendEvent(const Event& event, int timeout_ms = 10000);

  // The two halves of SendLine, for a caller that keeps waiting for one answer (back-pressure).
  // Send writes the line; Await waits up to `timeout_ms` for the next answer. On a timeout Await
  // returns IOError and sets *timed_out (may be null): the answer is still owed, so call Await again
  // before the next Send, or drop the client.
  Status Send(std::string_view line);
  Status Await(int timeout_ms, bool* timed_out = nullptr);

 private:
  explicit EventSocketClient(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string out_;  // reused line buffer
  std::string in_;   // bytes received after the last answer
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_EVENT_SOCKET_H_
