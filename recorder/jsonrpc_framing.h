// JSON-RPC over newline-delimited stdio, as MCP speaks it: splitting a byte stream into lines, and
// turning each line into tool events (tool.call / tool.result / tool.def / mcp.* / protocol.error).
//
// Pure logic on byte streams, no I/O: the MCP proxy feeds it copies of the bytes it forwards, tests
// and the fuzzer feed it arbitrary bytes.
//
// LineSplitter invariants: byte 0x0A is the only delimiter (no \r handling, no Content-Length); memory
// held is bounded by max_line_bytes + the size of one Feed() argument; a line longer than the maximum
// is not kept: it is reported once, with its first bytes and its full size, when its newline arrives.
//
// McpTracker invariants: pending requests are keyed by (direction, id text) because both sides count
// ids independently (the client's initialize and the server's roots/list can both be id 0); a response
// travelling to the agent answers a request that travelled to the server and vice versa. Every request
// gets at most one answering event; the table of pending requests is bounded (kMaxPendingRequests).
//
// Thread-safety: none; one LineSplitter per direction and one McpTracker per proxied connection, used
// from one thread.
#ifndef AGENTTRACE_RECORDER_JSONRPC_FRAMING_H_
#define AGENTTRACE_RECORDER_JSONRPC_FRAMING_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "format/event.h"
#include "format/event_sink.h"
#include "format/json_limits.h"

namespace agenttrace {

// Bytes of an offending line kept in a protocol.error event.
inline constexpr size_t kProtocolErrorSnippetBytes = 4096;
// The MCP SDKs accept messages up to 10 MiB; we allow a little more before giving up on a line.
inline constexpr size_t kDefaultMaxMessageBytes = kMaxJsonBytes;
inline constexpr size_t kMaxPendingRequests = 65536;

// Receives what a LineSplitter finds.
class LineSink {
 public:
  virtual ~LineSink() = default;
  // A complete line without its '\n'. The view is valid only during the call.
  virtual void OnLine(std::string_view line) = 0;
  // A line longer than the maximum: its first bytes (at most kProtocolErrorSnippetBytes) and its full
  // size. `complete` is false when the stream ended before the newline.
  virtual void OnOversized(std::string_view head, uint64_t size, bool complete) = 0;
  // Bytes after the last newline when the stream ended (a message without its terminator).
  virtual void OnTrailingBytes(std::string_view bytes) = 0;
};

class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes = kDefaultMaxMessageBytes) : max_(max_line_bytes) {}

  // Splits `bytes` (any fragment of the stream) and reports every line completed by it.
  void Feed(std::string_view bytes, LineSink* sink);
  // End of stream: reports a partial last line, if any. The splitter is reset afterwards.
  void Finish(LineSink* sink);

  // Bytes currently buffered (a partial line); never above max_line_bytes.
  size_t buffered() const { return buf_.size(); }

 private:
  void Append(std::string_view part);

  size_t max_;
  std::string buf_;         // partial line (only while not oversized)
  bool oversized_ = false;  // the current line passed max_; buf_ holds only its head
  uint64_t line_size_ = 0;  // size so far of the current line
};

// The direction opposite to `d` (kNone stays kNone).
Direction Opposite(Direction d);

// BLAKE2b-256 of `bytes`, lower-case hex (64 characters).
std::string Blake2bHex(std::string_view bytes);

// Tool arguments and hook inputs (tool.call json) above this many bytes are recorded as the marker
// below, as results are above their (lower) bound: the same rule for every producer.
inline constexpr size_t kMaxRecordedArgumentsBytes = 1u << 20;
// What an oversized JSON body is recorded as: {"blake2b":"<hex>","size":N,"truncated":true}.
std::string TruncatedBodyJson(std::string_view body);

struct McpTrackerOptions {
  // tool.result and mcp.response bodies larger than this are replaced by
  // {"truncated":true,"size":N,"blake2b":"<hex>"}.
  size_t max_result_bytes = 64u << 10;
  // tools/call arguments larger than this are replaced by the same marker (event size = their size).
  // Higher than the result bound: policies match on arguments (docs/threat-model.md).
  size_t max_arguments_bytes = kMaxRecordedArgumentsBytes;
  // Server name used until initialize's serverInfo.name is seen (the server command's basename).
  std::string fallback_server_name;
  // Applied to tool arguments, request and notification params and results before they are recorded
  // (secret redaction). May be empty.
  std::function<void(std::string*)> redact;
};

// What a proxy that decides tool calls does with one agent->server message. The proxy's reading must
// be the server's: a message that some server could read as a tools/call, but that is not one plain
// tools/call request here, is refused rather than forwarded undecided.
enum class ClientMessageAction {
  kForward,  // not a tools/call under any reading: forwarded as it is
  kDecide,   // one well-formed tools/call request: decided before it is forwarded
  kRefuse,   // cannot be decided as the server will read it: never forwarded
};

struct ClientMessageVerdict {
  ClientMessageAction action = ClientMessageAction::kForward;
  std::string reason;  // kRefuse: why, for the record and for the agent's error answer
  // kRefuse: the ids (JSON text) of the requests to answer with an error; empty for notifications and
  // for messages whose id cannot be read.
  std::vector<std::string> answer_ids;
  bool batch = false;  // kRefuse: a JSON-RPC batch (answered with an array)
};

