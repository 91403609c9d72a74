#include "recorder/tracer.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "format/clock.h"
#include "format/sys.h"
#include "recorder/landlock.h"

namespace agenttrace {
namespace {

// No PTRACE_O_TRACEEXIT: its stop would cost a round trip per exiting task and tell nothing that
// waitpid's exit status does not (a call still pending at death is closed from OnDeath).
constexpr int kPtraceOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                               PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP |
                               PTRACE_O_EXITKILL;

// What the child reports through the error pipe before dying.
struct ChildFailure {
  int stage;  // kStageSetup or kStageExec
  int err;
};
constexpr int kStageSetup = 1;
constexpr int kStageExec = 2;

std::string GetEnv(const std::vector<std::string>& env, std::string_view name) {
  for (const std::string& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return e.substr(name.size() + 1);
    }
  }
  return {};
}

// Finds the program like execvp: a name with '/' is used as is; otherwise the first executable
// regular file in PATH, else the first existing one (exec then fails with EACCES -> 126).
Result<std::string> FindProgram(const std::string& name, const std::vector<std::string>& env) {
  if (name.empty()) return Status::NotFound("empty command");
  struct stat st;
  if (name.find('/') != std::string::npos) {
    if (stat(name.c_str(), &st) != 0) return Status::FromErrno(name, errno);
    return name;
  }
  std::string path = GetEnv(env, "PATH");
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  std::string first_existing;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    i = j + 1;
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (stat(candidate.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (first_existing.empty()) first_existing = candidate;
  }
  if (!first_existing.empty()) return first_existing;
  return Status::NotFound(name + ": command not found in PATH");
}

std::string PtraceDeniedMessage(int err) {
  std::string msg = std::string("ptrace is not permitted here (PTRACE_SEIZE: ") + std::strerror(err) + ")";
  auto scope = ReadFileToString("/proc/sys/kernel/yama/ptrace_scope", 64);
  if (scope.ok() && !scope->empty() && (*scope)[0] != '0' && (*scope)[0] != '1') {
    msg += "; Yama ptrace_scope is " + scope->substr(0, 1) +
           ": run 'sysctl kernel.yama.ptrace_scope=1' (as root) to allow tracing one's own children";
  } else {
    msg += "; in a container, allow ptrace (docker: --cap-add SYS_PTRACE, or a seccomp profile that "
           "permits ptrace such as --security-opt seccomp=unconfined); otherwise check LSM policy "
           "(SELinux deny_ptrace, AppArmor)";
  }
  return msg;
}

pid_t ReadTgid(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", tid);
  UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return tid;
  char buf[1024];
  ssize_t n = read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return tid;
  buf[n] = '\0';
  const char* p = std::strstr(buf, "\nTgid:");
  if (p == nullptr) return tid;
  return static_cast<pid_t>(std::strtol(p + 6, nullptr, 10));
}

// The thread group of a task whose first stop came before its parent's clone event. Most such tasks
// are processes, which one tgkill(tid, tid, 0) recognises (it finds only a group leader; EPERM still
// means found); only a thread needs /proc.
pid_t ProbeTgid(pid_t tid) {
  if (syscall(SYS_tgkill, tid, tid, 0) == 0 || errno == EPERM) return tid;
  return ReadTgid(tid);
}

// exit and exit_group of the i386 and x32 ABIs.
bool IsForeignExit(const SyscallCall& c) {
  if (c.arch == AUDIT_ARCH_I386) return c.nr == 1 || c.nr == 252;
  return c.arch == AUDIT_ARCH_X86_64 && (c.nr == (kX32SyscallBit | 60) || c.nr == (kX32SyscallBit | 231));
}

}  // namespace

Tracer::Tracer(EventSink* sink, TracerOptions options) : sink_(sink), options_(options) {
  threads_.reserve(4096);
  env_.mem = &mem_;
  env_.paths = &paths_;
  env_.allow_io_uring = options_.allow_io_uring;
  env_.refuse_undecidable = options_.decider != nullptr && options_.mode == EnforceMode::kEnforce;
  env_.resolve_opens_at_entry = options_.decider != nullptr;
}

Tracer::~Tracer() {
  if (threads_.empty()) return;
  for (auto& [tid, t] : threads_) kill(tid, SIGKILL);
  int status;
  while (waitpid(-1, &status, __WALL) > 0 || errno == EINTR) {
  }
}

void Tracer::RequestSignal(int sig, pid_t skip_pgrp, std::string reason) {
  std::lock_guard lock(requests_mu_);
  Request r;
  r.sig = sig;
  r.skip_pgrp = skip_pgrp;
  r.reason = std::move(reason);
  requests_.push_back(std::move(r));
  posted_.fetch_add(1, std::memory_order_release);
}

void Tracer::RequestKill(std::string reason) {
  std::lock_guard lock(requests_mu_);
  Request r;
  r.kill = true;
  r.sig = SIGKILL;
  r.reason = std::move(reason);
  requests_.push_back(std::move(r));
  posted_.fetch_add(1, std::memory_order_release);
}

bool Tracer::RequestsPending() const {
  return taken_.load(std::memory_order_acquire) != posted_.load(std::memory_order_acquire);
}

void Tracer::Wake() {
  pid_t tid = run_tid_.load(std::memory_order_acquire);
  if (tid > 0) syscall(SYS_tgkill, getpid(), tid, SIGURG);
}

std::vector<StoppedProcess> Tracer::SignalAll(int sig, pid_t skip_pgrp) {
  std::vector<StoppedProcess> reached;
  std::vector<pid_t> groups;
  for (const auto& [tid, t] : threads_) {
    if (t->pid > 0) groups.push_back(t->pid);
  }
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  for (pid_t pid : groups) {
    // Every pid here is a traced task not yet waited for by this tracer: alive or a zombie, never
    // reused, so the signal cannot reach an unrelated process.
    if (skip_pgrp > 0 && getpgid(pid) == skip_pgrp) continue;
    StoppedProcess p;
    p.pid = pid;
    auto comm = ReadFileToString("/proc/" + std::to_string(pid) + "/comm", 64);
    if (comm.ok()) {
      p.comm = std::move(comm).value();
      if (!p.comm.empty() && p.comm.back() == '\n') p.comm.pop_back();
    }
    if (kill(pid, sig) == 0) reached.push_back(std::move(p));
  }
  return reached;
}

void Tracer::EmitControl(const char* action, int sig, const std::string& reason,
                         const std::vector<StoppedProcess>& procs) {
  nlohmann::json j;
  j["action"] = action;
  j["signal"] = sigabbrev_np(sig) != nullptr ? std::string("SIG") + sigabbrev_np(sig) : std::to_string(sig);
  j["reason"] = reason;
  nlohmann::json list = nlohmann::json::array();
  for (const StoppedProcess& p : procs) list.push_back({{"pid", p.pid}, {"comm", p.comm}});
  j["processes"] = std::move(list);
  extra_.Clear();
  extra_.mono_ns = ClockNs(CLOCK_MONOTONIC);
  extra_.wall_ns = ClockNs(CLOCK_REALTIME);
  extra_.kind = EventKind::kAnnotation;
  extra_.text = std::string("recorder: ") + action;
  extra_.json = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Emit(extra_);
}

void Tracer::TakeRequests() {
  std::vector<Request> reqs;
  {
    std::lock_guard lock(requests_mu_);
    reqs.swap(requests_);
    taken_.store(posted_.load(std::memory_order_acquire), std::memory_order_release);
  }
  for (const Request& r : reqs) {
    if (r.answer) {
      OnAnswer(r.tid, r.ticket, r.ans);
      continue;
    }
    if (r.kill) killing_ = true;
    std::vector<StoppedProcess> reached = SignalAll(r.sig, r.skip_pgrp);
    EmitControl(r.kill ? "kill" : "signal", r.sig, r.reason, reached);
    auto& list = r.kill ? outcome_.killed : outcome_.signalled;
    list.insert(list.end(), reached.begin(), reached.end());
  }
}

Status Tracer::Start(const SpawnSpec& spec, const SeccompProgram& filter) {
  if (spec.argv.empty()) return Status::InvalidArgument("no command to record");
  AT_ASSIGN_OR_RETURN(std::string program, FindProgram(spec.argv[0], spec.env));
  // Root and cwd descriptors are kept across stops only when every change of a cwd stops here.
  paths_.EnableContextCache(options_.decider != nullptr && filter.traps_cwd_changes);

  // Everything the child needs is prepared here: between fork and exec it may not allocate.
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  if (options_.cpu_pin) {
    int cpu = sched_getcpu();
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      (void)sched_setaffinity(0, sizeof(set), &set);  // this thread; the child inherits it
    }
  }

