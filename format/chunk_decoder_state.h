// The decoder's state between Open and the last Next, shared by the codec-2/3 column decoder
// (format/chunk_decoder.cc) and the read-only codec-1 row decoder (format/chunk_rows_decoder.cc).
// Internal to format/; includes generated and Cap'n Proto headers.
#ifndef AGENTTRACE_FORMAT_CHUNK_DECODER_STATE_H_
#define AGENTTRACE_FORMAT_CHUNK_DECODER_STATE_H_

#include <capnp/serialize-packed.h>
#include <kj/exception.h>
#include <kj/io.h>
#include <zstd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/chunk_codec.h"
#include "schema/agenttrace.capnp.h"

namespace agenttrace {

struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

struct ChunkDecoder::State {
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> dctx{ZSTD_createDCtx()};
  std::unique_ptr<capnp::word[]> raw;  // word-aligned: codec 2 reads the message in place
  size_t raw_capacity = 0;             // bytes
  size_t raw_size = 0;
  bool open = false;
  const char* string_data = nullptr;
  std::vector<uint32_t> string_ends;
  // Codec 1.
  std::optional<kj::ArrayInputStream> input;
  // Owned. Not a std::optional or unique_ptr: the reader's destructor reads (and may throw on) the
  // segments nobody read, and their noexcept reset() would turn that into std::terminate.
  capnp::PackedMessageReader* message = nullptr;
  capnp::List<schema::Event>::Reader events;
  std::vector<uint64_t> mono;  // decoded mono clock column
  // Codec 2: the columns, as [pos, end) byte ranges inside `raw`.
  struct Cursor {
    const uint8_t* pos = nullptr;
    const uint8_t* end = nullptr;
  };
  Cursor columns[ChunkEncoder::kColumnCount];
  uint32_t seen = 0;     // distinct strings referenced so far
  std::string strings;   // the decoded (front-coding undone) string table
  uint64_t decoded = 0;  // string bytes handed out for the events decoded so far

  void Close() {
    // The reader may read (and throw on) unread segments while being destroyed.
    if (message != nullptr) {
      capnp::PackedMessageReader* m = message;
      message = nullptr;
      try {
        delete m;
      } catch (const kj::Exception&) {
        // A malformed tail of a chunk that was already reported or fully read: nothing to add.
      }
    }
    input.reset();
    events = {};
    mono.clear();
    string_data = nullptr;
    string_ends.clear();
    for (auto& c : columns) c = Cursor{};
    seen = 0;
    decoded = 0;
    open = false;
  }
  ~State() { Close(); }
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_CHUNK_DECODER_STATE_H_
