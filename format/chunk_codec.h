// Chunk codec: turns a batch of Events into one self-contained, hash-chained chunk and back.
//
// A chunk is a fixed 96-byte little-endian header followed by the payload: a zstd frame of a Cap'n
// Proto message (format/schema/agenttrace.capnp; byte layout in docs/format.md). The encoder writes
// codec 2: a `Columns` message, one varint column per kind of value (clock deltas, path references,
// flags, ...), which compresses to a few bytes per event. The decoder also reads codec 1 (a packed
// `Chunk` message of one struct per event), written by earlier builds. Strings are interned per
// chunk and integers are delta/zigzag encoded, so that repeated paths and monotone clocks cost almost
// nothing after compression.
//
// What each event stores is listed once, in format/chunk_fields.h. The implementation is one job a file:
// chunk_header.cc (header, hashing), chunk_strings.h (string table, front coding), chunk_encoder.cc,
// chunk_decoder.cc (codec 2/3) and chunk_rows_decoder.cc (codec 1, read only).
//
// Invariants: an encoded chunk's header names its first sequence number, event count, raw and stored
// sizes, BLAKE2b-256 of the payload and the hash of the previous chunk (zero for chunk 0). The chunk's
// own hash (ChunkHash: BLAKE2b-256 over header + payload) is what the next chunk's header chains to.
//
// Decoding treats its input as untrusted: the header is validated before anything is decompressed,
// the decompressed size is bounded by ReaderOptions, Cap'n Proto reads are bounded by the traversal
// and nesting limits, every string reference is range-checked, the string bytes handed out are bounded
// per event and per chunk (ReaderOptions), and any Cap'n Proto exception is turned into Corruption.
// Nothing a chunk contains can crash the decoder or make it allocate without bound.
//
// Thread-safety: ChunkEncoder and ChunkDecoder are thread-compatible (one thread at a time); they keep
// buffers and zstd contexts across chunks so that steady-state encoding and decoding do not allocate.
#ifndef AGENTTRACE_FORMAT_CHUNK_CODEC_H_
#define AGENTTRACE_FORMAT_CHUNK_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/event.h"
#include "format/session.h"
#include "format/status.h"
#include "format/store.h"

namespace agenttrace {

inline constexpr uint32_t kChunkMagic = 0x4B435441;  // bytes "ATCK"
inline constexpr uint16_t kChunkFormatVersion = 1;   // == schema formatVersion
inline constexpr uint16_t kCodecCapnpPackedZstd = 1;  // read only: packed `Chunk` (rows)
inline constexpr uint16_t kCodecColumnsZstd = 2;      // read only: flat `Columns` message
// Written: codec 2 plus, for file events, a reference to `resolved2` (the rename destination as the
// kernel walks it) after `resolved` in the paths2 column.
inline constexpr uint16_t kCodecColumns3Zstd = 3;
inline constexpr size_t kChunkHeaderSize = 96;

struct ChunkHeader {
  uint16_t format_version = kChunkFormatVersion;
  uint16_t codec = kCodecColumns3Zstd;
  uint64_t first_seq = 0;
  uint32_t event_count = 0;
  uint32_t raw_size = 0;     // bytes the zstd frame decompresses to
  uint32_t stored_size = 0;  // payload bytes following the header
  Hash256 payload_hash{};    // BLAKE2b-256 of the payload
  Hash256 prev_hash{};       // ChunkHash of the previous chunk; zero for chunk 0
};

// Writes the header's 96 bytes to `out`.
void EncodeChunkHeader(const ChunkHeader& header, uint8_t* out);
// Parses and checks the fixed fields of a header (magic, version, codec, reserved bytes, and that the
// chunk holds exactly stored_size payload bytes). Does not look at the payload. Errors: Corruption.
Result<ChunkHeader> ParseChunkHeader(std::string_view chunk);
// BLAKE2b-256 of `data`.
Hash256 Blake2b256(std::string_view data);
// The hash a following chunk chains to: BLAKE2b-256 over the whole chunk (header + payload).
inline Hash256 ChunkHash(std::string_view chunk) { return Blake2b256(chunk); }

// What the common fields of an event are stored relative to: the previous event's mono_ns, wall_ns -
// mono_ns and pid (zero at a chunk's start). See format/chunk_fields.h.
struct ChunkDeltaBases {
  uint64_t mono = 0, skew = 0;
  uint32_t pid = 0;
};

class ChunkStringTable;

// Accumulates events for one chunk. Add() interns strings and keeps integers only, so an Event may be
// reused by the caller right after the call.
class ChunkEncoder {
 public:
  explicit ChunkEncoder(const WriterOptions& options);
  ~ChunkEncoder();
  ChunkEncoder(const ChunkEncoder&) = delete;
  ChunkEncoder& operator=(const ChunkEncoder&) = delete;

