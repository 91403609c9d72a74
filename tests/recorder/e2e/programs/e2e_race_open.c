/* TOCTOU race on open's path: a second thread flips one byte of the path buffer between an allowed
 * and a denied path in a tight loop while the main thread opens the buffer OPENS times and reads what
 * it got. A tracer that reads the path at the seccomp stop can see one path while the kernel opens the
 * other; Landlock checks the object the kernel opens. The program reports what it really read.
 * Usage: e2e_race_open ALLOWED DENIED OPENS  (ALLOWED and DENIED differ in exactly one byte; the files
 * hold "ALLOWED" and "DENIED")
 * Output: "RACE opens=N allowed=A denied=D eacces=E other=O" (other: any other failure). */
#include "e2e_race.h"

#include <fcntl.h>
#include <pthread.h>

static char g_path[4096];
static size_t g_at;          /* the byte that differs */
static char g_byte[2];       /* its value in ALLOWED and in DENIED */
static int g_stop;
static int g_tracer_cpu = -1;

static void* Flip(void* arg) {
  (void)arg;
  PinThread(-g_tracer_cpu - 1); /* off the tracer's CPU, so it keeps flipping while the tracer works */
  for (unsigned long i = 0; !__atomic_load_n(&g_stop, __ATOMIC_RELAXED); ++i) {
    __atomic_store_n(&g_path[g_at], g_byte[i & 1], __ATOMIC_RELAXED);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: e2e_race_open ALLOWED DENIED OPENS\n");
    return 2;
  }
  size_t n = strlen(argv[1]);
  if (n != strlen(argv[2]) || n >= sizeof g_path) {
    fprintf(stderr, "e2e_race_open: the paths must have the same length\n");
    return 2;
  }
  size_t diffs = 0;
  for (size_t i = 0; i < n; ++i) {
    if (argv[1][i] != argv[2][i]) {
      g_at = i;
      ++diffs;
    }
  }
  if (diffs != 1) {
    fprintf(stderr, "e2e_race_open: the paths must differ in exactly one byte\n");
    return 2;
  }
  memcpy(g_path, argv[1], n + 1);
  g_byte[0] = argv[1][g_at];
  g_byte[1] = argv[2][g_at];
  long opens = atol(argv[3]);
  g_tracer_cpu = TracerCpu(getppid());
  if (g_tracer_cpu >= 0) PinThread(g_tracer_cpu);
  pthread_t t;
  if (pthread_create(&t, NULL, Flip, NULL) != 0) Die("pthread_create");
  long allowed = 0, denied = 0, eacces = 0, other = 0;
  for (long i = 0; i < opens; ++i) {
    int fd = open(g_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == EACCES) {
        ++eacces;
      } else {
        ++other;
      }
      continue;
    }
    char buf[16] = {0};
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r >= 6 && memcmp(buf, "DENIED", 6) == 0) {
      ++denied;
    } else if (r >= 7 && memcmp(buf, "ALLOWED", 7) == 0) {
      ++allowed;
    } else {
      ++other;
    }
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
  pthread_join(t, NULL);
  Report("RACE opens=%ld allowed=%ld denied=%ld eacces=%ld other=%ld", opens, allowed, denied, eacces, other);
  return 0;
}