// Classifies one agent->server line (without its newline; a trailing '\r' is ignored). Refused:
// anything that cannot be parsed here (invalid JSON or UTF-8, lone surrogate escapes, deeper than
// kMaxJsonDepth: a server's parser may still accept it), duplicate keys at any depth (parsers disagree
// on which one counts), a tools/call that is not a request with "jsonrpc":"2.0", a string or integer
// id and a string params.name (a notification, a float or null id: servers may still run it), a
// tools/call with a NUL in a string of its params, a method equal to tools/call but for case,
// surrounding whitespace or what follows a NUL, a carriage return inside the line (a line
// end to Python's universal newlines), and a batch holding any of these or a tools/call. Keys and strings are compared unescaped. On kDecide, `call` gets the tool.call the
// tracker records (tool, json bounded and redacted as `options` say, request_id, direction kToServer;
// no server, no times).
ClientMessageVerdict ClassifyClientMessage(std::string_view line, const McpTrackerOptions& options, Event* call);

// Turns JSON-RPC lines into events. Every event gets server, direction, mono_ns/wall_ns as given;
// seq and pid are left to the writer.
class McpTracker {
 public:
  // Events go to `sink` (which must outlive the tracker) as they are found. What the sink answers does
  // not change the tracking: a refused event is gone, and the requests, answers and server name that
  // follow are tracked as before. Producers that stop recording at a failure put a FirstFailureSink
  // (recorder/first_failure_sink.h) in front.
  McpTracker(McpTrackerOptions options, EventSink& sink);

  // One complete line that travelled in `dir`, read at the given times.
  void OnLine(Direction dir, std::string_view line, int64_t mono_ns, int64_t wall_ns);
  // A line that was too long to be parsed (see LineSink::OnOversized).
  void OnOversized(Direction dir, std::string_view head, uint64_t size, bool complete, int64_t mono_ns,
                   int64_t wall_ns);
  // Unterminated bytes at the end of a stream.
  void OnTrailingBytes(Direction dir, std::string_view bytes, int64_t mono_ns, int64_t wall_ns);
  // Emits what is held back (events waiting for the server's name). Call at the end of a session.
  void Flush();

  const std::string& server_name() const { return server_name_; }
  size_t pending_requests() const { return pending_.size(); }

 private:
  struct Pending {
    std::string method;
    std::string tool;  // tools/call only
    int64_t start_mono_ns = 0;
    bool cancelled = false;
  };
  using Key = std::pair<Direction, std::string>;

  // Records a protocol.error whose json is the first kProtocolErrorSnippetBytes of `bytes` and whose
  // size is `size` (or bytes.size() when 0).
  void ProtocolError(Direction dir, std::string_view what, std::string_view bytes, int64_t mono_ns, int64_t wall_ns,
                     int64_t size = 0);
  void Emit(Event& e);
  void Redact(std::string* s) const;
  // Sets e->json to `body`, or to the truncation marker when body is too large; e->size = body size.
  void SetBoundedBody(std::string body, Event* e) const;

  McpTrackerOptions options_;
  EventSink& sink_;
  std::string server_name_;
  std::map<Key, Pending> pending_;
  // While an initialize request awaits its response, events are held so that they carry the name the
  // server gives itself (bounded: released unnamed past kMaxHeldEvents).
  bool holding_ = false;
  std::vector<Event> held_;
  Event scratch_;
};

// Feeds one direction of a stream into a tracker through a LineSplitter (convenience for the proxy,
// the fuzzer and tests).
class DirectionalFeeder final : public LineSink {
 public:
  DirectionalFeeder(Direction dir, McpTracker* tracker, size_t max_line_bytes = kDefaultMaxMessageBytes)
      : dir_(dir), tracker_(tracker), splitter_(max_line_bytes) {}
  void Feed(std::string_view bytes, int64_t mono_ns, int64_t wall_ns) {
    mono_ns_ = mono_ns;
    wall_ns_ = wall_ns;
    splitter_.Feed(bytes, this);
  }
  void Finish(int64_t mono_ns, int64_t wall_ns) {
    mono_ns_ = mono_ns;
    wall_ns_ = wall_ns;
    splitter_.Finish(this);
  }
  size_t buffered() const { return splitter_.buffered(); }

  void OnLine(std::string_view line) override { tracker_->OnLine(dir_, line, mono_ns_, wall_ns_); }
  void OnOversized(std::string_view head, uint64_t size, bool complete) override {
    tracker_->OnOversized(dir_, head, size, complete, mono_ns_, wall_ns_);
  }
  void OnTrailingBytes(std::string_view bytes) override { tracker_->OnTrailingBytes(dir_, bytes, mono_ns_, wall_ns_); }

 private:
  Direction dir_;
  McpTracker* tracker_;
  LineSplitter splitter_;
  int64_t mono_ns_ = 0;
  int64_t wall_ns_ = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_JSONRPC_FRAMING_H_
