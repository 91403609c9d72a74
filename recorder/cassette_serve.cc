#include "recorder/cassette_serve.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "format/clock.h"
#include "format/sys.h"

extern char** environ;

namespace agenttrace {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxNotes = 100;
// How long an answer waits for the client to take the notifications before it: long enough for a
// client descheduled on a loaded machine, short enough that a client which does not read until it
// has sent something else only sees a delay.
constexpr int64_t kDrainWaitNs = 2'000'000'000;

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = RetryEintr([&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) return Status::FromErrno("write", errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Bytes written to `fd` that the reader at the other end has not read yet, or -1 when the kind of fd
// cannot tell: a pipe counts its contents from either end (FIONREAD); a Unix stream socket counts
// what it sent and its peer has not consumed yet (SIOCOUTQ; libuv, hence Node, gives children
// socketpairs as stdio). Files, ttys and TCP say nothing useful.
int64_t Unread(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return -1;
  int n = 0;
  if (S_ISFIFO(st.st_mode)) {
    if (::ioctl(fd, FIONREAD, &n) != 0) return -1;
    return n;
  }
  if (S_ISSOCK(st.st_mode)) {
    int domain = 0, type = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) return -1;
    len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return -1;
    if (::ioctl(fd, SIOCOUTQ, &n) != 0) return -1;
    return n;
  }
  return -1;
}

// Waits until the client has read everything written to `fd` (see Unread), at most `max_ns`. There
// is no poll event for "the reader emptied it", so this polls, starting at 20 us and backing off to
// 1 ms. Returns whether the client took it all (true also when the fd cannot tell).
bool WaitUntilClientRead(int fd, int64_t max_ns) {
  const int64_t deadline = ClockNs(CLOCK_MONOTONIC) + max_ns;
  int64_t pause_ns = 20'000;
  for (;;) {
    int64_t unread = Unread(fd);
    if (unread <= 0) return true;
    if (ClockNs(CLOCK_MONOTONIC) >= deadline) return false;
    timespec ts{0, static_cast<long>(pause_ns)};
    RetryEintr([&] { return ::nanosleep(&ts, &ts); });
    pause_ns = std::min<int64_t>(pause_ns * 2, 1'000'000);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// ServedRecorder

ServedRecorder::ServedRecorder(McpTrackerOptions options, EventSink& sink)
    : tracker_(std::move(options), sink), sink_(sink) {}

void ServedRecorder::OnClientLine(std::string_view line, int64_t mono_ns, int64_t wall_ns) {
  tracker_.OnLine(Direction::kToServer, line, mono_ns, wall_ns);
}

void ServedRecorder::OnStep(const PlayerStep& step) {
  for (const std::string& r : step.replies) {
    tracker_.OnLine(Direction::kToAgent, r, ClockNs(CLOCK_MONOTONIC), ClockNs(CLOCK_REALTIME));
  }
  if (!step.request) return;
  Json a = {
      {"request_id", Json::parse(step.request_id, nullptr, false)}, {"method", step.method}, {"served", step.served}};
  if (!step.tool.empty()) a["tool"] = step.tool;
  if (!step.source.empty()) a["source"] = step.source;
  if (!step.note.empty()) a["note"] = step.note;
  Annotate(kServedAnnotation, a.dump());
}

void ServedRecorder::Annotate(std::string_view text, std::string json) {
  Event e;
  e.kind = EventKind::kAnnotation;
  e.mono_ns = ClockNs(CLOCK_MONOTONIC);
  e.wall_ns = ClockNs(CLOCK_REALTIME);
  e.text.assign(text);
  e.json = std::move(json);
  e.server = tracker_.server_name();
  (void)sink_.Append(e);
}

// ---------------------------------------------------------------------------------------------------
// StdioUpstream

Result<std::unique_ptr<StdioUpstream>> StdioUpstream::Start(const std::vector<std::string>& command) {
  if (command.empty()) return Status::InvalidArgument("no live server command given (after --)");
  int in_p[2], out_p[2];
  if (::pipe2(in_p, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd in_r(in_p[0]), in_w(in_p[1]);
  if (::pipe2(out_p, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd out_r(out_p[0]), out_w(out_p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t dfl;  // the server gets SIGPIPE back (we ignore it)
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno("cannot run live MCP server \"" + command[0] + "\"", rc);
  return std::unique_ptr<StdioUpstream>(new StdioUpstream(pid, std::move(in_w), std::move(out_r)));
}

StdioUpstream::~StdioUpstream() {
  in_.reset();  // the server sees EOF and should exit
  int st = 0;
  for (int ms = 0; ms < 5000; ms += 10) {
    if (RetryEintr([&] { return ::waitpid(pid_, &st, WNOHANG); }) == pid_) return;
    if (ms == 2000) ::kill(pid_, SIGTERM);
    ::usleep(10000);
  }
  ::kill(pid_, SIGKILL);
  RetryEintr([&] { return ::waitpid(pid_, &st, 0); });
}

Status StdioUpstream::WriteLine(const std::string& line) {
  std::string l = line;
  l.push_back('\n');
  Status st = WriteAll(in_.get(), l);
  if (!st.ok()) return Status::IOError("the live server stopped reading: " + st.message());
  return st;
}

Result<std::string> StdioUpstream::ReadLine() {
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (line.empty()) continue;
      return line;
    }
    if (buf_.size() > kDefaultMaxMessageBytes) {
      return Status::ResourceExhausted("the live server sent a message above " +
                                       std::to_string(kDefaultMaxMessageBytes) + " bytes");
    }
    char chunk[64 << 10];
    ssize_t n = RetryEintr([&] { return ::read(out_.get(), chunk, sizeof chunk); });
    if (n < 0) return Status::FromErrno("reading the live server", errno);
    if (n == 0) return Status::IOError("the live server closed its output (exited?)");
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

Status StdioUpstream::Notify(const std::string& notification) { return WriteLine(notification); }

Result<std::vector<std::string>> StdioUpstream::Exchange(const std::string& request) {
  Json req = Json::parse(request, nullptr, false);
  if (!req.is_object() || !req.contains("id")) return Status::InvalidArgument("not a JSON-RPC request");
  const Json id = req["id"];
  AT_RETURN_IF_ERROR(WriteLine(request));
  std::vector<std::string> out;
  for (;;) {
    AT_ASSIGN_OR_RETURN(std::string line, ReadLine());
    Json m = Json::parse(line, nullptr, false);
    if (!m.is_object()) return Status::IOError("the live server sent something that is not JSON-RPC");
    bool has_method = m.contains("method");
    if (!has_method && m.contains("id")) {
      if (m["id"] == id) {
        out.push_back(std::move(line));
        return out;
      }
      continue;  // a late answer to something else
    }
    if (has_method && m.contains("id")) {
      Json err = {{"jsonrpc", "2.0"},
                  {"id", m["id"]},
                  {"error", {{"code", -32601}, {"message", "not supported by agenttrace replay --serve"}}}};
      AT_RETURN_IF_ERROR(WriteLine(err.dump()));
    }
    out.push_back(std::move(line));
  }
}

// ---------------------------------------------------------------------------------------------------
// RunStdioServe

namespace {

// Records on its own thread, as the proxy does: answering never waits for redaction or the store.
// The queue is bounded; when the recording falls that far behind, the serving thread waits (nothing is
// dropped).
class RecordQueue {
 public:
  explicit RecordQueue(ServedRecorder* r) : recorder_(r), thread_([this] { Loop(); }) {}
  ~RecordQueue() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Push(std::string line, int64_t mono, int64_t wall, PlayerStep step) {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [&] { return q_.size() < kMaxQueued; });
    q_.push_back(Item{std::move(line), mono, wall, std::move(step)});
    cv_.notify_one();
  }

 private:
  static constexpr size_t kMaxQueued = 4096;
  struct Item {
    std::string line;
    int64_t mono, wall;
    PlayerStep step;
  };
  void Loop() {
    for (;;) {
      Item it;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !q_.empty() || closed_; });
        if (q_.empty()) return;
        it = std::move(q_.front());
        q_.pop_front();
      }
      room_.notify_one();
      recorder_->OnClientLine(it.line, it.mono, it.wall);
      recorder_->OnStep(it.step);
    }
  }
  ServedRecorder* recorder_;
  std::mutex mu_;
  std::condition_variable cv_, room_;
  std::deque<Item> q_;
  bool closed_ = false;
  std::thread thread_;
};

class ServeLines final : public LineSink {
 public:
  ServeLines(const StdioServeOptions& o, CassettePlayer& p, RecordQueue* r, StdioServeResult* res)
      : options_(o), player_(p), recorder_(r), result_(res) {}
  void OnLine(std::string_view line) override {
    const int64_t mono = ClockNs(CLOCK_MONOTONIC), wall = ClockNs(CLOCK_REALTIME);
    PlayerStep step = player_.OnClientMessage(line);
    std::string out;
    for (size_t i = 0; i < step.replies.size(); ++i) {
      out += step.replies[i];
      out.push_back('\n');
      if (i + 2 == step.replies.size() && step.request) {
        // Notifications first, and the answer only once the client has read them. The TypeScript
        // SDK (shared/protocol.js) dispatches every message of one read synchronously, but runs a
        // notification's handler in a microtask (Promise.resolve().then) while a response is handled
        // at once and deletes the request's progress handler: progress in the same read as its
        // answer reaches a handler that is gone ("unknown token") and is dropped. Microtasks run
        // between two reads, so the answer must not be in the pipe before the notifications are out
        // of it. A live server gives no such guarantee either; it just rarely writes that fast.
        if (out_ok_) out_ok_ = WriteAll(options_.out_fd, out).ok();
        out.clear();
        if (out_ok_) WaitUntilClientRead(options_.out_fd, kDrainWaitNs);
      }
    }
    if (!out.empty() && out_ok_) out_ok_ = WriteAll(options_.out_fd, out).ok();
    if (step.request) {
      ++result_->requests;
      if (!step.note.empty() && result_->notes.size() < kMaxNotes) {
        std::string what = step.method + (step.tool.empty() ? "" : " " + step.tool);
        result_->notes.push_back(step.served + ": " + what + ": " + step.note);
      }
    }
    if (recorder_ != nullptr) recorder_->Push(std::string(line), mono, wall, std::move(step));
  }
  void OnOversized(std::string_view head, uint64_t size, bool complete) override {
    (void)complete;
    if (result_->notes.size() < kMaxNotes) {
      result_->notes.push_back("a client message of " + std::to_string(size) +
                               " bytes was too large: " + std::string(head.substr(0, 80)));
    }
  }
  void OnTrailingBytes(std::string_view bytes) override { OnLine(bytes); }
  bool out_ok() const { return out_ok_; }

 private:
  const StdioServeOptions& options_;
  CassettePlayer& player_;
  RecordQueue* recorder_;
  StdioServeResult* result_;
  bool out_ok_ = true;
};

}  // namespace

Result<StdioServeResult> RunStdioServe(const StdioServeOptions& options, CassettePlayer& player,
                                       ServedRecorder* recorder) {
  StdioServeResult result;
  Status read_status;
  {
    std::unique_ptr<RecordQueue> queue;
    if (recorder != nullptr) queue = std::make_unique<RecordQueue>(recorder);
    ServeLines lines(options, player, queue.get(), &result);
    LineSplitter splitter(options.max_message_bytes);
    std::vector<char> buf(256u << 10);
    for (;;) {
      ssize_t n = RetryEintr([&] { return ::read(options.in_fd, buf.data(), buf.size()); });
      if (n < 0) {
        read_status = Status::FromErrno("reading the client", errno);
        break;
      }
      if (n == 0) break;
      splitter.Feed(std::string_view(buf.data(), static_cast<size_t>(n)), &lines);
      if (!lines.out_ok()) break;  // the client is gone
    }
    if (read_status.ok()) splitter.Finish(&lines);
  }  // the recording thread has caught up
  if (recorder != nullptr) recorder->Flush();
  if (!read_status.ok()) return read_status;
  result.replayed = player.replayed();
  result.live = player.live();
  result.misses = player.misses();
  return result;
}

}  // namespace agenttrace
