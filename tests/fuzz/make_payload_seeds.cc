// Writes, for every chunk seed in IN_DIR, the payload-level fuzz input (codec, event count,
// decompressed message) to OUT_DIR under the same name: the seeds of fuzz_chunk_payload.
//   build-fuzz/tests/fuzz/make_payload_seeds tests/fuzz/corpus/chunk_decode payload-seeds
#include <cstdio>
#include <filesystem>
#include <string>

#include "format/sys.h"
#include "tests/fuzz/fuzz_chunk_decode.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IN_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  std::filesystem::create_directories(argv[2]);
  int written = 0;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    auto bytes = agenttrace::ReadFileToString(entry.path().string());
    if (!bytes.ok()) continue;
    std::string input = agenttrace::PayloadInputOfChunk(*bytes);
    if (input.empty()) continue;
    std::string out = (std::filesystem::path(argv[2]) / entry.path().filename()).string();
    FILE* f = std::fopen(out.c_str(), "wb");
    if (f == nullptr || std::fwrite(input.data(), 1, input.size(), f) != input.size()) {
      std::fprintf(stderr, "cannot write %s\n", out.c_str());
      return 1;
    }
    std::fclose(f);
    ++written;
  }
  std::printf("%d seeds\n", written);
  return written > 0 ? 0 : 1;
}
