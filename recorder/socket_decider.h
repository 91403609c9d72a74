// A RequestDecider that asks the enclosing session's decider through its event socket: a nested
// `agenttrace record --mcp` inside `agenttrace run` decides each tools/call with the run's own live
// evaluator, so one session has one state (a secret read through a syscall and a tool call complete
// the same sequence rule). The session's decider records its decision and the session any ask answer
// it obtained; the proxy records the tool.call itself (the request says "record": false).
//
// Answers, as RequestDecision: the session's verdict; an ask the session put to its resolver becomes
// the answer (allow/deny, the reason naming who answered); a session in audit mode, or one without a
// policy, allows (the reason says so). Fail closed: a refused request, a broken connection or no
// answer within the timeout denies with `error` set and the reason saying why.
//
// Thread-safety: Decide may be called from any thread; calls are serialised on one connection.
#ifndef AGENTTRACE_RECORDER_SOCKET_DECIDER_H_
#define AGENTTRACE_RECORDER_SOCKET_DECIDER_H_

#include <memory>
#include <mutex>
#include <string>

#include "format/request_decider.h"
#include "recorder/event_socket.h"

namespace agenttrace {

class SocketDecider final : public RequestDecider {
 public:
  // `path`: the session's event socket; `timeout_ms`: how long one decision may take (an ask put to
  // a human included) before it is denied.
  SocketDecider(std::string path, int timeout_ms) : path_(std::move(path)), timeout_ms_(timeout_ms) {}
  RequestDecision Decide(const Event& request) override;

 private:
  std::mutex mu_;
  const std::string path_;
  const int timeout_ms_;
  std::unique_ptr<EventSocketClient> client_;  // guarded by mu_; reconnected after a failure
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_SOCKET_DECIDER_H_
