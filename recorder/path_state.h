// What the tracer knows about a tracee's address space and file-name context, read lazily at the time
// of each call: tracee memory (process_vm_readv, PTRACE_PEEKDATA fallback), the cwd (/proc/TID/cwd) and
// descriptor paths (/proc/TID/fd/N). Reading /proc at the time of the call (the tracee is stopped)
// resolves per-process cwd (shared under CLONE_FS), fd tables (shared under CLONE_FILES, dup,
// close_range, O_CLOEXEC at exec) and inherited descriptors without tracing chdir/dup/close at all.
//
// TOCTOU: strings read at syscall entry may change before the kernel reads them (another thread of the
// tracee); facts taken at exit (/proc/TID/fd/<result>) do not have that problem and are preferred
// where they exist (Event::resolved).
//
// Bounds: every read from the tracee is bounded by the caller's limit; nothing here trusts tracee data.
//
// Caching: both classes keep what they read (memory pages, a cwd) until Invalidate(), which the tracer
// calls at every stop; nothing is carried from one stop to the next, except, when the tracer enables
// it, the context cache of PathResolver: a descriptor of each thread's root and cwd directories, which
// KernelPath walks from. A descriptor names the directory object, not its path (a rename does not
// make it stale); only a change of the thread's root or cwd does, and every call that can make one is
// trapped (chdir and fchdir under SeccompFilterOptions::trap_cwd_changes; chroot, pivot_root, setns,
// unshare, mount and umount2 always). The tracer forgets every thread's contexts at the entry and at
// the exit of such a call, by any thread (threads and CLONE_FS children share a cwd; pivot_root moves
// other processes' roots), and caches nothing while one is between the two. A new thread or process
// starts with its parent's descriptors (clone copies or shares the root and cwd), an exec keeps them.
// No path, and no answer of KernelPath, is kept from one resolution to the next: only these
// descriptors, and a hint of which paths met a symlink, which changes how many calls a resolution
// makes, never its answer.
//
// Thread-safety: thread-compatible (each object keeps a scratch buffer); the tracer uses one of each.
#ifndef AGENTTRACE_RECORDER_PATH_STATE_H_
#define AGENTTRACE_RECORDER_PATH_STATE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "format/unique_fd.h"

namespace agenttrace {

// Lexically normalises `path` (relative paths are taken relative to the absolute directory `base`)
// into *out: absolute, no ".", "..", empty components or trailing slash ("/a/./b/../c" -> "/a/c",
// "/.." -> "/"). Symlinks are not followed. `base` is ignored when `path` is absolute. Reuses *out's
// capacity.
// The replayer has its own NormalizePath(path) (replayer/matchers.h): the same result on absolute
// paths, but it keeps relative paths relative (it knows no cwd), and what this function returns is a
// fixed point of it, so replay never rewrites a recorded path. tests/replayer/path_normalizers_test.cc
// shows both.
void NormalizePath(std::string_view base, std::string_view path, std::string* out);

// Reads of tracee memory go through a small cache of whole pages: an exec's argv and environment
// strings (dozens per call) mostly share a few pages, which then cost one process_vm_readv each
// instead of one per string. The cache holds what the tracee's memory was at one stop: Invalidate()
// it whenever the tracee may have run since (at every stop).
class TraceeMemory {
 public:
  TraceeMemory();
  // Copies `len` bytes at `addr` of thread `tid` into `buf`. All or nothing.
  bool Read(pid_t tid, uint64_t addr, void* buf, size_t len);
  // Reads the NUL-terminated string at `addr` into *out, at most `max` bytes (without the NUL). Returns
  // false when addr is NULL or unreadable; *truncated (may be null) says the limit was hit.
  bool ReadString(pid_t tid, uint64_t addr, size_t max, std::string* out, bool* truncated = nullptr);
  // Writes one aligned-or-not 64-bit word (PTRACE_POKEDATA; the tracee must be ptrace-stopped).
  bool Write64(pid_t tid, uint64_t addr, uint64_t value);
  // Reads into the cache, with one process_vm_readv, the pages holding the addresses `addrs[0, n)`
  // (zeros ignored) that are not cached yet, at most a cache-full. A hint: pages that cannot be read
  // are left out and fail again when read.
  void Prefetch(pid_t tid, const uint64_t* addrs, size_t n);
  // Forgets every cached page (cheap when nothing is cached).
  void Invalidate() {
    used_ = 0;
    next_ = 0;
  }
  // Forgets and overwrites every cached page: for memory that held values not to be kept (environment).
  void Wipe();

