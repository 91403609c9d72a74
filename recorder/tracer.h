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
//     These refusals (and the others a decoder sets, EntryAction::deny_errno) are applied like a
//     policy denial, in `record` too: the skip is checked when it is written and again at the exit
//     stop, which records the event with the result the agent got. A refusal that cannot be applied
//     kills the whole tree, as a denial does ("decision.failed" with rule "", message on stderr):
//     what the recorder refuses would otherwise escape the recording.
//   - A call still pending when its thread dies is recorded with result -EINTR.
//   - A call interrupted by a signal and restarted by the kernel is recorded at each attempt.
//   - proc.exit is recorded once per process (thread group), with the leader's tid.
//   - Stop requests (RequestSignal, RequestKill) are recorded as an `annotation` with pid 0, text
//     "recorder: signal" or "recorder: kill" and json {"action", "signal", "reason", "processes":
//     [{"pid", "comm"}...]} naming every process the signal was sent to.
//
// Stopping: a signal or kill goes to every traced process (each thread group once) and never to a
// pid that was reaped: a traced task stays a zombie, its pid unusable by anyone else, until this
// tracer has waited for it, and it leaves the traced set only then. After RequestKill, a task seen
// for the first time later (a fork in flight) is killed on sight.
//
// Thread-safety: Start and Run from one thread. RequestSignal, RequestKill, RequestsPending and Wake
// may be called from any other thread while Run runs (or before it); they are not async-signal-safe.
#ifndef AGENTTRACE_RECORDER_TRACER_H_
#define AGENTTRACE_RECORDER_TRACER_H_

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/decision_event.h"
#include "format/event.h"
#include "format/event_sink.h"
#include "format/request_decider.h"
#include "format/status.h"
#include "format/unique_fd.h"
#include "recorder/adaptive_spin.h"
#include "recorder/ask.h"
#include "recorder/decode.h"
#include "recorder/seccomp_filter.h"

namespace agenttrace {

struct TracerOptions {
  bool allow_io_uring = false;
  // Run the tracer thread and the agent on the CPU the tracer is on (fewer cross-CPU wake-ups).
  bool cpu_pin = false;
  // Keep the tracer thread (only) on the CPU it starts on; the agent may run anywhere. The scheduler
  // then tends to wake a stopped tracee's tracer, and the tracee it resumes, on one CPU.
  bool pin_tracer = true;
  // Poll for the next stop for up to this long before sleeping in waitpid, where that has been paying
  // (recorder/adaptive_spin.h); 0: always sleep. Off under cpu_pin and with a single CPU, where the
  // poll would hold the CPU the tracee needs.
  int64_t spin_ns = 60'000;
  // Request-time enforcement (`agenttrace run`): at every seccomp stop the event as known at entry
  // (no result yet; an open's `resolved` computed at entry) is decided by `decider`, which must
  // outlive Run(). Under kEnforce a deny skips the call (syscall number -1 at the seccomp stop) and
  // its exit stop sets the result: -EACCES for file events, -EPERM for exec, net, spawn and escapes.
  // An ask parks the asking thread in its stop and is answered by `ask` on a worker thread (null:
  // denied); the other threads keep running. A denial whose register writes fail kills the whole
  // tree ("decision.failed" event, message on stderr). Under kAudit nothing is blocked; the would-be
  // denials and asks are counted. Calls the recorder itself refuses (io_uring_setup) are not asked.
  RequestDecider* decider = nullptr;
  AskResolver* ask = nullptr;
  EnforceMode mode = EnforceMode::kEnforce;
  size_t max_pending_asks = 64;  // more asks waiting at once are denied
  // Test-only fault injection: every register write that skips a denied or refused call reports
  // failure, as a failed PTRACE_SETREGS would, so that tests can reach the fail-closed path
  // (FailEnforcement). It can only make the tracer kill the agent, never let a call through; tools/
  // never sets it (no flag or variable reaches it).
  bool test_fail_skip_writes = false;
  // Test-only fault injection: the register writes that skip a denied call report success but leave
  // the call in place, as a kernel that ignored the skip would, so that tests reach the check at the
  // exit stop (FinishDenied), which must kill the agent. tools/ never sets it either.
  bool test_skip_not_held = false;
};

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is searched in the PATH of `env`, like execvp
  std::vector<std::string> env;   // the agent's whole environment, "NAME=value"
  // The agent's signal mask; unset: the caller's. The recorder blocks the signals it waits for, which
  // the agent must not inherit.
  std::optional<sigset_t> sigmask;
  // A Landlock ruleset (recorder/landlock.h) the child enforces on itself after no_new_privs, before
  // the seccomp filter and exec; -1: none. The caller keeps it open until Start returns.
  int landlock_ruleset_fd = -1;
};

