#include "recorder/mcp_proxy.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include "format/clock.h"
#include "format/sys.h"
#include "format/unique_fd.h"
#include "recorder/first_failure_sink.h"
#include "recorder/mcp_relay.h"

namespace agenttrace {
namespace {

using mcp_relay::Signal;

constexpr int64_t kDrainAfterExitMs = 1000;  // grandchildren may hold the server's stdout open

struct Pipes {
  UniqueFd server_in;   // we write: the server's stdin
  UniqueFd server_out;  // we read: the server's stdout
};

Result<pid_t> Spawn(const std::vector<std::string>& command, Pipes* pipes) {
  if (command.empty()) return Status::InvalidArgument("no MCP server command given");
  int in_p[2], out_p[2], err_p[2];
  if (::pipe2(in_p, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd in_r(in_p[0]), in_w(in_p[1]);
  if (::pipe2(out_p, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd out_r(out_p[0]), out_w(out_p[1]);
  if (::pipe2(err_p, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd err_r(err_p[0]), err_w(err_p[1]);

  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork", errno);
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    int rfd = in_r.get(), wfd = out_w.get();
    // Move both out of the way of 0/1 first so that the dup2s cannot clobber each other.
    rfd = fcntl(rfd, F_DUPFD_CLOEXEC, 3);
    wfd = fcntl(wfd, F_DUPFD_CLOEXEC, 3);
    if (rfd < 0 || wfd < 0 || dup2(rfd, 0) < 0 || dup2(wfd, 1) < 0) {
      int e = errno;
      (void)!write(err_w.get(), &e, sizeof e);
      _exit(126);
    }
    execvp(argv[0], argv.data());
    int e = errno;
    (void)!write(err_w.get(), &e, sizeof e);
    _exit(e == ENOENT ? 127 : 126);
  }
  err_w.reset();
  in_r.reset();
  out_w.reset();
  int child_errno = 0;
  ssize_t n = RetryEintr([&] { return ::read(err_r.get(), &child_errno, sizeof child_errno); });
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int st;
    RetryEintr([&] { return ::waitpid(pid, &st, 0); });
    return Status::FromErrno("cannot run MCP server \"" + command[0] + "\"", child_errno);
  }
  // Our end of the server's stdin is non-blocking so that a stuck server cannot hold the proxy.
  ::fcntl(in_w.get(), F_SETFL, ::fcntl(in_w.get(), F_GETFL) | O_NONBLOCK);
  pipes->server_in = std::move(in_w);
  pipes->server_out = std::move(out_r);
  return pid;
}

std::string Basename(const std::string& p) {
  size_t s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

sigset_t ProxySignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  return set;
}

// Restores the signal mask and SIGPIPE disposition on scope exit.
class SignalScope {
 public:
  SignalScope() {
    sigset_t set = ProxySignals();
    pthread_sigmask(SIG_BLOCK, &set, &old_mask_);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_pipe_);
    fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~SignalScope() {
    fd_.reset();
    sigaction(SIGPIPE, &old_pipe_, nullptr);
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  int fd() const { return fd_.get(); }

 private:
  sigset_t old_mask_;
  struct sigaction old_pipe_ {};
  UniqueFd fd_;
};

}  // namespace

void BlockProxySignals() {
  sigset_t set = ProxySignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Result<McpProxyResult> RunMcpProxy(const McpProxyOptions& options, EventSink& sink) {
  SignalScope signals;
  if (signals.fd() < 0) return Status::FromErrno("signalfd", errno);
  UniqueFd agent_eof(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd server_eof(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd stop_to_server(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd stop_to_agent(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!agent_eof.valid() || !server_eof.valid() || !stop_to_server.valid() || !stop_to_agent.valid()) {
    return Status::FromErrno("eventfd", errno);
  }
  Pipes pipes;
  AT_ASSIGN_OR_RETURN(pid_t pid, Spawn(options.command, &pipes));

  McpProxyResult result;
  mcp_relay::ChunkQueue queue;
  mcp_relay::ServerName server_name_now(Basename(options.command[0]));
  mcp_relay::Injector injector;
  mcp_relay::Output to_server(pipes.server_in.get());
  mcp_relay::Output to_agent(options.agent_out_fd);
  McpTrackerOptions topts;
  topts.max_result_bytes = options.max_result_bytes;
  topts.fallback_server_name = Basename(options.command[0]);
  topts.redact = options.redact;

  mcp_relay::RelayOptions up_opts;
  up_opts.in_fd = options.agent_in_fd;
  up_opts.out = &to_server;
  up_opts.stop_fd = stop_to_server.get();
  up_opts.max_buffered_bytes = options.max_buffered_bytes;
  up_opts.max_message_bytes = options.max_message_bytes;
  up_opts.queue = &queue;
  up_opts.server_name = &server_name_now;
  up_opts.injector = &injector;
  up_opts.decider = options.decider;
  up_opts.ask = options.ask;
  up_opts.mode = options.mode;
  up_opts.tracker = topts;
  up_opts.on_input_end = [&] { Signal(agent_eof.get()); };
  mcp_relay::RelayOptions down_opts = up_opts;
  down_opts.in_fd = pipes.server_out.get();
  down_opts.out = &to_agent;
  down_opts.stop_fd = stop_to_agent.get();
  down_opts.on_input_end = nullptr;
  mcp_relay::RelayStats up_stats, down_stats;

  // agent -> server
  std::thread up([&] {
    mcp_relay::RunUp(up_opts, &up_stats);
    pipes.server_in.reset();  // the server sees EOF
  });

  // server -> agent
  std::thread down([&] {
    mcp_relay::RunDown(down_opts, &down_stats);
    // Tell the agent: replace our stdout by /dev/null, which closes the pipe it reads.
    UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (devnull.valid()) ::dup2(devnull.get(), options.agent_out_fd);
    Signal(server_eof.get());
  });

  // Recorder: parses copies of what was forwarded.
  FirstFailureSink recorded(sink);  // the recorder thread's until it is joined
  std::string server_name;
  std::thread recorder([&] {
    // Forwarding comes first: on a busy machine the parser yields the CPU to the forwarding threads
    // (it only has to keep up on average; the queue absorbs bursts).
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    McpTracker tracker(topts, recorded);
    DirectionalFeeder to_server(Direction::kToServer, &tracker, options.max_message_bytes);
    DirectionalFeeder to_agent(Direction::kToAgent, &tracker, options.max_message_bytes);
    mcp_relay::Chunk c;
    while (queue.Pop(&c)) {
      if (c.event != nullptr) {
        if (c.event->server.empty()) c.event->server = tracker.server_name();
        (void)recorded.Append(*c.event);  // a failure stops recording, never forwarding
        continue;
      }
      DirectionalFeeder& f = c.dir == Direction::kToServer ? to_server : to_agent;
      if (c.eof) {
        f.Finish(c.mono_ns, c.wall_ns);
      } else {
        f.Feed(std::string_view(c.buf.data(), c.len), c.mono_ns, c.wall_ns);
        queue.Recycle(std::move(c.buf));
      }
    }
    tracker.Flush();
    server_name = tracker.server_name();
  });

  // Supervise the server.
  int status = 0;
  bool exited = false;
  int64_t eof_at_ms = -1;
  bool termed = false, killed = false;
  auto now_ms = [] { return ClockNs(CLOCK_MONOTONIC) / 1000000; };
  while (!exited) {
    int timeout = 200;  // also re-checks waitpid, in case SIGCHLD was consumed elsewhere
    if (eof_at_ms >= 0) {
      int64_t now = now_ms();
      if (!termed && now >= eof_at_ms + options.term_after_ms) {
        ::kill(pid, SIGTERM);
        termed = true;
      }
      if (!killed && now >= eof_at_ms + options.kill_after_ms) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
      int64_t next = !termed ? eof_at_ms + options.term_after_ms : eof_at_ms + options.kill_after_ms;
      if (!killed) timeout = static_cast<int>(std::clamp<int64_t>(next - now, 1, 200));
    }
    pollfd p[2] = {{signals.fd(), POLLIN, 0}, {agent_eof.get(), static_cast<short>(eof_at_ms < 0 ? POLLIN : 0), 0}};
    RetryEintr([&] { return ::poll(p, 2, timeout); });
    if (p[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(signals.fd(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo != SIGCHLD) ::kill(pid, static_cast<int>(si.ssi_signo));
      }
    }
    if (eof_at_ms < 0 && (p[1].revents & POLLIN)) eof_at_ms = now_ms();
    pid_t w = RetryEintr([&] { return ::waitpid(pid, &status, WNOHANG); });
    if (w == pid) exited = true;
  }
  // The server is gone: let its output drain, then stop both directions.
  if (options.on_server_exit) options.on_server_exit();
  {
    pollfd p{server_eof.get(), POLLIN, 0};
    RetryEintr([&] { return ::poll(&p, 1, static_cast<int>(kDrainAfterExitMs)); });
  }
  Signal(stop_to_agent.get());
  Signal(stop_to_server.get());
  down.join();
  up.join();
  queue.Close();
  recorder.join();

  if (WIFSIGNALED(status)) {
    result.exit_signal = WTERMSIG(status);
  } else {
    result.exit_code = WEXITSTATUS(status);
  }
  result.server_name = server_name;
  result.bytes_to_server = up_stats.bytes;
  result.bytes_to_agent = down_stats.bytes;
  result.denied = up_stats.denied;
  result.asked = up_stats.asked;
  result.undelivered_to_server_bytes = up_stats.undelivered_bytes;
  result.undelivered_to_agent_bytes = down_stats.undelivered_bytes;
  result.undelivered_messages = up_stats.undelivered_messages + down_stats.undelivered_messages;
  result.lost_to_agent_bytes = down_stats.lost_bytes;
  if (result.undelivered_messages > 0) {
    // The recording holds messages one side sent that the other never got: it is not a faithful
    // record of the exchange, so it says so (and the session is not `complete`).
    Event gap;
    gap.kind = EventKind::kGap;
    gap.mono_ns = ClockNs(CLOCK_MONOTONIC);
    gap.wall_ns = ClockNs(CLOCK_REALTIME);
    gap.server = server_name;
    gap.size = 0;
    gap.text = "MCP proxy: " + std::to_string(result.undelivered_messages) +
               " message(s) recorded but never delivered (" + std::to_string(up_stats.undelivered_bytes) +
               " bytes to the server, " + std::to_string(down_stats.undelivered_bytes) + " bytes to the agent)";
    (void)recorded.Append(gap);
  }
  result.events = recorded.appended();
  result.sink_status = recorded.status();
  return result;
}

}  // namespace agenttrace