  int go[2], err[2];
  if (pipe2(go, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd go_read(go[0]), go_write(go[1]);
  if (pipe2(err, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd err_read(err[0]), err_write(err[1]);

  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno("fork", errno);
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    char b;
    ssize_t r;
    do {
      r = read(go[0], &b, 1);
    } while (r < 0 && errno == EINTR);
    if (r != 1) _exit(125);  // the tracer gave up
    if (spec.sigmask.has_value()) sigprocmask(SIG_SETMASK, &*spec.sigmask, nullptr);
    ChildFailure f{kStageSetup, 0};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      f.err = errno;
    } else {
      f.err = spec.landlock_ruleset_fd >= 0 ? LandlockRestrictSelf(spec.landlock_ruleset_fd) : 0;
      if (f.err == 0) f.err = InstallSeccompFilter(filter);
    }
    if (f.err == 0) {
      execve(program.c_str(), argv.data(), envp.data());
      f = {kStageExec, errno};
    }
    (void)!write(err[1], &f, sizeof(f));
    _exit(f.stage == kStageSetup ? 125 : (f.err == ENOENT || f.err == ENOTDIR) ? 127 : 126);
  }
  go_read.reset();
  err_write.reset();
  {
    // Polling holds the tracer's CPU: worth it only where the agent can run on another one.
    cpu_set_t mask;
    const bool one_cpu = sched_getaffinity(0, sizeof mask, &mask) == 0 && CPU_COUNT(&mask) < 2;
    spin_ = AdaptiveSpin(options_.cpu_pin || one_cpu ? 0 : options_.spin_ns);
  }
  if (options_.pin_tracer && !options_.cpu_pin) {
    // After the fork, so that the agent keeps the recorder's whole CPU mask. A tracee that stops wakes
    // the tracer on the tracer's CPU, and the tracee the tracer resumes tends to be woken there too
    // (the scheduler's wake-affine placement): fewer cross-CPU wake-ups per ptrace stop, while the
    // agent's processes may still use every CPU. docs/benchmarks.md ("Recording") has the figures.
    int cpu = sched_getcpu();
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      (void)sched_setaffinity(0, sizeof(set), &set);  // this thread only: best effort
    }
  }
  if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(kPtraceOptions)) != 0) {
    int e = errno;
    kill(pid, SIGKILL);
    int status;
    RetryEintr([&] { return waitpid(pid, &status, 0); });
    if (e == EPERM || e == EACCES) return Status::PermissionDenied(PtraceDeniedMessage(e));
    return Status::FromErrno("PTRACE_SEIZE", e);
  }
  main_pid_.store(pid, std::memory_order_relaxed);
  ThreadState* t = Add(pid, pid);
  t->started = true;  // seized while running: there is no initial stop
  CountProcess(t);
  if (RetryEintr([&] { return write(go_write.get(), "g", 1); }) != 1) {
    return Status::FromErrno("releasing the traced child", errno);
  }
  go_write.reset();
  error_pipe_ = std::move(err_read);
  return Status::Ok();
}