// A traced process that a stop request reached.
struct StoppedProcess {
  pid_t pid = 0;
  std::string comm;  // /proc/PID/comm at the time (empty if it was already gone)
};

struct TraceOutcome {
  int exit_code = -1;      // of the direct child; -1 if it was killed by a signal
  int signal = 0;          // killing signal of the direct child
  int exec_errno = 0;      // non-zero: the agent itself could not be executed (exit_code 126 or 127)
  uint64_t events = 0;     // events appended
  uint64_t processes = 0;  // processes seen (including the agent)
  uint64_t events_refused = 0;            // events the sink refused (it failed); every event is still offered
  Status sink_status;                     // first failure of the sink
  std::vector<StoppedProcess> signalled;  // processes RequestSignal reached
  std::vector<StoppedProcess> killed;     // processes RequestKill reached (SIGKILL)
  // Enforcement (TracerOptions::decider).
  uint64_t denied = 0;  // calls denied by the policy (enforce), asks denied included
  // Calls refused whatever the policy: by a decoder (io_uring_setup, seccomp listeners; under enforce
  // open_by_handle_at and device mknod), and under enforce foreign-ABI calls and tampering outside the tree.
  uint64_t refused = 0;
  uint64_t denied_missing = 0;  // of those: on a path that did not exist, answered ENOENT or ENOTDIR
  uint64_t asks_allowed = 0, asks_denied = 0;
  uint64_t would_deny = 0, would_ask = 0;  // audit: what enforce would have done
  uint64_t path_base_opens = 0;            // root, cwd and dirfd descriptors opened to resolve paths at entry
  bool enforcement_failed = false;         // a denial could not be applied: the tree was killed
  std::string enforcement_failure;         // why
};

class Tracer final : public ChildRunner {
 public:
  Tracer(EventSink* sink, TracerOptions options);
  ~Tracer();  // kills and reaps whatever is still traced (only after a failure)
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Starts the agent. NotFound: argv[0] is not found; PermissionDenied: ptrace is not permitted here
  // (the message says why and how to fix it); other codes for system failures. With a decider and a
  // filter that traps cwd changes (SeccompFilterOptions::trap_cwd_changes), the descriptors entry-time
  // resolution walks from are kept across stops (PathResolver's context cache).
  Status Start(const SpawnSpec& spec, const SeccompProgram& filter);
  // Traces until every traced process has exited. An error means the tracer itself failed (setup of
  // the child, waitpid); the sink's failures are reported in TraceOutcome::sink_status instead.
  Result<TraceOutcome> Run();

  pid_t main_pid() const { return main_pid_.load(std::memory_order_relaxed); }

  // Asks Run() to send `sig` to every traced process, except those whose process group is
  // `skip_pgrp` when it is > 0 (they got a terminal's signal already). `reason` is recorded.
  void RequestSignal(int sig, pid_t skip_pgrp, std::string reason);
  // Asks Run() to SIGKILL every traced process, and every one that appears until Run() returns.
  void RequestKill(std::string reason);
  // True while a request has not been taken up by Run() yet (Run() may sit in waitpid: see Wake).
  bool RequestsPending() const;
  // Interrupts Run()'s waitpid (a thread-directed SIGURG) so that it takes up pending requests. A wake
  // that arrives just before Run() blocks is lost: callers repeat it while RequestsPending().
  void Wake();

  // ChildRunner (recorder/ask.h): a helper child of this process (an ask program) that Run()'s
  // waitpid(-1) must not take for a traced task.
  pid_t SpawnHelper(const std::function<pid_t()>& fork_child) override;
  std::optional<int> WaitHelper(pid_t pid, std::chrono::milliseconds timeout) override;

 private:
  struct ThreadState {
    pid_t pid = 0;            // thread group id
    bool started = false;     // its first stop has been seen
    bool in_syscall = false;  // between the seccomp stop and the stop that completes the call
    bool counted = false;     // counted in TraceOutcome::processes (it leads its group)
    SyscallCall call;
    EntryAction action;
    Event ev;
    // Enforcement.
    bool parked = false;       // left in its seccomp stop while an ask is answered
    uint64_t ask_ticket = 0;   // which answer it waits for
    int deny_errno = 0;        // denied: its exit stop sets -deny_errno
    bool refusal = false;      // the denial is the recorder's own, not the policy's
    RequestDecision decision;  // of the pending ask
    // Context cache (PathResolver): a call that may change a root or cwd is between entry and exit.
    bool context_change = false;
    bool silent = false;  // a trapped chdir/fchdir: no event, only the exit stop
  };