 private:
  static constexpr size_t kPageSize = 4096;
  static constexpr size_t kCachePages = 16;
  // The page at `page_addr` (page-aligned) of `tid`, from the cache or read into it; nullptr if it
  // cannot be read.
  const char* Page(pid_t tid, uint64_t page_addr);
  bool Cached(pid_t tid, uint64_t page_addr) const;
  size_t TakeSlot();  // a free slot, else the next one to replace
  bool ReadDirect(pid_t tid, uint64_t addr, void* buf, size_t len);
  bool ReadPeek(pid_t tid, uint64_t addr, void* buf, size_t len);
  bool use_peek_ = false;  // process_vm_readv not permitted here: PTRACE_PEEKDATA, no cache
  struct Slot {
    pid_t tid;
    uint64_t addr;
  };
  Slot slots_[kCachePages];
  size_t used_ = 0;                // slots_[0, used_) are in use (tid 0: unreadable, matches nothing)
  size_t next_ = 0;                // slot to replace when all are in use (0 while some are free)
  std::unique_ptr<char[]> pages_;  // kCachePages pages
};

// The cwd read for a thread is kept until Invalidate() (call it at every stop): a call with two
// relative paths (link, rename, symlink) reads /proc/TID/cwd once.
class PathResolver {
 public:
  // The current directory of `tid` (readlink /proc/TID/cwd). False if unknown (thread gone).
  bool Cwd(pid_t tid, std::string* out);
  // Forgets the cached cwd.
  void Invalidate() { cwd_tid_ = 0; }
  // What descriptor `fd` of `tid` refers to (readlink /proc/TID/fd/FD): a path, or "socket:[N]",
  // "pipe:[N]", "anon_inode:[...]". False if fd is not open.
  bool FdPath(pid_t tid, int fd, std::string* out);
  // Sets *out to the absolute, normalised path `path` names for `tid` relative to `dirfd` (AT_FDCWD
  // or a descriptor). An empty path names `dirfd` itself when `empty_path_means_fd` (AT_EMPTY_PATH),
  // else stays empty. When the base directory cannot be read, *out is `path` unchanged.
  void Resolve(pid_t tid, int dirfd, std::string_view path, bool empty_path_means_fd, std::string* out);
  // The object `path` (exactly as the tracee wrote it) names for `tid` relative to `dirfd`, resolved the
  // way the kernel will: every directory component through symlinks and ".." as the kernel walks them
  // (in the tracee's root, from its cwd or dirfd), the last component followed only when
  // `follow_last`. For calls that take a path but return no descriptor (unlink, rename, mkdir, chmod,
  // ...), where no fact after the call exists: `ln -s ~/.ssh w/keys; rm w/keys/id_rsa` deletes
  // ~/.ssh/id_rsa, whatever the lexical path says. False (and *out untouched) when the parent directory
  // does not exist, or when the lexical path is already exact (a bare name in the cwd or dirfd that is
  // not followed, or does not exist yet). Costs a few syscalls of the tracer's own: with `follow_last`
  // and an existing leaf, open of the base, openat2 of the whole path, readlink, two closes; otherwise
  // the parent's openat2 too. With the context cache, a root or cwd base is opened once per thread
  // (and after each change), which saves an open and a close per call.
  // With a kept root or cwd whose path is exact (the root is "/", the cwd's path is absolute and not
  // deleted), the first try is one openat2 with RESOLVE_NO_SYMLINKS (and O_DIRECTORY, so that a file
  // leaves no descriptor): when it meets no symlink, the lexical path is the kernel's (false), whether
  // the object exists or not; only a path with a symlink on the way takes the full walk above (one
  // call more, unless the path met one lately).
  // `dirfd_is_root`: the call walks with `dirfd` (or the cwd) as its root, as openat2's
  // RESOLVE_IN_ROOT does: "/" and absolute symlinks mean that directory.
  // `must_exist`: the call fails unless the object exists (an open without O_CREAT, an exec): with
  // `follow_last` the object the leaf leads to, without it the leaf itself (O_NOFOLLOW). When it does
  // not, false: the call will fail with ENOENT, and the lexical path is what a recording (which
  // resolves only what a call opened, or an open that failed on an existing object) knows of it, so
  // that a policy suggested from recordings decides the attempt as `run` does (docs/threat-model.md).
  bool KernelPath(pid_t tid, int dirfd, std::string_view path, bool follow_last, std::string* out,
                  bool dirfd_is_root = false, bool must_exist = false);

