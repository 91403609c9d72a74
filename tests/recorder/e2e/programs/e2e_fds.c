/* Prints every file descriptor the program was started with and its target, as
 * "FD <n> <target>": the recorder must not leak its own descriptors (the store's files above all,
 * which an agent could otherwise write to directly) into the recorded program. Usage: e2e_fds */
#include "e2e_util.h"

#include <dirent.h>
#include <limits.h>

int main(void) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) Die("opendir /proc/self/fd");
  int own = dirfd(d);
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == own) continue;
    char link[64], target[PATH_MAX];
    FORMAT(link, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) continue;
    target[n] = '\0';
    Report("FD %s %s", e->d_name, target);
  }
  closedir(d);
  return 0;
}
