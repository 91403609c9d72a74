// Chunk codec: round trips, and one named test per decoder error path (byte surgery on encoded chunks).
#include "format/chunk_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <cstdio>
#include <cstring>

#include "format/chunk_codec_testing.h"
#include "tests/format/synthetic_events.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;
using testing::FullEvent;

std::string Encode(const std::vector<Event>& events, uint64_t first_seq = 0, const Hash256& prev = {},
                   const WriterOptions& options = {}) {
  ChunkEncoder enc(options);
  for (const auto& e : events) enc.Add(e);
  std::string out;
  Status st = enc.Seal(first_seq, prev, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

Status Decode(std::string_view chunk, std::vector<Event>* out, const Hash256* prev = nullptr,
              const ReaderOptions& options = {}) {
  return DecodeChunk(chunk, options, prev, out, ChunkContext{"s-1", 7});
}

std::vector<Event> EveryKind(uint64_t first_seq) {
  std::vector<Event> events;
  for (uint16_t k = 0; k < kEventKindCount; ++k) {
    events.push_back(FullEvent(static_cast<EventKind>(k), first_seq + k));
  }
  return events;
}

// Rewrites header field bytes [off, off+len) of `chunk` with `value` (little-endian).
void Poke(std::string* chunk, size_t off, uint64_t value, int len) {
  for (int i = 0; i < len; ++i) (*chunk)[off + i] = static_cast<char>(value >> (8 * i));
}

TEST(ChunkCodecTest, RoundTripEveryKindWithEveryField) {
  std::vector<Event> events = EveryKind(100);
  std::string chunk = Encode(events, 100);
  std::vector<Event> back;
  Status st = Decode(chunk, &back);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(back.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(back[i], events[i]) << "kind " << EventKindName(events[i].kind);
  }
}

TEST(ChunkCodecTest, RoundTripExtremeValuesAndDefaults) {
  std::vector<Event> events(4);
  events[0].kind = EventKind::kFileOpen;
  events[0].mono_ns = INT64_MIN;
  events[0].wall_ns = INT64_MAX;
  events[0].pid = INT32_MIN;
  events[0].tid = INT32_MAX;
  events[0].result = INT64_MIN;
  events[0].size = INT64_MAX;
  events[0].flags = UINT64_MAX;
  events[1].kind = EventKind::kProcSpawn;
  events[1].mono_ns = INT64_MAX;
  events[1].pid = INT32_MAX;
  events[1].child_pid = INT32_MIN;
  events[1].exit_code = INT32_MIN;
  events[1].signal = INT32_MAX;
  events[2].kind = EventKind::kAnnotation;  // every field default
  events[3].kind = EventKind::kExec;
  events[3].argv = {"", "a", "", std::string(1000, 'x')};
  for (size_t i = 0; i < events.size(); ++i) events[i].seq = i;
  std::vector<Event> back;
  ASSERT_TRUE(Decode(Encode(events), &back).ok());
  EXPECT_EQ(back, events);
}

TEST(ChunkCodecTest, RepeatedStringsAreStoredOnce) {
  std::vector<Event> events;
  std::string long_path = "/home/agent/" + std::string(4000, 'p');
  for (int i = 0; i < 100; ++i) {
    Event e = FullEvent(EventKind::kFileOpen, i);
    e.path = long_path;
    e.path2.clear();
    e.resolved.clear();
    events.push_back(e);
  }
  auto h = ParseChunkHeader(Encode(events));
  ASSERT_TRUE(h.ok());
  EXPECT_LT(h->raw_size, 4000u + 100 * 64);  // one copy of the path, not 100
}

TEST(ChunkCodecTest, HeaderFieldsAndChain) {
  std::vector<Event> a = EveryKind(0), b = EveryKind(kEventKindCount);
  std::string c0 = Encode(a, 0);
  Hash256 h0 = ChunkHash(c0);
  std::string c1 = Encode(b, kEventKindCount, h0);
  auto h = ParseChunkHeader(c1);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->first_seq, kEventKindCount);
  EXPECT_EQ(h->event_count, kEventKindCount);
  EXPECT_EQ(h->stored_size, c1.size() - kChunkHeaderSize);
  EXPECT_EQ(h->prev_hash, h0);
  EXPECT_EQ(h->payload_hash, Blake2b256(std::string_view(c1).substr(kChunkHeaderSize)));
  EXPECT_EQ(c1.substr(0, 4), "ATCK");
  std::vector<Event> back;
  EXPECT_TRUE(Decode(c1, &back, &h0).ok());
  EXPECT_EQ(back, b);
}

TEST(ChunkCodecTest, EncoderReportsFullAtEventAndByteBounds) {
  WriterOptions opt;
  opt.chunk_max_events = 3;
  ChunkEncoder enc(opt);
  enc.Add(FullEvent(EventKind::kFileOpen, 0));
  enc.Add(FullEvent(EventKind::kFileOpen, 1));
  EXPECT_FALSE(enc.full());
  enc.Add(FullEvent(EventKind::kFileOpen, 2));
  EXPECT_TRUE(enc.full());

  WriterOptions small;
  small.chunk_max_raw_bytes = 4096;
  ChunkEncoder enc2(small);
  int n = 0;
  while (!enc2.full()) enc2.Add(FullEvent(EventKind::kToolCall, n++));
  std::string out;
  ChunkHeader h;
  ASSERT_TRUE(enc2.Seal(0, {}, &out, &h).ok());
  EXPECT_LE(h.raw_size, 4096u + 2048);  // the event that crossed the bound is the last one
  EXPECT_GT(n, 3);
  EXPECT_TRUE(enc2.empty());
}

TEST(ChunkCodecTest, TruncatedChunk) {
  std::string chunk = Encode(EveryKind(0));
  std::vector<Event> back;
  Status st = Decode(chunk.substr(0, 50), &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("session s-1: chunk 7: truncated chunk"));
  st = Decode(chunk.substr(0, chunk.size() - 1), &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("truncated chunk"));
  EXPECT_TRUE(back.empty());
}

TEST(ChunkCodecTest, TrailingBytes) {
  std::string chunk = Encode(EveryKind(0)) + "x";
  std::vector<Event> back;
  EXPECT_THAT(Decode(chunk, &back).message(), HasSubstr("trailing"));
}

TEST(ChunkCodecTest, BadMagic) {
  std::string chunk = Encode(EveryKind(0));
  chunk[0] = 'X';
  std::vector<Event> back;
  EXPECT_THAT(Decode(chunk, &back).message(), HasSubstr("bad chunk magic"));
}

TEST(ChunkCodecTest, BadChecksum) {
  std::string chunk = Encode(EveryKind(0));
  chunk[kChunkHeaderSize + chunk.size() / 2 % (chunk.size() - kChunkHeaderSize)] ^= 0x10;
  std::vector<Event> back;
  Status st = Decode(chunk, &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message(), "session s-1: chunk 7: bad checksum");
}

TEST(ChunkCodecTest, BadVersion) {
  std::string chunk = Encode(EveryKind(0));
  Poke(&chunk, 4, kChunkFormatVersion + 1, 2);
  std::vector<Event> back;
  Status st = Decode(chunk, &back);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_THAT(st.message(), HasSubstr("chunk format version 2"));
}

TEST(ChunkCodecTest, UnknownCodec) {
  std::string chunk = Encode(EveryKind(0));
  Poke(&chunk, 6, 9, 2);
  std::vector<Event> back;
  EXPECT_EQ(Decode(chunk, &back).code(), StatusCode::kUnsupported);
}

TEST(ChunkCodecTest, ChunkTooLarge) {
  std::string chunk = Encode(EveryKind(0));
  ReaderOptions opt;
  opt.max_chunk_raw_bytes = 1 << 20;
  Poke(&chunk, 20, (1 << 20) + 1, 4);  // raw size claims more than the reader allows
  std::vector<Event> back;
  Status st = Decode(chunk, &back, nullptr, opt);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("chunk too large"));
}

