// Replays the committed fuzz corpus through the fuzz entry as an ordinary test: every input must
// decode without crashing and fail, if at all, with a clean status; the valid_* seeds must decode.
#include <gtest/gtest.h>

#include <filesystem>

#include "format/sys.h"
#include "tests/fuzz/fuzz_chunk_decode.h"

namespace agenttrace {
namespace {

TEST(FuzzCorpusTest, ChunkDecodeCorpusReplaysCleanly) {
  const std::filesystem::path dir = std::filesystem::path(AGENTTRACE_CORPUS_DIR) / "chunk_decode";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t files = 0, valid = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    auto bytes = ReadFileToString(entry.path().string());
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    Status st = FuzzDecodeChunk(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
    EXPECT_TRUE(CleanStatus(st)) << entry.path() << ": " << st.ToString();
    std::string name = entry.path().filename().string();
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_TRUE(st.ok()) << name << ": " << st.ToString();
      ++valid;
    } else if (name.rfind("broken_", 0) == 0) {
      EXPECT_FALSE(st.ok()) << name << " decoded although it is broken";
    }
    ++files;
  }
  EXPECT_GE(files, 8u);
  EXPECT_GE(valid, 3u);
}

// The payload-level entry over the decompressed messages of the same seeds, intact and cut short.
TEST(FuzzCorpusTest, PayloadEntryOverTheSeedsMessages) {
  const std::filesystem::path dir = std::filesystem::path(AGENTTRACE_CORPUS_DIR) / "chunk_decode";
  size_t valid = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("valid_", 0) != 0) continue;
    auto bytes = ReadFileToString(entry.path().string());
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    std::string input = PayloadInputOfChunk(*bytes);
    ASSERT_FALSE(input.empty()) << name;
    const auto* p = reinterpret_cast<const uint8_t*>(input.data());
    Status st = FuzzDecodePayload(p, input.size());
    EXPECT_TRUE(st.ok()) << name << ": " << st.ToString();
    for (size_t cut : {input.size() - 1, input.size() / 2, size_t{11}}) {
      st = FuzzDecodePayload(p, cut);
      EXPECT_TRUE(CleanStatus(st)) << name << " cut at " << cut << ": " << st.ToString();
      EXPECT_FALSE(st.ok()) << name << " cut at " << cut;
    }
    ++valid;
  }
  EXPECT_GE(valid, 6u);
}

// Inputs the payload fuzzer found to crash the decoder once (corpus/chunk_payload/regress_*): they must
// now fail cleanly.
TEST(FuzzCorpusTest, PayloadRegressionsFailCleanly) {
  const std::filesystem::path dir = std::filesystem::path(AGENTTRACE_CORPUS_DIR) / "chunk_payload";
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto bytes = ReadFileToString(entry.path().string());
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    Status st = FuzzDecodePayload(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
    EXPECT_TRUE(CleanStatus(st)) << entry.path() << ": " << st.ToString();
    EXPECT_FALSE(st.ok()) << entry.path();
    ++n;
  }
  EXPECT_GE(n, 1u);
}

}  // namespace
}  // namespace agenttrace
