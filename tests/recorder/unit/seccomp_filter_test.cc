// The generated filter: it loads, traps exactly the table (a trapped call without a tracer fails with
// ENOSYS), lets everything else through, and traps foreign ABIs.
#include "recorder/seccomp_filter.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cerrno>

#include "recorder/syscall_table.h"

namespace agenttrace {
namespace {

// Bits of the child's exit code: one per expectation that failed.
enum : int {
  kOpenNotTrapped = 1 << 0,
  kGetpidBroken = 1 << 1,
  kSendNoAddrTrapped = 1 << 2,
  kSendToAddrNotTrapped = 1 << 3,
  kPrctlNameTrapped = 1 << 4,
  kPrctlSeccompNotTrapped = 1 << 5,
  kX32NotTrapped = 1 << 6,
};

int ChildChecks(const SeccompProgram& prog) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 100;
  if (InstallSeccompFilter(prog) != 0) return 101;
  int fails = 0;
  // Trapped with no tracer: ENOSYS.
  errno = 0;
  if (syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY) != -1 || errno != ENOSYS) fails |= kOpenNotTrapped;
  if (syscall(SYS_getpid) != getpid()) fails |= kGetpidBroken;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) return 102;
  if (sendto(sv[0], "x", 1, 0, nullptr, 0) != 1) fails |= kSendNoAddrTrapped;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  errno = 0;
  if (sendto(sv[0], "x", 1, 0, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != -1 || errno != ENOSYS) {
    fails |= kSendToAddrNotTrapped;
  }
  if (prctl(PR_SET_NAME, "t", 0, 0, 0) != 0) fails |= kPrctlNameTrapped;
  errno = 0;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != -1 || errno != ENOSYS) {
    fails |= kPrctlSeccompNotTrapped;
  }
  // x32 number of getpid: must be trapped (TRACE -> ENOSYS), never run.
  errno = 0;
  long r = syscall(kX32SyscallBit | SYS_getpid);
  if (r != -1 || errno != ENOSYS) fails |= kX32NotTrapped;
  return fails;
}

TEST(SeccompFilterTest, BuildsAProgram) {
  auto prog = BuildSeccompFilter();
  ASSERT_TRUE(prog.ok()) << prog.status().ToString();
  EXPECT_GT(prog->insns.size(), SyscallTable().size());
  EXPECT_LT(prog->insns.size(), 4096u);
}

TEST(SeccompFilterTest, TrapsTheTableAndNothingElseWithoutATracer) {
  auto prog = BuildSeccompFilter();
  ASSERT_TRUE(prog.ok()) << prog.status().ToString();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(ChildChecks(*prog));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "failed expectations bitmask (see the enum in this test)";
}

TEST(SeccompFilterTest, I386SyscallsAreTrapped) {
  auto prog = BuildSeccompFilter();
  ASSERT_TRUE(prog.ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || InstallSeccompFilter(*prog) != 0) _exit(100);
    long ret = 20;  // i386 getpid
    asm volatile("int $0x80" : "+a"(ret) : : "memory");
    _exit(ret == -ENOSYS ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
    GTEST_SKIP() << "this kernel has no i386 emulation (int 0x80 faults): nothing to trap";
  }
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace agenttrace