TEST(ChunkCodecTest, RawSizeDisagreesWithZstdFrame) {
  std::string chunk = Encode(EveryKind(0));
  auto h = ParseChunkHeader(chunk);
  ASSERT_TRUE(h.ok());
  Poke(&chunk, 20, h->raw_size - 1, 4);
  std::vector<Event> back;
  EXPECT_THAT(Decode(chunk, &back).message(), HasSubstr("content size"));
}

TEST(ChunkCodecTest, BrokenChain) {
  std::string chunk = Encode(EveryKind(0), 0, Hash256{});
  Hash256 other{};
  other[0] = 1;
  std::vector<Event> back;
  Status st = Decode(chunk, &back, &other);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("chunk 7: broken chain"));
}

TEST(ChunkCodecTest, ZeroEventCount) {
  std::string chunk = Encode(EveryKind(0));
  Poke(&chunk, 16, 0, 4);
  std::vector<Event> back;
  EXPECT_THAT(Decode(chunk, &back).message(), HasSubstr("zero events"));
}

TEST(ChunkCodecTest, EventCountMismatch) {
  std::string chunk = Encode(EveryKind(0));
  Poke(&chunk, 16, kEventKindCount + 1, 4);
  std::vector<Event> back;
  EXPECT_THAT(Decode(chunk, &back).message(), HasSubstr("kinds column holds fewer than the header's 30 events"));
  // Fewer in the header than in the columns: the columns have bytes left after the last event.
  chunk = Encode(EveryKind(0));
  Poke(&chunk, 16, kEventKindCount - 1, 4);
  back.clear();
  EXPECT_THAT(Decode(chunk, &back).message(), HasSubstr("trailing bytes after the last event"));
  EXPECT_EQ(back.size(), kEventKindCount - 1u);
}

