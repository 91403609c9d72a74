// Decoders of the process family (fork/vfork/clone/clone3, execve/execveat) and of escape attempts
// (io_uring, ptrace, process_vm_*, seccomp, prctl(PR_SET_SECCOMP), mount, namespaces, chroot).
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <vector>

#include "recorder/decode.h"
#include "recorder/secrets.h"

namespace agenttrace {
namespace {

int AsFd(uint64_t arg) { return static_cast<int>(static_cast<int32_t>(arg)); }

// Appends to *out the entries of the NULL-terminated pointer array at `addr`, at most `max`.
// Reads the array page by page (one read per page, not per pointer).
void CollectPointers(DecodeEnv& env, pid_t tid, uint64_t addr, size_t max, std::vector<uint64_t>* out) {
  uint64_t buf[512];
  size_t count = 0;
  while (addr != 0 && count < max) {
    size_t bytes = 4096 - (addr % 4096);
    if (bytes < sizeof(uint64_t)) bytes = sizeof(uint64_t);  // misaligned array across a page edge
    size_t n = bytes / sizeof(uint64_t);
    if (n > max - count) n = max - count;
    if (!env.mem->Read(tid, addr, buf, n * sizeof(uint64_t))) return;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] == 0) return;
      out->push_back(buf[i]);
      ++count;
    }
    addr += n * sizeof(uint64_t);
  }
}

void DecodeExec(const SyscallCall& c, DecodeEnv& env, int dirfd, uint64_t path_addr, uint64_t argv_addr,
                uint64_t envp_addr, uint64_t flags, Event* ev) {
  ev->kind = EventKind::kExec;
  ev->flags = flags;
  // Two batched reads bring in most of what follows: the pages of the path and of both pointer
  // arrays, then the pages where the strings start.
  const uint64_t heads[] = {path_addr, argv_addr, envp_addr};
  env.mem->Prefetch(c.tid, heads, std::size(heads));
  if (env.mem->ReadString(c.tid, path_addr, kMaxPathBytes, &env.scratch)) {
    env.paths->Resolve(c.tid, dirfd, env.scratch, (flags & AT_EMPTY_PATH) != 0, &ev->path);
  }
  std::vector<uint64_t>& ptrs = env.pointers;
  ptrs.clear();
  CollectPointers(env, c.tid, argv_addr, kMaxArgvEntries, &ptrs);
  const size_t argc = ptrs.size();
  CollectPointers(env, c.tid, envp_addr, kMaxEnvEntries, &ptrs);
  env.mem->Prefetch(c.tid, ptrs.data(), ptrs.size());

  size_t total = 0;
  for (size_t i = 0; i < argc && total < kMaxArgvBytes; ++i) {
    ev->argv.emplace_back();
    std::string& arg = ev->argv.back();
    env.mem->ReadString(c.tid, ptrs[i], kMaxArgBytes, &arg);
    total += arg.size();
  }
  // Environment: names only. A variable is secret by its name and the shape of its value; the
  // value is read (bounded) for that test and never kept.
  for (size_t i = argc; i < ptrs.size(); ++i) {
    if (!env.mem->ReadString(c.tid, ptrs[i], kMaxEnvEntryBytes, &env.scratch2)) continue;
    std::string_view entry = env.scratch2;
    size_t eq = entry.find('=');
    std::string_view name = entry.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : entry.substr(eq + 1);
    ev->env_names.emplace_back(name);
    if (IsSecretEnv(name, value)) ev->secret_env_names.emplace_back(name);
  }
  // Do not keep a value around longer than needed.
  env.scratch2.assign(env.scratch2.size(), '\0');
  env.mem->Wipe();
}

void SpawnEntry(uint64_t flags, Event* ev, EntryAction* act) {
  ev->kind = EventKind::kProcSpawn;
  ev->flags = flags;
  ev->is_thread = (flags & CLONE_THREAD) != 0;
  act->untraced_clone = (flags & CLONE_UNTRACED) != 0;
}