Tracer::ThreadState* Tracer::Find(pid_t tid) {
  auto it = threads_.find(tid);
  return it == threads_.end() ? nullptr : it->second;
}

Tracer::ThreadState* Tracer::Add(pid_t tid, pid_t pid) {
  ThreadState* t;
  if (!free_states_.empty()) {
    t = free_states_.back();
    free_states_.pop_back();
  } else {
    all_states_.push_back(std::make_unique<ThreadState>());
    t = all_states_.back().get();
  }
  t->pid = pid;
  t->started = false;
  t->in_syscall = false;
  t->counted = false;
  t->parked = false;
  t->deny_errno = 0;
  t->refusal = false;
  t->silent = false;
  t->context_change = false;
  threads_[tid] = t;
  if (killing_) {
    // A task born after the kill (its parent's fork was in flight): it must not outlive the recording.
    (void)syscall(SYS_tgkill, pid, tid, SIGKILL);
    if (tid == pid) outcome_.killed.push_back(StoppedProcess{pid, {}});
  }
  return t;
}

void Tracer::CountProcess(ThreadState* t) {
  if (t->counted) return;
  t->counted = true;
  ++outcome_.processes;
}

void Tracer::Remove(pid_t tid) {
  paths_.ForgetContext(tid);
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  EndContextChange(it->second);
  free_states_.push_back(it->second);
  threads_.erase(it);
}