std::string ReadFixture(const std::string& name) {
  std::string path = std::string(AGENTTRACE_FORMAT_TEST_DATA) + "/" + name;
  FILE* f = std::fopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::string out;
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

// data/codec1_every_kind.chunk was written by the codec-1 encoder of earlier builds (EveryKind(100),
// first_seq 100, chunk 0): stores recorded then stay readable.
// EveryKind as codecs 1 and 2 store it: they have no resolved2 (a rename's destination as the kernel
// walks it, codec 3).
std::vector<Event> EveryKindBeforeCodec3(uint64_t first_seq) {
  std::vector<Event> events = EveryKind(first_seq);
  for (Event& e : events) e.resolved2.clear();
  return events;
}

TEST(ChunkCodecTest, Codec1ChunksOfEarlierBuildsStillDecode) {
  std::string chunk = ReadFixture("codec1_every_kind.chunk");
  auto h = ParseChunkHeader(chunk);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->codec, kCodecCapnpPackedZstd);
  std::vector<Event> back;
  Status st = Decode(chunk, &back);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(back, EveryKindBeforeCodec3(100));
  // Its own count check still applies.
  Poke(&chunk, 16, kEventKindCount + 1, 4);
  back.clear();
  EXPECT_THAT(Decode(chunk, &back).message(), HasSubstr("header says"));
}

// data/codec2_every_kind.chunk was written by the codec-2 encoder of earlier builds (EveryKind(100),
// first_seq 100, sealed): stores recorded then stay readable.
TEST(ChunkCodecTest, Codec2ChunksOfEarlierBuildsStillDecode) {
  std::string chunk = ReadFixture("codec2_every_kind.chunk");
  auto h = ParseChunkHeader(chunk);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->codec, kCodecColumnsZstd);
  std::vector<Event> back;
  Status st = Decode(chunk, &back);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(back, EveryKindBeforeCodec3(100));
}

TEST(ChunkCodecTest, EncoderWritesCodec3AndEncodeKeepsTheOpenChunk) {
  std::vector<Event> events = EveryKind(0);
  ChunkEncoder enc(WriterOptions{});
  for (size_t i = 0; i < 10; ++i) enc.Add(events[i]);
  std::string first, second;
  ChunkHeader h1, h2;
  ASSERT_TRUE(enc.Encode(0, {}, &first, &h1).ok());
  EXPECT_EQ(h1.codec, kCodecColumns3Zstd);
  EXPECT_EQ(h1.event_count, 10u);
  for (size_t i = 10; i < events.size(); ++i) enc.Add(events[i]);
  ASSERT_TRUE(enc.Seal(0, {}, &second, &h2).ok());
  EXPECT_EQ(h2.event_count, events.size());
  EXPECT_TRUE(enc.empty());
  std::vector<Event> back;
  ASSERT_TRUE(Decode(first, &back).ok());
  EXPECT_EQ(back, std::vector<Event>(events.begin(), events.begin() + 10));
  back.clear();
  ASSERT_TRUE(Decode(second, &back).ok());
  EXPECT_EQ(back, events);
}

