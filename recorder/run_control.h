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
// It also applies the StoreFailurePolicy when told of a store failure (OnStoreFailure). Under kPause
// it calls `resume` every pause_retry; `resume` records the loss as a gap and returns true once the
// store takes writes again. A stop signal or the timeout during a pause kills the tree at once (it
// is stopped and cannot act on a signal).
//
// Thread-safety: StopSignals and StopSupervisor are created and destroyed by the tracer's thread;
// StopSupervisor's accessors are meant for after Stop().
#ifndef AGENTTRACE_RECORDER_RUN_CONTROL_H_
#define AGENTTRACE_RECORDER_RUN_CONTROL_H_

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "format/status.h"

namespace agenttrace {

class Tracer;

// What happens to the agent when the store cannot be written (disk full, MDB_MAP_FULL, I/O error).
enum class StoreFailurePolicy {
  kStop,      // kill the whole traced tree at once: a run without evidence is worthless to the gate
  kPause,     // SIGSTOP the tree; retry the store (recording a gap) and SIGCONT it once that works
  kContinue,  // let the agent run on unrecorded
};

struct StopOptions {
  std::chrono::milliseconds kill_after{5000};  // grace between the first signal and SIGKILL
  std::chrono::milliseconds timeout{0};        // 0: none
  StoreFailurePolicy on_store_failure = StoreFailurePolicy::kStop;
  std::chrono::milliseconds pause_retry{1000};  // kPause: how often the store is tried again
  // When set, SIGHUP does not stop the recording: it calls this on the supervisor's thread
  // (`agenttrace run` reloads its policy).
  std::function<void()> on_hangup;
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
  // Starts the thread. `tracer` and `signals` must outlive Stop(); `resume` is called from the thread.
  StopSupervisor(Tracer* tracer, const StopSignals& signals, StopOptions options,
                 std::function<bool()> resume = nullptr);
  ~StopSupervisor();  // Stop()
  StopSupervisor(const StopSupervisor&) = delete;
  StopSupervisor& operator=(const StopSupervisor&) = delete;

  // Ends the thread (after the tracer's Run() returned).
  void Stop();

  // Tells the supervisor that the store failed (thread-safe; from the writer thread). Returns at once.
  void OnStoreFailure(const Status& status);

  bool timed_out() const { return timed_out_.load(); }
  int first_signal() const { return first_signal_.load(); }  // 0: none received
  // The first store failure (OK if none).
  Status store_failure() const;
  // The store failure ended the run: kStop, or kPause and the store never came back.
  bool store_failure_ended_run() const { return store_ended_run_.load(); }

 private:
  void Loop();

  Tracer* tracer_;
  sigset_t wait_set_;  // stop signals + SIGURG (the Stop() wake-up)
  StopOptions options_;
  std::atomic<bool> done_{false};
  std::atomic<bool> timed_out_{false};
  std::atomic<int> first_signal_{0};
  std::function<bool()> resume_;
  mutable std::mutex failure_mu_;
  Status first_failure_;   // guarded by failure_mu_
  uint64_t failures_ = 0;  // guarded by failure_mu_: OnStoreFailure calls so far
  bool stopped_ = false;   // guarded by failure_mu_: Stop() was called
  std::atomic<bool> store_ended_run_{false};
  std::thread thread_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_RUN_CONTROL_H_