void Tracer::Resume(pid_t tid, ThreadState* t, int sig) {
  int req = (t != nullptr && t->in_syscall) ? PTRACE_SYSCALL : PTRACE_CONT;
  // ESRCH: the thread died meanwhile (SIGKILL, exit_group of a sibling); its death is reported later.
  (void)ptrace(static_cast<__ptrace_request>(req), tid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
}

void Tracer::Emit(const Event& ev) {
  // Offered even after a failure: the sink counts what it refuses (for the gap event), and may take
  // events again once the store recovers.
  Status s = sink_->Append(ev);
  if (!s.ok()) {
    if (outcome_.sink_status.ok()) outcome_.sink_status = s;
    ++outcome_.events_refused;
    return;
  }
  ++outcome_.events;
}

void Tracer::StartEvent(pid_t tid, ThreadState* t, Event* ev) {
  ev->Clear();
  // Wall time is the monotonic clock plus an offset re-sampled every 100 ms: two clock reads per
  // event would put their jitter (tens of ns) into every event's stored wall time, where it is pure
  // noise that costs bytes; a step of the wall clock shows within 100 ms.
  ev->mono_ns = ClockNs(CLOCK_MONOTONIC);
  if (ev->mono_ns - wall_offset_sampled_ns_ >= 100'000'000 || wall_offset_sampled_ns_ == 0) {
    wall_offset_ns_ = ClockNs(CLOCK_REALTIME) - ev->mono_ns;
    wall_offset_sampled_ns_ = ev->mono_ns;
  }
  ev->wall_ns = ev->mono_ns + wall_offset_ns_;
  ev->pid = t->pid;
  ev->tid = tid;
}

void Tracer::FinishPending(ThreadState* t, int64_t result) {
  t->in_syscall = false;
  t->ev.result = result;
  Emit(t->ev);
}

namespace {

bool IsCwdChange(const __ptrace_syscall_info& info) {
  return info.arch == AUDIT_ARCH_X86_64 &&
         std::find(std::begin(kCwdChangeSyscalls), std::end(kCwdChangeSyscalls), info.seccomp.nr) !=
             std::end(kCwdChangeSyscalls);
}

// Whether the call, once it runs, may change the root or cwd of some traced thread: the escapes that
// do, and any foreign-ABI call (an i386 chdir has another number).
bool MayChangeContext(const SyscallCall& c) {
  if (c.arch != AUDIT_ARCH_X86_64 || (c.nr & kX32SyscallBit) != 0) return true;
  switch (c.nr) {
    case SYS_chroot:
    case SYS_pivot_root:
    case SYS_setns:
    case SYS_unshare:
    case SYS_mount:
    case SYS_umount2:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Tracer::BeginContextChange(ThreadState* t) {
  if (t->context_change) return;
  t->context_change = true;
  if (context_changes_in_flight_++ == 0) {
    paths_.SetContextChangeInFlight(true);
  } else {
    paths_.ForgetContexts();
  }
}

void Tracer::EndContextChange(ThreadState* t) {
  if (!t->context_change) return;
  t->context_change = false;
  if (--context_changes_in_flight_ == 0) {
    paths_.SetContextChangeInFlight(false);
  } else {
    paths_.ForgetContexts();
  }
}

void Tracer::OnSeccompStop(pid_t tid, ThreadState* t) {
  __ptrace_syscall_info info{};
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info);
  if (n <= 0 || info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
    Resume(tid, t, 0);  // thread vanished, or not a seccomp stop after all
    return;
  }
  if (IsCwdChange(info)) {
    // Trapped only for the context cache (SeccompFilterOptions::trap_cwd_changes): nothing to record
    // or decide; no context is kept from here until its exit stop.
    t->silent = true;
    t->in_syscall = true;
    BeginContextChange(t);
    Resume(tid, t, 0);
    return;
  }
  mem_.Invalidate();  // the tracee ran since the last stop
  paths_.Invalidate();
  SyscallCall& c = t->call;
  c.tid = tid;
  c.pid = t->pid;
  c.nr = static_cast<uint32_t>(info.seccomp.nr);
  c.arch = info.arch;
  for (int i = 0; i < 6; ++i) c.args[i] = info.seccomp.args[i];
  c.info = nullptr;

  Event* ev = &t->ev;
  StartEvent(tid, t, ev);
  ev->syscall_nr = c.nr;
  ev->arch = c.arch;
  ev->args = c.args;
  EntryAction act;
  if (c.arch != AUDIT_ARCH_X86_64 || (c.nr & kX32SyscallBit) != 0) {
    ev->kind = EventKind::kEscape;
    ev->text = "foreign-arch";
    // Its number names another call in another table (i386 open is 5, x86_64's fstat), so no rule can
    // be applied to it: enforce refuses it as a kernel without that ABI would, whatever the policy
    // says of escapes. Only an exit goes through (a process must be able to end).
    if (options_.decider != nullptr && options_.mode == EnforceMode::kEnforce && !IsForeignExit(c)) {
      t->decision = RequestDecision{RequestVerdict::kDeny, "", "a call of a foreign ABI", false};
      ApplyDeny(tid, t, ENOSYS, /*refusal=*/true);
      return;
    }
  } else if ((c.info = LookupSyscall(c.nr)) == nullptr) {
    ev->kind = EventKind::kRaw;
    ev->text = "unknown";
  } else {
    switch (c.info->family) {
      case SyscallFamily::kFile: act = DecodeFileEntry(c, env_, ev); break;
      case SyscallFamily::kProcess:
      case SyscallFamily::kEscape: act = DecodeProcessEntry(c, env_, ev); break;
      case SyscallFamily::kNet: act = DecodeNetEntry(c, env_, ev); break;
    }
  }
  t->action = act;
  if (options_.decider != nullptr && options_.mode == EnforceMode::kEnforce && act.deny_errno == 0 &&
      TampersOutsideTheTree(c)) {
    t->decision = RequestDecision{RequestVerdict::kDeny, "", "tampering with a process outside the agent", false};
    ApplyDeny(tid, t, EPERM, /*refusal=*/true);
    return;
  }
  if (options_.decider != nullptr && act.deny_errno == 0 && !act.drop && !DecideEntry(tid, t)) return;
  ContinueEntry(tid, t);
}

bool Tracer::TampersOutsideTheTree(const SyscallCall& c) {
  if (c.info == nullptr || c.info->family != SyscallFamily::kEscape) return false;
  // Inside the tree ptrace can do nothing (every process is already traced, by us), so it can only be
  // aimed outside: at agenttrace itself, whose memory holds the policy. process_vm_readv/writev may
  // legitimately serve sibling processes (MPI's shared-memory transports); beyond them, refused too.
  if (c.nr == SYS_ptrace) return true;
  if (c.nr == SYS_process_vm_readv || c.nr == SYS_process_vm_writev) {
    return Find(static_cast<pid_t>(c.args[0])) == nullptr;
  }
  return false;
}

void Tracer::ContinueEntry(pid_t tid, ThreadState* t) {
  const EntryAction& act = t->action;
  const SyscallCall& c = t->call;
  Event* ev = &t->ev;
  if (act.deny_errno != 0) {
    // A decoder's refusal protects the recording itself (io_uring would bypass it, a listener could
    // answer for the kernel): it takes the checked path of a denial, in `record` as in `run`.
    std::string what = ev->text.empty() ? std::string(c.info->name) : ev->text;
    t->decision = RequestDecision{RequestVerdict::kDeny, "", "refused by the recorder: " + what, false};
    ApplyDeny(tid, t, act.deny_errno, /*refusal=*/true);
    return;
  }
  if (act.set_arg0 || act.set_arg2) {
    user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0) {
      if (act.set_arg0) regs.rdi = act.new_arg0;
      if (act.set_arg2) regs.rdx = act.new_arg2;
      (void)ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
    }
  }
  if (act.poke) (void)mem_.Write64(tid, act.poke_addr, act.poke_value);
  if (act.untraced_clone) {
    StartEvent(tid, t, &extra_);
    extra_.kind = EventKind::kEscape;
    extra_.text = "clone-untraced";
    extra_.syscall_nr = c.nr;
    extra_.arch = c.arch;
    extra_.args = c.args;
    extra_.flags = ev->flags;
    Emit(extra_);
  }
  if (act.drop) {
    t->in_syscall = false;
  } else if (!act.want_exit) {
    Emit(*ev);
    t->in_syscall = false;
  } else {
    t->in_syscall = true;
    if (MayChangeContext(c)) BeginContextChange(t);  // until its exit stop (or the thread's death)
  }
  Resume(tid, t, 0);
}

void Tracer::OnSyscallExit(pid_t tid, ThreadState* t) {
  if (!t->in_syscall) {
    Resume(tid, t, 0);
    return;
  }
  EndContextChange(t);  // the call has taken effect: contexts read from now on see it
  if (t->silent) {
    t->silent = false;
    t->in_syscall = false;
    Resume(tid, t, 0);
    return;
  }
  if (t->deny_errno != 0) {
    FinishDenied(tid, t);
    return;
  }
  __ptrace_syscall_info info{};
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info);
  int64_t result = 0;
  if (n > 0 && info.op == PTRACE_SYSCALL_INFO_EXIT) {
    result = info.exit.rval;
  } else {
    user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0) result = static_cast<int64_t>(regs.rax);
  }
  mem_.Invalidate();
  paths_.Invalidate();
  const SyscallCall& c = t->call;
  env_.toctou.clear();
  if (c.info != nullptr) {
    switch (c.info->family) {
      case SyscallFamily::kFile: DecodeFileExit(c, result, env_, &t->ev); break;
      case SyscallFamily::kProcess:
      case SyscallFamily::kEscape: DecodeProcessExit(c, result, env_, &t->ev); break;
      case SyscallFamily::kNet: DecodeNetExit(c, result, env_, &t->ev); break;
    }
  }
  FinishPending(t, result);
  EmitToctou(tid, t);
  Resume(tid, t, 0);
}

