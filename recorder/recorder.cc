#include "recorder/recorder.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

#include "format/signing.h"
#include "format/store.h"
#include "recorder/end_of_run.h"
#include "recorder/event_socket.h"
#include "recorder/fingerprint_key.h"
#include "recorder/recording_sink.h"
#include "recorder/run_control.h"
#include "recorder/seccomp_filter.h"
#include "recorder/secrets.h"
#include "recorder/tracer.h"

extern char** environ;

namespace agenttrace {
namespace {

std::string GetEnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}

// Decides on the request as it will be recorded: redacted (the session never holds a secret the
// agent typed, so the request a decision event carries must not either, and replay decides on it).
class RedactingDecider final : public RequestDecider {
 public:
  RedactingDecider(RequestDecider* inner, const SecretScanner* secrets) : inner_(inner), secrets_(secrets) {}
  RequestDecision Decide(const Event& request) override {
    RequestDecision d;
    DecideInto(request, &d);
    return d;
  }
  void DecideInto(const Event& request, RequestDecision* out) override {
    if (request.argv.empty() && request.json.empty() && request.text.empty()) {
      inner_->DecideInto(request, out);
      return;
    }
    Event copy = request;
    RedactEvent(*secrets_, &copy);
    inner_->DecideInto(copy, out);
  }

 private:
  RequestDecider* inner_;
  const SecretScanner* secrets_;
};

}  // namespace

std::string EventSocketDirTemplate(const std::string& tmpdir, pid_t pid) {
  const std::string name = "/agenttrace-" + std::to_string(pid) + "pXXXXXX";
  // A Unix socket path is limited to 108 bytes; "/events.sock" follows.
  if (tmpdir.size() + name.size() > 80) return "/tmp" + name;
  return tmpdir + name;
}

namespace {

// A private directory for the event socket (a Unix socket path is limited to 108 bytes).
class SocketDir {
 public:
  Status Create() {
    std::string tmpl = EventSocketDirTemplate(GetEnvOr("TMPDIR", "/tmp"), getpid());
    if (mkdtemp(tmpl.data()) == nullptr) return Status::FromErrno("creating " + tmpl, errno);
    dir_ = tmpl;
    return Status::Ok();
  }
  ~SocketDir() {
    if (dir_.empty()) return;
    unlink(path().c_str());  // normally already removed by the server
    rmdir(dir_.c_str());
  }
  std::string path() const { return dir_ + "/events.sock"; }

 private:
  std::string dir_;
};

// The descriptors this process has open (/proc/self/fd).
std::set<int> OpenFds() {
  std::set<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  int own = dirfd(d);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != own) fds.insert(fd);
  }
  closedir(d);
  return fds;
}

// The agent inherits what the recorder inherited (stdio, fds passed on purpose) and nothing the
// recorder opened itself: a descriptor of the store's files would let the agent rewrite its record.
void CloseOwnFdsOnExec(const std::set<int>& inherited) {
  for (int fd : OpenFds()) {
    if (inherited.count(fd) != 0) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

// Room a paused recording waits for before it lets the agent continue.
constexpr uint64_t kResumeRoomBytes = 1u << 20;

// Whether the store in `dir` has kResumeRoomBytes to grow into: on its file system, and under the
// map bound `max_map_bytes` (0: none).
bool StoreHasRoom(const std::string& dir, uint64_t max_map_bytes) {
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0) return false;
  if (static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < kResumeRoomBytes) return false;
  if (max_map_bytes == 0) return true;
  struct stat st;
  if (stat((dir + "/data.mdb").c_str(), &st) != 0) return false;
  return static_cast<uint64_t>(st.st_size) + kResumeRoomBytes <= max_map_bytes;
}

}  // namespace

