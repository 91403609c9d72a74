// The SSE splitter on arbitrary chunk boundaries: every split of a stream (CRLF, CR and LF line ends,
// comments, multi-line data, ids, a BOM) gives the same events as one whole feed; bounds hold.
#include "recorder/sse_splitter.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "recorder/jsonrpc_framing.h"

namespace agenttrace {
namespace {

struct Got {
  std::string data, id, type;
  bool oversized = false;
  uint64_t size = 0;
  bool operator==(const Got&) const = default;
};

class Collect final : public SseEventSink {
 public:
  void OnEvent(const SseEvent& e) override {
    events.push_back({std::string(e.data), std::string(e.id), std::string(e.type), e.oversized, e.data_size});
  }
  std::vector<Got> events;
};

std::vector<Got> FeedChunks(const std::string& s, const std::vector<size_t>& cuts, size_t max = 1 << 20,
                            uint64_t* pending = nullptr) {
  SseSplitter sp(max);
  Collect c;
  size_t at = 0;
  for (size_t cut : cuts) {
    sp.Feed(std::string_view(s).substr(at, cut - at), &c);
    at = cut;
  }
  sp.Feed(std::string_view(s).substr(at), &c);
  uint64_t p = sp.Finish();
  if (pending != nullptr) *pending = p;
  return c.events;
}

// What an MCP server sends, with every line-ending style the spec allows.
const std::string kStream =
    "\xEF\xBB\xBF"
    ": keep-alive comment\n"
    "id: 1\n"
    "data: \n\n"  // the SDK's priming event: empty data
    "event: message\r\n"
    "id: 2\r\n"
    "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\n"
    "data:no-space\rdata:  two spaces\r\r"
    "retry: 100\n"
    "data: line1\r\n"
    "data: line2\n"
    "\n"
    "unknown: field\n"
    "data\n\n";  // a field with no colon: empty data

const std::vector<Got> kExpected = {
    {"", "1", "", false, 0},
    {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}", "2", "message", false, 51},
    {"no-space\n two spaces", "2", "", false, 20},
    {"line1\nline2", "2", "", false, 11},
    {"", "2", "", false, 0},
};

TEST(SseSplitterTest, WholeStream) { EXPECT_EQ(FeedChunks(kStream, {}), kExpected); }

TEST(SseSplitterTest, EverySplitInTwoGivesTheSameEvents) {
  for (size_t i = 1; i < kStream.size(); ++i) {
    EXPECT_EQ(FeedChunks(kStream, {i}), kExpected) << "split at " << i;
  }
}

TEST(SseSplitterTest, ByteByByteAndRandomChunks) {
  std::vector<size_t> every;
  for (size_t i = 1; i < kStream.size(); ++i) every.push_back(i);
  EXPECT_EQ(FeedChunks(kStream, every), kExpected);
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < kStream.size(); ++i) {
      if (rng() % 4 == 0) cuts.push_back(i);
    }
    EXPECT_EQ(FeedChunks(kStream, cuts), kExpected) << "round " << round;
  }
}

TEST(SseSplitterTest, CrAtTheEndOfAChunkIsNotABlankLine) {
  // Treating the LF after a chunk-final CR as a second line would dispatch "a" on its own.
  std::string s = "data: a\r\ndata: b\r\n\r\n";
  auto ev = FeedChunks(s, {8});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "a\nb");
}

TEST(SseSplitterTest, NotABomIsContent) {
  auto ev = FeedChunks(
      "\xEF"
      "data: x\n\n",
      {1});
  EXPECT_TRUE(ev.empty());  // "\xEF" "data" is an unknown field, not data
  ev = FeedChunks(
      "\xEF\xBB"
      "data: y\n\n",
      {1});
  EXPECT_TRUE(ev.empty());
  ev = FeedChunks(
      "d"
      "ata: z\n\n",
      {1});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "z");
}

TEST(SseSplitterTest, OversizedEventKeepsItsHeadAndSizeAndTheNextEventIsIntact) {
  const size_t max = 8192;
  std::string big(3 * max, 'x');
  std::string s = "data: " + big + "\ndata: tail\n\ndata: next\n\n";
  for (std::vector<size_t> cuts : {std::vector<size_t>{}, std::vector<size_t>{100, 9000, 20000}}) {
    auto ev = FeedChunks(s, cuts, max);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_TRUE(ev[0].oversized);
    EXPECT_EQ(ev[0].size, big.size() + 1 + 4);
    EXPECT_EQ(ev[0].data.size(), kProtocolErrorSnippetBytes);
    EXPECT_EQ(ev[0].data, big.substr(0, kProtocolErrorSnippetBytes));
    EXPECT_FALSE(ev[1].oversized);
    EXPECT_EQ(ev[1].data, "next");
  }
  // Many data lines, each small, add up past the bound too.
  std::string many;
  for (int i = 0; i < 100; ++i) many += "data: " + std::string(200, 'y') + "\n";
  auto ev = FeedChunks(many + "\n", {}, max);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].oversized);
  EXPECT_EQ(ev[0].size, 100u * 200 + 99);
}

TEST(SseSplitterTest, UnterminatedEventIsNotDispatchedAndIsReported) {
  uint64_t pending = 0;
  auto ev = FeedChunks("data: {\"a\":1}\n\ndata: {\"b\"", {5}, 1 << 20, &pending);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "{\"a\":1}");
  EXPECT_EQ(pending, std::string("data: {\"b\"").size());
  FeedChunks("data: x\n\n", {}, 1 << 20, &pending);
  EXPECT_EQ(pending, 0u);
}

}  // namespace
}  // namespace agenttrace
