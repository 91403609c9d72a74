// Small helpers around system calls of this process: EINTR retry and errno -> Status.
#ifndef AGENTTRACE_FORMAT_SYS_H_
#define AGENTTRACE_FORMAT_SYS_H_

#include <cerrno>
#include <string>
#include <string_view>

#include "format/status.h"

namespace agenttrace {

// Calls fn() until it does not fail with EINTR; returns its last result (errno preserved).
template <typename Fn>
auto RetryEintr(Fn&& fn) -> decltype(fn()) {
  decltype(fn()) r;
  do {
    r = fn();
  } while (r == -1 && errno == EINTR);
  return r;
}

// Writes all of data to fd, retrying EINTR and short writes.
Status WriteAll(int fd, std::string_view data, std::string_view what);

// Reads a whole (small) file, at most max_bytes; larger files give ResourceExhausted.
Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes = 64u << 20);


}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_SYS_H_
