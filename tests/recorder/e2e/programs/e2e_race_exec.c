/* TOCTOU race on exec's argv: in each of TRIES child processes other threads flip one byte of an
 * argv entry between 'A' and 'B' while the main thread execs this program again, so the argv the
 * tracer reads at the seccomp stop may differ from the one the kernel copies. The new image reports
 * the argv it really received.
 * Usage: e2e_race_exec TRIES
 * Output: per try "SHOWN pid=P arg=X" from the new image (X is AAAA or BAAA).
 * Also: e2e_race_exec empty -- execs itself with an empty argv, which prints "EMPTY argc=N ...". */
#include "e2e_race.h"

#include <pthread.h>
#include <sys/wait.h>


static char g_arg[8] = "AAAA";
static int g_tracer_cpu = -1;
static int g_flipping;
enum { kPads = 6, kPadBytes = 100000, kFlippers = 3 };
static char* g_pad_env[kPads + 1];

static void* Flip(void* arg) {
  if (arg == NULL) PinThread(-g_tracer_cpu - 1);  /* the first flipper off the tracer's CPU */
  __atomic_add_fetch(&g_flipping, 1, __ATOMIC_RELEASE);
  /* Bounded; in practice ends when the exec replaces the process. */
  for (unsigned long i = 0; i < (1ul << 30); ++i) {
    __atomic_store_n(&g_arg[0], (i & 1) ? 'B' : 'A', __ATOMIC_RELAXED);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (getenv("E2E_EMPTY_ARGV") != NULL) {  /* the image exec'd with an empty argv */
    Report("EMPTY argc=%d arg0=[%s]", argc, argc > 0 ? argv[0] : "");
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "empty") == 0) {
    /* An exec with no argv at all: Linux gives the new image one empty entry. */
    char* no_args[] = {NULL};
    char* env[] = {(char*)"E2E_EMPTY_ARGV=1", NULL};
    execve("/proc/self/exe", no_args, env);
    Die("execve");
  }
  if (argc == 3 && strcmp(argv[1], "show") == 0) {
    Report("SHOWN pid=%ld arg=%s", (long)getpid(), argv[2]);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: e2e_race_exec TRIES\n");
    return 2;
  }
  int tries = atoi(argv[1]);
  /* The kernel copies the environment before argv: a large one (names only are recorded) keeps the
   * flipper flipping for a while between the tracer's read and the kernel's copy of argv. */
  for (int k = 0; k < kPads; ++k) {
    char* e = malloc(kPadBytes + 1);
    if (e == NULL) Die("malloc");
    memset(e, 'x', kPadBytes);
    memcpy(e, "PAD", 3);
    e[3] = (char)('0' + k);
    e[4] = '=';
    e[kPadBytes] = '\0';
    g_pad_env[k] = e;
  }
  g_tracer_cpu = TracerCpu(getppid());
  for (int i = 0; i < tries; ++i) {
    pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      if (g_tracer_cpu >= 0) PinThread(g_tracer_cpu);
      /* Several flippers, so that one of them runs even when other programs load the machine. */
      pthread_t t;
      for (long k = 0; k < kFlippers; ++k) {
        if (pthread_create(&t, NULL, Flip, (void*)k) != 0) Die("pthread_create");
      }
      /* Exec only once the flippers run, so that they flip during the whole exec. */
      while (__atomic_load_n(&g_flipping, __ATOMIC_ACQUIRE) < kFlippers) {
      }
      char* args[] = {argv[0], (char*)"show", g_arg, NULL};
      execve(argv[0], args, g_pad_env);
      Die("execv");
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("child");
  }
  return 0;
}
