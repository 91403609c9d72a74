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

}  // namespace
}  // namespace agenttrace
