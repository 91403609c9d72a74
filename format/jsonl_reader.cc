#include "format/jsonl_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "format/event_json.h"
#include "format/sys.h"

namespace agenttrace {
namespace {

constexpr size_t kReadBytes = 1u << 20;  // read(2) size; the buffer starts at twice this

}  // namespace

JsonlReader::JsonlReader(int fd, UniqueFd owned, std::string name)
    : owned_(std::move(owned)), fd_(fd), name_(std::move(name)) {
  buf_.resize(std::min(kMaxJsonLineBytes + 1, kReadBytes * 2));
}

Result<std::unique_ptr<JsonlReader>> JsonlReader::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno("open " + path, errno);
  int raw = fd.get();
  std::unique_ptr<JsonlReader> r(new JsonlReader(raw, std::move(fd), path));
  AT_RETURN_IF_ERROR(r->ReadHeader());
  return r;
}

Result<std::unique_ptr<JsonlReader>> JsonlReader::FromFd(int fd, std::string name) {
  std::unique_ptr<JsonlReader> r(new JsonlReader(fd, UniqueFd(), std::move(name)));
  AT_RETURN_IF_ERROR(r->ReadHeader());
  return r;
}

Status JsonlReader::LineError(const Status& s) const {
  return Status::Corruption(name_ + ": line " + std::to_string(line_no_) + ": " + s.message());
}

Status JsonlReader::Fail(Status s) {
  done_ = true;
  return s;
}

Status JsonlReader::ReadHeader() {
  std::string_view line;
  auto got = NextLine(&line);
  if (!got.ok()) return Fail(got.status());
  if (!*got) return Fail(Status::Corruption(name_ + ": empty input: no header line"));
  auto header = SessionHeaderFromJson(line);
  if (!header.ok()) return Fail(LineError(header.status()));
  info_ = std::move(header).value();
  return Status::Ok();
}

Result<const Event*> JsonlReader::Next() {
  if (done_) return static_cast<const Event*>(nullptr);
  for (;;) {
    std::string_view line;
    auto got = NextLine(&line);
    if (!got.ok()) return Fail(got.status());
    if (!*got) break;
    if (line.empty()) continue;
    auto event = EventFromJson(line, /*require_seq=*/true);
    if (!event.ok()) return Fail(LineError(event.status()));
    if (event->seq != next_seq_) {
      return Fail(LineError(Status::Corruption("event seq " + std::to_string(event->seq) + ", expected " +
                                               std::to_string(next_seq_) +
                                               " (events must be numbered 0, 1, 2, ... in order)")));
    }
    ++next_seq_;
    event_ = std::move(event).value();
    return static_cast<const Event*>(&event_);
  }
  done_ = true;
  if (info_.event_count != 0 && info_.event_count != next_seq_) {
    return Status::Corruption(name_ + ": header declares " + std::to_string(info_.event_count) + " events but " +
                              std::to_string(next_seq_) + " were read (truncated input?)");
  }
  return static_cast<const Event*>(nullptr);
}

Result<bool> JsonlReader::NextLine(std::string_view* line) {
  ++line_no_;
  auto too_long = [&] {
    return LineError(
        Status::Corruption("line longer than the limit of " + std::to_string(kMaxJsonLineBytes) + " bytes"));
  };
  for (;;) {
    const char* base = buf_.data();
    if (const void* nl = std::memchr(base + scan_, '\n', end_ - scan_)) {
      size_t pos = static_cast<const char*>(nl) - base;
      if (pos - start_ > kMaxJsonLineBytes) return too_long();
      *line = std::string_view(base + start_, pos - start_);
      start_ = scan_ = pos + 1;
      return true;
    }
    scan_ = end_;
    if (end_ - start_ > kMaxJsonLineBytes) return too_long();
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
    if (end_ == buf_.size()) buf_.resize(std::min(buf_.size() * 2, kMaxJsonLineBytes + 2));
    size_t want = std::min(kReadBytes, buf_.size() - end_);
    ssize_t n = RetryEintr([&] { return ::read(fd_, buf_.data() + end_, want); });
    if (n < 0) return Status::FromErrno("read " + name_, errno);
    if (n == 0) eof_ = true;
    end_ += static_cast<size_t>(n);
  }
}

}  // namespace agenttrace
