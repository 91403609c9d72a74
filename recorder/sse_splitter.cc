#include "recorder/sse_splitter.h"

#include <algorithm>

#include "recorder/jsonrpc_framing.h"

namespace agenttrace {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
// Room for a field name and its colon on top of the data bound, so that a data line of exactly the
// bound is not treated as oversized.
constexpr size_t kFieldRoom = 64;
// Bounds on `id` and `event` values: longer ones are ignored, not kept.
constexpr size_t kMaxFieldValue = 1024;

}  // namespace

void SseSplitter::AppendLine(std::string_view part) {
  line_size_ += part.size();
  const size_t cap = max_ + kFieldRoom;
  const size_t head = kProtocolErrorSnippetBytes + kFieldRoom;
  if (!line_oversized_ && line_.size() + part.size() > cap) {
    line_oversized_ = true;
    line_.resize(std::min(line_.size(), head));
    line_.shrink_to_fit();
  }
  if (line_oversized_) {
    if (line_.size() < head) line_.append(part.substr(0, std::min(part.size(), head - line_.size())));
    return;
  }
  line_.append(part);
}

void SseSplitter::Feed(std::string_view bytes, SseEventSink* sink) {
  if (!started_) {
    while (!bytes.empty() && bom_probe_.size() < kBom.size() && bytes[0] == kBom[bom_probe_.size()]) {
      bom_probe_.push_back(bytes[0]);
      bytes.remove_prefix(1);
    }
    if (bom_probe_.size() == kBom.size()) {
      started_ = true;
      bom_probe_.clear();
    } else if (!bytes.empty()) {
      // Not a BOM: what was held back is ordinary content.
      started_ = true;
      std::string held = std::move(bom_probe_);
      bom_probe_.clear();
      Feed(held, sink);
    } else {
      return;
    }
  }
  while (!bytes.empty()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes[0] == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    size_t eol = bytes.find_first_of("\r\n");
    if (eol == std::string_view::npos) {
      AppendLine(bytes);
      return;
    }
    std::string_view part = bytes.substr(0, eol);
    after_cr_ = bytes[eol] == '\r';
    bytes.remove_prefix(eol + 1);
    if (line_.empty() && !line_oversized_ && part.size() <= max_ + kFieldRoom) {
      line_size_ = part.size();
      OnLine(part, sink);  // the common case: a whole line inside one chunk, no copy
    } else {
      AppendLine(part);
      std::string line = std::move(line_);
      OnLine(line, sink);
    }
    line_.clear();
    line_size_ = 0;
    line_oversized_ = false;
  }
}

void SseSplitter::OnLine(std::string_view line, SseEventSink* sink) {
  if (line.empty() && !line_oversized_) {
    Dispatch(sink);
    return;
  }
  if (line[0] == ':') return;  // a comment (keep-alive)
  size_t colon = line.find(':');
  std::string_view field = colon == std::string_view::npos ? line : line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  uint64_t value_size = colon == std::string_view::npos ? 0 : line_size_ - colon - 1;
  if (!value.empty() && value[0] == ' ') {
    value.remove_prefix(1);
    --value_size;
  }
  if (field == "data") {
    if (has_data_) {
      ++data_size_;
      if (!data_oversized_) data_.push_back('\n');
    }
    has_data_ = true;
    data_size_ += value_size;
    if (!data_oversized_ && (line_oversized_ || data_size_ > max_)) {
      data_oversized_ = true;
      data_.resize(std::min(data_.size(), kProtocolErrorSnippetBytes));
      data_.shrink_to_fit();
    }
    if (data_oversized_) {
      if (data_.size() < kProtocolErrorSnippetBytes) {
        data_.append(value.substr(0, std::min(value.size(), kProtocolErrorSnippetBytes - data_.size())));
      }
    } else {
      data_.append(value);
    }
  } else if (field == "id") {
    if (!line_oversized_ && value.size() <= kMaxFieldValue && value.find('\0') == std::string_view::npos) {
      id_.assign(value);
    }
  } else if (field == "event") {
    if (!line_oversized_ && value.size() <= kMaxFieldValue) type_.assign(value);
  }
  // "retry" and unknown fields carry nothing to record.
}

void SseSplitter::Dispatch(SseEventSink* sink) {
  if (has_data_) {
    SseEvent e;
    e.data = data_;
    e.id = id_;
    e.type = type_;
    e.oversized = data_oversized_;
    e.data_size = data_size_;
    sink->OnEvent(e);
  }
  data_.clear();
  data_size_ = 0;
  data_oversized_ = false;
  has_data_ = false;
  type_.clear();
}

uint64_t SseSplitter::Finish() {
  uint64_t pending = (has_data_ ? data_size_ : 0) + line_size_;
  started_ = false;
  bom_probe_.clear();
  after_cr_ = false;
  line_.clear();
  line_size_ = 0;
  line_oversized_ = false;
  data_.clear();
  data_size_ = 0;
  data_oversized_ = false;
  has_data_ = false;
  id_.clear();
  type_.clear();
  return pending;
}

}  // namespace agenttrace
