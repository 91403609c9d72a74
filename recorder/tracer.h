// The ptrace + seccomp-bpf tracer behind `agenttrace record`: starts the agent under a seccomp filter
// that traps only the syscalls of recorder/syscall_table.def, follows every descendant (fork, vfork,
// clone, clone3, exec from any thread, daemons that double-fork and setsid) and turns each trapped
// call into one Event appended to an EventSink.
//
// Lifecycle: Start() forks the child, which blocks on a pipe until the tracer has PTRACE_SEIZEd it
// (options TRACEFORK|VFORK|CLONE|EXEC|SECCOMP|TRACESYSGOOD|EXITKILL: descendants are auto-attached
// and everything is killed if the tracer dies, so no traced process ever runs on without the tracer
// and its ENOSYS-ing filter). The child then sets no_new_privs (setuid programs lose their privilege
// under the recorder — a known divergence), installs the filter and execs. Run() returns when every
// traced process has exited — not only the direct child: a daemonised grandchild keeps the recording
// open until it exits.
//
// Per trapped call: a seccomp stop (arguments decoded: tracee memory, /proc/TID/{cwd,fd}), then for
// most calls PTRACE_SYSCALL to the exit stop for the result, then PTRACE_CONT. A successful spawn or
// exec is completed at its PTRACE_EVENT_{FORK,VFORK,CLONE,EXEC} stop instead (the result is known
// there), which spares its exit stop. Steady state does not
// allocate: per-thread states come from a pool, each with its reused Event.
//
// Event conventions beyond format/event.h:
//   - process.escape text: the syscall's name ("io_uring_setup", "ptrace", "process_vm_writev",
//     "seccomp", "prctl" (only PR_SET_SECCOMP is trapped), "mount", "umount2", "unshare", "setns",
//     "pivot_root", "chroot"), or "foreign-arch" (an i386 or x32 syscall; syscall_nr and arch are the
//     foreign ones), or "clone-untraced" (a clone asked for CLONE_UNTRACED; the tracer strips the flag),
//     or "toctou: ..." right after a connect or exec whose argument, read at entry, disagrees with the
//     kernel's fact after the call (the call's event then carries the kernel's fact; decode.h).
//   - io_uring_setup returns -ENOSYS unless TracerOptions::allow_io_uring; seccomp() with
//     SECCOMP_FILTER_FLAG_NEW_LISTENER returns -EPERM (a user-notification listener could hide calls).
//   - A call still pending when its thread dies is recorded with result -EINTR.
//   - A call interrupted by a signal and restarted by the kernel is recorded at each attempt.
//   - proc.exit is recorded once per process (thread group), with the leader's tid.
//
// Thread-safety: Start and Run from one thread; Forward() may be called from a signal handler.
#ifndef AGENTTRACE_RECORDER_TRACER_H_
#define AGENTTRACE_RECORDER_TRACER_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/event.h"
#include "format/status.h"
#include "format/unique_fd.h"
#include "recorder/decode.h"
#include "recorder/seccomp_filter.h"

namespace agenttrace {


// Where the tracer puts events. AsyncSessionWriter in production, a vector in tests.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Stores a copy of `event`.
  virtual Status Append(const Event& event) = 0;
};

struct TracerOptions {
  bool allow_io_uring = false;
  // Run the tracer thread and the agent on the CPU the tracer is on (fewer cross-CPU wake-ups).
  bool cpu_pin = false;
  // Keep the tracer thread (only) on the CPU it starts on; the agent may run anywhere. The scheduler
  // then tends to wake a stopped tracee's tracer, and the tracee it resumes, on one CPU.
  bool pin_tracer = true;
};

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is searched in the PATH of `env`, like execvp
  std::vector<std::string> env;   // the agent's whole environment, "NAME=value"
};

struct TraceOutcome {
  int exit_code = -1;      // of the direct child; -1 if it was killed by a signal
  int signal = 0;          // killing signal of the direct child
  int exec_errno = 0;      // non-zero: the agent itself could not be executed (exit_code 126 or 127)
  uint64_t events = 0;     // events appended
  uint64_t processes = 0;  // processes seen (including the agent)
  Status sink_status;      // first failure of the sink; recording of events stopped there
};

class Tracer {
 public:
  Tracer(EventSink* sink, TracerOptions options);
  ~Tracer();  // kills and reaps whatever is still traced (only after a failure)
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Starts the agent. NotFound: argv[0] is not found; PermissionDenied: ptrace is not permitted here
  // (the message says why and how to fix it); other codes for system failures.
  Status Start(const SpawnSpec& spec, const SeccompProgram& filter);
  // Traces until every traced process has exited. An error means the tracer itself failed (setup of
  // the child, waitpid); the sink's failures are reported in TraceOutcome::sink_status instead.
  Result<TraceOutcome> Run();

  pid_t main_pid() const { return main_pid_.load(std::memory_order_relaxed); }
  // Sends `sig` to the agent. Async-signal-safe.
  void Forward(int sig);

 private:
  struct ThreadState {
    pid_t pid = 0;            // thread group id
    bool started = false;     // its first stop has been seen
    bool in_syscall = false;  // between the seccomp stop and the stop that completes the call
    bool counted = false;     // counted in TraceOutcome::processes (it leads its group)
    SyscallCall call;
    EntryAction action;
    Event ev;
  };

  ThreadState* Find(pid_t tid);
  ThreadState* Add(pid_t tid, pid_t pid);
  void Remove(pid_t tid);
  void CountProcess(ThreadState* t);  // once per leader state
  void Resume(pid_t tid, ThreadState* t, int sig);

  void OnSeccompStop(pid_t tid, ThreadState* t);
  void OnSyscallExit(pid_t tid, ThreadState* t);
  void OnNewTask(pid_t parent_tid, ThreadState* parent);
  void OnExec(pid_t tid, ThreadState** t);
  void OnDeath(pid_t tid, ThreadState* t, int status);
  void FinishPending(ThreadState* t, int64_t result);
  // After a call's event: the process.escape of an entry/exit disagreement an exit decoder found.
  void EmitToctou(pid_t tid, ThreadState* t);
  void StartEvent(pid_t tid, ThreadState* t, Event* ev);
  void Emit(const Event& ev);

  EventSink* sink_;
  TracerOptions options_;
  std::atomic<pid_t> main_pid_{0};
  UniqueFd error_pipe_;  // child -> tracer: setup or exec failure (CLOEXEC: closes on success)
  int64_t wall_offset_ns_ = 0;          // CLOCK_REALTIME - CLOCK_MONOTONIC (see StartEvent)
  int64_t wall_offset_sampled_ns_ = 0;  // CLOCK_MONOTONIC when it was sampled
  std::unordered_map<pid_t, ThreadState*> threads_;
  std::vector<std::unique_ptr<ThreadState>> all_states_;  // owns every state ever made
  std::vector<ThreadState*> free_states_;
  TraceeMemory mem_;
  PathResolver paths_;
  DecodeEnv env_;
  Event extra_;  // events made outside a call (proc.exit, clone-untraced)
  TraceOutcome outcome_;
  bool sink_failed_ = false;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_TRACER_H_
