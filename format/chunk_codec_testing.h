// Builds chunks and chunk messages that ChunkEncoder would never write, for decoder tests, fuzz targets
// and fuzz seeds, without exposing the generated Cap'n Proto header outside format/. Not part of the
// production library: it lives in agenttrace_format_testing, which only tests and fuzzers link.
//
// Thread-safety: stateless.
#ifndef AGENTTRACE_FORMAT_CHUNK_CODEC_TESTING_H_
#define AGENTTRACE_FORMAT_CHUNK_CODEC_TESTING_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "format/chunk_codec.h"

namespace agenttrace {

// Frames arbitrary `raw` bytes as a chunk of codec `codec`: zstd-compresses them and prepends a header whose sizes and payload hash are correct.
// For tests, fuzz targets and seeds that need chunks with a chosen content; the store's writer uses
// ChunkEncoder.
std::string FrameChunk(std::string_view raw, uint64_t first_seq, uint32_t event_count, const Hash256& prev_hash,
                       int zstd_level = 3, uint16_t codec = kCodecCapnpPackedZstd);

namespace testing {

// A Chunk message described field by field. Each event sets its kind, one union group and (for the
// groups that have one) the first string reference: file.path, exec.path, net.address, tool.server,
// sys.text; proc has none.
struct RawChunk {
  enum class Group { kFile, kExec, kProc, kNet, kTool, kSys };
  struct RawEvent {
    uint16_t kind = 0;
    Group group = Group::kFile;
    uint32_t string_ref = 0;
  };
  std::string string_data;
  std::vector<uint32_t> string_ends;
  std::vector<RawEvent> events;
  std::string mono_varints;  // the monoDeltas column as stored; one zero byte per event is valid
};

// The packed Cap'n Proto bytes of `chunk` (what FrameChunk expects as `raw` for codec 1).
std::string EncodeRawChunkMessage(const RawChunk& chunk);

// A codec-2 `Columns` message given byte for byte: the string table and each varint column as stored
// (ChunkEncoder::Column order). Use Varints() to build columns.
struct RawColumns {
  std::string string_data;
  std::string string_lengths;
  std::string columns[12];  // ChunkEncoder::kColumnCount
};

// The concatenated unsigned LEB128 encodings of `values`.
std::string Varints(std::initializer_list<uint64_t> values);

// The flat (unpacked) Cap'n Proto bytes of `columns` (what FrameChunk expects as `raw` for codec 2).
std::string EncodeRawColumnsMessage(const RawColumns& columns);

// A codec-2 message of one exec event whose argv references one string of `string_bytes` bytes
// `refs` times (refs <= 65,535): a chunk of a few KB that decodes to string_bytes x refs bytes (a
// decompression bomb that the decoder's per-event bound must stop).
std::string ArgvBombColumnsMessage(uint64_t string_bytes, uint32_t refs);

}  // namespace testing
}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_CHUNK_CODEC_TESTING_H_
