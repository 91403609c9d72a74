// `agenttrace replay --serve`: an MCP stdio server that answers from recorded sessions (a cassette,
// recorder/cassette.h), for re-running an agent against yesterday's tools (docs/cli.md).
//
// stdout belongs to the MCP protocol: nothing but answers may ever be written there. The serving run is
// recorded like `record --mcp`: into its own session (recorder "mcp-replay"), or, under `agenttrace
// record` ($AGENTTRACE_SOCKET set), into the enclosing session.
#include "tools/cmd_serve.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "format/event_sink.h"
#include "format/store.h"
#include "recorder/cassette.h"
#include "recorder/cassette_http.h"
#include "recorder/cassette_serve.h"
#include "recorder/event_socket.h"
#include "recorder/fingerprint_key.h"
#include "recorder/first_failure_sink.h"
#include "recorder/nested_event_sink.h"
#include "recorder/recording_sink.h"
#include "recorder/secrets.h"
#include "tools/exit_codes.h"
#include "tools/select.h"

extern char** environ;

namespace agenttrace {
namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr, "agenttrace: replay --serve: %s\n", msg.c_str());
  return kExitUsage;
}

// Loads the selected sessions into `cassette`; fills `ids`. Returns an exit code.
int LoadCassette(const Cli& cli, const ServeArgs& a, Cassette* cassette, std::vector<std::string>* ids) {
  std::vector<SessionInput> inputs;
  std::shared_ptr<Store> store;
  const std::string* label = a.label_given ? &a.label : nullptr;
  if (int rc = SelectSessions(cli, a.sessions, label, &store, &inputs); rc != kExitOk) return rc;
  // Oldest first: identical requests are answered in the order they were recorded.
  std::stable_sort(inputs.begin(), inputs.end(),
                   [](const SessionInput& x, const SessionInput& y) { return x.info.id < y.info.id; });
  for (SessionInput& in : inputs) {
    std::string id = in.origin == "store" ? in.info.id.ToString() : in.origin;
    auto src = in.open();
    if (!src.ok()) return ReportError(src.status(), "session " + id);
    Status st = cassette->AddSession(id, **src, "");
    if (!st.ok()) return ReportError(st, "session " + id);
    ids->push_back(id);
  }
  return kExitOk;
}

// Where the serving run's events go (an EventSink), and how the run ends there.
class ServeSink : public EventSink {
 public:
  virtual void Finish(int exit_code) = 0;
  virtual std::string Describe() const = 0;
};

class NestedServeSink final : public ServeSink {
 public:
  NestedServeSink(std::string path, std::unique_ptr<EventSocketClient> c)
      : sink_(std::move(path), std::move(c), Options()) {}
  Status Append(const Event& e) override { return sink_.Append(e); }
  void Finish(int) override { sink_.Finish(); }
  std::string Describe() const override { return "the enclosing recording"; }

 private:
  static NestedSinkOptions Options() {
    NestedSinkOptions o;
    o.warn = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
    return o;
  }
  NestedEventSink sink_;
};

class StoreServeSink final : public ServeSink {
 public:
  StoreServeSink(std::unique_ptr<Store> store, std::unique_ptr<RecordingSink> sink)
      : store_(std::move(store)), sink_(std::move(sink)) {}
  Status Append(const Event& e) override { return sink_->Append(e); }
  void Finish(int exit_code) override {
    Status st = sink_->Finish(exit_code, 0);
    if (!st.ok()) std::fprintf(stderr, "agenttrace: replay --serve: finishing the session: %s\n", st.message().c_str());
  }
  std::string Describe() const override { return "session " + sink_->id().ToString(); }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<RecordingSink> sink_;
};

}  // namespace

