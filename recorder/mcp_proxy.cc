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

#include "format/sys.h"
#include "format/unique_fd.h"

namespace agenttrace {
namespace {

constexpr size_t kReadBytes = 256u << 10;
constexpr int64_t kDrainAfterExitMs = 1000;  // grandchildren may hold the server's stdout open

int64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void Signal(int efd) {
  uint64_t one = 1;
  (void)!::write(efd, &one, sizeof one);
}

// A copy of forwarded bytes on its way to the recorder thread. Buffers are recycled so that steady
// forwarding does not allocate.
struct Chunk {
  Direction dir = Direction::kNone;
  int64_t mono_ns = 0;
  int64_t wall_ns = 0;
  std::vector<char> buf;
  size_t len = 0;
  bool eof = false;
};

class ChunkQueue {
 public:
  // A buffer (possibly with capacity from an earlier use) for a copy.
  std::vector<char> GetBuffer() {
    std::lock_guard<std::mutex> lock(mu_);
    if (pool_.empty()) return {};
    std::vector<char> b = std::move(pool_.back());
    pool_.pop_back();
    return b;
  }
  void Recycle(std::vector<char> b) {
    if (b.capacity() > kReadBytes) return;  // keep only ordinary buffers
    std::lock_guard<std::mutex> lock(mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(b));
  }
  // Waits while the recorder is kMaxQueuedBytes behind: never drops.
  void Push(Chunk c) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return bytes_ < kMaxQueuedBytes || closed_; });
    bytes_ += c.len;
    q_.push_back(std::move(c));
    not_empty_.notify_one();
  }
  // False when closed and empty.
  bool Pop(Chunk* out) {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    *out = std::move(q_.front());
    q_.pop_front();
    bytes_ -= out->len;
    not_full_.notify_all();
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Chunk> q_;
  std::vector<std::vector<char>> pool_;
  size_t bytes_ = 0;
  bool closed_ = false;
};

