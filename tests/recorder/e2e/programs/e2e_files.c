/* File operations: dirfd-relative and cwd-relative paths, "..", a symlink, rename then reading under
 * the new name, unlink, mkdir/rmdir, chmod, truncate, and failed opens. Usage: e2e_files WORKDIR */
#include "e2e_util.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <limits.h>
#include <sys/stat.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: e2e_files WORKDIR\n");
    return 2;
  }
  char dir[PATH_MAX];
  if (!realpath(argv[1], dir)) Die("realpath");
  char p[PATH_MAX], p2[PATH_MAX];
  long pid = getpid();
  long r;

  FORMAT(p, "%s/sub", dir);
  r = Res(mkdir(p, 0755));
  Report("EV kind=file.mkdir path=%s result=%ld pid=%ld", p, r, pid);

  /* openat on a directory fd with a relative path. */
  int subfd = open(p, O_RDONLY | O_DIRECTORY);
  if (subfd < 0) Die("open sub");
  Report("EV kind=file.open path=%s result=%d", p, subfd);
  int fd = openat(subfd, "a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  FORMAT(p, "%s/sub/a.txt", dir);
  Report("EV kind=file.open path=%s result=%ld pid=%ld tid=%ld", p, Res(fd), pid, Tid());
  if (fd < 0 || write(fd, "hello\n", 6) != 6) Die("write a.txt");
  close(fd);

  /* ".." in an absolute path: recorded normalised. */
  FORMAT(p, "%s/sub/../b.txt", dir);
  fd = open(p, O_CREAT | O_RDWR, 0644);
  FORMAT(p, "%s/b.txt", dir);
  Report("EV kind=file.open path=%s result=%ld", p, Res(fd));
  close(fd);

  /* Relative to the working directory, with "." and "..". */
  if (chdir(dir) != 0) Die("chdir");
  fd = open("./sub/../c.txt", O_CREAT | O_WRONLY, 0600);
  FORMAT(p, "%s/c.txt", dir);
  Report("EV kind=file.open path=%s result=%ld", p, Res(fd));
  close(fd);

  /* A symlink, then an open through it: path as given, resolved = the target. */
  FORMAT(p, "%s/link", dir);
  r = Res(symlink("sub/a.txt", p));
  Report("EV kind=file.symlink path2=%s result=%ld", p, r);
  fd = open("link", O_RDONLY);
  FORMAT(p2, "%s/sub/a.txt", dir);
  Report("EV kind=file.open path=%s resolved=%s result=%ld", p, p2, Res(fd));
  close(fd);

  /* Rename, then read the file under its new name. */
  FORMAT(p, "%s/sub/a.txt", dir);
  FORMAT(p2, "%s/renamed.txt", dir);
  r = Res(rename(p, p2));
  Report("EV kind=file.rename path=%s path2=%s result=%ld", p, p2, r);
  fd = open("renamed.txt", O_RDONLY);
  char buf[16];
  if (fd < 0 || read(fd, buf, sizeof buf) != 6) Die("read renamed.txt");
  Report("EV kind=file.open path=%s result=%d", p2, fd);
  close(fd);

  /* chmod and truncate. */
  FORMAT(p, "%s/b.txt", dir);
  r = Res(chmod(p, 0600));
  Report("EV kind=file.chmod path=%s mode=%d result=%ld", p, 0600, r);
  /* fchmodat2 (Linux 6.6) through syscall(2): not every C library wraps it. On an older kernel the
   * attempt is still recorded, with -ENOSYS. */
  r = Res(syscall(452 /* fchmodat2 */, AT_FDCWD, p, 0640, 0));
  Report("EV kind=file.chmod path=%s mode=%d result=%ld", p, 0640, r);
  r = Res(truncate(p, 10));
  Report("EV kind=file.truncate path=%s size=10 result=%ld", p, r);

  /* unlink and rmdir (relative to a dirfd, then absolute). */
  r = Res(unlinkat(AT_FDCWD, "renamed.txt", 0));
  Report("EV kind=file.delete path=%s result=%ld", p2, r);
  close(subfd);
  FORMAT(p, "%s/sub", dir);
  r = Res(rmdir(p));
  Report("EV kind=file.rmdir path=%s result=%ld", p, r);

  /* Failures: a file under a directory that does not exist (ENOENT), a directory opened for writing
   * (EISDIR), and a file created under /proc (refused even to root). */
  FORMAT(p, "%s/no-such-dir/x.txt", dir);
  fd = open(p, O_RDONLY);
  Report("EV kind=file.open path=%s result=%ld error=ENOENT", p, Res(fd));
  fd = open(dir, O_WRONLY);
  Report("EV kind=file.open path=%s result=%ld error=EISDIR", dir, Res(fd));
  fd = open("/proc/agenttrace-e2e-denied", O_CREAT | O_WRONLY, 0600);
  Report("EV kind=file.open path=/proc/agenttrace-e2e-denied result=%ld", Res(fd));
  return 0;
}