int RunServe(Cli& cli, const ServeArgs& a) {
  auto match = ParseMatchMode(a.match);
  if (!match) return Usage("--match '" + a.match + "' is not one of method_params, strict, sequential");
  auto mode = ParseRecordMode(a.record_mode);
  if (!mode) return Usage("--record-mode '" + a.record_mode + "' is not one of none, once, new_episodes, all");
  const std::vector<std::string>& live_cmd = cli.serve_command;
  HttpServeOptions http;
  if (a.http) {
    size_t colon = a.listen.rfind(':');
    char* end = nullptr;
    long port = colon == std::string::npos ? -1 : std::strtol(a.listen.c_str() + colon + 1, &end, 10);
    if (colon == std::string::npos || colon == 0 || *end != '\0' || port < 0 || port > 65535) {
      return Usage("--http needs --listen HOST:PORT (e.g. 127.0.0.1:8931), not '" + a.listen + "'");
    }
    http.listen_host = a.listen.substr(0, colon);
    http.listen_port = static_cast<int>(port);
    http.on_listening = [&http](int p) {
      std::fprintf(stderr, "agenttrace: replay --serve: listening on http://%s:%d/mcp\n", http.listen_host.c_str(), p);
      std::fflush(stderr);
    };
  } else if (!a.listen.empty()) {
    return Usage("--listen is for --http");
  }
  if ((*mode == RecordMode::kNewEpisodes || *mode == RecordMode::kAll) && live_cmd.empty()) {
    return Usage("--record-mode " + a.record_mode + " needs the live server: replay --serve ... -- SERVER CMD");
  }

  // The cassette: `all` reads none; `once` may start without a store (no cassette yet).
  Cassette cassette;
  std::vector<std::string> ids;
  bool load = *mode != RecordMode::kAll;
  if (*mode == RecordMode::kOnce && a.sessions.empty() && !std::filesystem::exists(StoreDir(cli))) load = false;
  if (load) {
    if (int rc = LoadCassette(cli, a, &cassette, &ids); rc != kExitOk) return rc;
  }
  if (*mode == RecordMode::kOnce) {
    if (ids.empty() && live_cmd.empty()) {
      return Usage("--record-mode once found no cassette and has no live server to record (-- SERVER CMD)");
    }
    mode = ids.empty() ? RecordMode::kAll : RecordMode::kNone;
  }
  if (ids.empty() && *mode != RecordMode::kAll) {
    std::string what = a.label_given ? " with label " + a.label : "";
    std::fprintf(stderr, "agenttrace: replay --serve: no sessions selected%s\n", what.c_str());
    return kExitUsage;
  }
  if (!a.server.empty()) {
    if (!cassette.servers().count(a.server) && *mode != RecordMode::kAll) {
      return Usage("no exchanges of server '" + a.server + "' in the selected sessions");
    }
    cassette.RetainServer(a.server);
  } else if (cassette.servers().size() > 1) {
    std::string names;
    for (const auto& [n, count] : cassette.servers()) names += (names.empty() ? "" : ", ") + n;
    return Usage("the selected sessions hold several MCP servers (" + names + "); choose one with --server");
  }
  for (const std::string& r : cassette.unplayed_server_requests()) {
    std::fprintf(stderr,
                 "agenttrace: replay --serve: the recording holds a server-to-client request that a "
                 "cassette cannot play (not replayed): %s\n",
                 r.c_str());
  }

  if (a.http) {
    // Before the store's writer thread starts: a stop signal must reach the server's signalfd (which
    // blocks them in this thread), not kill the process through a thread that does not block it.
    sigset_t stop;
    sigemptyset(&stop);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop, sig);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  }
  // From here on, stdout is the client's.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, nullptr);

  auto key = LoadFingerprintKey();
  if (!key.ok()) return ReportError(key.status(), "replay --serve: fingerprint key");
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  SecretScanner scanner(*key, env);

  std::unique_ptr<ServeSink> sink;
  const char* socket = std::getenv(kEnvSocket);
  if (socket != nullptr && *socket != '\0') {
    auto client = EventSocketClient::Connect(socket);
    if (!client.ok()) {
      std::fprintf(stderr, "agenttrace: replay --serve: %s=%s: %s\n", kEnvSocket, socket,
                   client.status().message().c_str());
      return kExitRecordFailed;
    }
    sink = std::make_unique<NestedServeSink>(socket, std::move(*client));
  } else {
    std::string dir = StoreDir(cli);
    auto store = Store::Open(dir);
    if (!store.ok()) return ReportError(store.status(), "store " + dir);
    std::vector<std::string> command = {"agenttrace", "replay", "--serve"};
    command.insert(command.end(), ids.begin(), ids.end());
    RecordingOrigin origin{a.label, a.agent, "", "mcp-replay", command};
    auto rs = RecordingSink::Create(**store, NewSessionInfo(origin, scanner), &scanner);
    if (!rs.ok()) return ReportError(rs.status(), "store " + dir);
    sink = std::make_unique<StoreServeSink>(std::move(*store), std::move(*rs));
  }
  FirstFailureSink recorded(*sink);  // serving goes on when recording stops

  McpTrackerOptions topts;
  topts.max_result_bytes = a.max_result_bytes;
  topts.fallback_server_name = !a.server.empty()             ? a.server
                               : !cassette.servers().empty() ? cassette.servers().begin()->first
                                                             : "replay";
  topts.redact = [&scanner](std::string* s) { scanner.Redact(s); };
  ServedRecorder recorder(topts, recorded);
  nlohmann::json src = {{"sessions", ids},
                        {"match", std::string(MatchModeName(*match))},
                        {"record_mode", std::string(RecordModeName(*mode))},
                        {"server", topts.fallback_server_name},
                        {"exchanges", cassette.exchanges().size()}};
  recorder.Annotate(kSourceAnnotation, src.dump());

  PlayerOptions po;
  po.match = *match;
  po.record = *mode;
  po.redact = [&scanner](std::string* s) { scanner.Redact(s); };
  po.start_live = [&live_cmd]() -> Result<std::unique_ptr<LiveUpstream>> {
    auto up = StdioUpstream::Start(live_cmd);
    if (!up.ok()) return up.status();
    return std::unique_ptr<LiveUpstream>(std::move(*up));
  };
  Result<StdioServeResult> result = StdioServeResult{};
  std::unique_ptr<CassettePlayer> player;  // stdio: lives (with its live server) to the end, as before
  if (a.http) {
    // One player per MCP session (each initialize), all over the same cassette.
    std::function<std::unique_ptr<CassettePlayer>()> make = [&cassette, &po] {
      return std::make_unique<CassettePlayer>(&cassette, po);
    };
    result = RunHttpServe(http, make, &recorder);
  } else {
    player = std::make_unique<CassettePlayer>(&cassette, po);
    result = RunStdioServe(StdioServeOptions{}, *player, &recorder);
  }
  int rc = kExitOk;
  if (!result.ok()) {
    std::fprintf(stderr, "agenttrace: replay --serve: %s\n", result.status().message().c_str());
    rc = kExitUsage;
  } else {
    for (const std::string& n : result->notes) std::fprintf(stderr, "agenttrace: replay --serve: %s\n", n.c_str());
    if (result->misses > 0) rc = kExitServeMiss;
  }
  sink->Finish(rc);
  if (!recorded.status().ok()) {
    std::fprintf(stderr, "agenttrace: replay --serve: recording stopped early: %s\n",
                 recorded.status().message().c_str());
    if (rc == kExitOk) rc = kExitRecordFailed;
  }
  if (result.ok()) {
    std::fprintf(stderr,
                 "agenttrace: replay --serve: %llu request(s): %llu replayed, %llu live, %llu without a recorded "
                 "answer (%s mode; recorded in %s)\n",
                 static_cast<unsigned long long>(result->requests), static_cast<unsigned long long>(result->replayed),
                 static_cast<unsigned long long>(result->live), static_cast<unsigned long long>(result->misses),
                 std::string(RecordModeName(*mode)).c_str(), sink->Describe().c_str());
  }
  return rc;
}

std::vector<std::string> TakeServeCommand(int* argc, char** argv) {
  if (*argc < 3 || std::strcmp(argv[1], "replay") != 0) return {};
  bool serve = false;
  for (int i = 2; i < *argc; ++i) {
    if (std::strcmp(argv[i], "--serve") == 0) serve = true;
    if (std::strcmp(argv[i], "--") != 0) continue;
    if (!serve) return {};
    std::vector<std::string> cmd(argv + i + 1, argv + *argc);
    *argc = i;
    return cmd;
  }
  return {};
}

}  // namespace agenttrace