// Where forwarded bytes go, written without ever blocking indefinitely: a peer that stops reading
// must not hold a forwarding thread, since the proxy's shutdown joins it.
//   - A non-blocking descriptor (our end of the server's stdin) is written as it is.
//   - A socket (node's stdio pipes are socket pairs) is written with MSG_DONTWAIT.
//   - Anything else, a pipe above all, is written at most PIPE_BUF bytes after each POLLOUT: a pipe
//     reports POLLOUT only with a free page, which such a write fills without blocking, as long as
//     nobody else writes to that pipe meanwhile (the agent's stdout is ours alone). The descriptor's
//     flags are not changed: O_NONBLOCK would leak to whoever shares its open file description (the
//     agent, a terminal), and reopening it through /proc would show up in a traced session. A
//     terminal stopped by flow control can still block such a write (docs/cli.md).
class Output {
 public:
  explicit Output(int fd) : fd_(fd) {
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) socket_ = true;
    nonblocking_ = (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
  }
  int fd() const { return fd_; }
  // One write; -1 with EAGAIN when it would block.
  ssize_t Write(const char* data, size_t len) {
    if (socket_) return ::send(fd_, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (!nonblocking_ && len > PIPE_BUF) len = PIPE_BUF;
    return ::write(fd_, data, len);
  }

 private:
  int fd_;
  bool socket_ = false;
  bool nonblocking_ = false;
};

// Writes all of data, waiting for POLLOUT; gives up when stop_fd fires or the peer is gone.
bool WriteAllUnlessStopped(Output& out, const char* data, size_t len, int stop_fd) {
  while (len > 0) {
    pollfd p[2] = {{out.fd(), POLLOUT, 0}, {stop_fd, POLLIN, 0}};
    if (RetryEintr([&] { return ::poll(p, 2, -1); }) < 0) return false;
    if (p[1].revents & POLLIN) return false;
    if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) return false;
    if (!(p[0].revents & POLLOUT)) continue;
    ssize_t n = RetryEintr([&] { return out.Write(data, len); });
    if (n > 0) {
      data += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
  }
  return true;
}

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

Result<McpProxyResult> RunMcpProxy(const McpProxyOptions& options, const McpEventSink& sink) {
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
  ChunkQueue queue;
  std::atomic<uint64_t> bytes_to_server{0}, bytes_to_agent{0};

  // One forwarding direction. The copy for the recorder is queued right after the read and before the
  // write, so that the queue order is causal: an answer is queued before the agent can react to it.
  auto pump = [&](int in_fd, Output& out, Direction dir, int stop_fd, std::atomic<uint64_t>* counter) {
    std::vector<char> buf(kReadBytes);
    bool deliver = true;
    for (;;) {
      pollfd p[2] = {{in_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      if (RetryEintr([&] { return ::poll(p, 2, -1); }) < 0) break;
      // Stopping: the agent->server side stops at once; the server->agent side drains what is readable.
      if ((p[1].revents & POLLIN) && (dir == Direction::kToServer || !(p[0].revents & POLLIN))) break;
      ssize_t n = RetryEintr([&] { return ::read(in_fd, buf.data(), buf.size()); });
      if (n <= 0) break;
      Chunk c;
      c.mono_ns = NowNs(CLOCK_MONOTONIC);
      c.wall_ns = NowNs(CLOCK_REALTIME);
      c.dir = dir;
      c.buf = queue.GetBuffer();
      c.buf.assign(buf.data(), buf.data() + n);
      c.len = static_cast<size_t>(n);
      queue.Push(std::move(c));
      // Once the peer is gone or the proxy stops, what is still read is recorded, not delivered.
      if (deliver) deliver = WriteAllUnlessStopped(out, buf.data(), static_cast<size_t>(n), stop_fd);
      *counter += static_cast<uint64_t>(n);
    }
    Chunk end;
    end.dir = dir;
    end.eof = true;
    end.mono_ns = NowNs(CLOCK_MONOTONIC);
    end.wall_ns = NowNs(CLOCK_REALTIME);
    queue.Push(std::move(end));
  };

  Output to_server(pipes.server_in.get());
  Output to_agent(options.agent_out_fd);

  // agent -> server
  std::thread up([&] {
    pump(options.agent_in_fd, to_server, Direction::kToServer, stop_to_server.get(), &bytes_to_server);
    pipes.server_in.reset();  // the server sees EOF
    Signal(agent_eof.get());
  });

  // server -> agent
  std::thread down([&] {
    pump(pipes.server_out.get(), to_agent, Direction::kToAgent, stop_to_agent.get(), &bytes_to_agent);
    // Tell the agent: replace our stdout by /dev/null, which closes the pipe it reads.
    UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (devnull.valid()) ::dup2(devnull.get(), options.agent_out_fd);
    Signal(server_eof.get());
  });

  // Recorder: parses copies of what was forwarded.
  uint64_t events = 0;
  Status sink_status;
  std::string server_name;
  std::thread recorder([&] {
    // Forwarding comes first: on a busy machine the parser yields the CPU to the forwarding threads
    // (it only has to keep up on average; the queue absorbs bursts).
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    McpTrackerOptions topts;
    topts.max_result_bytes = options.max_result_bytes;
    topts.fallback_server_name = Basename(options.command[0]);
    topts.redact = options.redact;
    McpTracker tracker(topts, [&](const Event& e) {
      if (!sink_status.ok()) return;
      sink_status = sink(e);
      if (sink_status.ok()) ++events;
    });
    DirectionalFeeder to_server(Direction::kToServer, &tracker, options.max_message_bytes);
    DirectionalFeeder to_agent(Direction::kToAgent, &tracker, options.max_message_bytes);
    Chunk c;
    while (queue.Pop(&c)) {
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
  auto now_ms = [] { return NowNs(CLOCK_MONOTONIC) / 1000000; };
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
  result.events = events;
  result.bytes_to_server = bytes_to_server.load();
  result.bytes_to_agent = bytes_to_agent.load();
  result.sink_status = sink_status;
  return result;
}

}  // namespace agenttrace
