/* A hostile agent for `agenttrace run --mode enforce`: each argument is one attempt to make a denied
 * action take effect by a route other than the plain system call the policy names. Each attempt prints
 * one line "NAME -> ok [what it got]" or "NAME -> errno N", so that the test can compare what the
 * program achieved with what the policy allows.
 *
 * Attempts (ARG is a path unless said otherwise):
 *   read:ARG            open(ARG, O_RDONLY) and print the first line (the plain route, for comparison)
 *   i386-read:ARG       the same open through `int $0x80` (the i386 ABI of a 64-bit process)
 *   link-read:SRC:DST   link(SRC, DST), then read DST
 *   exchange:A:B        renameat2(A, B, RENAME_EXCHANGE)
 *   inroot-read:DIR:ARG openat2(open(DIR), ARG, O_RDONLY, RESOLVE_IN_ROOT): "/" and absolute symlinks
 *                       mean DIR
 *   ptrace-parent:      PTRACE_SEIZE of the parent (agenttrace itself, when it runs this program)
 *   vmread-parent:      process_vm_readv of 8 bytes of the parent's first mapping
 *   mknod-blk:ARG       mknod(ARG, S_IFBLK, 7:0), a node of the first loop device
 *   handle-read:ARG     name_to_handle_at(ARG), then open_by_handle_at (needs CAP_DAC_READ_SEARCH)
 *   fexec:ARG           open(ARG) for reading, then execveat(fd, "", AT_EMPTY_PATH) with argv "fexec"
 *   sendmmsg:P1:P2      sendmmsg of two UDP datagrams to 127.0.0.1:P1 and :P2 (what one call did not
 *                       send is offered again); a socket of this program bound on P2 reports whether
 *                       its datagram arrived ("got N")
 *   utimensat:ARG       utimensat(AT_FDCWD, ARG, {1e9 s, 1e9 s}, 0): mtime set to 2001-09-09
 *   futimens:ARG        open(ARG, O_RDONLY), then utimensat(fd, NULL, ...): the descriptor's file
 *   utimes:ARG          utimes(ARG, {1e9 s, 1e9 s})
 *   setxattr:ARG        setxattr(ARG, "user.agenttrace", "x")
 *   fsetxattr:ARG       open(ARG, O_RDONLY), then fsetxattr(fd, "user.agenttrace", "x")
 *   setxattrat:ARG      setxattrat(AT_FDCWD, ARG, 0, "user.agenttrace", {"x"}) (Linux 6.13)
 *   removexattr:ARG     removexattr(ARG, "user.agenttrace")
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

static void Fail(const char* what) { printf("%s -> errno %d\n", what, errno); }

/* Prints "WHAT -> ok FIRST-LINE" from fd, and closes it. */
static void PrintFirstLine(const char* what, int fd) {
  char buf[128] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) {
    Fail(what);
    return;
  }
  buf[n] = 0;
  char* nl = strchr(buf, '\n');
  if (nl != NULL) *nl = 0;
  printf("%s -> ok %s\n", what, buf);
}

static void Read(const char* what, const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    Fail(what);
    return;
  }
  PrintFirstLine(what, fd);
}

/* open(2) of the i386 ABI (number 5) through int $0x80: its pointer argument must lie below 4 GiB. */
static void I386Read(const char* what, const char* path) {
  char* low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (low == MAP_FAILED) {
    Fail(what);
    return;
  }
  snprintf(low, 4096, "%s", path);
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(5L), "b"((long)(uintptr_t)low), "c"((long)O_RDONLY), "d"(0L) : "memory");
  munmap(low, 4096);
  if (r < 0) {
    errno = (int)-r;
    Fail(what);
    return;
  }
  PrintFirstLine(what, (int)r);
}

static void LinkRead(const char* what, char* spec) {
  char* dst = strchr(spec, ':');
  if (dst == NULL) exit(2);
  *dst++ = 0;
  if (link(spec, dst) != 0) {
    Fail(what);
    return;
  }
  Read(what, dst);
}

static void Exchange(const char* what, char* spec) {
  char* b = strchr(spec, ':');
  if (b == NULL) exit(2);
  *b++ = 0;
  if (syscall(SYS_renameat2, AT_FDCWD, spec, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) != 0) {
    Fail(what);
    return;
  }
  printf("%s -> ok\n", what);
}

static void InRootRead(const char* what, char* spec) {
  char* path = strchr(spec, ':');
  if (path == NULL) exit(2);
  *path++ = 0;
  int dir = open(spec, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_IN_ROOT};
  int fd = dir < 0 ? -1 : (int)syscall(SYS_openat2, dir, path, &how, sizeof how);
  if (fd < 0) {
    Fail(what);
    return;
  }
  close(dir);
  PrintFirstLine(what, fd);
}

static void PtraceParent(const char* what) {
  if (ptrace(PTRACE_SEIZE, getppid(), NULL, NULL) != 0) {
    Fail(what);
    return;
  }
  printf("%s -> ok\n", what);
}

static void VmreadParent(const char* what) {
  char maps[64];
  snprintf(maps, sizeof maps, "/proc/%d/maps", (int)getppid());
  FILE* f = fopen(maps, "r");
  unsigned long start = 0;
  if (f == NULL || fscanf(f, "%lx", &start) != 1) {
    Fail(what);
    return;
  }
  fclose(f);
  char buf[8];
  struct iovec local = {buf, sizeof buf}, remote = {(void*)start, sizeof buf};
  if (process_vm_readv(getppid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof buf) {
    Fail(what);
    return;
  }
  printf("%s -> ok\n", what);
}

static void MknodBlock(const char* what, const char* path) {
  if (mknod(path, S_IFBLK | 0600, makedev(7, 0)) != 0) {
    Fail(what);
    return;
  }
  printf("%s -> ok\n", what);
}

static void HandleRead(const char* what, const char* path) {
  struct {
    struct file_handle h;
    unsigned char bytes[MAX_HANDLE_SZ];
  } fh;
  fh.h.handle_bytes = MAX_HANDLE_SZ;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path, &fh.h, &mount_id, 0) != 0) {
    Fail(what);
    return;
  }
  int fd = open_by_handle_at(AT_FDCWD, &fh.h, O_RDONLY);
  if (fd < 0) {
    Fail(what);
    return;
  }
  PrintFirstLine(what, fd);
}