TEST(ChunkCodecTest, PayloadNotZstd) {
  std::string raw(64, 'z');
  std::string chunk = FrameChunk(raw, 0, 1, {});
  chunk.replace(kChunkHeaderSize, 4, "nope");  // break the zstd magic; fix the payload hash
  Hash256 h = Blake2b256(std::string_view(chunk).substr(kChunkHeaderSize));
  std::memcpy(chunk.data() + 32, h.data(), 32);
  std::vector<Event> back;
  EXPECT_THAT(Decode(chunk, &back).message(), HasSubstr("not a zstd frame"));
}

TEST(ChunkCodecTest, GarbagePayloadThatZstdAcceptsButCapnpRejects) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 131 + 7) & 0xFF));
  std::vector<Event> back;
  Status st = Decode(FrameChunk(garbage, 0, 1, {}), &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("session s-1: chunk 7: malformed message"));
  // A message whose segment table claims far more than the data holds.
  std::string claims_big("\x00\x00\x00\x00\xff\xff\xff\x0f", 8);
  st = Decode(FrameChunk(claims_big, 0, 1, {}), &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_TRUE(back.empty());
}

using testing::RawChunk;

// Frames a hand-described Chunk message.
std::string FrameRaw(const RawChunk& raw) {
  return FrameChunk(testing::EncodeRawChunkMessage(raw), 0, static_cast<uint32_t>(raw.events.size()), {});
}

constexpr uint16_t kOpen = static_cast<uint16_t>(EventKind::kFileOpen);

TEST(ChunkCodecTest, StringTableIndexOutOfRange) {
  RawChunk raw;
  raw.string_data = "abc";
  raw.string_ends = {3};
  raw.events = {{kOpen, RawChunk::Group::kFile, 1},   // valid: "abc"
                {kOpen, RawChunk::Group::kFile, 2}};  // the table has one string
  raw.mono_varints = std::string(2, '\0');
  std::vector<Event> back;
  Status st = Decode(FrameRaw(raw), &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("event 1: string reference out of range"));
  ASSERT_EQ(back.size(), 1u);  // the valid event before it was returned
  EXPECT_EQ(back[0].path, "abc");
}

TEST(ChunkCodecTest, StringTableEndsOutOfRange) {
  RawChunk raw;
  raw.string_data = "abc";
  raw.string_ends = {2, 99};
  raw.events = {{kOpen, RawChunk::Group::kFile, 0}};
  raw.mono_varints = std::string(1, '\0');
  std::vector<Event> back;
  EXPECT_THAT(Decode(FrameRaw(raw), &back).message(), HasSubstr("string table entry 1"));
}

TEST(ChunkCodecTest, UnknownKindAndMismatchedGroup) {
  RawChunk raw;
  raw.events = {{kEventKindCount, RawChunk::Group::kFile, 0}};
  raw.mono_varints = std::string(1, '\0');
  std::vector<Event> back;
  EXPECT_THAT(Decode(FrameRaw(raw), &back).message(), HasSubstr("unknown kind"));
  raw.events = {{static_cast<uint16_t>(EventKind::kExec), RawChunk::Group::kTool, 0}};
  EXPECT_THAT(Decode(FrameRaw(raw), &back).message(), HasSubstr("do not match kind exec"));
}

TEST(ChunkCodecTest, MonoColumnLengthMismatch) {
  RawChunk raw;
  raw.events = {{kOpen, RawChunk::Group::kFile, 0}, {kOpen, RawChunk::Group::kFile, 0}};
  raw.mono_varints = std::string(1, '\0');
  std::vector<Event> back;
  EXPECT_THAT(Decode(FrameRaw(raw), &back).message(), HasSubstr("mono clock column"));
  raw.mono_varints = std::string(3, '\0');
  EXPECT_THAT(Decode(FrameRaw(raw), &back).message(), HasSubstr("trailing"));
  raw.mono_varints = std::string("\0\x80", 2);  // the second varint never ends
  EXPECT_THAT(Decode(FrameRaw(raw), &back).message(), HasSubstr("bad or missing varint"));
}

