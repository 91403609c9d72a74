// libFuzzer target for the JSON-RPC framing and MCP tracker (recorder/jsonrpc_framing.h).
// Input: byte 0 chooses how the rest is cut into reads and the direction of each; the rest is the
// stream. Checks: splitting is independent of how the stream is cut into reads, buffered bytes never
// exceed the line maximum, the tracker never crashes or exceeds its bounds on any input, and nothing
// the deciding proxy would forward undecided is recorded as a tool call.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/status.h"
#include "recorder/jsonrpc_framing.h"

namespace {

struct Collect : agenttrace::LineSink {
  std::string joined;
  void OnLine(std::string_view l) override {
    joined.append(l);
    joined.push_back('\n');
  }
  void OnOversized(std::string_view, uint64_t size, bool) override {
    joined += "<over:" + std::to_string(size) + ">\n";
  }
  void OnTrailingBytes(std::string_view b) override {
    joined.append(b);
    joined += "<eof>";
  }
};

// Checks every event the tracker emits against the bounds it was given (max_result_bytes = 128).
struct BoundsCheck final : agenttrace::EventSink {
  agenttrace::Status Append(const agenttrace::Event& e) override {
    using agenttrace::EventKind;
    if (e.kind == EventKind::kToolResult || e.kind == EventKind::kMcpResponse) {
      AT_CHECK(e.json.size() <= 128 || e.json.find("\"truncated\":true") != std::string::npos);
    }
    AT_CHECK(e.kind != EventKind::kProtocolError || e.json.size() <= agenttrace::kProtocolErrorSnippetBytes);
    return agenttrace::Status::Ok();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agenttrace;
  if (size == 0) return 0;
  const size_t cut = 1 + data[0] % 31;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr size_t kMax = 512;

  // 1. Splitting does not depend on read boundaries; memory stays bounded.
  LineSplitter whole(kMax), pieces(kMax);
  Collect a, b;
  whole.Feed(stream, &a);
  whole.Finish(&a);
  for (size_t off = 0; off < stream.size(); off += cut) {
    pieces.Feed(stream.substr(off, cut), &b);
    AT_CHECK(pieces.buffered() <= kMax);
  }
  pieces.Finish(&b);
  AT_CHECK_MSG(a.joined == b.joined, "split result depends on read boundaries");

  // 2. The tracker survives anything, alternating directions per read.
  McpTrackerOptions o;
  o.max_result_bytes = 128;
  o.fallback_server_name = "fuzz";
  BoundsCheck bounds;
  McpTracker tracker(o, bounds);
  DirectionalFeeder up(Direction::kToServer, &tracker, kMax), down(Direction::kToAgent, &tracker, kMax);
  int64_t t = 0;
  for (size_t off = 0, i = 0; off < stream.size(); off += cut, ++i) {
    DirectionalFeeder& f = ((data[0] >> 5) ^ i) & 1 ? down : up;
    ++t;
    f.Feed(stream.substr(off, cut), t, t);
  }
  up.Finish(t + 1, t + 1);
  down.Finish(t + 2, t + 2);
  tracker.Flush();
  AT_CHECK(tracker.pending_requests() <= kMaxPendingRequests);

  // 3. The deciding proxy's classifier: whatever it decides is a tools/call with its own id; a
  // message it forwards is one the tracker does not record as a tool call.
  LineSplitter lines(kMax);
  struct Classify final : LineSink {
    McpTrackerOptions o;
    void OnLine(std::string_view l) override { Check(l); }
    void OnOversized(std::string_view, uint64_t, bool) override {}
    void OnTrailingBytes(std::string_view b) override { Check(b); }
    void Check(std::string_view l) {
      Event call;
      ClientMessageVerdict v = ClassifyClientMessage(l, o, &call);
      if (v.action == ClientMessageAction::kDecide) {
        AT_CHECK(call.kind == EventKind::kToolCall && !call.request_id.empty());
      }
      if (v.action == ClientMessageAction::kForward) {
        struct NoToolCall final : EventSink {
          Status Append(const Event& e) override {
            AT_CHECK_MSG(e.kind != EventKind::kToolCall, "forwarded undecided, recorded as a tool call");
            return Status::Ok();
          }
        } none;
        McpTracker t(o, none);
        t.OnLine(Direction::kToServer, l, 0, 0);
        t.Flush();
      }
    }
  } classify;
  lines.Feed(stream, &classify);
  lines.Finish(&classify);
  return 0;
}
