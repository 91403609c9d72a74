// The chunk-decoding fuzz entry, shared by the libFuzzer target and the corpus replay test.
#ifndef AGENTTRACE_TESTS_FUZZ_FUZZ_CHUNK_DECODE_H_
#define AGENTTRACE_TESTS_FUZZ_FUZZ_CHUNK_DECODE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "format/status.h"

namespace agenttrace {

// Decodes `data` as chunk 0 of a session (hash checks off, so that mutations reach zstd and Cap'n
// Proto), then again with hash and chain checks on. Returns the first non-OK status, or OK if the
// chunk decoded fully. Never crashes; see CleanStatus for what a failure must look like.
Status FuzzDecodeChunk(const uint8_t* data, size_t size);

// Payload-level entry: `data` is one byte of codec number, a little-endian u16 event count and the
// decompressed message. It is framed as a chunk (zstd, a correct header and hashes) and decoded, so
// that mutations reach the Cap'n Proto and column decoding directly instead of mostly breaking the
// zstd frame. Same contract as FuzzDecodeChunk.
Status FuzzDecodePayload(const uint8_t* data, size_t size);

// The payload-entry input for a chunk (header codec and count, decompressed payload); empty if
// `chunk` has no valid header or frame. Turns chunk seeds into payload seeds.
std::string PayloadInputOfChunk(std::string_view chunk);

// A decoder failure is "clean" when it is Corruption or Unsupported and names the chunk.
bool CleanStatus(const Status& st);

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_FUZZ_FUZZ_CHUNK_DECODE_H_
