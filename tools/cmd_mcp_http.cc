// `agenttrace record --mcp-http`: the MCP Streamable HTTP proxy as a command (recorder/mcp_http_proxy.h).
// Standalone it records into its own session of the store; under `agenttrace record -- AGENT`
// ($AGENTTRACE_SOCKET set) its events join that recording, as `record --mcp` does. Tool calls are
// decided as `record --mcp` decides them (tools/mcp_deciders.h): with --policy, or inside a run that
// decides, by the run's own decider.
#include <cstdio>
#include <cstdlib>

#include "format/signing.h"
#include "format/store.h"
#include "recorder/event_socket.h"
#include "recorder/fingerprint_key.h"
#include "recorder/mcp_http_proxy.h"
#include "recorder/nested_event_sink.h"
#include "recorder/recording_sink.h"
#include "recorder/secrets.h"
#include "tools/cmd_record.h"
#include "tools/exit_codes.h"
#include "tools/mcp_deciders.h"

extern char** environ;

namespace agenttrace {
namespace {

constexpr int64_t kNestedShutdownWaitMs = 10000;
constexpr char kVerb[] = "record --mcp-http";

int Failed(const Status& st) {
  std::fprintf(stderr, "agenttrace: record --mcp-http: %s\n", st.message().c_str());
  return st.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRecordFailed;
}

// "HOST:PORT" or "[V6]:PORT".
Status ParseListen(const std::string& s, McpHttpProxyOptions* po) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return Status::InvalidArgument("--listen \"" + s + "\": expected HOST:PORT (e.g. 127.0.0.1:8931)");
  }
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = s.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) return Status::InvalidArgument("--listen \"" + s + "\": bad port");
  po->listen_host = host;
  po->listen_port = static_cast<int>(p);
  return Status::Ok();
}

void SayListening(const McpHttpProxyOptions& po, int port) {
  auto url = ParseUpstreamUrl(po.upstream);
  std::string path = url.ok() ? url->path : "/";
  std::fprintf(stderr, "agenttrace: record --mcp-http: listening on http://%s:%d%s (upstream %s)\n",
               po.listen_host.c_str(), port, path.c_str(), url.ok() ? url->Origin().c_str() : "?");
  std::fflush(stderr);
}

// Calls the stop gave up on are never forwarded; whoever reads the summary should know they exist.
void SayStopped(const McpHttpProxyResult& r) {
  if (r.stopped == 0) return;
  std::fprintf(stderr,
               "agenttrace: record --mcp-http: %llu tool call(s) still being decided at the stop were answered "
               "with an error and not forwarded\n",
               static_cast<unsigned long long>(r.stopped));
}

}  // namespace

