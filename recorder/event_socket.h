// The recorder's event socket: a Unix stream socket on which agent frameworks (through `agenttrace
// emit`, hooks, or a nested `agenttrace record --mcp`) send tool events as JSON lines, recorded into
// the running session in arrival order.
//
// Protocol (docs/cli.md, "Event socket"): each line is one JSON object, either an event in the JSON-lines
// form of format/event_json.h without seq/ts (the recorder stamps them), or a Claude Code / Codex /
// Gemini CLI hook payload (recognised by "hook_event_name"). Each line is answered by one line:
// {"ok":true} or {"ok":false,"error":"..."}. A malformed line is answered with an error and recorded as
// a protocol.error event; it never stops the recording. Annotations with the texts of the recorder's own
// enforcement events (format/decision_event.h) are refused. Lines are bounded (kMaxJsonLineBytes). Kinds
// the tracer records (syscalls, escapes) are refused; tool kinds, annotations, protocol errors and
// gaps are accepted.
//
// Decisions (request/answer; docs/cli.md, "Event socket"): a line {"decide": X, "resolve_ask": B} where
// X is a tool.call event or a pre-tool-use hook payload asks the session's RequestDecider before the
// tool runs. The server records the tool.call (unless "record": false), decides it (the decider records its decision),
// and answers {"ok":true,"policy":true,"decision":"allow|ask|deny","rule":R,"reason":S,"mode":M}; with
// "resolve_ask":true an ask is put to the session's AskResolver (other connections keep flowing while
// a human answers) and the answer adds "answer":"allow|deny","by":WHO. A recording without a decider
// answers {"ok":true,"policy":false,"decision":"allow",...} explicitly: nothing is enforced. The asking
// side denies when it gets no answer (fail closed).
//
// Thread-safety: the server runs its own thread; Start/Stop from one thread.
#ifndef AGENTTRACE_RECORDER_EVENT_SOCKET_H_
#define AGENTTRACE_RECORDER_EVENT_SOCKET_H_

#include <memory>
#include <string>
#include <string_view>

#include "format/decision_event.h"
#include "format/event.h"
#include "format/event_sink.h"
#include "format/request_decider.h"
#include "format/status.h"
#include "format/store.h"
#include "format/unique_fd.h"

namespace agenttrace {

// Environment variables the recorder exports to the traced agent.
inline constexpr char kEnvSocket[] = "AGENTTRACE_SOCKET";    // path of the event socket
inline constexpr char kEnvSession[] = "AGENTTRACE_SESSION";  // id of the session being recorded
// Set (to "1") by a recording whose event socket answers decisions with a policy (`agenttrace run`):
// a nested `record --mcp` then has each tools/call decided by that session.
inline constexpr char kEnvDecides[] = "AGENTTRACE_DECIDES";

class SecretScanner;

// Who answers {"decide": ...} lines. All null: the recording has no policy.
struct EventSocketDecisions {
  RequestDecider* decider = nullptr;
  AskResolver* ask = nullptr;  // null: an ask is answered "ask" (the caller decides what that means)
  EnforceMode mode = EnforceMode::kEnforce;
};

class EventSocketServer {
 public:
  // Listens on a new socket at `path` (which must not exist) and records what arrives into `sink`.
  // `sink`, `secrets` (may be null) and the decider and resolver of `decisions` must outlive the
  // server (an ask still being answered when the server stops is abandoned, not joined: its resolver
  // must then outlive the process).
  static Result<std::unique_ptr<EventSocketServer>> Start(const std::string& path, EventSink* sink,
                                                          const SecretScanner* secrets,
                                                          EventSocketDecisions decisions = {});
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

  // Sends {"decide": request_json, "resolve_ask": resolve_ask} and waits up to `timeout_ms` for the
  // answer. `request_json` is a tool.call event in the JSON-lines form or a hook payload.
  // InvalidArgument when the recorder refused the request; IOError when the connection failed or no
  // answer came in time (the caller then denies).
  struct Decision {
    bool policy = false;  // false: the recording has no policy (decision is allow)
    RequestDecision decision;
    EnforceMode mode = EnforceMode::kEnforce;
    bool answered = false;  // an ask was put to the session's resolver
    AskAnswer answer;
  };
  // `record` false: the recording does not record the tool.call (the asker records it itself).
  Result<Decision> Decide(std::string_view request_json, bool resolve_ask, int timeout_ms, bool record = true);

  // The two halves of SendLine, for a caller that keeps waiting for one answer (back-pressure).
  // Send writes the line; Await waits up to `timeout_ms` for the next answer. On a timeout Await
  // returns IOError and sets *timed_out (may be null): the answer is still owed, so call Await again
  // before the next Send, or drop the client.
  Status Send(std::string_view line);
  Status Await(int timeout_ms, bool* timed_out = nullptr);
  // Await's answer line itself (without its newline), whatever it says.
  Result<std::string> AwaitLine(int timeout_ms, bool* timed_out = nullptr);

 private:
  explicit EventSocketClient(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string out_;  // reused line buffer
  std::string in_;   // bytes received after the last answer
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_EVENT_SOCKET_H_
