// LineReader: lines of a file or descriptor, streamed through one read buffer of at most about two
// lines, each bounded by kMaxJsonBytes (format/json_limits.h). The splitter under every JSON-lines
// input: agenttrace's own sessions (format/jsonl_reader.h) and agent transcripts
// (recorder/transcript.h).
//
// Thread-safety: one reader per thread.
#ifndef AGENTTRACE_FORMAT_LINE_READER_H_
#define AGENTTRACE_FORMAT_LINE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "format/status.h"
#include "format/unique_fd.h"

namespace agenttrace {

class LineReader {
 public:
  // Opens `path`; `path` names the input in messages.
  static Result<std::unique_ptr<LineReader>> Open(const std::string& path);
  // Reads `fd`, which is not owned and must outlive the reader; `name` names it in messages.
  static std::unique_ptr<LineReader> FromFd(int fd, std::string name);

  // True and *line set (without its '\n'; valid until the next call) when a line was read; false at
  // the end of input. A line longer than the limit is Corruption "NAME: line N: line longer than the
  // limit of ... bytes"; a failed read(2) is the errno's status.
  Result<bool> Next(std::string_view* line);
  // The number of the line last returned (1 is the first).
  uint64_t line() const { return line_no_; }
  const std::string& name() const { return name_; }

 private:
  LineReader(int fd, UniqueFd owned, std::string name);

  UniqueFd owned_;
  int fd_;
  std::string name_;
  uint64_t line_no_ = 0;
  std::string buf_;
  size_t start_ = 0;  // first byte of the current line
  size_t scan_ = 0;   // bytes before this are known not to be '\n'
  size_t end_ = 0;    // end of valid data
  bool eof_ = false;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_LINE_READER_H_