int RunMcpHttpRecord(Cli& cli, const McpHttpRecordOptions& o) {
  if (o.listen.empty() || o.upstream.empty()) {
    std::fprintf(stderr, "agenttrace: record --mcp-http: --listen HOST:PORT and --upstream URL are required\n");
    return kExitUsage;
  }
  // Before any thread starts (the store's writer): a stop signal must reach the proxy's signalfd, not
  // kill the process through a thread that does not block it.
  BlockProxySignals();
  McpHttpProxyOptions po;
  if (Status st = ParseListen(o.listen, &po); !st.ok()) return Failed(st);
  if (auto u = ParseUpstreamUrl(o.upstream); !u.ok()) return Failed(u.status());
  po.upstream = o.upstream;
  po.max_result_bytes = o.max_result_bytes;
  if (o.max_message_bytes != 0) po.max_message_bytes = o.max_message_bytes;
  po.max_streams = o.max_streams;
  po.ca_file = o.ca_file;
  po.on_listening = [&po](int port) { SayListening(po, port); };
  const ProxyDecisionFlags flags{o.policy, o.mode, o.ask};
  if (int rc = CheckProxyDecisionFlags(kVerb, flags); rc != kExitOk) return rc;

  std::string socket;
  if (const char* s = std::getenv(kEnvSocket); s != nullptr) socket = s;
  if (!socket.empty()) {
    const NestedDeciders* deciders = nullptr;  // never destroyed (SetUpNestedDeciders)
    if (int rc = SetUpNestedDeciders(kVerb, socket, flags, &deciders); rc != kExitOk) return rc;
    po.decider = deciders->decider;
    po.mode = deciders->mode;
    po.ask = deciders->ask;
    auto client = EventSocketClient::Connect(socket);
    if (!client.ok()) return Failed(client.status().WithContext(std::string(kEnvSocket) + "=" + socket));
    NestedSinkOptions so;
    so.warn = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
    NestedEventSink sink(socket, std::move(*client), so);
    NestedAnswerRenamer renamer(&sink);
    auto result = RunMcpHttpProxy(po, renamer);
    sink.StopWaitingAfter(kNestedShutdownWaitMs);
    sink.Finish();
    if (!result.ok()) return Failed(result.status());
    SayStopped(*result);
    return kExitOk;
  }

  std::shared_ptr<const Policy> policy;
  if (!o.policy.empty()) {
    if (int rc = LoadProxyPolicy(kVerb, o.policy, &policy); rc != kExitOk) return rc;
  }
  std::string dir = StoreDir(cli);
  auto store = Store::Open(dir);
  if (!store.ok()) return Failed(store.status().WithContext("store " + dir));
  auto key = LoadFingerprintKey();
  if (!key.ok()) return Failed(key.status().WithContext("fingerprint key"));
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  SecretScanner scanner(*key, env);
  RecordingOrigin origin{o.label, o.agent, o.agent_version, "mcp-http", {"--upstream", o.upstream}};
  WriterOptions wopts;
  wopts.sign_key = o.sign_key;
  SessionInfo session_info = NewSessionInfo(origin, scanner);
  const PathVars vars{session_info.cwd, session_info.home, session_info.tmp};  // as replay will use them
  auto async = RecordingSink::Create(**store, std::move(session_info), &scanner, wopts);
  if (!async.ok()) return Failed(async.status().WithContext("store " + dir));
  AsyncSessionWriter* sink = async->get();
  po.redact = [&scanner](std::string* s) { scanner.Redact(s); };
  // A decision abandoned at the stop may come back after the session is finished: the decider
  // records through deciders.session, closed before then (SetUpStandaloneDeciders).
  StandaloneDeciders deciders;
  if (policy != nullptr) {
    if (int rc = SetUpStandaloneDeciders(kVerb, policy, flags, vars, sink, &deciders); rc != kExitOk) {
      (void)sink->Finish(rc, 0);
      return rc;
    }
    po.decider = deciders.decider;
    po.ask = deciders.ask;
    po.mode = deciders.mode;
  }

  auto result = RunMcpHttpProxy(po, *sink);
  if (deciders.session != nullptr) deciders.session->Close();
  if (!result.ok()) {
    int rc = Failed(result.status());
    (void)sink->Finish(rc, 0);
    return rc;
  }
  Status fin = sink->Finish(0, 0);
  if (!result->sink_status.ok()) {
    std::fprintf(stderr, "agenttrace: record --mcp-http: recording stopped early: %s\n",
                 result->sink_status.message().c_str());
  }
  if (!fin.ok()) {
    std::fprintf(stderr, "agenttrace: record --mcp-http: finishing the session: %s\n", fin.message().c_str());
    return kExitRecordFailed;
  }
  std::fprintf(stderr,
               "agenttrace: recorded MCP HTTP session %s (%s, %llu events, %llu requests, %llu refused, %llu denied) "
               "in %s\n",
               sink->id().ToString().c_str(), result->server_name.c_str(),
               static_cast<unsigned long long>(result->events), static_cast<unsigned long long>(result->exchanges),
               static_cast<unsigned long long>(result->refused), static_cast<unsigned long long>(result->denied),
               dir.c_str());
  SayStopped(*result);
  return result->sink_status.ok() ? kExitOk : kExitRecordFailed;
}

}  // namespace agenttrace