static void Fexec(const char* what, const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Fail(what);
    return;
  }
  char* argv[] = {"fexec", NULL};
  char* envp[] = {NULL};
  syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
  Fail(what);
  close(fd);
}

static void Sendmmsg(const char* what, const char* spec) {
  int p1 = 0, p2 = 0;
  if (sscanf(spec, "%d:%d", &p1, &p2) != 2) exit(2);
  struct sockaddr_in to[2];
  int rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int tx = socket(AF_INET, SOCK_DGRAM, 0);
  for (int i = 0; i < 2; ++i) {
    memset(&to[i], 0, sizeof to[i]);
    to[i].sin_family = AF_INET;
    to[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to[i].sin_port = htons(i == 0 ? p1 : p2);
  }
  if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr*)&to[1], sizeof to[1]) != 0) {
    Fail(what);
    return;
  }
  char payload[2][8] = {"first", "second"};
  struct iovec iov[2];
  struct mmsghdr m[2];
  memset(m, 0, sizeof m);
  for (int i = 0; i < 2; ++i) {
    iov[i].iov_base = payload[i];
    iov[i].iov_len = strlen(payload[i]);
    m[i].msg_hdr.msg_name = &to[i];
    m[i].msg_hdr.msg_namelen = sizeof to[i];
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  /* As a real sender does: what sendmmsg did not send is offered again. */
  int sent = 0, err = 0;
  while (sent < 2) {
    int n = sendmmsg(tx, m + sent, 2 - sent, 0);
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    sent += n;
  }
  usleep(100 * 1000);
  char buf[16];
  ssize_t got = recv(rx, buf, sizeof buf, 0);
  if (err != 0) {
    printf("%s -> errno %d after %d sent, got %d\n", what, err, sent, got > 0 ? 1 : 0);
  } else {
    printf("%s -> ok sent %d, got %d\n", what, sent, got > 0 ? 1 : 0);
  }
}

static void Report(const char* what, long r) {
  if (r != 0) {
    Fail(what);
  } else {
    printf("%s -> ok\n", what);
  }
}

/* Timestamps and extended attributes: metadata writes that change no content, mode or owner. */
static void Metadata(const char* kind, const char* what, const char* path) {
  const struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  if (strcmp(kind, "utimensat") == 0) {
    Report(what, syscall(SYS_utimensat, AT_FDCWD, path, ts, 0));
  } else if (strcmp(kind, "utimes") == 0) {
    const struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    Report(what, syscall(SYS_utimes, path, tv));
  } else if (strcmp(kind, "setxattr") == 0) {
    Report(what, setxattr(path, "user.agenttrace", "x", 1, 0));
  } else if (strcmp(kind, "removexattr") == 0) {
    Report(what, removexattr(path, "user.agenttrace"));
  } else if (strcmp(kind, "setxattrat") == 0) {
    struct {
      uint64_t value;
      uint32_t size;
      uint32_t flags;
    } args = {(uint64_t)(uintptr_t) "x", 1, 0};
    Report(what, syscall(463, AT_FDCWD, path, 0, "user.agenttrace", &args, sizeof args));
  } else {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      Fail(what);
      return;
    }
    if (strcmp(kind, "futimens") == 0) {
      Report(what, syscall(SYS_utimensat, fd, NULL, ts, 0));
    } else {
      Report(what, fsetxattr(fd, "user.agenttrace", "x", 1, 0));
    }
    close(fd);
  }
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    char* colon = strchr(arg, ':');
    if (colon == NULL) return 2;
    char what[4200];
    snprintf(what, sizeof what, "%s", arg);
    *colon = 0;
    char* rest = colon + 1;
    if (strcmp(arg, "read") == 0) {
      Read(what, rest);
    } else if (strcmp(arg, "i386-read") == 0) {
      I386Read(what, rest);
    } else if (strcmp(arg, "link-read") == 0) {
      LinkRead(what, rest);
    } else if (strcmp(arg, "exchange") == 0) {
      Exchange(what, rest);
    } else if (strcmp(arg, "inroot-read") == 0) {
      InRootRead(what, rest);
    } else if (strcmp(arg, "ptrace-parent") == 0) {
      PtraceParent(what);
    } else if (strcmp(arg, "vmread-parent") == 0) {
      VmreadParent(what);
    } else if (strcmp(arg, "mknod-blk") == 0) {
      MknodBlock(what, rest);
    } else if (strcmp(arg, "handle-read") == 0) {
      HandleRead(what, rest);
    } else if (strcmp(arg, "fexec") == 0) {
      Fexec(what, rest);
    } else if (strcmp(arg, "sendmmsg") == 0) {
      Sendmmsg(what, rest);
    } else if (strcmp(arg, "utimensat") == 0 || strcmp(arg, "futimens") == 0 || strcmp(arg, "utimes") == 0 ||
               strcmp(arg, "setxattr") == 0 || strcmp(arg, "fsetxattr") == 0 || strcmp(arg, "setxattrat") == 0 ||
               strcmp(arg, "removexattr") == 0) {
      Metadata(arg, what, rest);
    } else {
      fprintf(stderr, "attack: unknown attempt %s\n", arg);
      return 2;
    }
  }
  return 0;
}