  // Adds `event` (its seq is ignored: it is implied by the chunk's first sequence number).
  void Add(const Event& event);
  // True once the chunk reached WriterOptions' event or raw-byte bound: seal it before adding more.
  bool full() const;
  bool empty() const { return event_count() == 0; }
  uint32_t event_count() const;
  // Upper bound of the message size of what was added so far: the header's raw size if encoded now.
  // WriterOptions::chunk_max_raw_bytes bounds this.
  uint64_t estimated_raw_bytes() const;

  // Encodes the events added so far into `out` (header + payload, replacing its contents) and keeps
  // them: more events may be added and the chunk encoded again (the session writer rewrites its open
  // tail chunk this way at every commit). `header` (optional) receives the header written.
  Status Encode(uint64_t first_seq, const Hash256& prev_hash, std::string* out, ChunkHeader* header = nullptr);
  // Encode, then start a new empty chunk.
  Status Seal(uint64_t first_seq, const Hash256& prev_hash, std::string* out, ChunkHeader* header = nullptr);
  // Drops the events added so far.
  void Reset();

  // The varint columns of codec 2, in the order of the `Columns` fields from `kinds` on.
  enum Column { kKinds, kMono, kWall, kPid, kTid, kResults, kPaths, kPaths2, kFlags, kLists, kStrings, kValues,
                kColumnCount };

 private:
  // Interns `s` and appends its relative reference (see `Columns` in the schema) to column `c`.
  void Ref(Column c, std::string_view s);
  void Put(Column c, uint64_t v);
  struct FieldWriter;  // writes one event's family fields (format/chunk_fields.h)

  WriterOptions options_;
  uint32_t events_ = 0;
  std::string columns_[kColumnCount];
  std::unique_ptr<ChunkStringTable> table_;  // the chunk's interned strings (format/chunk_strings.h)
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;  // capnp scratch segment, message bytes, zstd context
  ChunkDeltaBases bases_;
  uint64_t decoded_bytes_ = 0;  // string bytes of the events added (interned repeats counted each time)
};

// Where a chunk comes from, for error messages ("session <id>: chunk <n>: <what>").
struct ChunkContext {
  std::string session;  // canonical session id (may be empty)
  uint64_t chunk = 0;
  std::string Prefix() const;
};

// Decodes one chunk at a time; events are produced one by one into a caller-owned Event that keeps
// its string capacity.
class ChunkDecoder {
 public:
  explicit ChunkDecoder(const ReaderOptions& options);
  ~ChunkDecoder();
  ChunkDecoder(const ChunkDecoder&) = delete;
  ChunkDecoder& operator=(const ChunkDecoder&) = delete;

  // Checks the header and (if options.verify_hashes) the payload hash; if `expected_prev` is not null,
  // checks the header's previous-chunk hash against it; decompresses and opens the message. `chunk`
  // need only live during the call. Errors: Corruption prefixed with ctx.Prefix().
  Status Open(std::string_view chunk, const ChunkContext& ctx, const Hash256* expected_prev);
  const ChunkHeader& header() const { return header_; }
  // Decodes the next event of the open chunk into `out` (seq included). Returns false after the last.
  // Errors: Corruption (bad string reference, unknown kind, malformed message).
  Result<bool> Next(Event* out);

 private:
  Status Fail(std::string what) const;
  // Adds `len` string bytes to the current event's and the chunk's decoded totals; false once
  // ReaderOptions' max_event_decoded_bytes (*over = 1) or max_chunk_decoded_bytes (*over = 2) is passed.
  bool WithinDecodeBounds(uint64_t len, uint64_t* event_bytes, int* over);
  std::string OverBound(int which) const;
  Status OpenRows(uint32_t event_count);     // codec 1, on the decompressed bytes
  Status OpenColumns(uint32_t event_count);  // codec 2
  Result<bool> NextRow(Event* out);
  Result<bool> NextColumns(Event* out);
  struct ColumnReader;  // reads one event's family fields from the columns (format/chunk_fields.h)
  template <class R>
  struct RowReader;  // reads them from a codec-1 Event struct's group R

  ReaderOptions options_;
  ChunkContext ctx_;
  ChunkHeader header_;
  uint32_t next_ = 0;
  ChunkDeltaBases bases_;
  struct State;
  std::unique_ptr<State> state_;
};

// Convenience for tests and tools: decodes a whole chunk, appending its events to `out`.
Status DecodeChunk(std::string_view chunk, const ReaderOptions& options, const Hash256* expected_prev,
                   std::vector<Event>* out, const ChunkContext& ctx = {});

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_CHUNK_CODEC_H_
