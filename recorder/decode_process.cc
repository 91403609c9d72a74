// Decoders of the process family (fork/vfork/clone/clone3, execve/execveat) and of escape attempts
// (io_uring, ptrace, process_vm_*, seccomp, prctl(PR_SET_SECCOMP), mount, namespaces, chroot).
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "format/unique_fd.h"
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

// What the kernel will run, for a decision at entry: the executable walked as the kernel walks it
// (symlinks followed), and for a script the interpreter of its "#!" line, to the kernel's depth of 4
// (BINPRM_MAX_RECURSION). Into ev->resolved when it differs from ev->path. Uses the raw path in
// env.scratch. After a successful exec, /proc/PID/exe replaces it (the same object, unless raced).
void ExecTarget(const SyscallCall& c, DecodeEnv& env, int dirfd, uint64_t flags, Event* ev) {
  std::string target;
  if (env.scratch.empty() ||
      !env.paths->KernelPath(c.tid, dirfd, env.scratch, (flags & AT_SYMLINK_NOFOLLOW) == 0, &target, false,
                             /*must_exist=*/true)) {
    target = ev->path;
  }
  for (int depth = 0; depth < 4; ++depth) {
    UniqueFd fd(open(target.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat st;
    if (!fd.valid() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) break;
    char buf[256];  // BINPRM_BUF_SIZE: what the kernel reads of the "#!" line
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 3 || buf[0] != '#' || buf[1] != '!') break;
    ssize_t i = 2;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t')) ++i;
    ssize_t j = i;
    while (j < n && buf[j] != ' ' && buf[j] != '\t' && buf[j] != '\n' && buf[j] != '\0') ++j;
    if (j == i) break;
    const std::string interp(buf + i, static_cast<size_t>(j - i));
    std::string next;
    if (!env.paths->KernelPath(c.tid, AT_FDCWD, interp, true, &next, false, /*must_exist=*/true)) {
      env.paths->Resolve(c.tid, AT_FDCWD, interp, false, &next);
    }
    target = std::move(next);
  }
  if (target != ev->path) ev->resolved = std::move(target);
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
    if (env.resolve_opens_at_entry && !ev->path.empty()) ExecTarget(c, env, dirfd, flags, ev);
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

// Reads the new image's argv from /proc/PID/cmdline into *out, each entry cut at kMaxArgBytes like the
// entry-time read, raw (not redacted). Bounded a little beyond the entry-time bounds, so that an
// interpreter's few leading entries (a script's "#!") still leave the whole entry-time argv in view.
// False if it cannot be read.
constexpr size_t kCmdlineSlackEntries = 8;  // 2 per "#!" level, 4 levels (BINPRM_MAX_RECURSION)

bool ReadCmdline(pid_t pid, std::vector<std::string>* out) {
  out->clear();
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
  UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  const size_t max_entries = kMaxArgvEntries + kCmdlineSlackEntries;
  const size_t max_bytes = kMaxArgvBytes + kCmdlineSlackEntries * kMaxArgBytes;
  size_t total = 0;
  bool open_entry = false;
  char buf[16384];
  while (out->size() < max_entries && total < max_bytes) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    for (ssize_t i = 0; i < n && out->size() <= max_entries; ++i) {
      if (!open_entry) {
        out->emplace_back();
        open_entry = true;
      }
      if (buf[i] == '\0') {
        open_entry = false;
        continue;
      }
      std::string& arg = out->back();
      if (arg.size() < kMaxArgBytes) {
        arg.push_back(buf[i]);
        ++total;
      }
    }
  }
  if (out->size() > max_entries) out->resize(max_entries);
  return true;
}

// TOCTOU check of an exec, at its PTRACE_EVENT_EXEC stop: the argv was read from tracee memory at the
// seccomp stop, and another thread may have rewritten it before the kernel copied it. The new image's
// /proc/PID/cmdline is the kernel's copy, and nothing of the new image has run yet to change it.
// Equal when they match entry by entry under the entry-time bounds; a script started through "#!"
// matches when the interpreter's leading entries are followed by the script's path and argv[1...].
// On a disagreement the event's argv becomes the kernel's copy (bounded like the entry-time read;
// redacted on its way to the store like any argv). The escape's text names the entry that changed,
// never its values: a value is only redactable in the context of its neighbours (`--token X`).
void CheckExecArgv(const SyscallCall& c, DecodeEnv& env, Event* ev) {
  std::vector<std::string>& cmd = env.cmdline;
  if (!ReadCmdline(c.pid, &cmd)) return;
  const std::vector<std::string>& argv = ev->argv;
  size_t entry_total = 0;
  for (const std::string& a : argv) entry_total += a.size();
  const bool entry_cut = entry_total >= kMaxArgvBytes || argv.size() >= kMaxArgvEntries;
  // Linux gives an exec with an empty argv one empty entry.
  if (argv.empty() && cmd.size() == 1 && cmd[0].empty()) return;
  // Entries argv[from...] against cmd[skip + from...].
  auto matches = [&](size_t skip, size_t from) {
    if (cmd.size() < skip + argv.size()) return false;
    if (!entry_cut && cmd.size() != skip + argv.size()) return false;
    for (size_t i = from; i < argv.size(); ++i) {
      if (argv[i] != cmd[skip + i]) return false;
    }
    return true;
  };
  if (matches(0, 0)) return;
  for (size_t skip = 1; skip <= kCmdlineSlackEntries && !argv.empty() && skip < cmd.size(); ++skip) {
    const std::string& script = cmd[skip];
    bool is_script_path = script.rfind("/dev/fd/", 0) == 0;  // execveat by descriptor
    if (!is_script_path) {
      env.paths->Resolve(c.pid, AT_FDCWD, script, false, &env.scratch);
      is_script_path = env.scratch == ev->path;
    }
    if (is_script_path && matches(skip, 1)) return;
  }

  size_t i = 0;
  while (i < argv.size() && i < cmd.size() && argv[i] == cmd[i]) ++i;
  if (i < argv.size() && i < cmd.size()) {
    env.toctou = "toctou: exec argv[" + std::to_string(i) + "] changed";
  } else {
    env.toctou = "toctou: exec argv changed from " + std::to_string(argv.size()) + " to " +
                 std::to_string(cmd.size()) + " entries";
  }
  ev->argv.clear();
  size_t total = 0;
  for (size_t k = 0; k < cmd.size() && k < kMaxArgvEntries && total < kMaxArgvBytes; ++k) {
    ev->argv.push_back(cmd[k]);
    total += cmd[k].size();
  }
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
    case Decoder::kOpenByHandle:
      // open_by_handle_at(mount_fd, handle, flags): a file opened by inode, with no path to decide on
      // before it runs.
      ev->flags = a[2];
      if (env.refuse_undecidable) act->deny_errno = EPERM;
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
        ev->resolved.clear();  // the entry-time reading gives way to the kernel's fact
        if (n > 0 && n < static_cast<ssize_t>(sizeof(buf)) && std::string_view(buf, n) != ev->path) {
          ev->resolved.assign(buf, n);
        }
        CheckExecArgv(c, env, ev);
      }
      break;
    default:
      break;
  }
}

}  // namespace agenttrace
