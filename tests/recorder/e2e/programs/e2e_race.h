/* Helpers of the race programs (e2e_race_*.c): placing the two racing threads on CPUs. Include
 * first (it needs _GNU_SOURCE before any system header). */
#ifndef AGENTTRACE_TESTS_RECORDER_E2E_RACE_H_
#define AGENTTRACE_TESTS_RECORDER_E2E_RACE_H_

#include "e2e_util.h"

#include <sched.h>

/* For race programs: the CPU the recorder's tracer thread is pinned to (the recorder is the parent
 * `pid`; its main thread is the tracer, pinned by default), or -1 if it is not pinned to one. */
static inline int TracerCpu(pid_t recorder) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%ld/status", (long)recorder);
  FILE* f = fopen(path, "r");
  if (f == NULL) return -1;
  int cpu = -1;
  while (fgets(buf, sizeof buf, f) != NULL) {
    char* list = NULL;
    if (strncmp(buf, "Cpus_allowed_list:", 18) == 0) list = buf + 18;
    if (list != NULL && strpbrk(list, ",-") == NULL) cpu = atoi(list);
  }
  fclose(f);
  return cpu;
}

/* Pins the calling thread to `cpu`, or, when `cpu` is negative, to an allowed CPU other than
 * -cpu - 1 (the first one, if that is the only one). Best effort. A race between two threads of the
 * agent is run with the thread that stops at the tracer on the tracer's CPU and the other thread on
 * another CPU, so that the other thread keeps running while the tracer works. */
static inline void PinThread(int cpu) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return;
  int chosen = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    if (cpu >= 0 ? c == cpu : c != -cpu - 1) {
      chosen = c;
      break;
    }
  }
  if (chosen < 0) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(chosen, &one);
  (void)sched_setaffinity(0, sizeof one, &one);
}

#endif /* AGENTTRACE_TESTS_RECORDER_E2E_RACE_H_ */
