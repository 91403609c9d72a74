/* For tests/bench/bench_startup.sh: runs a command with stdout and stderr on /dev/null and prints
 *   "WALL_US CPU_US EXIT"
 * the wall time from fork to reaping, and the user+system CPU time of the command and the children it
 * reaped (wait4's rusage), in microseconds: finer than time(1)'s 10 ms. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: child_time CMD [ARGS...]\n");
    return 2;
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t p = fork();
  if (p < 0) return 1;
  if (p == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int st = 0;
  struct rusage ru;
  if (wait4(p, &st, 0, &ru) < 0) return 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  long wall = (long)(b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
  long cpu = (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  printf("%ld %ld %d\n", wall, cpu, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}
