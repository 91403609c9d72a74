/* A daemonised grandchild (double fork + setsid) that writes a file after the program's main process
 * has exited. Usage: e2e_daemon WORKDIR */
#include "e2e_util.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/wait.h>
#include <time.h>

int main(int argc, char** argv) {
  char dir[PATH_MAX];
  if (argc != 2 || !realpath(argv[1], dir)) {
    fprintf(stderr, "usage: e2e_daemon WORKDIR\n");
    return 2;
  }
  pid_t top = getpid();
  pid_t child = fork();
  if (child < 0) Die("fork");
  if (child == 0) {
    if (setsid() < 0) Die("setsid");
    pid_t grandchild = fork();
    if (grandchild < 0) Die("fork 2");
    if (grandchild > 0) _exit(0);
    /* The grandchild: wait until the main process is gone (not even a zombie), then write. */
    for (int i = 0; i < 500 && getpgid(top) >= 0; ++i) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    char p[PATH_MAX];
    FORMAT(p, "%s/written-by-daemon.txt", dir);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    long r = Res(fd);
    if (fd >= 0) {
      if (write(fd, "daemon\n", 7) != 7) Die("write");
      close(fd);
    }
    Report("EV kind=file.open path=%s result=%ld pid=%ld", p, r, (long)getpid());
    Report("DAEMON main_gone=%d", getpgid(top) < 0 ? 1 : 0);
    _exit(0);
  }
  int status;
  if (waitpid(child, &status, 0) != child) Die("waitpid");
  Report("EV kind=proc.spawn pid=%ld child_pid=%ld", (long)top, (long)child);
  return 0;
}
