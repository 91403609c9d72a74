// How a recording is stopped from outside: stop signals sent to the recorder, `--timeout` and
// `--kill-after` (docs/cli.md, "Stopping a recording").
//
// StopSignals blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT (those not ignored when the recorder
// started: an ignored signal stays ignored, as it would for the agent) and SIGURG in the calling
// thread, so that every thread created afterwards (store writer, event socket) leaves them to the
// supervisor. The agent gets the original mask back (SpawnSpec::sigmask).
//
// StopSupervisor is a thread that takes those signals with sigtimedwait and keeps the deadlines:
//   - the first stop signal, or the timeout, sends the signal (SIGTERM for a timeout) to every traced
//     process (Tracer::RequestSignal); a signal the terminal sent (si_code SI_KERNEL) already reached
//     the recorder's foreground process group, so only processes outside it get it again;
//   - a second stop signal, or `kill_after` after the first, kills every traced process that is left
//     (Tracer::RequestKill), which ends the recording: the session still completes.
// It repeats Tracer::Wake until the tracer has taken each request up.
//
// Thread-safety: StopSignals and StopSupervisor are created and destroyed by the tracer's thread;
// StopSupervisor's accessors are meant for after Stop().
#ifndef AGENTTRACE_RECORDER_RUN_CONTROL_H_
#define AGENTTRACE_RECORDER_RUN_CONTROL_H_

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace agenttrace {

class Tracer;

struct StopOptions {
  std::chrono::milliseconds kill_after{5000};  // grace between the first signal and SIGKILL
  std::chrono::milliseconds timeout{0};        // 0: none
};

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The mask the calling thread had before (for the agent).
  const sigset_t& original_mask() const { return original_; }
  // The stop signals being waited for (SIGURG not included).
  const sigset_t& stop_set() const { return stop_; }

 private:
  sigset_t original_;
  sigset_t stop_;
};

class StopSupervisor {
 public:
  // Starts the thread. `tracer` and `signals` must outlive Stop().
  StopSupervisor(Tracer* tracer, const StopSignals& signals, StopOptions options);
  ~StopSupervisor();  // Stop()
  StopSupervisor(const StopSupervisor&) = delete;
  StopSupervisor& operator=(const StopSupervisor&) = delete;

  // Ends the thread (after the tracer's Run() returned).
  void Stop();

  bool timed_out() const { return timed_out_.load(); }
  int first_signal() const { return first_signal_.load(); }  // 0: none received

 private:
  void Loop();

  Tracer* tracer_;
  sigset_t wait_set_;  // stop signals + SIGURG (the Stop() wake-up)
  StopOptions options_;
  std::atomic<bool> done_{false};
  std::atomic<bool> timed_out_{false};
  std::atomic<int> first_signal_{0};
  std::thread thread_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_RUN_CONTROL_H_
