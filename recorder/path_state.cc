#include "recorder/path_state.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>

namespace agenttrace {
namespace {

// The root directory of a procfs mount: where "self" and "thread-self" mean the caller.
bool IsProcRoot(int fd) {
  struct statfs fs;
  struct stat st;
  return fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC && fstat(fd, &st) == 0 && st.st_ino == 1;
}

bool IsProcFile(int fd) {
  struct statfs fs;
  return fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

// Appends the components of `p` to *out (which is absolute, "/" or "/x/y").
void AppendComponents(std::string_view p, std::string* out) {
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view comp = p.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      size_t pos = out->rfind('/');
      out->resize(pos == 0 || pos == std::string::npos ? 1 : pos);
      continue;
    }
    if (out->size() > 1) out->push_back('/');
    out->append(comp);
  }
}

}  // namespace

void NormalizePath(std::string_view base, std::string_view path, std::string* out) {
  out->assign("/");
  if (path.empty() || path[0] != '/') AppendComponents(base, out);
  AppendComponents(path, out);
}

TraceeMemory::TraceeMemory() : pages_(new char[kCachePages * kPageSize]) {}

void TraceeMemory::Wipe() {
  std::memset(pages_.get(), 0, kCachePages * kPageSize);
  Invalidate();
}

bool TraceeMemory::Cached(pid_t tid, uint64_t page_addr) const {
  for (size_t i = 0; i < used_; ++i) {
    if (slots_[i].addr == page_addr && slots_[i].tid == tid) return true;
  }
  return false;
}

size_t TraceeMemory::TakeSlot() {
  if (used_ < kCachePages) return used_++;
  size_t i = next_;
  next_ = (next_ + 1) % kCachePages;
  return i;
}

const char* TraceeMemory::Page(pid_t tid, uint64_t page_addr) {
  for (size_t i = 0; i < used_; ++i) {
    if (slots_[i].addr == page_addr && slots_[i].tid == tid) return pages_.get() + i * kPageSize;
  }
  size_t i = TakeSlot();
  slots_[i] = {0, 0};  // tid 0 matches no lookup until the page is in
  char* page = pages_.get() + i * kPageSize;
  // A page is mapped (and readable) as a whole, so reading all of it fails only where reading the
  // part that was asked for would.
  if (!ReadDirect(tid, page_addr, page, kPageSize)) return nullptr;
  slots_[i] = {tid, page_addr};
  return page;
}

void TraceeMemory::Prefetch(pid_t tid, const uint64_t* addrs, size_t n) {
  if (use_peek_) return;
  uint64_t want[kCachePages];
  size_t m = 0;
  for (size_t k = 0; k < n && m < kCachePages; ++k) {
    if (addrs[k] == 0) continue;
    uint64_t page_addr = addrs[k] & ~(kPageSize - 1);
    if (Cached(tid, page_addr) || std::find(want, want + m, page_addr) != want + m) continue;
    want[m++] = page_addr;
  }
  if (m == 0) return;
  size_t slot[kCachePages];
  iovec local[kCachePages], remote[kCachePages];
  for (size_t k = 0; k < m; ++k) {
    slot[k] = TakeSlot();
    slots_[slot[k]] = {0, 0};
    local[k] = {pages_.get() + slot[k] * kPageSize, kPageSize};
    remote[k] = {reinterpret_cast<void*>(want[k]), kPageSize};
  }
  // Stops at the first page that cannot be read; the ones before it are complete.
  ssize_t got = process_vm_readv(tid, local, m, remote, m, 0);
  size_t pages = got > 0 ? static_cast<size_t>(got) / kPageSize : 0;
  for (size_t k = 0; k < pages && k < m; ++k) slots_[slot[k]] = {tid, want[k]};
}

bool TraceeMemory::Read(pid_t tid, uint64_t addr, void* buf, size_t len) {
  if (addr == 0) return false;
  if (len == 0) return true;
  uint64_t page_addr = addr & ~(kPageSize - 1);
  if (use_peek_ || addr - page_addr + len > kPageSize) return ReadDirect(tid, addr, buf, len);
  const char* page = Page(tid, page_addr);
  if (page == nullptr) return false;
  std::memcpy(buf, page + (addr - page_addr), len);
  return true;
}