// --- Codec 2 (columns): one test per decoder check, on hand-built messages.

using testing::RawColumns;
using testing::Varints;
using Col = ChunkEncoder::Column;

std::string FrameColumns(const RawColumns& raw, uint32_t events) {
  return FrameChunk(testing::EncodeRawColumnsMessage(raw), 0, events, {}, 3, kCodecColumnsZstd);
}

// `n` file.open events whose columns are all valid; the path references are given.
RawColumns OpenEvents(std::initializer_list<uint64_t> path_refs) {
  RawColumns c;
  for (uint64_t r : path_refs) {
    c.columns[Col::kKinds] += Varints({kOpen});
    for (Col col : {Col::kMono, Col::kWall, Col::kPid, Col::kTid, Col::kResults, Col::kFlags}) {
      c.columns[col] += Varints({0});
    }
    c.columns[Col::kPaths] += Varints({r});
    c.columns[Col::kPaths2] += Varints({0, 0});
    c.columns[Col::kValues] += Varints({0, 0, 0, 0});
  }
  return c;
}

TEST(ChunkCodec2Test, HandBuiltColumnsDecode) {
  RawColumns c = OpenEvents({1, 1, 3, 2});  // "a", "ab", "a" (2 back), "ab" (the newest)
  c.string_data = "ab";
  c.string_lengths = Varints({0, 1, 1, 1});  // "a"; then 1 byte of "a" and "b"
  std::vector<Event> back;
  Status st = Decode(FrameColumns(c, 4), &back);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[0].path, "a");
  EXPECT_EQ(back[1].path, "ab");
  EXPECT_EQ(back[2].path, "a");
  EXPECT_EQ(back[3].path, "ab");
}

TEST(ChunkCodec2Test, StringReferenceOutOfRange) {
  RawColumns c = OpenEvents({1, 1});  // the second "next new string" does not exist
  c.string_data = "a";
  c.string_lengths = Varints({0, 1});
  std::vector<Event> back;
  Status st = Decode(FrameColumns(c, 2), &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("event 1: string reference out of range"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].path, "a");
  c = OpenEvents({1, 3});  // 2 back when only one string was seen
  c.string_data = "ab";
  c.string_lengths = Varints({0, 1, 0, 1});
  back.clear();
  EXPECT_THAT(Decode(FrameColumns(c, 2), &back).message(), HasSubstr("event 1: string reference out of range"));
}

TEST(ChunkCodec2Test, StringTableChecks) {
  RawColumns c = OpenEvents({1});
  c.string_data = "abc";
  c.string_lengths = Varints({0, 1, 0, 5});  // the second string runs past the data
  std::vector<Event> back;
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("string table entry 1 is out of range"));
  c.string_lengths = Varints({0, 1, 2, 1});  // shares 2 bytes with a 1-byte string
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("string table entry 1 is out of range"));
  c.string_lengths = Varints({0, 1, 0});  // a prefix length without its rest
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("string table entry 1: truncated"));
  c.string_lengths = Varints({0, 1, 0, 1});  // one byte of data not covered
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("1 bytes not covered by stringLengths"));
  c.string_lengths = Varints({0, 1, 1, 2});  // "abc" is never referenced
  back.clear();
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("1 strings never referenced"));
  // Front coding cannot be used to expand a small message into a huge string table.
  c.string_data = std::string(1000, 'x');
  c.string_lengths = Varints({0, 1000});
  for (int i = 0; i < 100; ++i) c.string_lengths += Varints({1000, 0});
  ReaderOptions small;
  small.max_chunk_raw_bytes = 50000;
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back, nullptr, small).message(),
              HasSubstr("string table expands to more than 50000 bytes"));
}

