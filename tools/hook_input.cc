#include "tools/hook_input.h"

#include <unistd.h>

#include <cerrno>

namespace agenttrace {

Result<std::string> ReadHookPayload(int fd, size_t max) {
  std::string s;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("read stdin", errno);
    if (n == 0) break;
    if (s.size() + static_cast<size_t>(n) > max) {
      return Status::ResourceExhausted("hook payload on stdin is larger than " + std::to_string(max) + " bytes");
    }
    s.append(buf, static_cast<size_t>(n));
  }
  return s;
}

}  // namespace agenttrace
