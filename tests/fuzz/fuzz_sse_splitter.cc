// libFuzzer target for the SSE splitter (recorder/sse_splitter.h) that the MCP Streamable HTTP proxy
// runs on copies of upstream event streams. Input: byte 0 chooses how the rest is cut into reads; the
// rest is the stream. Checks: the events do not depend on how the stream is cut, an event's data
// respects the bound (its head only when oversized, with a size at least as large), and Finish()
// reports the same unfinished bytes either way.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "format/status.h"
#include "recorder/jsonrpc_framing.h"
#include "recorder/sse_splitter.h"

namespace {

constexpr size_t kMax = 512;

struct Collect : agenttrace::SseEventSink {
  std::string joined;
  void OnEvent(const agenttrace::SseEvent& e) override {
    if (e.oversized) {
      AT_CHECK(e.data.size() <= agenttrace::kProtocolErrorSnippetBytes);
      AT_CHECK(e.data_size > kMax);
    } else {
      AT_CHECK(e.data.size() <= kMax);
      AT_CHECK(e.data.size() == e.data_size);
    }
    joined += std::string(e.type) + "|" + std::string(e.id) + "|" + std::to_string(e.data_size) + "|" +
              std::string(e.data) + "\n";
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agenttrace;
  if (size == 0) return 0;
  const size_t cut = 1 + data[0] % 31;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  SseSplitter whole(kMax), pieces(kMax);
  Collect a, b;
  whole.Feed(stream, &a);
  uint64_t pending_a = whole.Finish();
  for (size_t off = 0; off < stream.size(); off += cut) pieces.Feed(stream.substr(off, cut), &b);
  uint64_t pending_b = pieces.Finish();
  AT_CHECK_MSG(a.joined == b.joined, "events depend on read boundaries");
  AT_CHECK(pending_a == pending_b);
  return 0;
}
