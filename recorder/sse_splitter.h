// Splitting a text/event-stream (Server-Sent Events, WHATWG HTML "event stream interpretation") into
// events, for the MCP Streamable HTTP proxy: it records the `data` of each event (one JSON-RPC message
// in MCP) while forwarding the stream's bytes unchanged, so this parser only observes copies.
//
// Invariants: lines end at CRLF, LF or CR, also when a chunk ends between the CR and the LF; a leading
// UTF-8 BOM is skipped; comment lines (":" first) and unknown fields are ignored; an event is
// dispatched at an empty line and only when it has data; the value of a field loses one leading space;
// `data` lines are joined with "\n". Memory held is bounded by max_event_bytes plus a few KiB: an
// event whose data passes the bound keeps only its first kProtocolErrorSnippetBytes and its full size
// (reported as oversized). An event without its terminating blank line at the end of the stream is
// not dispatched (as a browser would not); Finish() says how many data bytes were left unfinished.
//
// Thread-safety: none; one splitter per stream, used from one thread.
#ifndef AGENTTRACE_RECORDER_SSE_SPLITTER_H_
#define AGENTTRACE_RECORDER_SSE_SPLITTER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace agenttrace {

struct SseEvent {
  std::string_view data;  // the event's data (its head only when oversized); valid during the call
  std::string_view id;    // the last event id in effect (the `id:` of this event or an earlier one)
  std::string_view type;  // the `event:` field, empty for the default "message"
  bool oversized = false;
  uint64_t data_size = 0;  // full size of the data, also when oversized
};

class SseEventSink {
 public:
  virtual ~SseEventSink() = default;
  virtual void OnEvent(const SseEvent& event) = 0;
};

class SseSplitter {
 public:
  explicit SseSplitter(size_t max_event_bytes) : max_(max_event_bytes) {}

  // Parses any fragment of the stream and reports each event completed by it.
  void Feed(std::string_view bytes, SseEventSink* sink);
  // End of stream. Returns the data bytes of an event that was begun but never terminated by a blank
  // line (0 when the stream ended between events). Resets the splitter.
  uint64_t Finish();

 private:
  void OnLine(std::string_view line, SseEventSink* sink);
  void AppendLine(std::string_view part);
  void Dispatch(SseEventSink* sink);

  size_t max_;
  bool started_ = false;   // past the optional BOM
  std::string bom_probe_;  // first bytes, until we know whether they are a BOM
  bool after_cr_ = false;  // the previous chunk ended with CR: a leading LF belongs to it
  std::string line_;       // the current partial line (its head only, once past the bound)
  uint64_t line_size_ = 0;
  bool line_oversized_ = false;
  std::string data_;
  uint64_t data_size_ = 0;
  bool data_oversized_ = false;
  bool has_data_ = false;
  std::string id_;
  std::string type_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_SSE_SPLITTER_H_
