// The syscall table: numbers, families, and that every row has a decoder that handles it.
#include "recorder/syscall_table.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "recorder/decode.h"

namespace agenttrace {
namespace {

TEST(SyscallTableTest, NumbersAreUniqueAndLookupRoundTrips) {
  std::set<uint32_t> seen;
  for (const SyscallInfo& s : SyscallTable()) {
    EXPECT_TRUE(seen.insert(s.nr).second) << s.name;
    EXPECT_EQ(LookupSyscall(s.nr), &s) << s.name;
    EXPECT_EQ(LookupSyscallByName(s.name), &s) << s.name;
  }
  EXPECT_EQ(LookupSyscall(SYS_read), nullptr);
  EXPECT_EQ(LookupSyscall(SYS_close), nullptr);
  EXPECT_EQ(LookupSyscall(kX32SyscallBit | SYS_openat), nullptr);
  EXPECT_EQ(LookupSyscall(~0ull), nullptr);
}

TEST(SyscallTableTest, KnownRowsHaveTheRightNumbersAndFamilies) {
  struct Row { const char* name; long nr; SyscallFamily family; };
  const Row rows[] = {
      {"openat", SYS_openat, SyscallFamily::kFile},     {"openat2", SYS_openat2, SyscallFamily::kFile},
      {"renameat2", SYS_renameat2, SyscallFamily::kFile}, {"execve", SYS_execve, SyscallFamily::kProcess},
      {"clone3", SYS_clone3, SyscallFamily::kProcess},  {"vfork", SYS_vfork, SyscallFamily::kProcess},
      {"connect", SYS_connect, SyscallFamily::kNet},    {"sendmsg", SYS_sendmsg, SyscallFamily::kNet},
      {"io_uring_setup", SYS_io_uring_setup, SyscallFamily::kEscape},
      {"process_vm_writev", SYS_process_vm_writev, SyscallFamily::kEscape},
      {"seccomp", SYS_seccomp, SyscallFamily::kEscape}, {"unshare", SYS_unshare, SyscallFamily::kEscape},
  };
  for (const Row& r : rows) {
    const SyscallInfo* s = LookupSyscallByName(r.name);
    ASSERT_NE(s, nullptr) << r.name;
    EXPECT_EQ(s->nr, static_cast<uint32_t>(r.nr)) << r.name;
    EXPECT_EQ(s->family, r.family) << r.name;
  }
}

TEST(SyscallTableTest, HotUntracedSyscallsStayOut) {
  // The performance target depends on these never being trapped.
  for (long nr : {SYS_read, SYS_write, SYS_close, SYS_fstat, SYS_newfstatat, SYS_mmap, SYS_getdents64,
                  SYS_recvfrom, SYS_futex, SYS_chdir, SYS_dup2}) {
    EXPECT_EQ(LookupSyscall(nr), nullptr) << nr;
  }
}

// Every row's decoder must recognise it: run the entry decoder of each row against this very
// process (its memory is readable with process_vm_readv on our own tid) and check that it produced
// the event kind of its family rather than falling through to kRaw.
TEST(SyscallTableTest, EveryRowHasADecoder) {
  TraceeMemory mem;
  PathResolver paths;
  DecodeEnv env;
  env.mem = &mem;
  env.paths = &paths;
  env.allow_io_uring = true;  // decode only, never deny here
  static const char kPath[] = "some/file";
  static const char kPath2[] = "/other/file";
  const char* argv[] = {"prog", "arg", nullptr};
  const char* envp[] = {"HOME=/root", nullptr};
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(80);
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  for (const SyscallInfo& s : SyscallTable()) {
    SyscallCall c;
    c.tid = tid;
    c.pid = getpid();
    c.nr = s.nr;
    c.info = &s;
    // Plausible arguments for every shape: pointers where any row may read a string or struct.
    auto p = [](const void* v) { return reinterpret_cast<uint64_t>(v); };
    c.args = {p(kPath), p(kPath2), p(kPath2), p(kPath), p(&sin), sizeof(sin)};
    if (s.flags & kDirfd) c.args[0] = static_cast<uint64_t>(AT_FDCWD);
    if (s.decoder == Decoder::kExecve) c.args = {p(kPath2), p(argv), p(envp), 0, 0, 0};
    if (s.decoder == Decoder::kConnect || s.decoder == Decoder::kBind) c.args = {3, p(&sin), sizeof(sin)};
    Event ev;
    EntryAction act;
    switch (s.family) {
      case SyscallFamily::kFile: act = DecodeFileEntry(c, env, &ev); break;
      case SyscallFamily::kProcess:
      case SyscallFamily::kEscape: act = DecodeProcessEntry(c, env, &ev); break;
      case SyscallFamily::kNet: act = DecodeNetEntry(c, env, &ev); break;
    }
    EXPECT_NE(ev.kind, EventKind::kRaw) << s.name << " fell through to the raw decoder";
    if (s.family == SyscallFamily::kEscape) {
      EXPECT_EQ(ev.kind, EventKind::kEscape) << s.name;
      EXPECT_EQ(ev.text, s.name);
    }
    if (s.family == SyscallFamily::kFile && (s.flags & kPathArg) && s.decoder != Decoder::kSymlink &&
        s.decoder != Decoder::kSymlinkat) {
      EXPECT_FALSE(ev.path.empty()) << s.name;
      EXPECT_EQ(ev.path[0], '/') << s.name << ": " << ev.path;
    }
  }
}

}  // namespace
}  // namespace agenttrace