TEST(ChunkCodec2Test, TruncatedAndTrailingColumns) {
  RawColumns c = OpenEvents({0, 0});
  c.columns[Col::kMono] = Varints({0});  // one value for two events
  std::vector<Event> back;
  Status st = Decode(FrameColumns(c, 2), &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("event 1: monoDeltas column: truncated or out-of-range value"));
  c = OpenEvents({0, 0});
  c.columns[Col::kValues] += Varints({7});
  EXPECT_THAT(Decode(FrameColumns(c, 2), &back).message(), HasSubstr("values column: 1 trailing bytes"));
  c = OpenEvents({0});
  c.columns[Col::kResults] = std::string("\x80\x80", 2);  // a varint that never ends
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("results column: truncated"));
  c.columns[Col::kResults] = std::string(10, '\xff') + '\x01';  // more than 64 bits
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("results column: truncated"));
}

TEST(ChunkCodec2Test, ValuesOutOfTheirFieldsRange) {
  RawColumns c = OpenEvents({0});
  c.columns[Col::kPid] = Varints({1ull << 32});
  std::vector<Event> back;
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("pidDeltas column: truncated or out-of-range"));
  c = OpenEvents({0});
  c.columns[Col::kKinds] = Varints({kEventKindCount});
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("unknown kind 29"));
  c.columns[Col::kKinds] = Varints({1u << 16});
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("kinds column: truncated or out-of-range"));
}

TEST(ChunkCodec2Test, FamilySpecificChecks) {
  // An exec whose argv count exceeds what the lists column holds.
  RawColumns c;
  c.columns[Col::kKinds] = Varints({static_cast<uint16_t>(EventKind::kExec)});
  for (Col col : {Col::kMono, Col::kWall, Col::kPid, Col::kTid, Col::kResults, Col::kFlags, Col::kPaths,
                  Col::kPaths2}) {
    c.columns[col] = Varints({0});
  }
  c.columns[Col::kLists] = Varints({60000, 0, 0});
  std::vector<Event> back;
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("lists column: truncated or out-of-range"));
  // A raw syscall with 3 arguments instead of 0 or 6.
  c = RawColumns{};
  c.columns[Col::kKinds] = Varints({static_cast<uint16_t>(EventKind::kRaw)});
  for (Col col : {Col::kMono, Col::kWall, Col::kPid, Col::kTid, Col::kResults, Col::kStrings}) {
    c.columns[col] = Varints({0});
  }
  c.columns[Col::kValues] = Varints({1, 2, 3, 1, 2, 3});
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("3 syscall args, not 6"));
  // A tool result with an unknown direction.
  c = RawColumns{};
  c.columns[Col::kKinds] = Varints({static_cast<uint16_t>(EventKind::kToolResult)});
  for (Col col : {Col::kMono, Col::kWall, Col::kPid, Col::kTid, Col::kResults}) c.columns[col] = Varints({0});
  c.columns[Col::kStrings] = Varints({0, 0, 0, 0, 0, 0});
  c.columns[Col::kValues] = Varints({0, 3, 0, 0});
  EXPECT_THAT(Decode(FrameColumns(c, 1), &back).message(), HasSubstr("bad direction 3"));
}

TEST(ChunkCodec2Test, MessageNotWholeWords) {
  std::string raw = testing::EncodeRawColumnsMessage(OpenEvents({0}));
  raw.push_back('\0');
  std::vector<Event> back;
  EXPECT_THAT(Decode(FrameChunk(raw, 0, 1, {}, 3, kCodecColumnsZstd), &back).message(),
              HasSubstr("not a whole number of words"));
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 131 + 7) & 0xFF));
  EXPECT_THAT(Decode(FrameChunk(garbage, 0, 1, {}, 3, kCodecColumnsZstd), &back).message(),
              HasSubstr("malformed message"));
}

// --- Decoding bounds: interned strings let a small chunk describe huge events.

