#include "recorder/recorder.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

#include "format/signing.h"
#include "format/store.h"
#include "recorder/event_socket.h"
#include "recorder/fingerprint_key.h"
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

void FillHostInfo(const RecordOptions& o, SessionInfo* info) {
  info->label = o.label;
  info->agent_name = o.agent_name;
  info->agent_version = o.agent_version;
  info->argv = o.command;
  info->recorder = "ptrace";
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof(buf)) != nullptr) info->cwd = buf;
  info->home = GetEnvOr("HOME", "");
  info->tmp = GetEnvOr("TMPDIR", "/tmp");
  if (gethostname(buf, sizeof(buf)) == 0) info->host.assign(buf, strnlen(buf, sizeof(buf)));
  passwd pw;
  passwd* found = nullptr;
  char pwbuf[4096];
  if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found != nullptr) {
    info->user = found->pw_name;
  } else {
    info->user = GetEnvOr("USER", "");
  }
  utsname u;
  if (uname(&u) == 0) {
    info->kernel = u.release;
    info->arch = u.machine;
  }
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  info->start_wall_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

class WriterSink : public EventSink {
 public:
  explicit WriterSink(AsyncSessionWriter* w) : w_(w) {}
  Status Append(const Event& e) override { return w_->Append(e); }

 private:
  AsyncSessionWriter* w_;
};

// Signals sent to the recorder reach the agent. Terminal-generated ones (si_code SI_KERNEL) already
// reached it through the foreground process group, so they are not sent twice.
std::atomic<Tracer*> g_tracer{nullptr};
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void ForwardSignal(int sig, siginfo_t* info, void*) {
  Tracer* t = g_tracer.load();
  if (t == nullptr) return;
  if (info != nullptr && info->si_code == SI_KERNEL) return;
  t->Forward(sig);
}

class SignalForwarding {
 public:
  explicit SignalForwarding(Tracer* t) {
    g_tracer.store(t);
    struct sigaction sa{};
    sa.sa_sigaction = ForwardSignal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kForwarded); ++i) {
      sigaction(kForwarded[i], nullptr, &old_[i]);
      // A signal the recorder was started with ignored (e.g. SIGINT of a background job) stays
      // ignored: the agent inherits the same disposition and would ignore it too.
      if (old_[i].sa_handler != SIG_IGN) sigaction(kForwarded[i], &sa, nullptr);
    }
  }
  ~SignalForwarding() {
    for (size_t i = 0; i < std::size(kForwarded); ++i) sigaction(kForwarded[i], &old_[i], nullptr);
    g_tracer.store(nullptr);
  }

 private:
  struct sigaction old_[std::size(kForwarded)];
};

// A private directory for the event socket (a Unix socket path is limited to 108 bytes).
class SocketDir {
 public:
  Status Create() {
    std::string tmpl = GetEnvOr("TMPDIR", "/tmp") + "/agenttrace-XXXXXX";
    if (tmpl.size() > 80) tmpl = "/tmp/agenttrace-XXXXXX";
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

}  // namespace

Result<RecordOutcome> RunRecord(const RecordOptions& o) {
  if (o.command.empty()) return Status::InvalidArgument("no command to record");
  const std::set<int> inherited_fds = OpenFds();
  AT_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(o.store_dir));
  AT_ASSIGN_OR_RETURN(Hash256 key, LoadFingerprintKey());
  if (std::string w = LegacyStoreKeyWarning(o.store_dir); !w.empty()) {
    std::fprintf(stderr, "agenttrace: warning: %s\n", w.c_str());
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  SecretScanner scanner(key, env);
  AT_ASSIGN_OR_RETURN(SeccompProgram filter, BuildSeccompFilter());

  SessionInfo info;
  FillHostInfo(o, &info);
  info.env_names = scanner.env_names();
  info.secret_env_names = scanner.secret_env_names();
  WriterOptions wopts;
  wopts.sign_key = o.sign_key;
  AT_ASSIGN_OR_RETURN(std::unique_ptr<SessionWriter> writer, store->CreateSession(info, wopts));
  AT_ASSIGN_OR_RETURN(std::unique_ptr<AsyncSessionWriter> async, AsyncSessionWriter::Start(std::move(writer)));
  RecordOutcome out;
  out.session = async->id();

  // The agent's environment: ours, with the recording's socket and session id, and without the
  // recorder's own keys (the agent has no business knowing where they are).
  std::vector<std::string> agent_env;
  for (const std::string& e : env) {
    if (e.rfind(std::string(kEnvSocket) + "=", 0) == 0 || e.rfind(std::string(kEnvSession) + "=", 0) == 0 ||
        e.rfind(std::string(kEnvSignKey) + "=", 0) == 0 || e.rfind(std::string(kEnvFingerprintKey) + "=", 0) == 0) {
      continue;
    }
    agent_env.push_back(e);
  }
  agent_env.push_back(std::string(kEnvSession) + "=" + out.session.ToString());
  SocketDir socket_dir;
  std::unique_ptr<EventSocketServer> socket;
  Status sock_status = socket_dir.Create();
  if (sock_status.ok()) {
    auto server = EventSocketServer::Start(socket_dir.path(), async.get(), &scanner);
    if (server.ok()) {
      socket = std::move(server).value();
      agent_env.push_back(std::string(kEnvSocket) + "=" + socket->path());
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
  topts.secrets = &scanner;
  WriterSink sink(async.get());
  Tracer tracer(&sink, topts);
  SpawnSpec spec{o.command, agent_env};

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
  Result<TraceOutcome> traced = Status::Internal("not run");
  {
    SignalForwarding forwarding(&tracer);
    traced = tracer.Run();
  }
  if (!traced.ok()) {
    (void)finish(125, 0);
    return traced.status();
  }
  out.signal = traced->signal;
  out.exit_code = traced->signal != 0 ? 128 + traced->signal : traced->exit_code;
  out.events = traced->events;
  out.processes = traced->processes;
  if (traced->exec_errno != 0) {
    out.not_found = traced->exec_errno == ENOENT || traced->exec_errno == ENOTDIR;
    out.cannot_execute = !out.not_found;
    out.message = std::string("cannot execute ") + o.command[0] + ": " + std::strerror(traced->exec_errno);
  }
  Status fin = finish(out.exit_code, out.signal);
  if (!traced->sink_status.ok()) {
    return traced->sink_status.WithContext("recording into session " + out.session.ToString() +
                                           " stopped early (the agent ran to completion)");
  }
  AT_RETURN_IF_ERROR(fin);
  return out;
}

}  // namespace agenttrace
