/* Shared helpers of the end-to-end test programs.
 *
 * Each program performs one family of actions and reports every action it expects the recorder to
 * have seen as one line on stdout:
 *
 *   EV kind=file.open path=/abs/path result=3 pid=1234
 *
 * i.e. "EV" then space-separated key=value pairs naming fields of the exported JSON event (see
 * format/event_json.h); the test driver checks that some recorded event has all of them. Values never
 * contain spaces. "argv" is a comma-separated list; "anypath" matches either `path` or `resolved`.
 * Lines are written with one write(2) so that output of forked processes does not interleave and
 * nothing stays in a stdio buffer across fork or exec.
 */
#ifndef AGENTTRACE_TESTS_RECORDER_E2E_UTIL_H_
#define AGENTTRACE_TESTS_RECORDER_E2E_UTIL_H_

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Prints one report line (format as printf, without the trailing newline). */
static inline void Report(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void Report(const char* fmt, ...) {
  char line[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) abort();
  if ((size_t)n > sizeof line - 2) n = (int)(sizeof line - 2);
  line[n++] = '\n';
  if (write(STDOUT_FILENO, line, (size_t)n) != n) abort();
}

/* A syscall's result as the recorder stores it: the value, or -errno. */
static inline long Res(long r) { return r < 0 ? -(long)errno : r; }

static inline void Die(const char* what) {
  fprintf(stderr, "e2e program: %s: %s\n", what, strerror(errno));
  exit(99);
}

static inline long Tid(void) { return syscall(SYS_gettid); }

/* snprintf into a char array, failing loudly instead of truncating. */
#define FORMAT(buf, ...)                                                   \
  do {                                                                     \
    if (snprintf((buf), sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf)) {  \
      errno = ENAMETOOLONG;                                                \
      Die("formatting " #buf);                                             \
    }                                                                      \
  } while (0)

#endif /* AGENTTRACE_TESTS_RECORDER_E2E_UTIL_H_ */