void Tracer::OnNewTask(pid_t parent_tid, ThreadState* parent) {
  unsigned long msg = 0;
  if (ptrace(PTRACE_GETEVENTMSG, parent_tid, nullptr, &msg) == 0 && msg != 0) {
    pid_t child = static_cast<pid_t>(msg);
    bool is_thread = parent->in_syscall && parent->ev.kind == EventKind::kProcSpawn && parent->ev.is_thread;
    pid_t child_pid = is_thread ? parent->pid : child;
    ThreadState* c = Find(child);
    const bool unseen = c == nullptr;  // not resumed yet: it has made no call of its own
    if (c == nullptr) {
      c = Add(child, child_pid);
    } else {
      c->pid = child_pid;  // it reported its first stop before the parent's event
    }
    if (!is_thread) CountProcess(c);
    // The child's root and cwd are its parent's (copied or shared) until it makes a call; a new mount
    // namespace has its own mounts, so such a child opens its own.
    if (unseen && parent->in_syscall && parent->ev.kind == EventKind::kProcSpawn &&
        (parent->ev.flags & CLONE_NEWNS) == 0) {
      paths_.InheritContexts(parent_tid, child);
    }
    // The call has succeeded and its result is the child's pid: complete the spawn event here and
    // resume with PTRACE_CONT, which saves the parent's syscall-exit stop. (The pid is the one the
    // tracer sees, like every other pid on record; a parent in a nested pid namespace gets another.)
    if (parent->in_syscall && parent->ev.kind == EventKind::kProcSpawn) {
      DecodeProcessExit(parent->call, child, env_, &parent->ev);
      FinishPending(parent, child);
    }
  }
  Resume(parent_tid, parent, 0);
}

void Tracer::OnExec(pid_t tid, ThreadState** tp) {
  unsigned long former = 0;
  if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former) == 0 && static_cast<pid_t>(former) != tid) {
    // A non-leader thread exec'd: it now has the leader's tid, and the former leader vanished
    // without a report. Move the exec'ing thread's state (with its pending exec event) into place.
    ThreadState* moved = Find(static_cast<pid_t>(former));
    if (moved != nullptr) {
      threads_.erase(static_cast<pid_t>(former));
      ThreadState* old_leader = Find(tid);
      if (old_leader != nullptr) {
        EndContextChange(old_leader);
        free_states_.push_back(old_leader);
        threads_.erase(tid);
      }
      threads_[tid] = moved;
      moved->ev.tid = tid;
      moved->call.tid = tid;
      *tp = moved;
    }
  }
  // Past this stop exec cannot fail (only kill the process): complete the exec event with result 0
  // now (/proc/PID/exe already names the new program) and skip the syscall-exit stop.
  ThreadState* t = *tp;
  // exec keeps the root and cwd; but when a non-leader thread exec'd, the tids moved (above): forget
  // both.
  if (static_cast<pid_t>(former) != tid) {
    paths_.ForgetContext(tid);
    paths_.ForgetContext(static_cast<pid_t>(former));
  }
  if (t->in_syscall && t->ev.kind == EventKind::kExec) {
    mem_.Invalidate();  // the tracee ran since the last stop (the argv check reads /proc afresh)
    paths_.Invalidate();
    env_.toctou.clear();
    DecodeProcessExit(t->call, 0, env_, &t->ev);  // and compares argv with the kernel's copy
    FinishPending(t, 0);
    EmitToctou(tid, t);
  }
  Resume(tid, t, 0);
}