Result<RecordOutcome> RunRecord(const RecordOptions& o) {
  if (o.command.empty()) return Status::InvalidArgument("no command to record");
  // Before any thread starts, so that every thread of the recorder leaves the stop signals to the
  // supervisor.
  StopSignals stop_signals;
  const std::set<int> inherited_fds = OpenFds();
  StoreOptions store_options;
  if (o.max_store_bytes > 0) {
    store_options.max_map_bytes = o.max_store_bytes;
    store_options.initial_map_bytes = std::min(store_options.initial_map_bytes, o.max_store_bytes);
  }
  AT_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(o.store_dir, store_options));
  AT_ASSIGN_OR_RETURN(Hash256 key, LoadFingerprintKey());
  if (std::string w = LegacyStoreKeyWarning(o.store_dir); !w.empty()) {
    std::fprintf(stderr, "agenttrace: warning: %s\n", w.c_str());
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  SecretScanner scanner(key, env);
  // Under enforcement chdir and fchdir are trapped too, so that the tracer can keep each thread's
  // cwd descriptor between calls (recorder/path_state.h).
  SeccompFilterOptions filter_options;
  filter_options.trap_cwd_changes = o.enforce.has_value();
  AT_ASSIGN_OR_RETURN(SeccompProgram filter, BuildSeccompFilter(filter_options));

  RecordingOrigin origin{o.label, o.agent_name, o.agent_version, "ptrace", o.command};
  WriterOptions wopts;
  wopts.sign_key = o.sign_key;
  const SessionInfo session_info = NewSessionInfo(origin, scanner);
  AT_ASSIGN_OR_RETURN(std::unique_ptr<RecordingSink> async,
                      RecordingSink::Create(*store, session_info, &scanner, wopts));
  RecordOutcome out;
  out.session = async->id();

  // The agent's environment: ours, with the recording's socket and session id, and without the
  // recorder's own keys (the agent has no business knowing where they are).
  std::vector<std::string> agent_env;
  for (const std::string& e : env) {
    if (e.rfind(std::string(kEnvSocket) + "=", 0) == 0 || e.rfind(std::string(kEnvSession) + "=", 0) == 0 ||
        e.rfind(std::string(kEnvDecides) + "=", 0) == 0 ||
        e.rfind(std::string(kEnvSignKey) + "=", 0) == 0 || e.rfind(std::string(kEnvFingerprintKey) + "=", 0) == 0) {
      continue;
    }
    agent_env.push_back(e);
  }
  agent_env.push_back(std::string(kEnvSession) + "=" + out.session.ToString());
  // The request-time decider exists before the event socket starts, so that every producer of the
  // session can be given the same one.
  std::unique_ptr<RedactingDecider> redacting;
  if (o.enforce.has_value()) {
    RecordingSink* rec = async.get();
    // The requests reach the decider redacted (RedactingDecider below), and so the decisions' requests
    // are queued without a second scan; the writer thread builds their events. A failing store is
    // reported through the writer's failure callback.
    DecisionRecorder record([rec](const Event& e) { (void)rec->AppendRedacted(e); },
                            [rec](const Event& request, const RequestDecision& d, EnforceMode mode) {
                              (void)rec->AppendRedactedDecision(request, d, mode);
                            });
    Result<RequestDecider*> decider = o.enforce->start(session_info, std::move(record));
    if (!decider.ok()) {
      (void)async->Finish(125, 0);
      return decider.status();
    }
    redacting = std::make_unique<RedactingDecider>(*decider, &scanner);
  }
  SocketDir socket_dir;
  std::unique_ptr<EventSocketServer> socket;
  Status sock_status = socket_dir.Create();
  if (sock_status.ok()) {
    // Tool calls (hooks, nested MCP proxies) are decided by the same decider through the event socket:
    // one session, one state.
    EventSocketDecisions decisions;
    if (redacting) decisions = {redacting.get(), o.enforce->ask, o.enforce->mode};
    auto server = EventSocketServer::Start(socket_dir.path(), async.get(), &scanner, decisions);
    if (server.ok()) {
      socket = std::move(server).value();
      agent_env.push_back(std::string(kEnvSocket) + "=" + socket->path());
      if (redacting) agent_env.push_back(std::string(kEnvDecides) + "=1");
    } else {
      sock_status = server.status();
    }
  }
  if (!sock_status.ok()) {
    std::fprintf(stderr, "agenttrace: warning: no event socket for tool events: %s\n",
                 sock_status.message().c_str());
  }

  TracerOptions topts;
  topts.allow_io_uring = o.allow_io_uring;
  topts.cpu_pin = o.cpu_pin;
  topts.pin_tracer = o.pin_tracer;
  if (!o.spin) topts.spin_ns = 0;
  if (redacting) {
    topts.decider = redacting.get();
    topts.ask = o.enforce->ask;
    topts.mode = o.enforce->mode;
  }
  Tracer tracer(async.get(), topts);
  if (o.enforce.has_value() && o.enforce->set_children) o.enforce->set_children(&tracer);
  SpawnSpec spec{o.command, agent_env, stop_signals.original_mask()};
  spec.landlock_ruleset_fd = o.landlock_ruleset_fd;

  auto finish = [&](int code, int sig) {
    if (socket) socket->Stop();
    return async->Finish(code, sig);
  };

  CloseOwnFdsOnExec(inherited_fds);
  Status started = tracer.Start(spec, filter);
  if (!started.ok()) {
    if (started.code() == StatusCode::kNotFound) {
      out.not_found = true;
      out.exit_code = 127;
      out.message = started.message();
      AT_RETURN_IF_ERROR(finish(out.exit_code, 0));
      return out;
    }
    (void)finish(125, 0);
    return started;
  }
  // Under --on-store-failure pause: once the store has room again, record the loss as a gap; once
  // that works the agent continues. A successful small write alone proves little (LMDB reuses freed
  // pages), so the room is checked first.
  std::atomic<StopSupervisor*> sup{nullptr};
  auto resume = [&]() -> bool {
    if (!StoreHasRoom(o.store_dir, o.max_store_bytes)) return false;
    StopSupervisor* s = sup.load();
    Result<uint64_t> gap = async->RecordGap("store failure: " + (s ? s->store_failure().message() : ""));
    if (!gap.ok()) return false;
    out.events_lost += *gap;
    return true;
  };
  // Declared before the writer's callback is set and kept until the writer is finished: the writer
  // thread may report a failure up to its last commit.
  StopOptions stop = o.stop;
  if (o.enforce.has_value() && o.enforce->on_hangup) stop.on_hangup = o.enforce->on_hangup;
  StopSupervisor supervisor(&tracer, stop_signals, stop, resume);
  sup.store(&supervisor);
  async->SetFailureCallback([&supervisor](const Status& st) { supervisor.OnStoreFailure(st); });
  Result<TraceOutcome> traced = tracer.Run();
  supervisor.Stop();
  out.timed_out = supervisor.timed_out();
  out.stop_signal = supervisor.first_signal();
  if (!traced.ok()) {
    (void)finish(125, 0);
    return traced.status();
  }
  out.signal = traced->signal;
  out.exit_code = traced->signal != 0 ? 128 + traced->signal : traced->exit_code;
  out.events = traced->events;
  out.processes = traced->processes;
  out.killed = traced->killed;
  out.denied = traced->denied;
  out.refused = traced->refused;
  out.asks_allowed = traced->asks_allowed;
  out.denied_missing = traced->denied_missing;
  out.asks_denied = traced->asks_denied;
  out.would_deny = traced->would_deny;
  out.would_ask = traced->would_ask;
  out.enforcement_failed = traced->enforcement_failed;
  out.enforcement_failure = traced->enforcement_failure;
  if (traced->exec_errno != 0) {
    out.not_found = traced->exec_errno == ENOENT || traced->exec_errno == ENOTDIR;
    out.cannot_execute = !out.not_found;
    out.message = std::string("cannot execute ") + o.command[0] + ": " + std::strerror(traced->exec_errno);
  }
  // Every producer has stopped: what is still queued is stored now, and a store failure in those
  // last writes goes down the same path as one during the run (recorder/end_of_run.h).
  if (socket) socket->Stop();
  EndOfRunFacts facts;
  facts.exit_code = out.exit_code;
  facts.signal = out.signal;
  facts.policy = stop.on_store_failure;
  facts.seen_failure = supervisor.store_failure();
  facts.failure_ended_run = supervisor.store_failure_ended_run();
  facts.refused_status = traced->sink_status;
  facts.events_refused = traced->events_refused;
  EndOfRun end = FinishRecording(*async, facts);
  out.store_failure = end.store_failure;
  out.store_failure_at_end = end.failure_at_end;
  out.store_failure_ended_run = end.failure_ended_run;
  out.store_failure_fails_recording = end.fails_recording;
  out.events_lost += end.events_lost;
  out.gap_error = end.gap_error;
  out.finish_error = end.finish_error;
  return out;
}

}  // namespace agenttrace