bool TraceeMemory::ReadDirect(pid_t tid, uint64_t addr, void* buf, size_t len) {
  if (!use_peek_) {
    iovec local{buf, len};
    iovec remote{reinterpret_cast<void*>(addr), len};
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n == static_cast<ssize_t>(len)) return true;
    if (n >= 0 || (errno != EPERM && errno != ENOSYS)) return false;
    use_peek_ = true;  // e.g. a container profile forbids process_vm_readv
    Invalidate();
  }
  return ReadPeek(tid, addr, buf, len);
}

bool TraceeMemory::ReadPeek(pid_t tid, uint64_t addr, void* buf, size_t len) {
  char* dst = static_cast<char*>(buf);
  uint64_t aligned = addr & ~uint64_t{7};
  size_t skip = addr - aligned;
  while (len > 0) {
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, tid, reinterpret_cast<void*>(aligned), nullptr);
    if (errno != 0) return false;
    size_t take = sizeof(word) - skip;
    if (take > len) take = len;
    std::memcpy(dst, reinterpret_cast<char*>(&word) + skip, take);
    dst += take;
    len -= take;
    aligned += sizeof(word);
    skip = 0;
  }
  return true;
}

bool TraceeMemory::ReadString(pid_t tid, uint64_t addr, size_t max, std::string* out, bool* truncated) {
  out->clear();
  if (truncated) *truncated = false;
  if (addr == 0) return false;
  // Page by page, so that a string ending just before an unmapped page is still read whole; the
  // first page usually holds the whole string.
  char peeked[kPageSize];
  while (true) {
    uint64_t page_addr = addr & ~(kPageSize - 1);
    size_t want = kPageSize - (addr - page_addr);
    size_t room = max - out->size() + 1;  // +1 to see the NUL at the limit
    if (want > room) want = room;
    const char* p;
    if (use_peek_) {
      p = ReadPeek(tid, addr, peeked, want) ? peeked : nullptr;
    } else {
      const char* page = Page(tid, page_addr);
      p = page == nullptr ? nullptr : page + (addr - page_addr);
    }
    if (p == nullptr) {
      if (out->empty()) return false;
      if (truncated) *truncated = true;  // ran into unreadable memory before a NUL
      return true;
    }
    const void* nul = std::memchr(p, 0, want);
    if (nul != nullptr) {
      out->append(p, static_cast<const char*>(nul) - p);
      return true;
    }
    out->append(p, want);
    if (out->size() > max) {
      out->resize(max);
      if (truncated) *truncated = true;
      return true;
    }
    addr += want;
  }
}

bool TraceeMemory::Write64(pid_t tid, uint64_t addr, uint64_t value) {
  Invalidate();
  return ptrace(PTRACE_POKEDATA, tid, reinterpret_cast<void*>(addr), reinterpret_cast<void*>(value)) == 0;
}

bool PathResolver::Cwd(pid_t tid, std::string* out) {
  if (tid != cwd_tid_) {
    std::snprintf(proc_path_, sizeof(proc_path_), "/proc/%d/cwd", tid);
    ssize_t n = readlink(proc_path_, link_, sizeof(link_));
    if (n <= 0 || n >= static_cast<ssize_t>(sizeof(link_))) return false;
    cwd_.assign(link_, n);
    cwd_tid_ = tid;
  }
  out->assign(cwd_);
  return true;
}

bool PathResolver::FdPath(pid_t tid, int fd, std::string* out) {
  if (fd < 0) return false;
  std::snprintf(proc_path_, sizeof(proc_path_), "/proc/%d/fd/%d", tid, fd);
  ssize_t n = readlink(proc_path_, link_, sizeof(link_));
  if (n <= 0 || n >= static_cast<ssize_t>(sizeof(link_))) return false;
  out->assign(link_, n);
  return true;
}

void PathResolver::Resolve(pid_t tid, int dirfd, std::string_view path, bool empty_path_means_fd, std::string* out) {
  if (!path.empty() && path[0] == '/') {
    NormalizePath("/", path, out);
    return;
  }
  if (path.empty() && !empty_path_means_fd) {
    out->clear();
    return;
  }
  bool ok = dirfd == AT_FDCWD ? Cwd(tid, &base_) : FdPath(tid, dirfd, &base_);
  if (!ok || base_.empty() || base_[0] != '/') {
    out->assign(path);
    return;
  }
  NormalizePath(base_, path, out);
}