  ThreadState* Find(pid_t tid);
  ThreadState* Add(pid_t tid, pid_t pid);
  void Remove(pid_t tid);
  void CountProcess(ThreadState* t);  // once per leader state
  void Resume(pid_t tid, ThreadState* t, int sig);

  void OnSeccompStop(pid_t tid, ThreadState* t);
  // A call of `t` that may change some thread's root or cwd starts (it is about to run) or ends:
  // while any is in flight, PathResolver keeps no context (path_state.h).
  void BeginContextChange(ThreadState* t);
  void EndContextChange(ThreadState* t);
  // After decoding a seccomp stop: applies the entry action and resumes.
  void ContinueEntry(pid_t tid, ThreadState* t);
  // run --mode enforce: ptrace, or process_vm_readv/writev of a process the tracer does not trace
  // (agenttrace itself among them), which no policy may allow.
  bool TampersOutsideTheTree(const SyscallCall& c);
  // Asks the decider; true: go on with the call; false: the thread is denied or parked (handled).
  bool DecideEntry(pid_t tid, ThreadState* t);
  // Skips the call and arranges its exit stop to return -err; kills the tree if that fails.
  // `refusal`: refused whatever the policy (counted in TraceOutcome::refused, not denied).
  void ApplyDeny(pid_t tid, ThreadState* t, int err, bool refusal);
  void FinishDenied(pid_t tid, ThreadState* t);
  void FailEnforcement(pid_t tid, ThreadState* t, const std::string& why);
  void OnAnswer(pid_t tid, uint64_t ticket, const AskAnswer& answer);
  void PostAnswer(pid_t tid, uint64_t ticket, const AskAnswer& answer);
  // A helper's exit reaped by Run(): true if `pid` is a helper (its status is kept for WaitHelper).
  bool TakeHelper(pid_t pid, int status);
  void OnSyscallExit(pid_t tid, ThreadState* t);
  void OnNewTask(pid_t parent_tid, ThreadState* parent);
  void OnExec(pid_t tid, ThreadState** t);
  void OnDeath(pid_t tid, ThreadState* t, int status);
  void FinishPending(ThreadState* t, int64_t result);
  // After a call's event: the process.escape of an entry/exit disagreement an exit decoder found.
  void EmitToctou(pid_t tid, ThreadState* t);
  void StartEvent(pid_t tid, ThreadState* t, Event* ev);
  void Emit(const Event& ev);
  void TakeRequests();
  // Sends `sig` to every traced process (once per thread group); returns those reached.
  std::vector<StoppedProcess> SignalAll(int sig, pid_t skip_pgrp);
  void EmitControl(const char* action, int sig, const std::string& reason, const std::vector<StoppedProcess>& procs);

  struct Request {
    bool kill = false;
    int sig = 0;
    pid_t skip_pgrp = 0;
    std::string reason;
    bool answer = false;  // an ask's answer for thread `tid`, instead of a signal
    pid_t tid = 0;
    uint64_t ticket = 0;
    AskAnswer ans;
  };

  // Polls for the next stop for up to the spin budget (spin_): its tid with *status, 0 if none came
  // (or a request is pending), -1 with errno as waitpid.
  pid_t PollForStop(int* status);

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
  int context_changes_in_flight_ = 0;  // threads with ThreadState::context_change
  DecodeEnv env_;
  Event extra_;  // events made outside a call (proc.exit, clone-untraced)
  TraceOutcome outcome_;
  bool killing_ = false;  // RequestKill was taken up: new tasks are killed on sight
  AdaptiveSpin spin_{0};  // set by Start (TracerOptions::spin_ns)

  mutable std::mutex requests_mu_;
  std::vector<Request> requests_;    // guarded by requests_mu_
  std::atomic<uint64_t> posted_{0};  // requests posted ...
  std::atomic<uint64_t> taken_{0};   // ... and taken up by Run()
  std::atomic<pid_t> run_tid_{0};    // the thread in Run(), for Wake()

  std::unique_ptr<AskWorker> ask_worker_;  // while Run() runs, with a decider and a resolver
  uint64_t next_ticket_ = 0;
  // The decision being taken (DecideEntry), reused so that its strings keep their capacity: most
  // requests are allowed, and their rule and reason are then not needed beyond the call.
  RequestDecision decision_;
  std::mutex helpers_mu_;
  std::condition_variable helpers_cv_;
  std::unordered_map<pid_t, std::optional<int>> helpers_;  // guarded by helpers_mu_: pid -> wait status
  std::atomic<int> helper_count_{0};
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_TRACER_H_