void Tracer::EmitToctou(pid_t tid, ThreadState* t) {
  if (env_.toctou.empty()) return;
  StartEvent(tid, t, &extra_);
  extra_.kind = EventKind::kEscape;
  extra_.text = env_.toctou;
  extra_.syscall_nr = t->call.nr;
  extra_.arch = t->call.arch;
  extra_.args = t->call.args;
  extra_.result = t->ev.result;
  Emit(extra_);
}

void Tracer::OnDeath(pid_t tid, ThreadState* t, int status) {
  // A thread that died parked on an ask or denied before its exit stop: the call never ran.
  if (t->in_syscall && !t->silent) FinishPending(t, t->deny_errno != 0 ? -t->deny_errno : -EINTR);
  t->in_syscall = false;
  t->silent = false;
  t->parked = false;
  t->deny_errno = 0;
  t->refusal = false;
  if (tid == t->pid) {
    StartEvent(tid, t, &extra_);
    extra_.kind = EventKind::kProcExit;
    if (WIFEXITED(status)) {
      extra_.exit_code = WEXITSTATUS(status);
    } else {
      extra_.signal = WTERMSIG(status);
      extra_.exit_code = 128 + WTERMSIG(status);
    }
    Emit(extra_);
  }
  if (tid == main_pid()) {
    if (WIFEXITED(status)) {
      outcome_.exit_code = WEXITSTATUS(status);
    } else {
      outcome_.signal = WTERMSIG(status);
    }
  }
  Remove(tid);
}

namespace {

void OnWake(int) {}

// While Run() runs: SIGURG (Tracer::Wake) interrupts its waitpid. Installed without SA_RESTART, and
// SIGURG's default action is to be ignored, so a wake that comes early or late harms nothing.
class WakeSignal {
 public:
  WakeSignal() {
    struct sigaction sa {};
    sa.sa_handler = OnWake;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGURG, &sa, &old_action_);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGURG);
    pthread_sigmask(SIG_UNBLOCK, &set, &old_mask_);
  }
  ~WakeSignal() {
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    sigaction(SIGURG, &old_action_, nullptr);
  }

 private:
  struct sigaction old_action_;
  sigset_t old_mask_;
};

}  // namespace

pid_t Tracer::PollForStop(int* status) {
  const int64_t budget = spin_.Next();
  if (budget <= 0) return 0;
  const int64_t start = ClockNs(CLOCK_MONOTONIC);
  for (;;) {
    pid_t tid = waitpid(-1, status, __WALL | WNOHANG);
    if (tid > 0) spin_.Caught();
    if (tid != 0) return tid;
    if (RequestsPending()) return 0;  // taken up before sleeping; not a miss
    if (ClockNs(CLOCK_MONOTONIC) - start > budget) {
      spin_.Missed();
      return 0;
    }
    for (int i = 0; i < 32; ++i) __builtin_ia32_pause();  // a few hundred ns between polls
  }
}

Result<TraceOutcome> Tracer::Run() {
  WakeSignal wake;
  // Destroyed after clear_tid: once Run() no longer takes requests, the worker's last answers (the
  // denials of asks still queued) must not wait for it (PostAnswer stops waking when run_tid_ is 0).
  struct StopWorker {
    std::unique_ptr<AskWorker>* w;
    ~StopWorker() {
      if (*w) (*w)->Stop();
    }
  } stop_worker{&ask_worker_};
  run_tid_.store(static_cast<pid_t>(syscall(SYS_gettid)), std::memory_order_release);
  struct ClearTid {
    std::atomic<pid_t>* tid;
    ~ClearTid() { tid->store(0, std::memory_order_release); }
  } clear_tid{&run_tid_};
  if (options_.decider != nullptr && options_.mode == EnforceMode::kEnforce && options_.ask != nullptr) {
    ask_worker_ = std::make_unique<AskWorker>(options_.ask, options_.max_pending_asks,
                                              [this](uint64_t ticket, const AskAnswer& a) {
                                                // The ticket's low 32 bits are the tid (see DecideEntry).
                                                PostAnswer(static_cast<pid_t>(ticket & 0xffffffffu), ticket, a);
                                              });
  }
  while (true) {
    if (RequestsPending()) TakeRequests();
    int status = 0;
    pid_t tid = PollForStop(&status);
    if (tid == 0) {
      if (RequestsPending()) continue;
      tid = waitpid(-1, &status, __WALL);
    }
    if (tid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) break;  // every traced process (and any other child) is gone
      return Status::FromErrno("waitpid", errno);
    }
    if (helper_count_.load(std::memory_order_acquire) > 0 && TakeHelper(tid, status)) continue;
    ThreadState* t = Find(tid);
    if (t == nullptr) {
      t = Add(tid, ProbeTgid(tid));  // a new task whose parent's event has not been seen yet
      if (t->pid == tid) CountProcess(t);
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      OnDeath(tid, t, status);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (!t->started) {
      t->started = true;
      if (event == PTRACE_EVENT_STOP) {  // the initial stop of an auto-attached task
        Resume(tid, t, 0);
        continue;
      }
    }
    if (sig == (SIGTRAP | 0x80)) {
      OnSyscallExit(tid, t);
      continue;
    }
    switch (event) {
      case PTRACE_EVENT_SECCOMP:
        OnSeccompStop(tid, t);
        break;
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE:
        OnNewTask(tid, t);
        break;
      case PTRACE_EVENT_EXEC:
        OnExec(tid, &t);
        break;
      case PTRACE_EVENT_STOP:
        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
          // Group-stop: keep it stopped without holding it in a ptrace stop.
          (void)ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);
        } else {
          Resume(tid, t, 0);
        }
        break;
      case 0:
        Resume(tid, t, sig);  // signal-delivery-stop: deliver the real signal
        break;
      default:
        Resume(tid, t, 0);
        break;
    }
  }
  threads_.clear();
  outcome_.path_base_opens = paths_.base_opens();

  if (error_pipe_.valid()) {
    ChildFailure f{};
    ssize_t n = RetryEintr([&] { return read(error_pipe_.get(), &f, sizeof(f)); });
    error_pipe_.reset();
    if (n == static_cast<ssize_t>(sizeof(f))) {
      if (f.stage == kStageSetup) {
        return Status::PermissionDenied(std::string("cannot install the seccomp filter in the agent: ") +
                                        std::strerror(f.err) +
                                        " (seccomp must be available and not forbidden by a container profile)");
      }
      outcome_.exec_errno = f.err;
    }
  }
  return outcome_;
}