  // The context cache (header comment): off by default. Turning it off forgets every context.
  void EnableContextCache(bool on);
  // While true, contexts are neither kept nor used (a call that may change one is in flight); the
  // change of state forgets every context.
  void SetContextChangeInFlight(bool in_flight);
  // Forgets the root and cwd descriptors of every thread, or of one (it died or exec'd).
  void ForgetContexts() { contexts_.clear(); }
  void ForgetContext(pid_t tid) { contexts_.erase(tid); }
  // A new thread or process `child` of `parent` starts with its parent's root and cwd (clone copies
  // or shares them): it gets the parent's kept descriptors, unless it already has its own or none
  // may be kept now. The caller leaves out children in a new mount namespace.
  void InheritContexts(pid_t parent, pid_t child);
  // Threads whose contexts are held (for tests).
  size_t cached_contexts() const { return contexts_.size(); }
  // Descriptors the tracer opened for KernelPath so far (for tests and benchmarks).
  uint64_t base_opens() const { return base_opens_; }
  // openat2 calls KernelPath made so far (for tests and benchmarks).
  uint64_t lookups() const { return lookups_; }

  // At most this many threads' contexts are held (two descriptors each); others open theirs per call.
  static constexpr size_t kMaxCachedContexts = 256;

 private:
  // readlink of /proc/self/fd/FD into *out; false if it is not an absolute path of a live object.
  bool OwnFdPath(int fd, std::string* out);
  // KernelPath's walk when the kernel's own (openat2 with RESOLVE_IN_ROOT) refuses a /proc magic link
  // on the way: one component at a time from `base` (or the root: the tracee's, or `base` itself when
  // `base_is_root`, as for RESOLVE_IN_ROOT), "self" and "thread-self"
  // read as the tracee's, magic links followed by the kernel to the tracee's object, other symlinks
  // spliced in. /dev/stdin, /proc/self/cwd/x, /proc/PID/fd/N/.. name what they name for the tracee.
  bool WalkByHand(pid_t tid, int base, std::string_view path, bool follow_last, bool base_is_root, std::string* out);

  // The directory a walk by `tid` starts from: its root (absolute paths), cwd (AT_FDCWD) or `dirfd`.
  // A cached descriptor, or one opened into *owned; -1 if it cannot be opened.
  // *exact: the base is a kept context whose path is known exactly (the root is "/", or the cwd's path
  // read at this stop is absolute and not deleted), so a walk from it with no symlink ends where the
  // lexical path does.
  int BaseFd(pid_t tid, int dirfd, bool absolute, UniqueFd* owned, bool* exact);

  // Shared: a child starts with its parent's root and cwd (InheritContexts).
  struct Contexts {
    std::shared_ptr<UniqueFd> root;
    std::shared_ptr<UniqueFd> cwd;
    bool root_is_slash = false;  // readlink of `root` was "/" (set when root is opened)
  };
  bool ExactBase(pid_t tid, bool absolute, const Contexts& kept);

  // KernelPath's first try from an exact base: one openat2 with RESOLVE_NO_SYMLINKS of what the
  // kernel will walk. True when no symlink is on the way, so that the lexical path is the kernel's
  // (the walk from an exact base through real directories and ".." ends where the lexical path does,
  // or fails where it does); false when the full walk must run.
  bool LexicalIsExact(int base, std::string_view path, bool follow_last, bool whole, size_t slash, uint64_t resolve);
  std::unordered_map<pid_t, Contexts> contexts_;  // by tid
  bool cache_contexts_ = false;
  bool change_in_flight_ = false;
  uint64_t base_opens_ = 0;
  uint64_t lookups_ = 0;
  // Hashes of paths (with follow_last) whose symlink-free walk met a symlink, direct-mapped: the next
  // resolution of the same path skips that try. Only a hint.
  static constexpr size_t kSymlinkHints = 256;
  uint64_t symlinked_[kSymlinkHints] = {};

  std::string base_;
  // openat2(O_PATH | O_DIRECTORY) of `dir` (leading slashes dropped: from `base`), counted in lookups_.
  int OpenWalkedDir(int base, std::string_view dir, uint64_t resolve);
  std::string dir_part_;  // KernelPath's scratch: the parent's path, then the whole path (no allocation per call)
  std::string cwd_;       // the cwd of cwd_tid_ (0: none) at this stop
  pid_t cwd_tid_ = 0;
  char link_[4096];
  char proc_path_[64];
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_PATH_STATE_H_
