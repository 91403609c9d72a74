#include "format/line_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "format/json_limits.h"
#include "format/sys.h"

namespace agenttrace {
namespace {

constexpr size_t kReadBytes = 1u << 20;  // read(2) size; the buffer starts at twice this

}  // namespace

LineReader::LineReader(int fd, UniqueFd owned, std::string name)
    : owned_(std::move(owned)), fd_(fd), name_(std::move(name)) {
  buf_.resize(std::min(kMaxJsonBytes + 1, kReadBytes * 2));
}

Result<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno("open " + path, errno);
  int raw = fd.get();
  return std::unique_ptr<LineReader>(new LineReader(raw, std::move(fd), path));
}

std::unique_ptr<LineReader> LineReader::FromFd(int fd, std::string name) {
  return std::unique_ptr<LineReader>(new LineReader(fd, UniqueFd(), std::move(name)));
}

Result<bool> LineReader::Next(std::string_view* line) {
  ++line_no_;
  auto too_long = [&] {
    return Status::Corruption(name_ + ": line " + std::to_string(line_no_) + ": line longer than the limit of " +
                              std::to_string(kMaxJsonBytes) + " bytes");
  };
  for (;;) {
    const char* base = buf_.data();
    if (const void* nl = std::memchr(base + scan_, '\n', end_ - scan_)) {
      size_t pos = static_cast<const char*>(nl) - base;
      if (pos - start_ > kMaxJsonBytes) return too_long();
      *line = std::string_view(base + start_, pos - start_);
      start_ = scan_ = pos + 1;
      return true;
    }
    scan_ = end_;
    if (end_ - start_ > kMaxJsonBytes) return too_long();
    if (eof_) {
      if (start_ == end_) return false;
      *line = std::string_view(base + start_, end_ - start_);
      start_ = scan_ = end_;
      return true;
    }
    // Make room: move the partial line to the front, grow if it fills the buffer.
    if (start_ > 0) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      scan_ -= start_;
      start_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(std::min(buf_.size() * 2, kMaxJsonBytes + 2));
    size_t want = std::min(kReadBytes, buf_.size() - end_);
    ssize_t n = RetryEintr([&] { return ::read(fd_, buf_.data() + end_, want); });
    if (n < 0) return Status::FromErrno("read " + name_, errno);
    if (n == 0) eof_ = true;
    end_ += static_cast<size_t>(n);
  }
}

}  // namespace agenttrace
