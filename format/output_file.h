// An output file written whole or not at all: `export -o`, replay's reports, suggested policies, fuzz
// corpora
// go to a temporary file next to the destination, created exclusively and never through a symlink
// (the directory may be writable by others), and renamed into place by Commit(); a failure or an early
// return leaves the destination as it was and removes the temporary file. "-" or "" is standard output.
//
// Thread-safety: one writer per object.
#ifndef AGENTTRACE_FORMAT_OUTPUT_FILE_H_
#define AGENTTRACE_FORMAT_OUTPUT_FILE_H_

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>

#include "format/status.h"
#include "format/sys.h"
#include "format/unique_fd.h"

namespace agenttrace {

inline constexpr size_t kOutputFlushBytes = 1u << 20;  // write to the fd in 1 MiB pieces

class OutputFile {
 public:
  static Result<std::unique_ptr<OutputFile>> Open(const std::string& path) {
    auto out = std::unique_ptr<OutputFile>(new OutputFile());
    if (path.empty() || path == "-") {
      out->fd_ = STDOUT_FILENO;
      out->what_ = "standard output";
    } else {
      out->path_ = path;
      // The temporary name sits in a directory others may write to: create it exclusively and never
      // through a symlink, or a planted link would make us overwrite its target. A name already
      // taken (planted or stale) is left alone and another one is tried.
      const std::string base = path + ".tmp-" + std::to_string(::getpid());
      for (int attempt = 0; attempt < 16 && !out->owned_.valid(); ++attempt) {
        out->tmp_path_ = base;
        if (attempt > 0) {
          uint32_t r = 0;
          if (::getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<uint32_t>(attempt);
          out->tmp_path_ += "-" + std::to_string(r);
        }
        out->owned_.reset(RetryEintr([&] {
          return ::open(out->tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        }));
        if (!out->owned_.valid() && errno != EEXIST) break;
      }
      if (!out->owned_.valid()) {
        Status st = Status::FromErrno("create " + out->tmp_path_, errno);
        out->tmp_path_.clear();  // not ours: the destructor must not unlink it
        return st;
      }
      out->fd_ = out->owned_.get();
      out->what_ = path;
    }
    out->buf_.reserve(kOutputFlushBytes + (64u << 10));
    return out;
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() {
    if (!tmp_path_.empty() && !committed_) ::unlink(tmp_path_.c_str());
  }

  // The buffer to append to; call MaybeFlush() after each record.
  std::string* buffer() { return &buf_; }
  Status MaybeFlush() { return buf_.size() >= kOutputFlushBytes ? Flush() : Status::Ok(); }
  Status Flush() {
    Status s = WriteAll(fd_, buf_, what_);
    buf_.clear();
    return s;
  }
  // Flushes; for a file, syncs nothing but closes and renames it into place.
  Status Commit() {
    AT_RETURN_IF_ERROR(Flush());
    if (tmp_path_.empty()) return Status::Ok();
    if (::close(owned_.release()) != 0) return Status::FromErrno("close " + tmp_path_, errno);
    if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) return Status::FromErrno("rename to " + path_, errno);
    committed_ = true;
    return Status::Ok();
  }

 private:
  OutputFile() = default;
  int fd_ = -1;
  UniqueFd owned_;
  std::string path_, tmp_path_, what_;
  std::string buf_;
  bool committed_ = false;
};

// Writes `data` to `path` through an OutputFile: all of it, or (on error) nothing.
Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_OUTPUT_FILE_H_
