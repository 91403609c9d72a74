#include "recorder/mcp_http_gate.h"

#include <time.h>

#include <condition_variable>
#include <deque>
#include <utility>

#include "format/clock.h"
#include "format/status.h"

namespace agenttrace {
namespace {

constexpr char kStoppedReason[] = "the proxy stopped while the call was being decided";

}  // namespace

// Owned jointly by the gate and its thread, so that a thread left deciding at the stop never uses
// the gate (or anything of the proxy's) again.
struct McpHttpGate::Worker {
  RequestDecider* decider = nullptr;
  AskResolver* ask = nullptr;
  EnforceMode mode = EnforceMode::kEnforce;
  std::mutex mu;
  std::condition_variable work_cv;  // todo or stopped
  std::condition_variable done_cv;  // a call decided, stopped, or the thread ended
  std::deque<std::shared_ptr<Pending>> todo;
  bool stopped = false;
  bool exited = false;
  std::chrono::steady_clock::time_point stopped_at;
};

struct McpHttpGate::Pending {
  ToolCallDecision d;  // written by the decision thread until `done`
  bool done = false;   // guarded by Worker::mu
};

McpHttpGate::McpHttpGate(McpHttpGateOptions options)
    : o_(std::move(options)), server_name_(o_.tracker.fallback_server_name), worker_(std::make_shared<Worker>()) {
  AT_CHECK(o_.decider != nullptr);
  worker_->decider = o_.decider;
  worker_->ask = o_.ask;
  worker_->mode = o_.mode;
  thread_ = std::thread([w = worker_] { DecideLoop(w); });
}

McpHttpGate::~McpHttpGate() { Shutdown(); }

// In submission order, one call at a time. What is still queued at the stop is never decided.
void McpHttpGate::DecideLoop(const std::shared_ptr<Worker>& w) {
  std::unique_lock<std::mutex> lock(w->mu);
  for (;;) {
    w->work_cv.wait(lock, [&] { return w->stopped || !w->todo.empty(); });
    if (w->stopped) break;
    std::shared_ptr<Pending> p = std::move(w->todo.front());
    w->todo.pop_front();
    lock.unlock();
    DecideToolCall(w->decider, w->ask, w->mode, &p->d);
    lock.lock();
    p->done = true;
    w->done_cv.notify_all();
  }
  w->todo.clear();
  w->exited = true;
  w->done_cv.notify_all();
}

void McpHttpGate::Stop() {
  std::lock_guard<std::mutex> lock(worker_->mu);
  if (worker_->stopped) return;
  worker_->stopped = true;
  worker_->stopped_at = std::chrono::steady_clock::now();
  worker_->work_cv.notify_all();
  worker_->done_cv.notify_all();
}

void McpHttpGate::Shutdown() {
  Stop();
  if (!thread_.joinable()) return;
  std::unique_lock<std::mutex> lock(worker_->mu);
  bool exited =
      worker_->done_cv.wait_until(lock, worker_->stopped_at + kDecisionStopWait, [&] { return worker_->exited; });
  lock.unlock();
  // Left deciding: it owns what it uses (Worker, Pending); the decider and resolver live as long as
  // the process (McpHttpGateOptions).
  if (exited) {
    thread_.join();
  } else {
    thread_.detach();
  }
}

void McpHttpGate::OnServerMessage(std::string_view message) {
  if (server_name_.known()) return;
  if (auto name = ServerInfoName(message)) server_name_.Set(std::move(*name));
}

std::optional<McpHttpGateAnswer> McpHttpGate::Check(std::string_view body, const std::function<void()>& record_request,
                                                    const std::function<void(Event)>& record_event) {
  constexpr std::string_view kSpace = " \t\r\n";
  std::string_view message = body;
  size_t first = message.find_first_not_of(kSpace);
  message = first == std::string_view::npos ? std::string_view() : message.substr(first);
  message = message.substr(0, message.find_last_not_of(kSpace) + 1);

  auto p = std::make_shared<Pending>();
  ClientMessageVerdict v = ClassifyClientMessage(message, o_.tracker, &p->d.call);
  switch (v.action) {
    case ClientMessageAction::kForward:
      record_request();
      return std::nullopt;
    case ClientMessageAction::kRefuse: {
      record_request();
      Event e = RefusalEvent(v, message, o_.mode, o_.tracker.redact);
      e.server = server_name_.Get();
      record_event(std::move(e));
      if (o_.mode == EnforceMode::kAudit) return std::nullopt;
      ++denied_;
      if (v.answer_ids.empty()) return McpHttpGateAnswer{400, RefusalAnswerWithoutId(v), false};
      return McpHttpGateAnswer{200, RefusalAnswer(v), true};
    }
    case ClientMessageAction::kDecide:
      break;
  }
  p->d.call.server = server_name_.Get();
  p->d.call.mono_ns = ClockNs(CLOCK_MONOTONIC);
  p->d.call.wall_ns = ClockNs(CLOCK_REALTIME);
  // Kept apart from `p`, which the decision thread may still be writing when the stop gives up on it.
  const Event call = p->d.call;
  {
    // Recorded and queued for the decision in one order (see the header).
    std::lock_guard<std::mutex> order(order_mu_);
    record_request();
    std::lock_guard<std::mutex> lock(worker_->mu);
    if (!worker_->stopped) {
      worker_->todo.push_back(p);
      worker_->work_cv.notify_one();
    }
  }
  bool decided, stopped;
  {
    std::unique_lock<std::mutex> lock(worker_->mu);
    worker_->done_cv.wait(lock, [&] { return p->done || worker_->stopped; });
    decided = p->done;
    stopped = worker_->stopped;
  }
  if (decided) {
    // The decision thread is done with `p`.
    ToolCallDecision& d = p->d;
    if (d.asked) {
      ++asked_;
      record_event(MakeAnswerEvent(d.call, d.decision, o_.mode, d.answer));
    }
    if (!d.allowed) {
      ++denied_;
      return McpHttpGateAnswer{200, DenialAnswer(d), true};
    }
    // Allowed, but the proxy stops: failing closed, a call is never forwarded once the stop began.
    if (!stopped) return std::nullopt;
  }
  ++stopped_;
  return McpHttpGateAnswer{200, StoppedAnswer(call, kStoppedReason), true};
}

}  // namespace agenttrace