namespace {

// File events fail as a permission problem of the file; the rest as an operation not permitted. But
// a call that needs an existing object whose path does not exist fails with ENOENT, as it would have
// without the policy: programs probe paths (execvp's PATH search, configuration lookups) and take
// ENOENT as "try the next one", EACCES or EPERM as an error. The call is skipped either way.
int DenyErrno(const Event& ev) {
  const EventKind kind = ev.kind;
  int err = static_cast<uint16_t>(kind) <= static_cast<uint16_t>(EventKind::kFileRmdir) ? EACCES : EPERM;
  bool needs_existing = false;
  switch (kind) {
    case EventKind::kFileOpen: needs_existing = (ev.flags & O_CREAT) == 0; break;
    case EventKind::kExec:
    case EventKind::kFileDelete:
    case EventKind::kFileRmdir:
    case EventKind::kFileChmod:
    case EventKind::kFileChown:
    case EventKind::kFileTruncate: needs_existing = true; break;
    default: break;
  }
  if (!needs_existing || ev.path.empty() || ev.path[0] != '/') return err;
  struct stat st;
  if (lstat(ev.path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) return errno;
  return err;
}

}  // namespace

bool Tracer::DecideEntry(pid_t tid, ThreadState* t) {
  options_.decider->DecideInto(t->ev, &decision_);
  const RequestDecision& d = decision_;
  if (d.verdict == RequestVerdict::kAllow) return true;
  if (options_.mode == EnforceMode::kAudit) {
    ++(d.verdict == RequestVerdict::kDeny ? outcome_.would_deny : outcome_.would_ask);
    return true;
  }
  if (d.verdict == RequestVerdict::kAsk) {
    // The tid travels in the ticket so that the worker can post the answer without a lookup.
    uint64_t ticket = (++next_ticket_ << 32) | static_cast<uint32_t>(tid);
    if (ask_worker_ && ask_worker_->Submit(ticket, t->ev, d)) {
      t->parked = true;
      t->ask_ticket = ticket;
      t->in_syscall = true;  // a death while parked closes the call (OnDeath)
      t->decision = d;
      return false;  // left in its stop until OnAnswer
    }
    AskAnswer refused{false, ask_worker_ ? "deny (too many asks pending)" : "deny (no ask resolver)"};
    Emit(MakeAnswerEvent(t->ev, d, options_.mode, refused));
    ++outcome_.asks_denied;
  }
  t->decision = d;  // named by a decision.failed event if the denial cannot be applied
  ApplyDeny(tid, t, DenyErrno(t->ev), /*refusal=*/false);
  return false;
}

void Tracer::ApplyDeny(pid_t tid, ThreadState* t, int err, bool refusal) {
  t->refusal = refusal;
  // The call's event is closed at the thread's death if the skip fails (it never ran: -EINTR).
  t->in_syscall = true;
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) {
    // ESRCH: the thread was killed in its stop (a sibling's exit_group, SIGKILL): the call can no
    // longer run, and its death is reported next.
    if (errno != ESRCH) FailEnforcement(tid, t, std::string("PTRACE_GETREGS: ") + std::strerror(errno));
    return;
  }
  regs.orig_rax = static_cast<unsigned long long>(-1);  // skip the call
  regs.rax = static_cast<unsigned long long>(-static_cast<long long>(err));
  user_regs_struct check;
  bool written;
  if (options_.test_fail_skip_writes) {
    errno = EIO;
    written = false;
  } else if (options_.test_skip_not_held) {
    written = true;  // and the call stays in place: FinishDenied must see that it ran
  } else {
    written = ptrace(PTRACE_SETREGS, tid, nullptr, &regs) == 0 && ptrace(PTRACE_GETREGS, tid, nullptr, &check) == 0 &&
              check.orig_rax == static_cast<unsigned long long>(-1);
  }
  if (!written) {
    if (errno == ESRCH) return;
    FailEnforcement(tid, t, std::string("cannot skip the system call: ") + std::strerror(errno));
    return;
  }
  t->deny_errno = err;
  t->ev.result = -err;
  if (refusal) {
    ++outcome_.refused;
  } else {
    ++outcome_.denied;
    if (err == ENOENT || err == ENOTDIR) ++outcome_.denied_missing;
  }
  Resume(tid, t, 0);  // PTRACE_SYSCALL: the exit stop confirms the result
}

