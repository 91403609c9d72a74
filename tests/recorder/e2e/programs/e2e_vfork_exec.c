/* vfork + execve: the child's exec is recorded with its argv. Usage: e2e_vfork_exec */
#include "e2e_util.h"

#include <limits.h>
#include <sys/wait.h>

int main(void) {
  char* const child_argv[] = {"true-as-argv0", "alpha", "beta gamma", NULL};
  char target[PATH_MAX];
  if (!realpath("/bin/true", target)) Die("realpath /bin/true");
  pid_t child = vfork();
  if (child < 0) Die("vfork");
  if (child == 0) {
    execv("/bin/true", child_argv);
    _exit(127);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) Die("waitpid");
  Report("EV kind=proc.spawn pid=%ld child_pid=%ld is_thread=false", (long)getpid(), (long)child);
  /* "beta gamma" contains a space: the driver decodes %20. */
  Report("EV kind=exec pid=%ld anypath=%s argv=true-as-argv0,alpha,beta%%20gamma result=0", (long)child, target);
  Report("EV kind=proc.exit pid=%ld", (long)child);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
