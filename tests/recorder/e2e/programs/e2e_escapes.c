/* The calls that change what paths and processes mean, or tamper with other processes, must each be
 * recorded as process.escape whatever their result. Every call here is made so that it changes
 * nothing, even as root: a pid that does not exist, empty vectors, paths that do not exist, a flag
 * set of zero. Usage: e2e_escapes */
#include "e2e_util.h"

#include <sys/uio.h>

#define MISSING "/nonexistent-agenttrace-escape-dir"

static void One(const char* name, long r) {
  Report("EV kind=process.escape text=%s pid=%ld result=%ld", name, (long)getpid(), r);
}

int main(void) {
  One("ptrace", Res(syscall(SYS_ptrace, 2 /* PTRACE_PEEKDATA */, 0x3fffffff, 0, 0)));
  One("process_vm_readv", Res(syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0)));
  One("process_vm_writev", Res(syscall(SYS_process_vm_writev, getpid(), NULL, 0, NULL, 0, 0)));
  One("mount", Res(syscall(SYS_mount, "none", MISSING, "tmpfs", 0, NULL)));
  One("umount2", Res(syscall(SYS_umount2, MISSING, 0)));
  One("unshare", Res(syscall(SYS_unshare, 0)));
  One("setns", Res(syscall(SYS_setns, -1, 0)));
  One("chroot", Res(syscall(SYS_chroot, MISSING)));
  One("pivot_root", Res(syscall(SYS_pivot_root, MISSING "-a", MISSING "-b")));
  return 0;
}