void Tracer::FinishDenied(pid_t tid, ThreadState* t) {
  const int err = t->deny_errno;
  __ptrace_syscall_info info{};
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info);
  if (n <= 0 || info.op != PTRACE_SYSCALL_INFO_EXIT || info.exit.rval != -err) {
    // The skip did not hold: the call may have run. Set the result all the same, and stop the agent.
    user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0) {
      regs.rax = static_cast<unsigned long long>(-static_cast<long long>(err));
      (void)ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
    }
    FailEnforcement(tid, t,
                    "the denied call was not skipped (result " + std::to_string(n > 0 ? info.exit.rval : 0) + ")");
  }
  t->deny_errno = 0;
  FinishPending(t, -err);
  Resume(tid, t, 0);
}

void Tracer::FailEnforcement(pid_t tid, ThreadState* t, const std::string& why) {
  // A refusal has no rule to name: the reason says what the recorder refused.
  Emit(MakeDecisionFailedEvent(t->ev, t->decision, t->refusal ? t->decision.reason + " (" + why + ")" : why));
  std::fprintf(stderr, "agenttrace: %s: a %s call of process %d could not be blocked (%s): killing the agent\n",
               options_.decider != nullptr ? "run" : "record", t->refusal ? "refused" : "denied", t->pid, why.c_str());
  if (!outcome_.enforcement_failed) {
    outcome_.enforcement_failed = true;
    outcome_.enforcement_failure = why;
  }
  (void)syscall(SYS_tgkill, t->pid, tid, SIGKILL);  // first the thread in its stop: the call never runs
  killing_ = true;
  std::vector<StoppedProcess> reached = SignalAll(SIGKILL, 0);
  EmitControl("kill", SIGKILL, std::string(t->refusal ? "a refusal" : "a denial") + " could not be applied: " + why,
              reached);
  outcome_.killed.insert(outcome_.killed.end(), reached.begin(), reached.end());
}

void Tracer::OnAnswer(pid_t tid, uint64_t ticket, const AskAnswer& answer) {
  ThreadState* t = Find(tid);
  if (t == nullptr || !t->parked || t->ask_ticket != ticket) return;  // it died meanwhile
  t->parked = false;
  t->in_syscall = false;
  Emit(MakeAnswerEvent(t->ev, t->decision, options_.mode, answer));
  mem_.Invalidate();
  paths_.Invalidate();
  if (answer.allow) {
    ++outcome_.asks_allowed;
    ContinueEntry(tid, t);
  } else {
    ++outcome_.asks_denied;
    ApplyDeny(tid, t, DenyErrno(t->ev), /*refusal=*/false);
  }
}

void Tracer::PostAnswer(pid_t tid, uint64_t ticket, const AskAnswer& answer) {
  {
    std::lock_guard lock(requests_mu_);
    Request r;
    r.answer = true;
    r.tid = tid;
    r.ticket = ticket;
    r.ans = answer;
    requests_.push_back(std::move(r));
    posted_.fetch_add(1, std::memory_order_release);
  }
  // A wake that lands just before Run() blocks is lost: repeat it until the answer is taken up.
  while (RequestsPending() && run_tid_.load(std::memory_order_acquire) != 0) {
    Wake();
    usleep(2000);
  }
}

pid_t Tracer::SpawnHelper(const std::function<pid_t()>& fork_child) {
  std::lock_guard lock(helpers_mu_);  // held across the fork: Run() cannot reap it unrecognised
  pid_t pid = fork_child();
  if (pid > 0) {
    helpers_[pid] = std::nullopt;
    helper_count_.fetch_add(1, std::memory_order_release);
  }
  return pid;
}

std::optional<int> Tracer::WaitHelper(pid_t pid, std::chrono::milliseconds timeout) {
  std::unique_lock lock(helpers_mu_);
  auto done = [&] {
    auto it = helpers_.find(pid);
    return it == helpers_.end() || it->second.has_value();
  };
  if (!helpers_cv_.wait_for(lock, timeout, done)) return std::nullopt;
  auto it = helpers_.find(pid);
  if (it == helpers_.end()) return std::nullopt;
  int status = *it->second;
  helpers_.erase(it);
  helper_count_.fetch_sub(1, std::memory_order_release);
  return status;
}

bool Tracer::TakeHelper(pid_t pid, int status) {
  std::lock_guard lock(helpers_mu_);
  auto it = helpers_.find(pid);
  if (it == helpers_.end()) return false;
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    it->second = status;
    helpers_cv_.notify_all();
  }
  return true;
}

}  // namespace agenttrace
