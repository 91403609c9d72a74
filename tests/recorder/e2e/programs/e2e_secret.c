/* Execs /bin/echo with the value of $GITHUB_TOKEN inside an argument: the recorder must store a
 * fingerprint instead. Usage: e2e_secret */
#include "e2e_util.h"

int main(void) {
  const char* token = getenv("GITHUB_TOKEN");
  if (!token) {
    fprintf(stderr, "GITHUB_TOKEN not set\n");
    return 2;
  }
  static char arg[512];
  FORMAT(arg, "token=%s", token);
  char* const child_argv[] = {"echo", arg, NULL};
  execv("/bin/echo", child_argv);
  Die("execv /bin/echo");
  return 1;
}
