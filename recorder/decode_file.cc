// Decoders of the file family: open/creat/mknod, unlink/rmdir, rename, link/symlink, mkdir, chmod,
// chown, truncate, and the other metadata writes (utime*, *xattr*), recorded as file.chmod with
// a kMeta* flag. Paths are made absolute against the caller's cwd or dirfd at the time of
// the call.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cstring>

#include "recorder/decode.h"

namespace agenttrace {
namespace {

int AsFd(uint64_t arg) { return static_cast<int>(static_cast<int32_t>(arg)); }

// Reads the path at `addr` and resolves it against `dirfd` into *out.
void PathArg(const SyscallCall& c, DecodeEnv& env, int dirfd, uint64_t addr, bool empty_means_fd,
             std::string* out) {
  if (!env.mem->ReadString(c.tid, addr, kMaxPathBytes, &env.scratch)) {
    out->clear();  // NULL or unreadable pointer: the kernel will answer EFAULT, recorded as result
    return;
  }
  env.paths->Resolve(c.tid, dirfd, env.scratch, empty_means_fd, out);
}

// After PathArg: when the path as the kernel will walk it (symlinked directories, ".." across a
// symlink) names another object than the lexical path, records that one in *resolved. Uses the raw
// string PathArg left in env.scratch.
// `must_exist`: as PathResolver::KernelPath's (an open without O_CREAT).
void KernelArg(const SyscallCall& c, DecodeEnv& env, int dirfd, bool follow_last, const std::string& lexical,
               std::string* resolved, bool must_exist = false) {
  if (lexical.empty()) return;
  if (env.paths->KernelPath(c.tid, dirfd, env.scratch, follow_last, &env.scratch2, false, must_exist) &&
      env.scratch2 != lexical) {
    resolved->assign(env.scratch2);
  }
}

void FdArg(const SyscallCall& c, DecodeEnv& env, uint64_t fd_arg, std::string* out) {
  if (!env.paths->FdPath(c.tid, AsFd(fd_arg), out)) out->clear();
}

// Longest extended attribute name (XATTR_NAME_MAX); a longer one is refused by the kernel (ERANGE).
constexpr size_t kMaxXattrName = 255;

// A metadata write other than chmod (format/event.h, kMeta*): `what` in flags, and for an extended
// attribute its name in path2, so that a reviewer tells a timestamp from an ACL
// (system.posix_acl_access) or a file capability (security.capability).
void MetadataWrite(const SyscallCall& c, DecodeEnv& env, uint64_t what, uint64_t name_addr, Event* ev) {
  ev->kind = EventKind::kFileChmod;
  ev->flags |= what;
  if (what != kMetaTimes && !env.mem->ReadString(c.tid, name_addr, kMaxXattrName, &ev->path2)) ev->path2.clear();
}

uint32_t CreateMode(uint64_t flags, uint64_t mode) {
  return (flags & (O_CREAT | __O_TMPFILE)) ? static_cast<uint32_t>(mode & 07777) : 0;
}

// openat2's path into *out, the raw string left in env.scratch as PathArg leaves it; RESOLVE_IN_ROOT
// walks with dirfd as "/": "/x" and a symlink to "/x" name dirfd/x. Returns whether it is in_root.
bool Openat2Path(const SyscallCall& c, DecodeEnv& env, std::string* out) {
  const auto& a = c.args;
  PathArg(c, env, AsFd(a[0]), a[1], false, out);
  open_how how{};
  size_t size = a[3] < sizeof(how) ? a[3] : sizeof(how);
  const bool in_root = env.mem->Read(c.tid, a[2], &how, size) && (how.resolve & RESOLVE_IN_ROOT) != 0;
  if (in_root && !env.scratch.empty() && env.scratch[0] == '/') {
    size_t from = env.scratch.find_first_not_of('/');
    env.scratch.erase(0, from == std::string::npos ? env.scratch.size() : from);
    env.paths->Resolve(c.tid, AsFd(a[0]), env.scratch, true, out);
  }
  return in_root;
}

// The object an open of ev->path (its raw string in env.scratch, ev->flags set) reaches, into
// ev->resolved when it is not the lexical path: `run` asks at entry for every open; `record` asks
// after an open that failed on an existing object (ResolveFailedOpen), so that both know the same.
// `in_root`: an openat2 with RESOLVE_IN_ROOT (Openat2Path).
void ResolveOpen(const SyscallCall& c, DecodeEnv& env, Event* ev, bool in_root = false) {
  const bool follow = (ev->flags & O_NOFOLLOW) == 0, must_exist = (ev->flags & O_CREAT) == 0;
  if (c.info->decoder == Decoder::kOpenat2) {
    if (!ev->path.empty() && env.paths->KernelPath(c.tid, AsFd(c.args[0]), env.scratch, follow, &env.scratch2,
                                                   in_root, must_exist) &&
        env.scratch2 != ev->path) {
      ev->resolved.assign(env.scratch2);
    }
    return;
  }
  KernelArg(c, env, c.info->decoder == Decoder::kOpen ? AT_FDCWD : AsFd(c.args[0]), follow, ev->path, &ev->resolved,
            must_exist);
}

// `record` resolves an open only from the descriptor it returns. One that failed on an object that
// exists (EACCES, EISDIR, ELOOP, EEXIST...) gets the kernel's path now, as `run` decided it at entry:
// otherwise a policy suggested from clean recordings saw only the lexical path (the allowed side of a
// symlinked directory) and `run` denied the same attempt. ENOENT and ENOTDIR: nothing is there, and
// both keep the lexical path (PathResolver::KernelPath's `must_exist`). The path is read again: the
// call is over, so the object is what it failed on unless the agent changed it meanwhile.
void ResolveFailedOpen(const SyscallCall& c, int64_t result, DecodeEnv& env, Event* ev) {
  if (env.resolve_opens_at_entry || result >= 0 || result == -ENOENT || result == -ENOTDIR || ev->path.empty()) return;
  std::string lexical;
  bool in_root = false;
  switch (c.info->decoder) {
    case Decoder::kOpen:
      PathArg(c, env, AT_FDCWD, c.args[0], false, &lexical);
      break;
    case Decoder::kOpenat:
      PathArg(c, env, AsFd(c.args[0]), c.args[1], false, &lexical);
      break;
    case Decoder::kOpenat2:
      in_root = Openat2Path(c, env, &lexical);
      break;
    default:
      return;
  }
  if (lexical != ev->path) return;  // the buffer changed since entry: keep what the entry read
  ResolveOpen(c, env, ev, in_root);
}

}  // namespace

EntryAction DecodeFileEntry(const SyscallCall& c, DecodeEnv& env, Event* ev) {
  const auto& a = c.args;
  EntryAction act;
  switch (c.info->decoder) {
    case Decoder::kOpen:
      ev->kind = EventKind::kFileOpen;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      ev->flags = a[1];
      ev->mode = CreateMode(a[1], a[2]);
      if (env.resolve_opens_at_entry) ResolveOpen(c, env, ev);
      break;
    case Decoder::kOpenat:
      ev->kind = EventKind::kFileOpen;
      PathArg(c, env, AsFd(a[0]), a[1], false, &ev->path);
      ev->flags = a[2];
      ev->mode = CreateMode(a[2], a[3]);
      if (env.resolve_opens_at_entry) ResolveOpen(c, env, ev);
      break;
    case Decoder::kOpenat2: {
      ev->kind = EventKind::kFileOpen;
      const bool in_root = Openat2Path(c, env, &ev->path);
      open_how how{};
      size_t size = a[3] < sizeof(how) ? a[3] : sizeof(how);
      if (env.mem->Read(c.tid, a[2], &how, size)) {
        ev->flags = how.flags;
        ev->mode = CreateMode(how.flags, how.mode);
      }
      if (env.resolve_opens_at_entry) ResolveOpen(c, env, ev, in_root);
      break;
    }
    case Decoder::kCreat:
      ev->kind = EventKind::kFileCreate;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      ev->flags = O_CREAT | O_WRONLY | O_TRUNC;
      ev->mode = static_cast<uint32_t>(a[1] & 07777);
      break;
    case Decoder::kMknod:
      ev->kind = EventKind::kFileCreate;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      ev->mode = static_cast<uint32_t>(a[1]);  // file type bits included
      KernelArg(c, env, AT_FDCWD, false, ev->path, &ev->resolved);
      break;
    case Decoder::kMknodat:
      ev->kind = EventKind::kFileCreate;
      PathArg(c, env, AsFd(a[0]), a[1], false, &ev->path);
      KernelArg(c, env, AsFd(a[0]), false, ev->path, &ev->resolved);
      ev->mode = static_cast<uint32_t>(a[2]);
      break;
    case Decoder::kUnlink:
      ev->kind = EventKind::kFileDelete;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, false, ev->path, &ev->resolved);
      break;
    case Decoder::kUnlinkat:
      ev->kind = (a[2] & AT_REMOVEDIR) ? EventKind::kFileRmdir : EventKind::kFileDelete;
      PathArg(c, env, AsFd(a[0]), a[1], false, &ev->path);
      KernelArg(c, env, AsFd(a[0]), false, ev->path, &ev->resolved);
      ev->flags = a[2];
      break;
    case Decoder::kRmdir:
      ev->kind = EventKind::kFileRmdir;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, false, ev->path, &ev->resolved);
      break;
    case Decoder::kRename:
      ev->kind = EventKind::kFileRename;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, false, ev->path, &ev->resolved);
      PathArg(c, env, AT_FDCWD, a[1], false, &ev->path2);
      KernelArg(c, env, AT_FDCWD, false, ev->path2, &ev->resolved2);
      break;
    case Decoder::kRenameat:
    case Decoder::kRenameat2:
      ev->kind = EventKind::kFileRename;
      PathArg(c, env, AsFd(a[0]), a[1], false, &ev->path);
      KernelArg(c, env, AsFd(a[0]), false, ev->path, &ev->resolved);
      PathArg(c, env, AsFd(a[2]), a[3], false, &ev->path2);
      KernelArg(c, env, AsFd(a[2]), false, ev->path2, &ev->resolved2);
      if (c.info->decoder == Decoder::kRenameat2) ev->flags = a[4];
      break;
    case Decoder::kLink:
      ev->kind = EventKind::kFileLink;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, false, ev->path, &ev->resolved2);  // the source: never followed
      PathArg(c, env, AT_FDCWD, a[1], false, &ev->path2);
      KernelArg(c, env, AT_FDCWD, false, ev->path2, &ev->resolved);  // link, symlink: of the new name
      break;
    case Decoder::kLinkat:
      ev->kind = EventKind::kFileLink;
      PathArg(c, env, AsFd(a[0]), a[1], (a[4] & AT_EMPTY_PATH) != 0, &ev->path);
      if ((a[4] & AT_EMPTY_PATH) == 0) {
        KernelArg(c, env, AsFd(a[0]), (a[4] & AT_SYMLINK_FOLLOW) != 0, ev->path, &ev->resolved2);
      }
      PathArg(c, env, AsFd(a[2]), a[3], false, &ev->path2);
      KernelArg(c, env, AsFd(a[2]), false, ev->path2, &ev->resolved);
      ev->flags = a[4];
      break;
    case Decoder::kSymlink:
    case Decoder::kSymlinkat: {
      ev->kind = EventKind::kFileSymlink;
      // path = the link text exactly as given (it is resolved only when the link is followed).
      if (!env.mem->ReadString(c.tid, a[0], kMaxPathBytes, &ev->path)) ev->path.clear();
      if (c.info->decoder == Decoder::kSymlink) {
        PathArg(c, env, AT_FDCWD, a[1], false, &ev->path2);
        KernelArg(c, env, AT_FDCWD, false, ev->path2, &ev->resolved);
      } else {
        PathArg(c, env, AsFd(a[1]), a[2], false, &ev->path2);
        KernelArg(c, env, AsFd(a[1]), false, ev->path2, &ev->resolved);
      }
      break;
    }
    case Decoder::kMkdir:
      ev->kind = EventKind::kFileMkdir;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, false, ev->path, &ev->resolved);
      ev->mode = static_cast<uint32_t>(a[1] & 07777);
      break;
    case Decoder::kMkdirat:
      ev->kind = EventKind::kFileMkdir;
      PathArg(c, env, AsFd(a[0]), a[1], false, &ev->path);
      KernelArg(c, env, AsFd(a[0]), false, ev->path, &ev->resolved);
      ev->mode = static_cast<uint32_t>(a[2] & 07777);
      break;
    case Decoder::kChmod:
      ev->kind = EventKind::kFileChmod;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, true, ev->path, &ev->resolved);
      ev->mode = static_cast<uint32_t>(a[1] & 07777);
      break;
    case Decoder::kFchmod:
      ev->kind = EventKind::kFileChmod;
      FdArg(c, env, a[0], &ev->path);
      ev->mode = static_cast<uint32_t>(a[1] & 07777);
      break;
    case Decoder::kFchmodat:
      ev->kind = EventKind::kFileChmod;
      PathArg(c, env, AsFd(a[0]), a[1], false, &ev->path);
      // fchmodat2 (nr 452) may say AT_SYMLINK_NOFOLLOW; fchmodat has no flags and follows.
      KernelArg(c, env, AsFd(a[0]), !(c.info->nr == 452 && (a[3] & AT_SYMLINK_NOFOLLOW)), ev->path, &ev->resolved);
      ev->mode = static_cast<uint32_t>(a[2] & 07777);
      break;
    case Decoder::kChown:  // chown and lchown
      ev->kind = EventKind::kFileChown;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, c.info->nr != 94, ev->path, &ev->resolved);  // lchown does not follow
      ev->uid = static_cast<uint32_t>(a[1]);
      ev->gid = static_cast<uint32_t>(a[2]);
      if (c.info->nr == 94) ev->flags = AT_SYMLINK_NOFOLLOW;  // lchown
      break;
    case Decoder::kFchown:
      ev->kind = EventKind::kFileChown;
      FdArg(c, env, a[0], &ev->path);
      ev->uid = static_cast<uint32_t>(a[1]);
      ev->gid = static_cast<uint32_t>(a[2]);
      break;
    case Decoder::kFchownat:
      ev->kind = EventKind::kFileChown;
      PathArg(c, env, AsFd(a[0]), a[1], (a[4] & AT_EMPTY_PATH) != 0, &ev->path);
      KernelArg(c, env, AsFd(a[0]), (a[4] & AT_SYMLINK_NOFOLLOW) == 0, ev->path, &ev->resolved);
      ev->uid = static_cast<uint32_t>(a[2]);
      ev->gid = static_cast<uint32_t>(a[3]);
      ev->flags = a[4];
      break;
    case Decoder::kTruncate:
      ev->kind = EventKind::kFileTruncate;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, true, ev->path, &ev->resolved);
      ev->size = static_cast<int64_t>(a[1]);
      break;
    case Decoder::kFtruncate:
      ev->kind = EventKind::kFileTruncate;
      FdArg(c, env, a[0], &ev->path);
      ev->size = static_cast<int64_t>(a[1]);
      break;
    case Decoder::kUtime:  // utime, utimes(path, times): follow the last symlink
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, true, ev->path, &ev->resolved);
      MetadataWrite(c, env, kMetaTimes, 0, ev);
      break;
    case Decoder::kUtimensat: {
      // utimensat(dirfd, path, times, flags), futimesat(dirfd, path, times): a NULL path means the
      // descriptor itself (as futimens), and so does "" with AT_EMPTY_PATH.
      const uint64_t flags = c.info->nr == SYS_utimensat ? (a[3] & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) : 0;
      if (a[1] == 0) {
        FdArg(c, env, a[0], &ev->path);
      } else {
        PathArg(c, env, AsFd(a[0]), a[1], (flags & AT_EMPTY_PATH) != 0, &ev->path);
        if (!env.scratch.empty()) {
          KernelArg(c, env, AsFd(a[0]), (flags & AT_SYMLINK_NOFOLLOW) == 0, ev->path, &ev->resolved);
        }
      }
      ev->flags = flags;
      MetadataWrite(c, env, kMetaTimes, 0, ev);
      break;
    }
    case Decoder::kXattr: {  // [l]setxattr, [l]removexattr(path, name, ...)
      const bool nofollow = c.info->nr == SYS_lsetxattr || c.info->nr == SYS_lremovexattr;
      const bool set = c.info->nr == SYS_setxattr || c.info->nr == SYS_lsetxattr;
      PathArg(c, env, AT_FDCWD, a[0], false, &ev->path);
      KernelArg(c, env, AT_FDCWD, !nofollow, ev->path, &ev->resolved);
      if (nofollow) ev->flags = AT_SYMLINK_NOFOLLOW;
      MetadataWrite(c, env, set ? kMetaXattrSet : kMetaXattrRemove, a[1], ev);
      break;
    }
    case Decoder::kFxattr:  // fsetxattr, fremovexattr(fd, name, ...)
      FdArg(c, env, a[0], &ev->path);
      MetadataWrite(c, env, c.info->nr == SYS_fsetxattr ? kMetaXattrSet : kMetaXattrRemove, a[1], ev);
      break;
    case Decoder::kXattrat:  // setxattrat, removexattrat(dirfd, path, at_flags, name, ...)
      PathArg(c, env, AsFd(a[0]), a[1], (a[2] & AT_EMPTY_PATH) != 0, &ev->path);
      if (!env.scratch.empty()) {
        KernelArg(c, env, AsFd(a[0]), (a[2] & AT_SYMLINK_NOFOLLOW) == 0, ev->path, &ev->resolved);
      }
      ev->flags = a[2] & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
      MetadataWrite(c, env, c.info->name[0] == 's' ? kMetaXattrSet : kMetaXattrRemove, a[3], ev);
      break;
    default:
      ev->kind = EventKind::kRaw;
      ev->text = c.info->name;
      break;
  }
  // A device node (mknod S_IFBLK/S_IFCHR, root only) opens a disk or memory beneath every path rule:
  // reading /dev/sda through ws/disk reads every file. No rule names a device, so enforce refuses it.
  if (env.refuse_undecidable && (c.info->decoder == Decoder::kMknod || c.info->decoder == Decoder::kMknodat) &&
      (S_ISBLK(ev->mode) || S_ISCHR(ev->mode))) {
    act.deny_errno = EPERM;
  }
  return act;
}

void DecodeFileExit(const SyscallCall& c, int64_t result, DecodeEnv& env, Event* ev) {
  if ((c.info->flags & kFdResult) == 0) return;
  if (result < 0) {
    ResolveFailedOpen(c, result, env, ev);
    return;
  }
  // The kernel's view of what was opened (symlinks followed): taken after the fact, so it is immune
  // to the tracee rewriting its path buffer between our read and the kernel's.
  if (env.paths->FdPath(c.tid, static_cast<int>(result), &env.scratch2)) {
    // Replaces what an entry-time resolution guessed (DecodeEnv::resolve_opens_at_entry).
    if (env.scratch2 != ev->path) {
      ev->resolved = env.scratch2;
    } else {
      ev->resolved.clear();
    }
  }
}

}  // namespace agenttrace
