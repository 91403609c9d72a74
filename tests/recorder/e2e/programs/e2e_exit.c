/* Exit status propagation. Usage: e2e_exit code N | e2e_exit signal N */
#include "e2e_util.h"

#include <signal.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: e2e_exit code|signal N\n");
    return 2;
  }
  int n = atoi(argv[2]);
  if (strcmp(argv[1], "signal") == 0) {
    signal(n, SIG_DFL);
    kill(getpid(), n);
    pause();
  }
  return n;
}