TEST(ChunkCodecBoundsTest, ArgvBombIsCorruptionNamingSessionAndChunkNotBadAlloc) {
  // One exec whose 65,535 argv entries all reference one 1 MiB string: 64 GiB if decoded.
  std::string chunk = FrameChunk(testing::ArgvBombColumnsMessage(1u << 20, 65535), 0, 1, {}, 19, kCodecColumnsZstd);
  EXPECT_LT(chunk.size(), 8192u);  // a few KB on disk
  std::vector<Event> back;
  Status st = Decode(chunk, &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("session s-1: chunk 7: event 0: strings decode to more than the per-event "
                                      "bound of " +
                                      std::to_string(kMaxEventDecodedBytes)));
  EXPECT_TRUE(back.empty());
  // Within the bound the same shape decodes (the bound is on bytes, not on the reference count).
  back.clear();
  Status ok = Decode(FrameChunk(testing::ArgvBombColumnsMessage(100, 65535), 0, 1, {}, 3, kCodecColumnsZstd), &back);
  ASSERT_TRUE(ok.ok()) << ok.ToString();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].argv.size(), 65535u);
}

TEST(ChunkCodecBoundsTest, Codec2EventsOverThePerChunkBound) {
  // Every event references the same 1 MiB path; the chunk may hand out 4 MiB.
  RawColumns c = OpenEvents({1, 2, 2, 2, 2, 2});
  c.string_data.assign(1u << 20, 'p');
  c.string_lengths = Varints({0, 1u << 20});
  ReaderOptions opt;
  opt.max_chunk_decoded_bytes = 4u << 20;
  std::vector<Event> back;
  Status st = Decode(FrameColumns(c, 6), &back, nullptr, opt);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("chunk 7: event 4: the chunk's strings decode to more than the per-chunk bound"));
  EXPECT_EQ(back.size(), 4u);  // the events before it were returned
}

TEST(ChunkCodecBoundsTest, Codec1EventsOverThePerEventAndPerChunkBounds) {
  RawChunk raw;
  raw.string_data.assign(1u << 20, 'p');
  raw.string_ends = {1u << 20};
  for (int i = 0; i < 6; ++i) raw.events.push_back({kOpen, RawChunk::Group::kFile, 1});
  raw.mono_varints = std::string(6, '\0');
  ReaderOptions opt;
  opt.max_chunk_decoded_bytes = 4u << 20;
  std::vector<Event> back;
  Status st = Decode(FrameRaw(raw), &back, nullptr, opt);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("event 4: the chunk's strings decode to more than the per-chunk bound"));
  EXPECT_EQ(back.size(), 4u);
  opt = ReaderOptions{};
  opt.max_event_decoded_bytes = 1000;
  back.clear();
  st = Decode(FrameRaw(raw), &back, nullptr, opt);
  EXPECT_THAT(st.message(), HasSubstr("event 0: strings decode to more than the per-event bound of 1000"));
}

TEST(ChunkCodecBoundsTest, EncoderSealsAtTheDecodedBytesBound) {
  // Interned repeats cost the raw size almost nothing, so only the decoded bound seals this chunk.
  WriterOptions opt;
  opt.chunk_max_decoded_bytes = 1u << 20;
  ChunkEncoder enc(opt);
  Event e;
  e.kind = EventKind::kFileOpen;
  e.path = "/" + std::string(100 << 10, 'x');
  int n = 0;
  while (!enc.full()) {
    enc.Add(e);
    ++n;
  }
  EXPECT_EQ(n, 11);  // 11 x 100 KiB >= 1 MiB
  EXPECT_LT(enc.estimated_raw_bytes(), opt.chunk_max_raw_bytes);
}

TEST(ChunkCodecTest, DecoderIsReusableAcrossChunks) {
  ChunkDecoder dec(ReaderOptions{});
  Event e;
  for (int round = 0; round < 3; ++round) {
    std::vector<Event> in = EveryKind(round * 100);
    std::string chunk = Encode(in, round * 100);
    ASSERT_TRUE(dec.Open(chunk, {}, nullptr).ok());
    size_t n = 0;
    for (;;) {
      auto r = dec.Next(&e);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (!*r) break;
      EXPECT_EQ(e, in[n]);
      ++n;
    }
    EXPECT_EQ(n, in.size());
  }
  // A failed Open leaves the decoder closed, not serving the old chunk.
  EXPECT_FALSE(dec.Open("short", {}, nullptr).ok());
  auto r = dec.Next(&e);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

}  // namespace
}  // namespace agenttrace