bool PathResolver::OwnFdPath(int fd, std::string* out) {
  std::snprintf(proc_path_, sizeof(proc_path_), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(proc_path_, link_, sizeof(link_));
  if (n <= 0 || n >= static_cast<ssize_t>(sizeof(link_)) || link_[0] != '/') return false;
  std::string_view got(link_, static_cast<size_t>(n));
  static constexpr std::string_view kDeleted = " (deleted)";
  if (got.size() > kDeleted.size() && got.substr(got.size() - kDeleted.size()) == kDeleted) return false;
  out->assign(got);
  return true;
}

void PathResolver::EnableContextCache(bool on) {
  cache_contexts_ = on;
  contexts_.clear();
}

void PathResolver::InheritContexts(pid_t parent, pid_t child) {
  if (!cache_contexts_ || change_in_flight_ || contexts_.size() >= kMaxCachedContexts) return;
  auto from = contexts_.find(parent);
  if (from == contexts_.end()) return;
  Contexts copy = from->second;
  if (copy.root != nullptr && !copy.root->valid()) copy.root.reset();
  if (copy.cwd != nullptr && !copy.cwd->valid()) copy.cwd.reset();
  contexts_.try_emplace(child, std::move(copy));
}

void PathResolver::SetContextChangeInFlight(bool in_flight) {
  change_in_flight_ = in_flight;
  contexts_.clear();
}

int PathResolver::BaseFd(pid_t tid, int dirfd, bool absolute, UniqueFd* owned, bool* exact) {
  const bool contextual = absolute || dirfd == AT_FDCWD;  // a dirfd is the fd table's: not kept
  *exact = false;
  UniqueFd* slot = nullptr;
  Contexts* kept = nullptr;
  if (contextual && cache_contexts_ && !change_in_flight_) {
    auto it = contexts_.find(tid);
    if (it == contexts_.end() && contexts_.size() < kMaxCachedContexts) it = contexts_.try_emplace(tid).first;
    if (it != contexts_.end()) {
      kept = &it->second;
      std::shared_ptr<UniqueFd>& held = absolute ? kept->root : kept->cwd;
      // Never filled in place: the descriptor may be shared with a parent or child.
      if (held == nullptr || !held->valid()) held = std::make_shared<UniqueFd>();
      slot = held.get();
      if (slot->valid()) {
        *exact = ExactBase(tid, absolute, *kept);
        return slot->get();
      }
    }
  }
  if (absolute) {
    std::snprintf(proc_path_, sizeof(proc_path_), "/proc/%d/root", tid);
  } else if (dirfd == AT_FDCWD) {
    std::snprintf(proc_path_, sizeof(proc_path_), "/proc/%d/cwd", tid);
  } else {
    std::snprintf(proc_path_, sizeof(proc_path_), "/proc/%d/fd/%d", tid, dirfd);
  }
  UniqueFd fd(open(proc_path_, O_PATH | O_DIRECTORY | O_CLOEXEC));
  ++base_opens_;
  if (!fd.valid()) return -1;
  if (slot == nullptr) {
    *owned = std::move(fd);
    return owned->get();
  }
  // A root is the tracer's own "/" unless the agent chrooted (or lives in another mount namespace
  // whose root is elsewhere): asked once per kept root, which only a trapped call can change.
  if (absolute) kept->root_is_slash = OwnFdPath(fd.get(), &base_) && base_ == "/";
  *slot = std::move(fd);
  *exact = ExactBase(tid, absolute, *kept);
  return slot->get();
}

bool PathResolver::ExactBase(pid_t tid, bool absolute, const Contexts& kept) {
  if (absolute) return kept.root_is_slash;
  // The cwd's path read at this stop (Resolve read it for the lexical path: cached) is the path of
  // the kept descriptor's directory: the same object, since a change of cwd drops the descriptor.
  static constexpr std::string_view kDeleted = " (deleted)";
  return Cwd(tid, &base_) && !base_.empty() && base_[0] == '/' && !base_.ends_with(kDeleted);
}

bool PathResolver::KernelPath(pid_t tid, int dirfd, std::string_view path, bool follow_last, std::string* out,
                              bool dirfd_is_root, bool must_exist) {
  if (path.empty() || path.size() >= sizeof(link_)) return false;
  // Split off the last component (trailing slashes belong to it: "rmdir d/" removes d).
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;
  size_t slash = path.rfind('/', end - 1);
  std::string_view last =
      slash == std::string_view::npos ? path.substr(0, end) : path.substr(slash + 1, end - slash - 1);
  bool whole = last.empty() || last == "." || last == "..";  // the path names a directory to walk
  // A bare name: the base (cwd or dirfd, from /proc) is already exact, so only a symlink in its place
  // can change the answer, and only when it is followed.
  const bool bare = slash == std::string_view::npos && !whole;
  if (bare && !follow_last) return false;
  bool absolute = path[0] == '/' && !dirfd_is_root;
  UniqueFd owned_base;  // when the base is not a cached context
  bool exact_base = false;
  int base = BaseFd(tid, dirfd, absolute, &owned_base, &exact_base);
  if (base < 0) return false;
  // Absolute symlinks met on a relative walk resolve in the tracer's root, which is the tracee's
  // unless the agent chroots (docs/threat-model.md). Absolute paths are walked relative to the
  // tracee's root (RESOLVE_IN_ROOT keeps ".." and absolute symlinks inside it, as the kernel does for
  // the tracee).
  const uint64_t resolve = absolute || dirfd_is_root ? RESOLVE_IN_ROOT : 0;
  if (exact_base && !dirfd_is_root) {
    // A path whose walk met a symlink lately goes straight to the full walk (a hint: whatever it
    // says, the answer is the kernel's walk; only the number of calls depends on it).
    const uint64_t key = std::hash<std::string_view>{}(path) ^ (follow_last ? 1 : 0);
    uint64_t& hint = symlinked_[key % kSymlinkHints];
    if (hint != key) {
      if (LexicalIsExact(base, path, follow_last, whole, slash, resolve)) return false;
      hint = key;  // the kernel's walk follows a symlink (or refuses a magic link): below
    }
  }
  bool ok = false;
  if (!whole && follow_last) {
    // The whole path first, from the same base, so that the leaf's symlink is followed as the kernel
    // does. It exists for most requests (reads, execs, writes to existing files), and then the parent's
    // walk below is not needed: that walk is a prefix of this one, so it cannot fail where this succeeded.
    size_t from = path.find_first_not_of('/');
    dir_part_.assign(from == std::string_view::npos ? std::string_view(".") : path.substr(from));
    open_how leaf{};
    leaf.flags = O_PATH | O_CLOEXEC;
    leaf.resolve = resolve;
    ++lookups_;
    int target = static_cast<int>(syscall(SYS_openat2, base, dir_part_.c_str(), &leaf, sizeof(leaf)));
    if (target >= 0) {
      ok = OwnFdPath(target, out);
      close(target);
      return ok;
    }
    if (errno == EXDEV || errno == ELOOP) {  // a /proc magic link on the way (RESOLVE_IN_ROOT refuses them)
      return WalkByHand(tid, base, path, follow_last, dirfd_is_root, out);
    }
    if (must_exist && (errno == ENOENT || errno == ENOTDIR)) return false;  // it will fail: lexical
  }
  if (bare) return false;  // not there yet (a create): the lexical path is the kernel's
  // The parent directory, walked by the kernel (the leaf does not exist yet, or is not followed).
  int dir = OpenWalkedDir(base, whole ? path : path.substr(0, slash == 0 ? 1 : slash), resolve);
  if (dir < 0 && (errno == EXDEV || errno == ELOOP)) {
    return WalkByHand(tid, base, path, follow_last, dirfd_is_root, out);
  }
  if (dir < 0) return false;
  struct stat st;
  if (must_exist && !whole && !follow_last && fstatat(dir, std::string(last).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 &&
      (errno == ENOENT || errno == ENOTDIR)) {
    // The leaf itself (not followed) is not there: the call fails with ENOENT, decided on the lexical
    // path as a recording knows it (the same rule as the followed case above).
    close(dir);
    return false;
  }
  if (whole) {
    ok = OwnFdPath(dir, out);
  } else if (OwnFdPath(dir, out)) {
    if (out->size() > 1) out->push_back('/');
    out->append(last);
    ok = true;
  }
  close(dir);
  return ok;
}

int PathResolver::OpenWalkedDir(int base, std::string_view dir, uint64_t resolve) {
  dir_part_.assign(dir);
  size_t skip = dir_part_.find_first_not_of('/');
  const char* rel = skip == std::string::npos ? "." : dir_part_.c_str() + skip;
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = resolve;
  ++lookups_;
  return static_cast<int>(syscall(SYS_openat2, base, rel, &how, sizeof(how)));
}

bool PathResolver::LexicalIsExact(int base, std::string_view path, bool follow_last, bool whole, size_t slash,
                                  uint64_t resolve) {
  // What the kernel walks: the whole path when its last component is followed or is itself a
  // directory to walk ("d/", "d/.."), else its parent. O_DIRECTORY: a walk that ends on a file fails
  // (ENOTDIR) after it, so most lookups leave no descriptor to close.
  int fd = OpenWalkedDir(base, whole || follow_last ? path : path.substr(0, slash == 0 ? 1 : slash),
                         resolve | RESOLVE_NO_SYMLINKS);
  if (fd >= 0) {
    close(fd);
    return true;
  }
  // ENOENT, ENOTDIR: the walk stopped at a component that is missing or not a directory (the leaf
  // included: an existing file), every one before it a real directory. The kernel's walk with
  // symlinks goes the same way: it fails before the parent (no parent: nothing to resolve), or ends
  // on the leaf (exists or not) under a parent whose path is the lexical one. ELOOP (a symlink), EXDEV
  // (a magic link) and anything else: the full walk decides.
  return errno == ENOENT || errno == ENOTDIR;
}

bool PathResolver::WalkByHand(pid_t tid, int base, std::string_view path, bool follow_last, bool base_is_root,
                              std::string* out) {
  std::snprintf(proc_path_, sizeof(proc_path_), "/proc/%d/root", tid);
  UniqueFd root(base_is_root ? fcntl(base, F_DUPFD_CLOEXEC, 0) : open(proc_path_, O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat root_st;
  if (!root.valid() || fstat(root.get(), &root_st) != 0) return false;
  UniqueFd cur(fcntl(path.starts_with('/') ? root.get() : base, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return false;
  std::string todo(path);
  size_t pos = 0;
  int links = 0;
  const std::string tid_name = std::to_string(tid);
  while (true) {
    pos = todo.find_first_not_of('/', pos);
    if (pos == std::string::npos) break;
    size_t end = todo.find('/', pos);
    if (end == std::string::npos) end = todo.size();
    std::string comp = todo.substr(pos, end - pos);
    pos = end;
    const bool last = todo.find_first_not_of('/', pos) == std::string::npos;
    if (comp == ".") continue;
    if (comp == "..") {
      struct stat st;
      if (fstat(cur.get(), &st) != 0) return false;
      if (st.st_dev == root_st.st_dev && st.st_ino == root_st.st_ino) continue;  // ".." of the root is the root
      cur = UniqueFd(openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!cur.valid()) return false;
      continue;
    }
    // The tracee's own /proc entries, not the tracer's ("thread-self" is near enough: /proc/TID is the
    // thread, with its process's descriptors).
    if ((comp == "self" || comp == "thread-self") && IsProcRoot(cur.get())) comp = tid_name;
    UniqueFd next(openat(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      if (!last || errno != ENOENT || !OwnFdPath(cur.get(), out)) return false;
      if (out->size() > 1) out->push_back('/');
      out->append(comp);  // not there yet (a create)
      return true;
    }
    struct stat st;
    if (fstat(next.get(), &st) != 0) return false;
    if (!S_ISLNK(st.st_mode) || (last && !follow_last)) {
      cur = std::move(next);
      continue;
    }
    if (++links > 40) return false;  // the kernel's own limit (ELOOP)
    ssize_t n = readlinkat(next.get(), "", link_, sizeof(link_));
    if (n <= 0 || n >= static_cast<ssize_t>(sizeof(link_))) return false;
    std::string_view target(link_, static_cast<size_t>(n));
    if (IsProcFile(next.get()) && (target[0] == '/' || target.find(':') != std::string_view::npos)) {
      // A magic link (a descriptor, cwd, root, exe of a process): the kernel follows it to the object,
      // which is the tracee's since "self" was replaced above.
      cur = UniqueFd(openat(cur.get(), comp.c_str(), O_PATH | O_CLOEXEC));
      if (!cur.valid()) return false;
      continue;
    }
    // An ordinary symlink (also /proc's own "self/mounts"): its text replaces it in what is left.
    todo = std::string(target) + "/" + todo.substr(pos);
    pos = 0;
    if (target[0] == '/') cur = UniqueFd(fcntl(root.get(), F_DUPFD_CLOEXEC, 0));
    if (!cur.valid()) return false;
  }
  return OwnFdPath(cur.get(), out);
}

}  // namespace agenttrace
