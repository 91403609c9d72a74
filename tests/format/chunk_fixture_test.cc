// The bytes the current encoder writes, pinned: data/codec3_every_kind.chunk was written by the
// encoder before the field layout got its one description (format/chunk_fields.h), and the encoder
// must keep writing exactly these bytes. A change here is a change of the stored format: bump the
// codec (docs/format.md) instead of regenerating the fixture.
//
// Regenerate (only together with a new codec): AGENTTRACE_REGENERATE_GOLDEN=1 ctest -R chunk_codec_test
#include <gtest/gtest.h>
#include <zstd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "format/chunk_codec.h"
#include "tests/format/synthetic_events.h"

namespace agenttrace {
namespace {

using testing::FullEvent;

// Every kind with every field it stores, extreme and default values, and repeats that make the
// encoder reference strings backwards (interned strings) and front-code shared prefixes.
std::vector<Event> FixtureEvents() {
  std::vector<Event> events;
  for (uint16_t k = 0; k < kEventKindCount; ++k) events.push_back(FullEvent(static_cast<EventKind>(k), 100 + k));
  Event e;
  e.kind = EventKind::kFileOpen;
  e.mono_ns = INT64_MIN;
  e.wall_ns = INT64_MAX;
  e.pid = INT32_MIN;
  e.tid = INT32_MAX;
  e.result = INT64_MIN;
  e.size = INT64_MAX;
  e.flags = UINT64_MAX;
  e.mode = UINT32_MAX;
  e.uid = UINT32_MAX;
  e.gid = UINT32_MAX;
  events.push_back(e);
  e = Event{};
  e.kind = EventKind::kProcSpawn;
  e.mono_ns = INT64_MAX;
  e.pid = INT32_MAX;
  e.child_pid = INT32_MIN;
  e.exit_code = INT32_MIN;
  e.signal = INT32_MAX;
  e.is_thread = true;
  events.push_back(e);
  e = Event{};
  e.kind = EventKind::kAnnotation;  // every field default
  events.push_back(e);
  e = Event{};
  e.kind = EventKind::kExec;
  e.argv = {"", "a", "", std::string(1000, 'x')};
  events.push_back(e);
  e = Event{};
  e.kind = EventKind::kRaw;
  e.args = {0, 0, 0, 0, 0, UINT64_MAX};
  e.syscall_nr = UINT32_MAX;
  e.arch = UINT32_MAX;
  events.push_back(e);
  e = Event{};
  e.kind = EventKind::kNetSend;
  e.family = UINT16_MAX;
  e.port = UINT16_MAX;
  e.size = INT64_MIN;
  events.push_back(e);
  for (uint64_t i = 0; i < 3 * kEventKindCount; ++i) {
    events.push_back(FullEvent(static_cast<EventKind>(i % kEventKindCount), 100 + i % 7));
  }
  for (size_t i = 0; i < events.size(); ++i) events[i].seq = 100 + i;
  return events;
}

std::string FixturePath() { return std::string(AGENTTRACE_FORMAT_TEST_DATA) + "/codec3_every_kind.chunk"; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The Cap'n Proto message a chunk's payload decompresses to.
std::string Message(const std::string& chunk) {
  auto h = ParseChunkHeader(chunk);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  if (!h.ok()) return {};
  std::string raw(h->raw_size, '\0');
  size_t n = ZSTD_decompress(raw.data(), raw.size(), chunk.data() + kChunkHeaderSize, h->stored_size);
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  EXPECT_EQ(n, raw.size());
  return raw;
}

std::string EncodeFixtureEvents() {
  ChunkEncoder enc(WriterOptions{});
  for (const Event& e : FixtureEvents()) enc.Add(e);
  std::string out;
  Status st = enc.Seal(100, Blake2b256("previous chunk"), &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(ChunkFixtureTest, EncoderWritesTheCommittedCodec3BytesForEveryKindAndField) {
  const std::string chunk = EncodeFixtureEvents();
  const char* regen = std::getenv("AGENTTRACE_REGENERATE_GOLDEN");
  if (regen != nullptr && std::string(regen) == "1") {
    FILE* f = std::fopen(FixturePath().c_str(), "wb");
    ASSERT_NE(f, nullptr) << FixturePath();
    ASSERT_EQ(std::fwrite(chunk.data(), 1, chunk.size(), f), chunk.size());
    std::fclose(f);
    GTEST_SKIP() << "regenerated " << FixturePath();
  }
  const std::string fixture = ReadAll(FixturePath());
  ASSERT_FALSE(fixture.empty()) << "missing " << FixturePath();
  // The message is the format: it must match byte for byte whatever zstd build compresses it.
  EXPECT_TRUE(Message(chunk) == Message(fixture)) << "the encoder's Columns message changed";
  // The whole chunk (header, compressed payload) too: zstd output is stable for a given zstd build,
  // and a recorded store holds exactly these bytes.
  EXPECT_TRUE(chunk == fixture) << "the encoded chunk changed (" << chunk.size() << " bytes, fixture "
                                << fixture.size() << ")";
}

TEST(ChunkFixtureTest, CommittedCodec3ChunkDecodesToTheFixtureEvents) {
  const std::string fixture = ReadAll(FixturePath());
  ASSERT_FALSE(fixture.empty()) << "missing " << FixturePath();
  auto h = ParseChunkHeader(fixture);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->codec, kCodecColumns3Zstd);
  EXPECT_EQ(h->first_seq, 100u);
  EXPECT_EQ(h->prev_hash, Blake2b256("previous chunk"));
  std::vector<Event> back;
  const Hash256 prev = Blake2b256("previous chunk");
  Status st = DecodeChunk(fixture, ReaderOptions{}, &prev, &back);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(back, FixtureEvents());
}

}  // namespace
}  // namespace agenttrace
