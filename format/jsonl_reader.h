// JsonlReader: the one way a JSON-lines session (the form of `agenttrace export --format jsonl`,
// docs/format.md "JSON lines") is read back, by `import` and by replay/diff of .jsonl files.
//
// It streams: one line in memory at a time (format/line_reader.h), so a
// session of millions of events is read in bounded memory. Every line is bounded (kMaxJsonLineBytes)
// and checked as it is read: line 1 must be the header; each later non-empty line is one event whose
// seq is the next of 0, 1, 2, ...; at the end, a header that declares an event count must match the
// events read (a truncated file). Empty lines are skipped but counted. Any of these failures is
// Corruption, "NAME: line N: ..." (import's exit 3); a failed read(2) is the errno's status.
//
// Thread-safety: one reader per thread; distinct readers are independent.
#ifndef AGENTTRACE_FORMAT_JSONL_READER_H_
#define AGENTTRACE_FORMAT_JSONL_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "format/event.h"
#include "format/event_source.h"
#include "format/line_reader.h"
#include "format/session.h"
#include "format/status.h"

namespace agenttrace {

class JsonlReader final : public EventSource {
 public:
  // Opens `path` and reads its header line. `path` names the file in messages.
  static Result<std::unique_ptr<JsonlReader>> Open(const std::string& path);
  // Reads from `fd`, which is not owned and must outlive the reader; `name` names it in messages
  // ("standard input").
  static Result<std::unique_ptr<JsonlReader>> FromFd(int fd, std::string name);

  // The header's session metadata, as written (state, event_count and all).
  const SessionInfo& info() const { return info_; }
  // Events returned so far (the next expected seq).
  uint64_t events_read() const { return next_seq_; }
  // The line number of the last line read (1 is the header).
  uint64_t line() const { return line_no_; }

  Result<const Event*> Next() override;

 private:
  explicit JsonlReader(std::unique_ptr<LineReader> lines);
  Status ReadHeader();
  // True and *line set when a line was read; false at the end of input.
  Result<bool> NextLine(std::string_view* line);
  Status LineError(const Status& s) const;
  Status Fail(Status s);

  std::unique_ptr<LineReader> lines_;
  std::string name_;
  SessionInfo info_;
  Event event_;
  uint64_t line_no_ = 0;
  uint64_t next_seq_ = 0;
  bool done_ = false;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_JSONL_READER_H_
