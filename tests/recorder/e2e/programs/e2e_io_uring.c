/* io_uring_setup, the classic way around syscall tracing: the attempt must be recorded as
 * process.escape. Usage: e2e_io_uring */
#include "e2e_util.h"

#include <linux/io_uring.h>

int main(void) {
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  long r = Res(syscall(SYS_io_uring_setup, 4, &params));
  Report("EV kind=process.escape text=io_uring_setup pid=%ld result=%ld", (long)getpid(), r);
  if (r >= 0) close((int)r);
  return 0;
}
