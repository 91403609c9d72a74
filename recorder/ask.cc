#include "recorder/ask.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>

#include "format/decision_event.h"
#include "format/event_json.h"
#include "format/event_text.h"
#include "format/sys.h"
#include "format/unique_fd.h"

namespace agenttrace {
namespace {

int64_t MonoMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = RetryEintr([&] { return write(fd, s.data(), s.size()); });
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string AskRequestJson(const Event& request, const RequestDecision& decision) {
  std::string out = "{\"request\":";
  AppendEventJson(request, &out);
  nlohmann::json j;
  j["description"] = DescribeEvent(request);
  j["decision"] = RequestVerdictName(decision.verdict);
  j["rule"] = decision.rule;
  j["reason"] = decision.reason;
  std::string rest = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += ',';
  out.append(rest, 1, std::string::npos);  // without its '{'
  return out;
}

AskAnswer TtyAskResolver::Ask(const Event& request, const RequestDecision& decision) {
  std::lock_guard lock(mu_);
  UniqueFd fd(open(tty_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return {false, "tty-unavailable"};
  long secs = static_cast<long>(timeout_.count() / 1000);
  std::string prompt = "\nagenttrace: the agent asks: " + DescribeEvent(request) + "\n  rule " + decision.rule +
                       (decision.reason.empty() ? "" : ": " + decision.reason) + "\n  allow? [y/N] (denied in " +
                       std::to_string(secs) + "s) ";
  WriteAll(fd.get(), prompt);
  const int64_t deadline = MonoMs() + timeout_.count();
  std::string line;
  for (;;) {
    int64_t left = deadline - MonoMs();
    if (left <= 0) {
      WriteAll(fd.get(), "\nagenttrace: no answer: denied\n");
      return {false, "tty-timeout"};
    }
    pollfd p{fd.get(), POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[256];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {false, "tty-closed"};
    line.append(buf, static_cast<size_t>(n));
    size_t nl = line.find('\n');
    if (nl == std::string::npos) {
      if (line.size() > 1024) return {false, "tty"};
      continue;
    }
    std::string answer = line.substr(0, nl);
    while (!answer.empty() && (answer.back() == '\r' || answer.back() == ' ')) answer.pop_back();
    bool yes = answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
    return {yes, "tty"};
  }
}

std::optional<int> DirectChildren::WaitHelper(pid_t pid, std::chrono::milliseconds timeout) {
  const int64_t deadline = MonoMs() + timeout.count();
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (MonoMs() >= deadline) return std::nullopt;
    usleep(2000);
  }
}

AskAnswer ExecAskResolver::Ask(const Event& request, const RequestDecision& decision) {
  std::lock_guard lock(mu_);
  const std::string who = "exec:" + program_;
  if (children_ == nullptr) return {false, who + " (not started)"};
  std::string input = AskRequestJson(request, decision);
  input += '\n';
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) return {false, who + " (pipe failed)"};
  UniqueFd in_read(in[0]), in_write(in[1]);
  // Prepared before fork: the child of a multi-threaded process may only make async-signal-safe calls.
  const char* argv[] = {"/bin/sh", "-c", program_.c_str(), nullptr};
  sigset_t none;
  sigemptyset(&none);
  pid_t pid = children_->SpawnHelper([&]() -> pid_t {
    pid_t p = fork();
    if (p == 0) {
      sigprocmask(SIG_SETMASK, &none, nullptr);
      signal(SIGPIPE, SIG_DFL);
      if (dup2(in[0], 0) < 0 || dup2(2, 1) < 0) _exit(126);  // its chatter goes to our stderr
      execv("/bin/sh", const_cast<char* const*>(argv));
      _exit(127);
    }
    return p;
  });
  if (pid < 0) return {false, who + " (fork failed)"};
  in_read.reset();
  // The program may exit without reading: never block on it, never die of SIGPIPE (blocked in this
  // thread; a write then fails with EPIPE).
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
  (void)!write(in_write.get(), input.data(), input.size());
  in_write.reset();
  timespec zero{0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  std::optional<int> status = children_->WaitHelper(pid, timeout_);
  if (!status) {
    kill(pid, SIGKILL);
    (void)children_->WaitHelper(pid, std::chrono::milliseconds(5000));
    return {false, who + " (timeout)"};
  }
  bool allow = WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
  return {allow, who};
}

AskWorker::AskWorker(AskResolver* resolver, size_t max_pending, Post post)
    : resolver_(resolver), max_pending_(max_pending), post_(std::move(post)) {
  thread_ = std::thread([this] { Loop(); });
}

AskWorker::~AskWorker() { Stop(); }

bool AskWorker::Submit(uint64_t ticket, const Event& request, const RequestDecision& decision) {
  std::lock_guard lock(mu_);
  if (stopping_ || jobs_.size() >= max_pending_) return false;
  jobs_.push_back(Job{ticket, request, decision});
  cv_.notify_one();
  return true;
}

void AskWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void AskWorker::Loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      if (stopping_) {
        lock.unlock();
        post_(job.ticket, AskAnswer{false, "deny (recorder stopping)"});
        continue;
      }
    }
    AskAnswer answer;
    try {
      answer = resolver_->Ask(job.request, job.decision);
    } catch (const std::exception& e) {
      answer = AskAnswer{false, std::string("error: ") + e.what()};
    }
    post_(job.ticket, answer);
  }
}

}  // namespace agenttrace
