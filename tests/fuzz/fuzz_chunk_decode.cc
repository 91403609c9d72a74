// libFuzzer target for the chunk decoder. Build with clang and -DAGENTTRACE_FUZZ=ON, then run with a
// scratch directory first (libFuzzer writes new inputs there) and the committed seeds second:
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DAGENTTRACE_FUZZ=ON
//   cmake --build build-fuzz --target fuzz_chunk_decode
//   mkdir -p fuzz-out && build-fuzz/tests/fuzz/fuzz_chunk_decode fuzz-out tests/fuzz/corpus/chunk_decode
// The same entry runs over the committed corpus in the fuzz_corpus_test ctest.
#include "tests/fuzz/fuzz_chunk_decode.h"

#include <cstdlib>
#include <string_view>

#include "format/chunk_codec.h"

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

}  // namespace agenttrace

#ifdef AGENTTRACE_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)agenttrace::FuzzDecodeChunk(data, size);
  return 0;
}
#endif
