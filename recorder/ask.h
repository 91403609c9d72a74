// Answering `ask` decisions at request time (`agenttrace run --ask ...`, docs/policy.md "Ask"):
// resolvers that give the answer, and the worker thread on which the tracer has them answered so that
// a human's slowness never blocks the tracer (only the thread that asked waits, parked in its stop).
//
//   FixedAskResolver  deny or allow, always (`--ask deny|allow`).
//   TtyAskResolver    prompts on the controlling terminal with the event, the rule and its
//                     description; anything but y/yes, a closed terminal or the timeout denies.
//   ExecAskResolver   runs PROG (through /bin/sh -c) with the request as JSON on stdin; exit status 0
//                     allows, anything else (a signal, the timeout, a failure to start) denies.
//
// Fail closed: every path that does not end in an explicit yes denies, and says why in AskAnswer::who.
//
// Thread-safety: resolvers serialise their own prompts; AskWorker::Submit may be called from any
// thread; the `post` callback runs on the worker thread.
#ifndef AGENTTRACE_RECORDER_ASK_H_
#define AGENTTRACE_RECORDER_ASK_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "format/event.h"
#include "format/request_decider.h"

namespace agenttrace {

class FixedAskResolver final : public AskResolver {
 public:
  explicit FixedAskResolver(bool allow) : allow_(allow) {}
  AskAnswer Ask(const Event&, const RequestDecision&) override { return {allow_, allow_ ? "allow" : "deny"}; }

 private:
  bool allow_;
};

class TtyAskResolver final : public AskResolver {
 public:
  // `tty`: the terminal to prompt on (normally /dev/tty).
  TtyAskResolver(std::chrono::milliseconds timeout, std::string tty = "/dev/tty")
      : timeout_(timeout), tty_(std::move(tty)) {}
  AskAnswer Ask(const Event& request, const RequestDecision& decision) override;

 private:
  std::chrono::milliseconds timeout_;
  std::string tty_;
  std::mutex mu_;  // one prompt at a time
};

// How a helper process is started and waited for. Under the tracer every child of this process is
// reaped by the tracer's waitpid(-1), so the tracer provides this (Tracer implements it); elsewhere
// DirectChildren waits with waitpid.
class ChildRunner {
 public:
  virtual ~ChildRunner() = default;
  // Calls `fork_child` (which forks and returns the child's pid, or -1) so that the child is known as
  // a helper before anyone can reap it. Returns the pid.
  virtual pid_t SpawnHelper(const std::function<pid_t()>& fork_child) = 0;
  // The helper's wait status once it has exited, or nullopt after `timeout`.
  virtual std::optional<int> WaitHelper(pid_t pid, std::chrono::milliseconds timeout) = 0;
};

class DirectChildren final : public ChildRunner {
 public:
  pid_t SpawnHelper(const std::function<pid_t()>& fork_child) override { return fork_child(); }
  std::optional<int> WaitHelper(pid_t pid, std::chrono::milliseconds timeout) override;
};

class ExecAskResolver final : public AskResolver {
 public:
  // `children` must outlive the resolver (it may be set later, before the first Ask).
  ExecAskResolver(std::string program, std::chrono::milliseconds timeout, ChildRunner* children)
      : program_(std::move(program)), timeout_(timeout), children_(children) {}
  void set_children(ChildRunner* children) { children_ = children; }
  AskAnswer Ask(const Event& request, const RequestDecision& decision) override;

 private:
  std::string program_;
  std::chrono::milliseconds timeout_;
  ChildRunner* children_;
  std::mutex mu_;
};

// The JSON an ask program reads on stdin: {"request":{event},"description","decision":"ask","rule",
// "reason"} (docs/policy.md).
std::string AskRequestJson(const Event& request, const RequestDecision& decision);

// One thread that answers asks in submission order and hands each answer to `post`.
class AskWorker {
 public:
  using Post = std::function<void(uint64_t ticket, const AskAnswer& answer)>;
  // `resolver` must outlive the worker.
  AskWorker(AskResolver* resolver, size_t max_pending, Post post);
  ~AskWorker();  // Stop()
  AskWorker(const AskWorker&) = delete;
  AskWorker& operator=(const AskWorker&) = delete;

  // Queues an ask. False when max_pending asks wait already or the worker stopped: the caller denies.
  bool Submit(uint64_t ticket, const Event& request, const RequestDecision& decision);
  // Finishes the ask being answered, denies (through `post`) those still queued, joins.
  void Stop();

 private:
  struct Job {
    uint64_t ticket;
    Event request;
    RequestDecision decision;
  };
  void Loop();

  AskResolver* resolver_;
  size_t max_pending_;
  Post post_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_ASK_H_
