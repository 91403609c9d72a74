/* LD_PRELOAD library for tests/bench/bench_record.sh (COUNT=1): when the process that loads it exits,
 * appends to the file named by $AT_BENCH_CPU_OUT one line
 *   "PROCESS_USER PROCESS_SYS MAIN_THREAD_USER MAIN_THREAD_SYS"   (seconds, microsecond resolution)
 * from getrusage(RUSAGE_SELF) and getrusage(RUSAGE_THREAD) of the main thread. RUSAGE_SELF counts every
 * thread of the process, the exited ones included, and none of its children: for a tracer, its own CPU
 * time without the traced programs' (which time(1) would add, since the tracer reaps them).
 * The constructor removes LD_PRELOAD and AT_BENCH_CPU_OUT from the environment, so that programs the
 * process starts (the traced agent) neither load this library nor inherit the variables. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static char out_path[4096];

static double Seconds(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

__attribute__((constructor)) static void Start(void) {
  const char* p = getenv("AT_BENCH_CPU_OUT");
  if (p != NULL && strlen(p) < sizeof out_path) strcpy(out_path, p);
  unsetenv("AT_BENCH_CPU_OUT");
  unsetenv("LD_PRELOAD");
}

/* Runs at exit() (after main returns), on the main thread. */
__attribute__((destructor)) static void Finish(void) {
  if (out_path[0] == '\0') return;
  struct rusage self, thread;
  if (getrusage(RUSAGE_SELF, &self) != 0 || getrusage(RUSAGE_THREAD, &thread) != 0) return;
  FILE* f = fopen(out_path, "a");
  if (f == NULL) return;
  fprintf(f, "%.6f %.6f %.6f %.6f\n", Seconds(self.ru_utime), Seconds(self.ru_stime), Seconds(thread.ru_utime),
          Seconds(thread.ru_stime));
  fclose(f);
}
