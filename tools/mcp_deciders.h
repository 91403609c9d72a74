// The deciders the MCP proxies put in front of tool calls, shared by `record --mcp` (tools/cmd_mcp.cc)
// and `record --mcp-http` (tools/cmd_mcp_http.cc), so that both read --policy/--mode/--ask alike and
// decide through the same evaluator:
//   - standalone with --policy: a local LiveDecider that records into the proxy's own session;
//   - nested in a recording that decides (`agenttrace run` sets AGENTTRACE_DECIDES): the run's own
//     live decider, asked over its event socket (SocketDecider: one session, one state);
//   - nested in a plain recording with --policy: a local LiveDecider whose decisions join the
//     recording over the socket.
// Errors are said on stderr as "agenttrace: VERB: ..." and returned as the exit code to use.
//
// Thread-safety: set-up from one thread; the deciders and recorders are thread-safe.
#ifndef AGENTTRACE_TOOLS_MCP_DECIDERS_H_
#define AGENTTRACE_TOOLS_MCP_DECIDERS_H_

#include <memory>
#include <mutex>
#include <string>

#include "format/decision_event.h"
#include "format/event_sink.h"
#include "recorder/ask.h"
#include "recorder/event_socket.h"
#include "recorder/socket_decider.h"
#include "replayer/live_decider.h"
#include "replayer/policy.h"

namespace agenttrace {

// --policy, --mode, --ask of a proxy.
struct ProxyDecisionFlags {
  std::string policy;  // empty: none
  std::string mode = "enforce";
  std::string ask = "deny";
};

// Checks --mode and --ask: kExitOk, or kExitUsage (said on stderr).
int CheckProxyDecisionFlags(const std::string& verb, const ProxyDecisionFlags& f);

// Loads --policy: kExitOk, or kExitUsage (unreadable) / kExitBadPolicy (invalid), said on stderr.
int LoadProxyPolicy(const std::string& verb, const std::string& path, std::shared_ptr<const Policy>* out);

// A proxy's events on their way to the enclosing recording, which reserves kDecisionAnswerText for
// its own answers: a nested proxy's answer annotation is renamed, so that the two are never confused.
class NestedAnswerRenamer final : public EventSink {
 public:
  explicit NestedAnswerRenamer(EventSink* inner) : inner_(inner) {}
  Status Append(const Event& e) override;

 private:
  EventSink* inner_;
};

// A local decider's events (decisions) sent to the enclosing recording on their own connection.
class SocketEventRecorder {
 public:
  SocketEventRecorder(std::string verb, std::string path) : verb_(std::move(verb)), path_(std::move(path)) {}
  void Record(const Event& e);

 private:
  std::mutex mu_;
  const std::string verb_;
  const std::string path_;
  std::unique_ptr<EventSocketClient> client_;
};

// The session as a standalone proxy's decider sees it: a decision abandoned at the proxy's stop may
// come back after the session is finished and its writer freed; Close() (before the session is
// finished) makes every later Append refuse instead. It must live as long as the decider that
// records into it: until the process ends.
class SessionUntilClosed final : public EventSink {
 public:
  explicit SessionUntilClosed(EventSink* session) : session_(session) {}
  Status Append(const Event& e) override;
  // Waits for an Append in progress.
  void Close();

 private:
  std::mutex mu_;
  EventSink* session_;  // guarded by mu_; null once closed
};

// What decides a nested proxy's tool calls (none: `decider` is null).
struct NestedDeciders {
  RequestDecider* decider = nullptr;
  EnforceMode mode = EnforceMode::kEnforce;
  AskResolver* ask = nullptr;
  std::unique_ptr<SocketDecider> session;
  std::unique_ptr<LiveDecider> local;
  std::unique_ptr<SocketEventRecorder> recorder;
  std::unique_ptr<FixedAskResolver> fixed_ask;
};

// Sets up the deciders of a proxy nested in the recording at event socket `socket` (see above).
// Returns kExitOk with *out set, or the exit code (said on stderr). *out is never destroyed: the
// proxies leave a decision still in progress at their stop to finish alone (McpProxyOptions::decider,
// McpHttpProxyOptions::decider), so what it uses must live until the process ends, static
// destruction at exit included.
int SetUpNestedDeciders(const std::string& verb, const std::string& socket, const ProxyDecisionFlags& f,
                        const NestedDeciders** out);

// A standalone proxy's local decider for `policy` (from --policy `f.policy`), recording into `sink`,
// which first gets the session's enforcement annotation. Returns kExitOk, or kExitBadPolicy (said on
// stderr).
int CreateStandaloneDecider(const std::string& verb, std::shared_ptr<const Policy> policy, const ProxyDecisionFlags& f,
                            const PathVars& vars, EventSink* sink, std::unique_ptr<LiveDecider>* out);

// What decides a standalone proxy's tool calls with --policy.
struct StandaloneDeciders {
  RequestDecider* decider = nullptr;
  AskResolver* ask = nullptr;  // --ask: a fixed answer
  EnforceMode mode = EnforceMode::kEnforce;
  // The session as the decider records into it: Close() it once the proxy has returned, before the
  // session is finished, so that a decision abandoned at the stop and coming back late is refused
  // rather than written into a finished (then freed) session writer.
  SessionUntilClosed* session = nullptr;
};

// Sets up a standalone proxy's deciders for `policy`, recording into `session` (through
// out->session). Returns kExitOk with *out set, or kExitBadPolicy (said on stderr; nothing is kept).
// What *out points to is never destroyed, for the same reason as SetUpNestedDeciders's.
int SetUpStandaloneDeciders(const std::string& verb, std::shared_ptr<const Policy> policy, const ProxyDecisionFlags& f,
                            const PathVars& vars, EventSink* session, StandaloneDeciders* out);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_MCP_DECIDERS_H_
