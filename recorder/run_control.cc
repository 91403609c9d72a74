#include "recorder/run_control.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "recorder/tracer.h"

namespace agenttrace {
namespace {

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
// While a request waits to be taken up, Wake() is repeated this often (a wake that lands just before
// the tracer blocks in waitpid is lost).
constexpr std::chrono::milliseconds kRewake{20};

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string Seconds(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace

StopSignals::StopSignals() {
  sigemptyset(&stop_);
  for (int sig : kStopSignals) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    // A blocked signal is queued even when ignored: leave ignored ones alone so they stay ignored.
    if (old.sa_handler != SIG_IGN) sigaddset(&stop_, sig);
  }
  sigset_t block = stop_;
  sigaddset(&block, SIGURG);
  pthread_sigmask(SIG_BLOCK, &block, &original_);
}

StopSignals::~StopSignals() {
  // Signals that came after the supervisor stopped would otherwise kill the recorder (default action)
  // the moment they are unblocked, before it reports the recording.
  timespec zero{};
  while (sigtimedwait(&stop_, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &original_, nullptr);
}

StopSupervisor::StopSupervisor(Tracer* tracer, const StopSignals& signals, StopOptions options,
                               std::function<bool()> resume)
    : tracer_(tracer), wait_set_(signals.stop_set()), options_(options), resume_(std::move(resume)) {
  sigaddset(&wait_set_, SIGURG);
  thread_ = std::thread([this] { Loop(); });
}

StopSupervisor::~StopSupervisor() { Stop(); }

void StopSupervisor::Stop() {
  {
    std::lock_guard lock(failure_mu_);
    if (stopped_) return;
    stopped_ = true;  // OnStoreFailure no longer signals the thread
  }
  done_.store(true);
  pthread_kill(thread_.native_handle(), SIGURG);  // blocked there: stays pending until taken
  thread_.join();
}

void StopSupervisor::OnStoreFailure(const Status& status) {
  {
    std::lock_guard lock(failure_mu_);
    if (first_failure_.ok()) first_failure_ = status;
    ++failures_;
    if (!stopped_) pthread_kill(thread_.native_handle(), SIGURG);
  }
}

Status StopSupervisor::store_failure() const {
  std::lock_guard lock(failure_mu_);
  return first_failure_;
}

void StopSupervisor::Loop() {
  using Clock = std::chrono::steady_clock;
  pthread_sigmask(SIG_BLOCK, &wait_set_, nullptr);
  std::optional<Clock::time_point> timeout_at, kill_at;
  if (options_.timeout.count() > 0) timeout_at = Clock::now() + options_.timeout;
  bool stopping = false, killing = false;
  std::string first;
  uint64_t failures_seen = 0;
  bool paused = false;
  std::optional<Clock::time_point> retry_at;
  auto kill_now = [&](const std::string& reason) {
    stopping = killing = true;
    tracer_->RequestKill(reason);
  };
  while (!done_.load()) {
    Clock::time_point now = Clock::now();
    std::optional<Clock::time_point> next;
    auto consider = [&](std::optional<Clock::time_point> t) {
      if (t.has_value() && (!next.has_value() || *t < *next)) next = t;
    };
    if (!stopping) consider(timeout_at);
    if (!killing) consider(kill_at);
    if (paused && !killing) consider(retry_at);
    if (tracer_->RequestsPending()) consider(now + kRewake);
    siginfo_t si{};
    int sig;
    if (next.has_value()) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*next - now).count();
      if (ns < 0) ns = 0;
      timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      sig = sigtimedwait(&wait_set_, &si, &ts);
    } else {
      sig = sigwaitinfo(&wait_set_, &si);
    }
    if (done_.load()) break;
    now = Clock::now();
    if (sig == SIGHUP && options_.on_hangup) {
      options_.on_hangup();
      sig = 0;
    }
    if (sig > 0 && sig != SIGURG && paused && !killing) {
      first_signal_.store(sig);
      kill_now("the recorder received " + SignalName(sig) + " while the agent was paused by a store failure");
    } else if (sig > 0 && sig != SIGURG) {
      if (!stopping) {
        stopping = true;
        first = SignalName(sig);
        first_signal_.store(sig);
        kill_at = now + options_.kill_after;
        // The terminal's signal reached the recorder's foreground process group already.
        pid_t skip = si.si_code == SI_KERNEL ? getpgrp() : 0;
        tracer_->RequestSignal(sig, skip, "the recorder received " + first);
        std::fprintf(stderr,
                     "agenttrace: record: %s: sent to every traced process; those still running in %s (or "
                     "at a second signal) are killed\n",
                     first.c_str(), Seconds(options_.kill_after).c_str());
      } else if (!killing) {
        killing = true;
        tracer_->RequestKill("second signal (" + SignalName(sig) + ") after " + first);
      }
    }
    uint64_t failures;
    std::string cause;
    {
      std::lock_guard lock(failure_mu_);
      failures = failures_;
      cause = first_failure_.message();
    }
    if (failures > failures_seen && !killing) {
      failures_seen = failures;
      switch (options_.on_store_failure) {
        case StoreFailurePolicy::kStop:
          store_ended_run_.store(true);
          kill_now("store failure: " + cause);
          std::fprintf(stderr,
                       "agenttrace: record: the store failed: %s; killing every traced process "
                       "(--on-store-failure stop)\n",
                       cause.c_str());
          break;
        case StoreFailurePolicy::kPause:
          if (!paused) {
            paused = true;
            store_ended_run_.store(true);
            tracer_->RequestSignal(SIGSTOP, 0, "store failure: " + cause);
            std::fprintf(stderr,
                         "agenttrace: record: the store failed: %s; every traced process is stopped (SIGSTOP) "
                         "until the store takes writes again (tried every %s); SIGINT/SIGTERM ends the "
                         "recording\n",
                         cause.c_str(), Seconds(options_.pause_retry).c_str());
          }
          retry_at = now + options_.pause_retry;
          break;
        case StoreFailurePolicy::kContinue:
          std::fprintf(stderr,
                       "agenttrace: record: the store failed: %s; the agent runs on unrecorded "
                       "(--on-store-failure continue): the session will not be complete\n",
                       cause.c_str());
          break;
      }
    }
    if (paused && !killing && retry_at.has_value() && now >= *retry_at) {
      if (resume_ && resume_()) {
        paused = false;
        store_ended_run_.store(false);
        tracer_->RequestSignal(SIGCONT, 0, "the store takes writes again");
        std::fprintf(stderr,
                     "agenttrace: record: the store takes writes again: the agent continues (the loss is "
                     "recorded as a gap)\n");
      } else {
        retry_at = now + options_.pause_retry;
      }
    }
    if (!stopping && timeout_at.has_value() && now >= *timeout_at && paused) {
      timed_out_.store(true);
      kill_now("timeout of " + Seconds(options_.timeout) + " reached while the agent was paused by a store failure");
    } else if (!stopping && timeout_at.has_value() && now >= *timeout_at) {
      stopping = true;
      first = "the timeout";
      timed_out_.store(true);
      kill_at = now + options_.kill_after;
      tracer_->RequestSignal(SIGTERM, 0, "timeout of " + Seconds(options_.timeout) + " reached");
      std::fprintf(stderr,
                   "agenttrace: record: timeout of %s reached: SIGTERM sent to every traced process; those "
                   "still running in %s are killed\n",
                   Seconds(options_.timeout).c_str(), Seconds(options_.kill_after).c_str());
    }
    if (stopping && !killing && kill_at.has_value() && now >= *kill_at) {
      killing = true;
      tracer_->RequestKill("still running " + Seconds(options_.kill_after) + " after " + first);
    }
    if (tracer_->RequestsPending()) tracer_->Wake();
  }
}

}  // namespace agenttrace
