#include "format/jsonl_reader.h"

#include <utility>

#include "format/event_json.h"

namespace agenttrace {
JsonlReader::JsonlReader(std::unique_ptr<LineReader> lines) : lines_(std::move(lines)), name_(lines_->name()) {}

Result<std::unique_ptr<JsonlReader>> JsonlReader::Open(const std::string& path) {
  AT_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> lines, LineReader::Open(path));
  std::unique_ptr<JsonlReader> r(new JsonlReader(std::move(lines)));
  AT_RETURN_IF_ERROR(r->ReadHeader());
  return r;
}

Result<std::unique_ptr<JsonlReader>> JsonlReader::FromFd(int fd, std::string name) {
  std::unique_ptr<JsonlReader> r(new JsonlReader(LineReader::FromFd(fd, std::move(name))));
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
    if (Status s = ParseEventJson(line, /*require_seq=*/true, &event_); !s.ok()) return Fail(LineError(s));
    if (event_.seq != next_seq_) {
      return Fail(LineError(Status::Corruption("event seq " + std::to_string(event_.seq) + ", expected " +
                                               std::to_string(next_seq_) +
                                               " (events must be numbered 0, 1, 2, ... in order)")));
    }
    ++next_seq_;
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
  auto got = lines_->Next(line);
  line_no_ = lines_->line();
  return got;
}

}  // namespace agenttrace
