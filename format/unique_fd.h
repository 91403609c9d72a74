// UniqueFd: sole owner of a file descriptor of this process. Move-only; closes on destruction.
// Not for a tracee's descriptors (those are plain numbers in the tracee's table, see recorder/).
#ifndef AGENTTRACE_FORMAT_UNIQUE_FD_H_
#define AGENTTRACE_FORMAT_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace agenttrace {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_UNIQUE_FD_H_
