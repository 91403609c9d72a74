// `agenttrace record --mcp`: the MCP stdio proxy as a command. Standalone it records into its own
// session of the store; under `agenttrace record -- AGENT` ($AGENTTRACE_SOCKET set) it sends its
// events to that recording instead, so one session holds the agent's syscalls and its tool calls.
//
// stdout belongs to the MCP protocol: nothing but the server's bytes may ever be written there.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "format/decision_event.h"
#include "format/event_sink.h"
#include "format/signing.h"
#include "format/store.h"
#include "recorder/ask.h"
#include "recorder/event_socket.h"
#include "recorder/fingerprint_key.h"
#include "recorder/mcp_proxy.h"
#include "recorder/nested_event_sink.h"
#include "recorder/recording_sink.h"
#include "recorder/secrets.h"
#include "replayer/live_decider.h"
#include "replayer/policy.h"
#include "tools/cmd_record.h"
#include "tools/exit_codes.h"
#include "tools/mcp_deciders.h"

extern char** environ;

namespace agenttrace {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

int ProxyFailed(const Status& st) {
  std::fprintf(stderr, "agenttrace: record --mcp: %s\n", st.message().c_str());
  if (st.code() == StatusCode::kNotFound) return kExitNotFound;
  if (st.code() == StatusCode::kPermissionDenied) return kExitCannotExec;
  return kExitRecordFailed;
}

// Nested: events go to the enclosing recording's socket. The sink waits for the recording rather
// than dropping events (back-pressure), and any event it could not deliver is said on stderr and
// recorded as a gap (recorder/nested_event_sink.h).
constexpr int64_t kNestedShutdownWaitMs = 10000;

int RunNested(const std::string& socket, McpProxyOptions po, const McpRecordOptions& o) {
  // Never destroyed (SetUpNestedDeciders): a decision still in progress at the stop is abandoned, not
  // joined (McpProxyOptions::decider), and may outlive this function and static destruction.
  const NestedDeciders* deciders = nullptr;
  if (int rc = SetUpNestedDeciders("record --mcp", socket, {o.policy, o.mode, o.ask}, &deciders); rc != kExitOk) {
    return rc;
  }
  po.decider = deciders->decider;
  po.mode = deciders->mode;
  po.ask = deciders->ask;
  auto client = EventSocketClient::Connect(socket);
  if (!client.ok()) {
    std::fprintf(stderr, "agenttrace: record --mcp: %s=%s: %s\n", kEnvSocket, socket.c_str(),
                 client.status().message().c_str());
    return kExitRecordFailed;
  }
  NestedSinkOptions so;
  so.warn = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  NestedEventSink sink(socket, std::move(*client), so);
  po.on_server_exit = [&sink] { sink.StopWaitingAfter(kNestedShutdownWaitMs); };
  NestedAnswerRenamer renamer(&sink);
  auto result = RunMcpProxy(po, renamer);
  if (!result.ok()) return ProxyFailed(result.status());
  sink.Finish();
  if (!result->sink_status.ok()) {
    std::fprintf(stderr, "agenttrace: record --mcp: recording stopped early: %s\n",
                 result->sink_status.message().c_str());
  }
  return result->ExitStatus();
}

}  // namespace

int RunMcpRecord(Cli& cli, const McpRecordOptions& o) {
  if (o.command.empty()) {
    std::fprintf(stderr,
                 "agenttrace: record --mcp: no server command given (usage: agenttrace record --mcp -- "
                 "SERVER_CMD ARGS...)\n");
    return kExitUsage;
  }
  // --trace-server is handled by RunRecordCommand (tools/cmd_record.cc): it records this proxy and the
  // server under the syscall recorder, and the proxy joins that session through the event socket. Here,
  // with the socket set, the server is already a traced descendant.
  // Before any thread starts (the store's writer): SIGTERM from the agent must reach the proxy's
  // signalfd and be passed to the server, not kill us through another thread.
  BlockProxySignals();
  McpProxyOptions po;
  po.command = o.command;
  po.max_result_bytes = o.max_result_bytes;

  std::string socket = Env(kEnvSocket);
  if (!socket.empty()) return RunNested(socket, std::move(po), o);
  const ProxyDecisionFlags flags{o.policy, o.mode, o.ask};
  if (int rc = CheckProxyDecisionFlags("record --mcp", flags); rc != kExitOk) return rc;
  std::shared_ptr<const Policy> policy;
  if (!o.policy.empty()) {
    if (int rc = LoadProxyPolicy("record --mcp", o.policy, &policy); rc != kExitOk) return rc;
  }

  // The server inherits our environment: not the location of the recorder's signing key (already
  // loaded). No other thread runs yet, so changing the environment is safe.
  ::unsetenv(kEnvSignKey);
  std::string dir = StoreDir(cli);
  auto store = Store::Open(dir);
  if (!store.ok()) return ProxyFailed(store.status().WithContext("store " + dir));
  auto key = LoadFingerprintKey();
  if (!key.ok()) return ProxyFailed(key.status().WithContext("fingerprint key"));
  if (std::string w = LegacyStoreKeyWarning(dir); !w.empty()) {
    std::fprintf(stderr, "agenttrace: warning: %s\n", w.c_str());
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  // The server does not get the key either (the scanner above keeps the value to redact it).
  ::unsetenv(kEnvFingerprintKey);
  SecretScanner scanner(*key, env);

  RecordingOrigin origin{o.label, o.agent, o.agent_version, "mcp", o.command};
  WriterOptions wopts;
  wopts.sign_key = o.sign_key;
  SessionInfo session_info = NewSessionInfo(origin, scanner);
  const PathVars vars{session_info.cwd, session_info.home, session_info.tmp};  // as replay will use them
  auto async = RecordingSink::Create(**store, std::move(session_info), &scanner, wopts);
  if (!async.ok()) return ProxyFailed(async.status().WithContext("store " + dir));
  AsyncSessionWriter* sink = async->get();
  po.redact = [&scanner](std::string* s) { scanner.Redact(s); };
  // A decision abandoned at the stop (McpProxyOptions::decider) may outlive this function: the
  // decider and its resolver are never destroyed, and it records through deciders.session, closed
  // before the session is finished, so that a late decision is refused rather than written into a
  // finished (then freed) session writer (SetUpStandaloneDeciders).
  StandaloneDeciders deciders;
  if (policy != nullptr) {
    if (int rc = SetUpStandaloneDeciders("record --mcp", policy, flags, vars, sink, &deciders); rc != kExitOk) {
      (void)sink->Finish(rc, 0);
      return rc;
    }
    po.decider = deciders.decider;
    po.ask = deciders.ask;
    po.mode = deciders.mode;
  }

  auto result = RunMcpProxy(po, *sink);
  if (deciders.session != nullptr) deciders.session->Close();
  if (!result.ok()) {
    int rc = ProxyFailed(result.status());
    (void)sink->Finish(rc, 0);
    return rc;
  }
  Status fin = sink->Finish(result->exit_code, result->exit_signal);
  if (!result->sink_status.ok()) {
    std::fprintf(stderr, "agenttrace: record --mcp: recording stopped early: %s\n",
                 result->sink_status.message().c_str());
  }
  if (!fin.ok()) {
    std::fprintf(stderr, "agenttrace: record --mcp: finishing the session: %s\n", fin.message().c_str());
  }
  std::fprintf(stderr, "agenttrace: recorded MCP session %s (%s, %llu events) in %s\n", sink->id().ToString().c_str(),
               result->server_name.c_str(), static_cast<unsigned long long>(result->events), dir.c_str());
  return result->ExitStatus();
}

}  // namespace agenttrace
