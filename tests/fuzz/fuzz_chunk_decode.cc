// libFuzzer target for the chunk decoder. Build with clang and -DAGENTTRACE_FUZZ=ON, then run with a
// scratch directory first (libFuzzer writes new inputs there) and the committed seeds second:
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DAGENTTRACE_FUZZ=ON
//   cmake --build build-fuzz --target fuzz_chunk_decode
//   mkdir -p fuzz-out && build-fuzz/tests/fuzz/fuzz_chunk_decode fuzz-out tests/fuzz/corpus/chunk_decode
// fuzz_chunk_payload fuzzes the decompressed message instead (FuzzDecodePayload); its seeds are made
// from the chunk seeds: build-fuzz/tests/fuzz/make_payload_seeds tests/fuzz/corpus/chunk_decode SEEDS
// The same entry runs over the committed corpus in the fuzz_corpus_test ctest.
#include "tests/fuzz/fuzz_chunk_decode.h"

#include <zstd.h>

#include <cstdlib>
#include <string_view>

#include "format/chunk_codec.h"
#include "format/chunk_codec_testing.h"

namespace agenttrace {

bool CleanStatus(const Status& st) {
  if (st.ok()) return true;
  if (st.code() != StatusCode::kCorruption && st.code() != StatusCode::kUnsupported) return false;
  return st.message().rfind("session fuzz: chunk 0: ", 0) == 0;
}

Status FuzzDecodeChunk(const uint8_t* data, size_t size) {
  std::string_view chunk(reinterpret_cast<const char*>(data), size);
  ReaderOptions options;
  options.max_chunk_raw_bytes = 4u << 20;  // keep a fuzzing process small
  // Above what the writer seals a chunk at (64 MiB), below the reader's default, so that a
  // decompression bomb costs the fuzzer milliseconds, not seconds.
  options.max_chunk_decoded_bytes = 96u << 20;
  options.verify_hashes = false;
  ChunkContext ctx{"fuzz", 0};
  ChunkDecoder decoder(options);
  Event event;
  Status first;
  Status st = decoder.Open(chunk, ctx, nullptr);
  if (st.ok()) {
    for (;;) {
      auto r = decoder.Next(&event);
      if (!r.ok()) {
        st = r.status();
        break;
      }
      if (!*r) break;
    }
  }
  first = st;
  // Again with every check on, as the store's reader runs it.
  ReaderOptions strict;
  strict.max_chunk_raw_bytes = options.max_chunk_raw_bytes;
  strict.max_chunk_decoded_bytes = options.max_chunk_decoded_bytes;
  Hash256 zero{};
  std::vector<Event> events;
  Status st2 = DecodeChunk(chunk, strict, &zero, &events, ctx);
  if (first.ok() && !st2.ok()) first = st2;
  if (!CleanStatus(st) || !CleanStatus(st2)) {
    // Abort also in non-sanitized builds: a fuzzer treats it as a finding.
    std::abort();
  }
  return first;
}

Status FuzzDecodePayload(const uint8_t* data, size_t size) {
  if (size < 3) return Status::Ok();
  const uint16_t codec = data[0];
  const uint32_t count = static_cast<uint32_t>(data[1]) | static_cast<uint32_t>(data[2]) << 8;
  std::string_view raw(reinterpret_cast<const char*>(data) + 3, size - 3);
  if (count == 0 || raw.size() > (4u << 20)) return Status::Ok();  // the header check would refuse them
  std::string chunk = FrameChunk(raw, 0, count, Hash256{}, 1, codec);
  return FuzzDecodeChunk(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
}

std::string PayloadInputOfChunk(std::string_view chunk) {
  auto h = ParseChunkHeader(chunk);
  if (!h.ok() || h->event_count > 0xFFFF || h->codec > 0xFF) return {};
  std::string raw(h->raw_size, '\0');
  size_t n = ZSTD_decompress(raw.data(), raw.size(), chunk.data() + kChunkHeaderSize, h->stored_size);
  if (ZSTD_isError(n) || n != raw.size()) return {};
  std::string out;
  out.push_back(static_cast<char>(h->codec));
  out.push_back(static_cast<char>(h->event_count & 0xFF));
  out.push_back(static_cast<char>(h->event_count >> 8));
  return out + raw;
}

}  // namespace agenttrace

#ifdef AGENTTRACE_LIBFUZZER
// AGENTTRACE_FUZZ_PAYLOAD (a build of its own) fuzzes the payload-level entry.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef AGENTTRACE_FUZZ_PAYLOAD
  (void)agenttrace::FuzzDecodePayload(data, size);
#else
  (void)agenttrace::FuzzDecodeChunk(data, size);
#endif
  return 0;
}
#endif