void EscapeEntry(const SyscallCall& c, DecodeEnv& env, Event* ev, EntryAction* act) {
  const auto& a = c.args;
  ev->kind = EventKind::kEscape;
  ev->text = c.info->name;
  switch (c.info->nr) {
    case 165:  // mount(source, target, fstype, flags, data)
      env.mem->ReadString(c.tid, a[0], kMaxPathBytes, &ev->path2);
      if (env.mem->ReadString(c.tid, a[1], kMaxPathBytes, &env.scratch)) {
        env.paths->Resolve(c.tid, AT_FDCWD, env.scratch, false, &ev->path);
      }
      ev->flags = a[3];
      break;
    case 166:  // umount2(target, flags)
    case 161:  // chroot(path)
      if (env.mem->ReadString(c.tid, a[0], kMaxPathBytes, &env.scratch)) {
        env.paths->Resolve(c.tid, AT_FDCWD, env.scratch, false, &ev->path);
      }
      if (c.info->nr == 166) ev->flags = a[1];
      break;
    case 155:  // pivot_root(new_root, put_old)
      if (env.mem->ReadString(c.tid, a[0], kMaxPathBytes, &env.scratch)) {
        env.paths->Resolve(c.tid, AT_FDCWD, env.scratch, false, &ev->path);
      }
      if (env.mem->ReadString(c.tid, a[1], kMaxPathBytes, &env.scratch)) {
        env.paths->Resolve(c.tid, AT_FDCWD, env.scratch, false, &ev->path2);
      }
      break;
    default:
      break;
  }
  switch (c.info->decoder) {
    case Decoder::kIoUringSetup:
      // io_uring submissions bypass syscall tracing: answer ENOSYS so that software falls back to
      // plain syscalls, unless the user allowed io_uring (then only the attempt is on record).
      if (!env.allow_io_uring) act->deny_errno = ENOSYS;
      break;
    case Decoder::kSeccomp:
      // A listener (SECCOMP_RET_USER_NOTIF) would let the tracee answer its own syscalls before our
      // TRACE action sees them: refuse it.
      if (a[0] == SECCOMP_SET_MODE_FILTER && (a[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0) {
        act->deny_errno = EPERM;
      }
      ev->flags = a[1];
      break;
    default:
      break;
  }
}

}  // namespace

EntryAction DecodeProcessEntry(const SyscallCall& c, DecodeEnv& env, Event* ev) {
  const auto& a = c.args;
  EntryAction act;
  switch (c.info->decoder) {
    case Decoder::kFork:
      SpawnEntry(SIGCHLD, ev, &act);
      break;
    case Decoder::kVfork:
      SpawnEntry(CLONE_VM | CLONE_VFORK | SIGCHLD, ev, &act);
      break;
    case Decoder::kClone:
      SpawnEntry(a[0], ev, &act);
      if (act.untraced_clone) {
        act.set_arg0 = true;  // keep the child under the tracer
        act.new_arg0 = a[0] & ~static_cast<uint64_t>(CLONE_UNTRACED);
      }
      break;
    case Decoder::kClone3: {
      uint64_t flags = 0;
      if (a[1] >= sizeof(flags) && env.mem->Read(c.tid, a[0], &flags, sizeof(flags))) {
        SpawnEntry(flags, ev, &act);
        if (act.untraced_clone) {
          act.poke = true;
          act.poke_addr = a[0];  // clone_args.flags is the first field
          act.poke_value = flags & ~static_cast<uint64_t>(CLONE_UNTRACED);
        }
      } else {
        SpawnEntry(0, ev, &act);  // unreadable struct: the kernel will answer EFAULT
      }
      break;
    }
    case Decoder::kExecve:
      DecodeExec(c, env, AT_FDCWD, a[0], a[1], a[2], 0, ev);
      break;
    case Decoder::kExecveat:
      DecodeExec(c, env, AsFd(a[0]), a[1], a[2], a[3], a[4], ev);
      break;
    default:
      EscapeEntry(c, env, ev, &act);
      break;
  }
  return act;
}

void DecodeProcessExit(const SyscallCall& c, int64_t result, DecodeEnv& env, Event* ev) {
  switch (ev->kind) {
    case EventKind::kProcSpawn:
      if (result > 0) ev->child_pid = static_cast<int32_t>(result);
      break;
    case EventKind::kExec:
      // After a successful exec the thread is the group leader; /proc/PID/exe is what really runs
      // (symlinks such as /bin/sh -> dash followed).
      if (result == 0) {
        char proc[64];
        std::snprintf(proc, sizeof(proc), "/proc/%d/exe", c.pid);
        char buf[4096];
        ssize_t n = readlink(proc, buf, sizeof(buf));
        if (n > 0 && n < static_cast<ssize_t>(sizeof(buf)) && std::string_view(buf, n) != ev->path) {
          ev->resolved.assign(buf, n);
        }
      }
      break;
    default:
      break;
  }
}

}  // namespace agenttrace
