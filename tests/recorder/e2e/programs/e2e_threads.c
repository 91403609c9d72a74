/* Threads: the main thread and a second thread each open a file; the thread creation is a
 * proc.spawn with is_thread. Usage: e2e_threads WORKDIR */
#include "e2e_util.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>

static char g_dir[PATH_MAX];
static long g_thread_tid;

static void* ThreadMain(void* arg) {
  (void)arg;
  char p[PATH_MAX];
  FORMAT(p, "%s/from-thread.txt", g_dir);
  g_thread_tid = Tid();
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  Report("EV kind=file.open path=%s result=%ld pid=%ld tid=%ld", p, Res(fd), (long)getpid(), g_thread_tid);
  if (fd >= 0) close(fd);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2 || !realpath(argv[1], g_dir)) {
    fprintf(stderr, "usage: e2e_threads WORKDIR\n");
    return 2;
  }
  pthread_t t;
  if (pthread_create(&t, NULL, ThreadMain, NULL) != 0) Die("pthread_create");
  pthread_join(t, NULL);
  long pid = getpid();
  if (g_thread_tid == pid) {
    fprintf(stderr, "thread tid equals pid\n");
    return 98;
  }
  Report("EV kind=proc.spawn pid=%ld tid=%ld child_pid=%ld is_thread=true", pid, pid, g_thread_tid);
  char p[PATH_MAX];
  FORMAT(p, "%s/from-main.txt", g_dir);
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  Report("EV kind=file.open path=%s result=%ld pid=%ld tid=%ld", p, Res(fd), pid, pid);
  return 0;
}
