#include "format/chunk_codec.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/exception.h>
#include <kj/io.h>
#include <sodium.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <type_traits>
#include <optional>

#include "format/chunk_columns.h"
#include "format/chunk_fields.h"
#include "schema/agenttrace.capnp.h"

namespace agenttrace {
namespace {

using Column = ChunkEncoder::Column;
using chunk_fields::Family;
using chunk_fields::FamilyOf;
using chunk_fields::NotInCodec1;
using chunk_fields::UnZz32;
using chunk_fields::UnZz64;
using chunk_fields::Zz32;
using chunk_fields::Zz64;

static_assert(kChunkFormatVersion == schema::FORMAT_VERSION, "schema formatVersion and kChunkFormatVersion differ");

// Little-endian fixed-width stores and loads (the header is byte-exact on every host).
void PutLe(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t GetLe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void EnsureSodium() {
  static const int ok = sodium_init();
  AT_CHECK_MSG(ok >= 0, "sodium_init failed");
}

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// Unsigned LEB128: 7 bits per byte, low group first, high bit = more follows.
void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads one varint from [*p, end); false if it is truncated or longer than 10 bytes / 64 bits.
bool ReadVarintSlow(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return false;
    uint8_t byte = *(*p)++;
    if (shift == 63 && byte > 1) return false;
    r |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;
}

// Most values fit one byte.
inline __attribute__((always_inline)) bool ReadVarint(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  if (*p < end && **p < 0x80) {
    *v = *(*p)++;
    return true;
  }
  return ReadVarintSlow(p, end, v);
}

}  // namespace

// ---------------------------------------------------------------------------------------------- header

void EncodeChunkHeader(const ChunkHeader& h, uint8_t* out) {
  PutLe(out + 0, kChunkMagic, 4);
  PutLe(out + 4, h.format_version, 2);
  PutLe(out + 6, h.codec, 2);
  PutLe(out + 8, h.first_seq, 8);
  PutLe(out + 16, h.event_count, 4);
  PutLe(out + 20, h.raw_size, 4);
  PutLe(out + 24, h.stored_size, 4);
  PutLe(out + 28, 0, 4);  // reserved
  std::memcpy(out + 32, h.payload_hash.data(), 32);
  std::memcpy(out + 64, h.prev_hash.data(), 32);
}

Result<ChunkHeader> ParseChunkHeader(std::string_view chunk) {
  if (chunk.size() < kChunkHeaderSize) {
    return Status::Corruption("truncated chunk: " + std::to_string(chunk.size()) + " bytes, the header alone needs " +
                              std::to_string(kChunkHeaderSize));
  }
  const auto* p = reinterpret_cast<const uint8_t*>(chunk.data());
  if (GetLe(p, 4) != kChunkMagic) return Status::Corruption("bad chunk magic");
  ChunkHeader h;
  h.format_version = static_cast<uint16_t>(GetLe(p + 4, 2));
  h.codec = static_cast<uint16_t>(GetLe(p + 6, 2));
  h.first_seq = GetLe(p + 8, 8);
  h.event_count = static_cast<uint32_t>(GetLe(p + 16, 4));
  h.raw_size = static_cast<uint32_t>(GetLe(p + 20, 4));
  h.stored_size = static_cast<uint32_t>(GetLe(p + 24, 4));
  std::memcpy(h.payload_hash.data(), p + 32, 32);
  std::memcpy(h.prev_hash.data(), p + 64, 32);
  if (h.format_version != kChunkFormatVersion) {
    return Status::Unsupported("chunk format version " + std::to_string(h.format_version) + " (this build reads " +
                               std::to_string(kChunkFormatVersion) + ")");
  }
  if (h.codec != kCodecCapnpPackedZstd && h.codec != kCodecColumnsZstd && h.codec != kCodecColumns3Zstd) {
    return Status::Unsupported("unknown chunk codec " + std::to_string(h.codec));
  }
  if (GetLe(p + 28, 4) != 0) return Status::Corruption("reserved header bytes are not zero");
  if (h.event_count == 0) return Status::Corruption("chunk header claims zero events");
  uint64_t present = chunk.size() - kChunkHeaderSize;
  if (present < h.stored_size) {
    return Status::Corruption("truncated chunk: header says " + std::to_string(h.stored_size) + " payload bytes, " +
                              std::to_string(present) + " present");
  }
  if (present > h.stored_size) {
    return Status::Corruption("chunk has " + std::to_string(present - h.stored_size) + " trailing bytes");
  }
  return h;
}

Hash256 Blake2b256(std::string_view data) {
  EnsureSodium();
  Hash256 h;
  crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr,
                     0);
  return h;
}

std::string ChunkContext::Prefix() const {
  std::string s;
  if (!session.empty()) s = "session " + session + ": ";
  return s + "chunk " + std::to_string(chunk) + ": ";
}

// ---------------------------------------------------------------------------------------------- encoder

// Open addressing over (hash, index) so that the table never holds pointers into string_data_, which
// moves when it grows.
struct ChunkEncoder::StringTable {
  std::vector<uint32_t> slots;  // index + 1, 0 = empty
  std::vector<uint64_t> hashes;  // per string
  size_t count = 0;
};

struct ChunkEncoder::Buffers {
  std::vector<uint64_t> scratch;  // zeroed first segment for the message builder (re-zeroed by it)
  std::vector<uint8_t> message;   // the serialised message (what zstd compresses)
  std::string lengths;            // the stringLengths column, built at encode time
  std::string suffixes;           // the front-coded stringData, built at encode time
  std::vector<size_t> cuts;       // offsets in `message` where a column starts
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> cctx{ZSTD_createCCtx()};
};

ChunkEncoder::ChunkEncoder(const WriterOptions& options)
    : options_(options), table_(std::make_unique<StringTable>()), buffers_(std::make_unique<Buffers>()) {
  AT_CHECK(buffers_->cctx != nullptr);
  table_->slots.assign(1024, 0);
}

ChunkEncoder::~ChunkEncoder() = default;

void ChunkEncoder::Put(Column c, uint64_t v) { AppendVarint(&columns_[c], v); }

void ChunkEncoder::Ref(Column c, std::string_view s) {
  decoded_bytes_ += s.size();
  if (s.empty()) {
    columns_[c].push_back(0);
    return;
  }
  StringTable& t = *table_;
  if ((t.count + 1) * 2 > t.slots.size()) {
    std::vector<uint32_t> slots(t.slots.size() * 2, 0);
    size_t mask = slots.size() - 1;
    for (uint32_t idx = 0; idx < t.count; ++idx) {
      size_t i = t.hashes[idx] & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = idx + 1;
    }
    t.slots.swap(slots);
  }
  uint64_t h = std::hash<std::string_view>{}(s);
  size_t mask = t.slots.size() - 1;
  size_t i = h & mask;
  while (t.slots[i] != 0) {
    uint32_t idx = t.slots[i] - 1;
    if (t.hashes[idx] == h) {
      uint32_t begin = idx == 0 ? 0 : string_ends_[idx - 1];
      if (std::string_view(string_data_).substr(begin, string_ends_[idx] - begin) == s) {
        // String number idx + 1 of the count seen so far: r = seen + 2 - number.
        Put(c, t.count + 1 - idx);
        return;
      }
    }
    i = (i + 1) & mask;
  }
  string_data_.append(s);
  string_ends_.push_back(static_cast<uint32_t>(string_data_.size()));
  t.hashes.push_back(h);
  t.slots[i] = static_cast<uint32_t>(t.count + 1);
  ++t.count;
  columns_[c].push_back(1);  // the next new string
}

// Writes each field to its column (format/chunk_fields.h).
struct ChunkEncoder::FieldWriter {
  ChunkEncoder& enc;

  template <class G>
  void Ref(Column c, const std::string& s, const G&) {
    enc.Ref(c, s);
  }
  template <class G>
  void List(Column c, const std::vector<std::string>& list, const G&) {
    enc.Put(c, list.size());
    for (const auto& s : list) enc.Ref(c, s);
  }
  template <class T, class G>
  void Uint(Column c, T v, const G&) {
    static_assert(std::is_unsigned_v<T>);
    enc.Put(c, v);
  }
  template <class T, class G>
  void Zigzag(Column c, T v, const G&) {
    static_assert(std::is_same_v<T, int64_t> || std::is_same_v<T, int32_t>);
    if constexpr (sizeof(T) == 8) {
      enc.Put(c, Zz64(static_cast<uint64_t>(v)));
    } else {
      enc.Put(c, Zz32(static_cast<uint32_t>(v)));
    }
  }
  template <class G>
  void ZigzagFromPid(Column c, int32_t v, int32_t pid, const G&) {
    enc.Put(c, Zz32(static_cast<uint32_t>(v) - static_cast<uint32_t>(pid)));
  }
  template <class G>
  void Bool(Column c, bool v, const G&) {
    enc.Put(c, v ? 1 : 0);
  }
  template <class G>
  void Dir(Column c, Direction v, const G&) {
    enc.Put(c, static_cast<uint8_t>(v));
  }
  template <class G>
  void Args(Column c, const std::array<uint64_t, 6>& args, const G&) {
    bool any = false;
    for (uint64_t a : args) any |= a != 0;
    enc.Put(c, any ? 6 : 0);
    if (any) {
      for (uint64_t a : args) enc.Put(c, a);
    }
  }
};

void ChunkEncoder::Add(const Event& e) {
  ++events_;
  const chunk_fields::Common common = chunk_fields::StoreCommon(e, &bases_);
  for (int c = 0; c < chunk_fields::kCommonCount; ++c) Put(static_cast<Column>(c), common.v[c]);
  FieldWriter writer{*this};
  chunk_fields::VisitFields(FamilyOf(e.kind), writer, e);
}

uint64_t ChunkEncoder::estimated_raw_bytes() const {
  // Segment table, root pointer, the struct's 14 pointers, and each Data blob padded to a word; the
  // string lengths take at most 2 x 5 varint bytes each (front coding only shortens stringData).
  uint64_t n = 16 + 14 * 8 + string_data_.size() + 7 + 10ull * string_ends_.size() + 7;
  for (const auto& c : columns_) n += c.size() + 7;
  return n;
}

uint32_t ChunkEncoder::event_count() const { return events_; }

bool ChunkEncoder::full() const {
  // The decoded-bytes bound keeps every chunk under the reader's kMaxChunkDecodedBytes: interned
  // strings make a chunk's raw size say nothing about what it decodes to.
  return events_ >= options_.chunk_max_events || estimated_raw_bytes() >= options_.chunk_max_raw_bytes ||
         decoded_bytes_ >= options_.chunk_max_decoded_bytes;
}

void ChunkEncoder::Reset() {
  events_ = 0;
  decoded_bytes_ = 0;
  for (auto& c : columns_) c.clear();
  string_data_.clear();
  string_ends_.clear();
  std::fill(table_->slots.begin(), table_->slots.end(), 0);
  table_->hashes.clear();
  table_->count = 0;
  bases_ = {};
}

Status ChunkEncoder::Seal(uint64_t first_seq, const Hash256& prev_hash, std::string* out, ChunkHeader* header_out) {
  AT_RETURN_IF_ERROR(Encode(first_seq, prev_hash, out, header_out));
  Reset();
  return Status::Ok();
}

Status ChunkEncoder::Encode(uint64_t first_seq, const Hash256& prev_hash, std::string* out, ChunkHeader* header_out) {
  AT_CHECK(events_ > 0);
  Buffers& b = *buffers_;
  // Front-code the string table: paths recorded one after another share long prefixes, which cost
  // less as a length than as a zstd match.
  b.lengths.clear();
  b.suffixes.clear();
  std::string_view prev;
  uint32_t begin = 0;
  for (uint32_t end : string_ends_) {
    std::string_view cur = std::string_view(string_data_).substr(begin, end - begin);
    size_t shared = 0;
    const size_t max_shared = std::min(prev.size(), cur.size());
    while (shared < max_shared && prev[shared] == cur[shared]) ++shared;
    AppendVarint(&b.lengths, shared);
    AppendVarint(&b.lengths, cur.size() - shared);
    b.suffixes.append(cur.substr(shared));
    prev = cur;
    begin = end;
  }
  const uint64_t words = estimated_raw_bytes() / 8 + 16;
  if (words > 0x7FFFFFFFull) return Status::ResourceExhausted("chunk too large to encode");
  if (b.scratch.size() < words) b.scratch.assign(words, 0);
  size_t raw_size = 0;
  try {
    capnp::MallocMessageBuilder message(
        kj::arrayPtr(reinterpret_cast<capnp::word*>(b.scratch.data()), b.scratch.size()));
    auto root = message.initRoot<schema::Columns>();
    columns::SetAll(root, b.suffixes, b.lengths, columns_);
    raw_size = 8 * capnp::computeSerializedSizeInWords(message);
    if (b.message.size() < raw_size) b.message.resize(raw_size);
    kj::ArrayOutputStream stream(kj::arrayPtr(b.message.data(), raw_size));
    capnp::writeMessage(stream, message);
    AT_CHECK(stream.getArray().size() == raw_size);
    // Where each blob starts in the serialised bytes (after the 8-byte segment table of the single
    // segment): zstd ends a block there, so that each column gets entropy tables of its own.
    auto segments = message.getSegmentsForOutput();
    AT_CHECK(segments.size() == 1);
    const auto* base = reinterpret_cast<const kj::byte*>(segments[0].begin());
    auto offset = [&](capnp::Data::Builder d) { return static_cast<size_t>(d.begin() - base) + 8; };
    b.cuts.clear();
    b.cuts.push_back(offset(root.getStringLengths()));
    for (int c = 0; c < kColumnCount; ++c) b.cuts.push_back(offset(columns::Get(root, static_cast<Column>(c))));
  } catch (const kj::Exception& ex) {
    return Status::Internal(std::string("encoding chunk: ") + ex.getDescription().cStr());
  }
  if (raw_size > 0xFFFFFFFFull) return Status::ResourceExhausted("chunk too large to encode");

  // One frame (with its content size), flushed at every column start: a flush ends the current
  // block, and a column compressed with its own literal and sequence statistics is about 4% smaller
  // than all columns sharing blocks.
  size_t cap = ZSTD_compressBound(raw_size) + 64 * b.cuts.size();
  out->resize(kChunkHeaderSize + cap);
  ZSTD_CCtx_reset(b.cctx.get(), ZSTD_reset_session_only);
  ZSTD_CCtx_setParameter(b.cctx.get(), ZSTD_c_compressionLevel, options_.zstd_level);
  ZSTD_CCtx_setPledgedSrcSize(b.cctx.get(), raw_size);
  std::sort(b.cuts.begin(), b.cuts.end());
  b.cuts.push_back(raw_size);
  ZSTD_outBuffer zout{out->data() + kChunkHeaderSize, cap, 0};
  size_t done = 0;
  for (size_t cut : b.cuts) {
    if (cut <= done) continue;
    const bool last = cut == raw_size;
    ZSTD_inBuffer zin{b.message.data() + done, cut - done, 0};
    size_t left;
    do {
      left = ZSTD_compressStream2(b.cctx.get(), &zout, &zin, last ? ZSTD_e_end : ZSTD_e_flush);
      if (ZSTD_isError(left)) return Status::Internal(std::string("zstd compress: ") + ZSTD_getErrorName(left));
      if (left != 0 && zout.pos == zout.size) return Status::Internal("zstd compress: output bound exceeded");
    } while (left != 0);
    done = cut;
  }
  const size_t n = zout.pos;
  out->resize(kChunkHeaderSize + n);

  ChunkHeader h;
  h.codec = kCodecColumns3Zstd;
  h.first_seq = first_seq;
  h.event_count = events_;
  h.raw_size = static_cast<uint32_t>(raw_size);
  h.stored_size = static_cast<uint32_t>(n);
  h.payload_hash = Blake2b256(std::string_view(*out).substr(kChunkHeaderSize));
  h.prev_hash = prev_hash;
  EncodeChunkHeader(h, reinterpret_cast<uint8_t*>(out->data()));
  if (header_out != nullptr) *header_out = h;
  return Status::Ok();
}

std::string FrameChunk(std::string_view raw, uint64_t first_seq, uint32_t event_count, const Hash256& prev_hash,
                       int zstd_level, uint16_t codec) {
  std::string out(kChunkHeaderSize + ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(out.data() + kChunkHeaderSize, out.size() - kChunkHeaderSize, raw.data(), raw.size(),
                           zstd_level);
  AT_CHECK_MSG(!ZSTD_isError(n), ZSTD_getErrorName(n));
  out.resize(kChunkHeaderSize + n);
  ChunkHeader h;
  h.codec = codec;
  h.first_seq = first_seq;
  h.event_count = event_count;
  h.raw_size = static_cast<uint32_t>(raw.size());
  h.stored_size = static_cast<uint32_t>(n);
  h.payload_hash = Blake2b256(std::string_view(out).substr(kChunkHeaderSize));
  h.prev_hash = prev_hash;
  EncodeChunkHeader(h, reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

// ---------------------------------------------------------------------------------------------- decoder

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
  uint32_t seen = 0;  // distinct strings referenced so far
  std::string strings;  // the decoded (front-coding undone) string table
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

ChunkDecoder::ChunkDecoder(const ReaderOptions& options) : options_(options), state_(std::make_unique<State>()) {
  AT_CHECK(state_->dctx != nullptr);
}

ChunkDecoder::~ChunkDecoder() = default;

Status ChunkDecoder::Fail(std::string what) const { return Status::Corruption(ctx_.Prefix() + what); }

bool ChunkDecoder::WithinDecodeBounds(uint64_t len, uint64_t* event_bytes, int* over) {
  State& s = *state_;
  // Checked before the copy: a chunk of a few KB may reference one large string thousands of times.
  *event_bytes += len;
  s.decoded += len;
  if (*event_bytes > options_.max_event_decoded_bytes) {
    *over = 1;
  } else if (s.decoded > options_.max_chunk_decoded_bytes) {
    *over = 2;
  }
  return *over == 0;
}

std::string ChunkDecoder::OverBound(int which) const {
  if (which == 1) {
    return "strings decode to more than the per-event bound of " + std::to_string(options_.max_event_decoded_bytes) +
           " bytes (a decompression bomb)";
  }
  return "the chunk's strings decode to more than the per-chunk bound of " +
         std::to_string(options_.max_chunk_decoded_bytes) + " bytes (a decompression bomb)";
}

Status ChunkDecoder::Open(std::string_view chunk, const ChunkContext& ctx, const Hash256* expected_prev) {
  State& s = *state_;
  s.Close();
  ctx_ = ctx;
  next_ = 0;
  bases_ = {};
  header_ = ChunkHeader{};
  header_.event_count = 0;
  auto parsed = ParseChunkHeader(chunk);
  if (!parsed.ok()) return Status(parsed.status().code(), ctx_.Prefix() + parsed.status().message());
  const ChunkHeader h = *parsed;
  std::string_view payload = chunk.substr(kChunkHeaderSize);
  if (h.raw_size > options_.max_chunk_raw_bytes) {
    return Fail("chunk too large: header claims " + std::to_string(h.raw_size) + " raw bytes, the limit is " +
                std::to_string(options_.max_chunk_raw_bytes));
  }
  if (options_.verify_hashes && Blake2b256(payload) != h.payload_hash) return Fail("bad checksum");
  if (expected_prev != nullptr && h.prev_hash != *expected_prev) {
    return Fail("broken chain: previous-chunk hash " + HashToHex(h.prev_hash) + " != expected " +
                HashToHex(*expected_prev));
  }
  unsigned long long content = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) return Fail("payload is not a zstd frame");
  if (content == ZSTD_CONTENTSIZE_UNKNOWN) return Fail("zstd frame does not state its content size");
  if (content != h.raw_size) {
    return Fail("zstd frame content size " + std::to_string(content) + " != header raw size " +
                std::to_string(h.raw_size));
  }
  if (s.raw_capacity < h.raw_size) {
    s.raw.reset(new capnp::word[(h.raw_size + 7) / 8]);
    s.raw_capacity = (h.raw_size + 7) / 8 * 8;
  }
  size_t n = ZSTD_decompressDCtx(s.dctx.get(), s.raw.get(), h.raw_size, payload.data(), payload.size());
  if (ZSTD_isError(n)) return Fail(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != h.raw_size) return Fail("payload decompressed to " + std::to_string(n) + " bytes, header says " +
                                   std::to_string(h.raw_size));
  s.raw_size = n;
  Status st = h.codec == kCodecCapnpPackedZstd ? OpenRows(h.event_count) : OpenColumns(h.event_count);
  if (!st.ok()) {
    s.Close();
    return st;
  }
  header_ = h;
  s.open = true;
  return Status::Ok();
}

Status ChunkDecoder::OpenRows(uint32_t event_count) {
  State& s = *state_;
  const size_t n = s.raw_size;
  try {
    capnp::ReaderOptions ro;
    // Unpacking can expand the packed bytes up to ~1000x (a zero run of 256 words costs 2 bytes) and
    // Cap'n Proto allocates what the segment table declares: bound the message by the bytes we hold
    // too. 64 unpacked bytes per packed byte is far above what the encoder produces (a chunk of
    // all-default events expands ~25x).
    ro.traversalLimitInWords = std::min<uint64_t>(options_.traversal_limit_words, std::max<uint64_t>(1024, 8ull * n));
    ro.nestingLimit = 16;
    s.input.emplace(kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.raw.get()), n));
    s.message = new capnp::PackedMessageReader(*s.input, ro);
    auto root = s.message->getRoot<schema::Chunk>();
    s.events = root.getEvents();
    if (s.events.size() != event_count) {
      return Fail("chunk holds " + std::to_string(s.events.size()) + " events, header says " +
                  std::to_string(event_count));
    }
    auto mono = root.getMonoDeltas();
    s.mono.resize(event_count);
    const uint8_t* pos = mono.begin();
    for (uint32_t i = 0; i < event_count; ++i) {
      if (!ReadVarint(&pos, mono.end(), &s.mono[i])) {
        return Fail("mono clock column: bad or missing varint for event " + std::to_string(i));
      }
    }
    if (pos != mono.end()) {
      return Fail("mono clock column: " + std::to_string(mono.end() - pos) + " trailing bytes");
    }
    auto data = root.getStringData();
    auto ends = root.getStringEnds();
    s.string_data = reinterpret_cast<const char*>(data.begin());
    s.string_ends.resize(ends.size());
    uint32_t last = 0;
    for (unsigned i = 0; i < ends.size(); ++i) {
      uint32_t end = ends[i];
      if (end < last || end > data.size()) return Fail("string table entry " + std::to_string(i) + " is out of range");
      s.string_ends[i] = last = end;
    }
  } catch (const kj::Exception& ex) {
    return Fail(std::string("malformed message: ") + ex.getDescription().cStr());
  }
  return Status::Ok();
}


Status ChunkDecoder::OpenColumns(uint32_t event_count) {
  State& s = *state_;
  const size_t n = s.raw_size;
  if (n % 8 != 0) return Fail("message size " + std::to_string(n) + " is not a whole number of words");
  try {
    capnp::ReaderOptions ro;
    // A flat message: traversal is bounded by its size (each Data blob counts its words once).
    ro.traversalLimitInWords = std::min<uint64_t>(options_.traversal_limit_words, n / 8 + 64);
    ro.nestingLimit = 16;
    capnp::FlatArrayMessageReader message(kj::arrayPtr(s.raw.get(), n / 8), ro);
    auto root = message.getRoot<schema::Columns>();
    auto range = [](capnp::Data::Reader d) { return State::Cursor{d.begin(), d.end()}; };
    // The Data readers point into s.raw, which outlives the message reader: keep raw byte ranges.
    for (int c = 0; c < ChunkEncoder::kColumnCount; ++c) {
      s.columns[c] = range(columns::Get(root, static_cast<ChunkEncoder::Column>(c)));
    }
    // Every event has at least one byte in each of the six common columns.
    if (static_cast<uint64_t>(s.columns[ChunkEncoder::kKinds].end - s.columns[ChunkEncoder::kKinds].pos) < event_count) {
      return Fail("kinds column holds fewer than the header's " + std::to_string(event_count) + " events");
    }
    auto data = root.getStringData();
    auto lengths = root.getStringLengths();
    // Undo the front coding into s.strings. What it expands to is bounded like a chunk's raw size:
    // shared prefixes let a small message describe huge strings.
    s.strings.clear();
    const uint8_t* pos = lengths.begin();
    uint64_t used = 0, prev_begin = 0, prev_len = 0;
    while (pos != lengths.end()) {
      uint64_t shared = 0, rest = 0;
      const std::string entry = "string table entry " + std::to_string(s.string_ends.size());
      if (!ReadVarint(&pos, lengths.end(), &shared) || !ReadVarint(&pos, lengths.end(), &rest)) {
        return Fail(entry + ": truncated stringLengths");
      }
      if (shared > prev_len || rest > data.size() - used) return Fail(entry + " is out of range");
      if (s.strings.size() + shared + rest > options_.max_chunk_raw_bytes) {
        return Fail("string table expands to more than " + std::to_string(options_.max_chunk_raw_bytes) + " bytes");
      }
      const uint64_t begin = s.strings.size();
      s.strings.resize(begin + shared + rest);  // grows geometrically
      char* d = s.strings.data();
      std::memcpy(d + begin, d + prev_begin, shared);  // the previous string ends at `begin`: no overlap
      std::memcpy(d + begin + shared, data.begin() + used, rest);
      used += rest;
      prev_begin = begin;
      prev_len = shared + rest;
      if (s.strings.size() > UINT32_MAX) return Fail(entry + " is out of range");
      s.string_ends.push_back(static_cast<uint32_t>(s.strings.size()));
    }
    if (used != data.size()) {
      return Fail("string table: " + std::to_string(data.size() - used) + " bytes not covered by stringLengths");
    }
    s.string_data = s.strings.data();
  } catch (const kj::Exception& ex) {
    return Fail(std::string("malformed message: ") + ex.getDescription().cStr());
  }
  return Status::Ok();
}

Result<bool> ChunkDecoder::Next(Event* out) {
  State& s = *state_;
  if (!s.open) return false;
  if (next_ < header_.event_count) return header_.codec == kCodecCapnpPackedZstd ? NextRow(out) : NextColumns(out);
  if (header_.codec != kCodecCapnpPackedZstd) {
    // After the last event: every column must be used up, and every string referenced.
    s.open = false;
    for (int c = 0; c < ChunkEncoder::kColumnCount; ++c) {
      if (s.columns[c].pos != s.columns[c].end) {
        return Fail(std::string(columns::kNames[c]) + " column: " + std::to_string(s.columns[c].end - s.columns[c].pos) +
                    " trailing bytes after the last event");
      }
    }
    if (s.seen != s.string_ends.size()) {
      return Fail("string table: " + std::to_string(s.string_ends.size() - s.seen) + " strings never referenced");
    }
  }
  return false;
}

// Reads each field from its column (format/chunk_fields.h). After the first truncated or
// out-of-range value (bad_column) or a value no field may hold (fatal), the remaining fields read as
// zero and the event is reported as corrupt.
struct ChunkDecoder::ColumnReader {
  ColumnReader(ChunkDecoder& decoder, State& state)
      : d(decoder), s(state), n_strings(static_cast<uint32_t>(state.string_ends.size())) {}

  ChunkDecoder& d;
  State& s;
  const uint32_t n_strings;
  const char* bad_column = nullptr;  // set on a truncated or out-of-range value
  std::string fatal;                  // set (with bad_column = "") on a value no field may hold
  bool bad_ref = false;
  uint64_t event_bytes = 0;
  int over = 0;  // which decoding bound was passed (WithinDecodeBounds)

  __attribute__((always_inline)) uint64_t Get(Column c, uint64_t max = UINT64_MAX) {
    uint64_t v = 0;
    if (bad_column == nullptr && (!ReadVarint(&s.columns[c].pos, s.columns[c].end, &v) || v > max)) {
      bad_column = columns::kNames[c];
    }
    return bad_column == nullptr ? v : 0;
  }
  __attribute__((always_inline)) void RefTo(Column c, std::string* dst) {
    uint64_t r = Get(c);
    dst->clear();
    if (r == 0 || bad_column != nullptr || over != 0) return;
    uint64_t number;  // 1-based
    if (r == 1) {
      number = ++s.seen;
    } else {
      number = static_cast<uint64_t>(s.seen) + 2 - r;  // r <= seen + 1 keeps number >= 1
      if (r > static_cast<uint64_t>(s.seen) + 1) number = 0;
    }
    if (number == 0 || number > n_strings) {
      bad_ref = true;
      return;
    }
    uint32_t begin = number == 1 ? 0 : s.string_ends[number - 2];
    if (!d.WithinDecodeBounds(s.string_ends[number - 1] - begin, &event_bytes, &over)) return;
    dst->assign(s.string_data + begin, s.string_ends[number - 1] - begin);
  }
  void Fatal(std::string what) {
    fatal = std::move(what);
    bad_column = "";
  }

  template <class G>
  __attribute__((always_inline)) void Ref(Column c, std::string& dst, const G&) {
    RefTo(c, &dst);
  }
  __attribute__((always_inline)) void Ref(Column c, std::string& dst, NotInCodec1 field) {
    if (d.header_.codec >= field.since) RefTo(c, &dst);
  }
  template <class G>
  void List(Column c, std::vector<std::string>& list, const G&) {
    // Each entry takes at least one byte: a count beyond the column's remaining bytes is corrupt.
    const auto& col = s.columns[c];
    uint64_t count = Get(c, 0xFFFF);
    if (bad_column == nullptr && count > static_cast<uint64_t>(col.end - col.pos)) bad_column = columns::kNames[c];
    if (bad_column != nullptr) return;
    list.resize(count);
    for (auto& item : list) RefTo(c, &item);
  }
  template <class T, class G>
  __attribute__((always_inline)) void Uint(Column c, T& v, const G&) {
    static_assert(std::is_unsigned_v<T>);
    v = static_cast<T>(Get(c, std::numeric_limits<T>::max()));
  }
  template <class T, class G>
  __attribute__((always_inline)) void Zigzag(Column c, T& v, const G&) {
    static_assert(std::is_same_v<T, int64_t> || std::is_same_v<T, int32_t>);
    if constexpr (sizeof(T) == 8) {
      v = static_cast<T>(UnZz64(Get(c)));
    } else {
      v = static_cast<T>(UnZz32(static_cast<uint32_t>(Get(c, UINT32_MAX))));
    }
  }
  template <class G>
  __attribute__((always_inline)) void ZigzagFromPid(Column c, int32_t& v, int32_t pid, const G&) {
    v = static_cast<int32_t>(static_cast<uint32_t>(pid) + UnZz32(static_cast<uint32_t>(Get(c, UINT32_MAX))));
  }
  template <class G>
  __attribute__((always_inline)) void Bool(Column c, bool& v, const G&) {
    v = Get(c, 1) != 0;
  }
  template <class G>
  void Dir(Column c, Direction& v, const G&) {
    uint64_t dir = Get(c);
    if (bad_column == nullptr && dir > static_cast<uint8_t>(Direction::kToAgent)) {
      return Fatal("bad direction " + std::to_string(dir));
    }
    v = static_cast<Direction>(dir);
  }
  template <class G>
  void Args(Column c, std::array<uint64_t, 6>& args, const G&) {
    uint64_t nargs = Get(c);
    if (bad_column == nullptr && nargs != 0 && nargs != 6) return Fatal(std::to_string(nargs) + " syscall args, not 6");
    for (uint64_t j = 0; j < nargs && bad_column == nullptr; ++j) args[j] = Get(c);
  }
};

Result<bool> ChunkDecoder::NextColumns(Event* out) {
  State& s = *state_;
  const uint32_t index = next_;
  ColumnReader r(*this, s);
  auto fail = [&](const std::string& what) -> Result<bool> {
    next_ = header_.event_count;
    s.open = false;
    return Fail("event " + std::to_string(index) + ": " + what);
  };

  out->Clear();
  chunk_fields::Common common;
  uint64_t kind = common.v[ChunkEncoder::kKinds] = r.Get(ChunkEncoder::kKinds, chunk_fields::kCommonMax[0]);
  if (r.bad_column == nullptr && !IsValidEventKind(static_cast<uint16_t>(kind))) {
    return fail("unknown kind " + std::to_string(kind));
  }
  out->kind = static_cast<EventKind>(kind);
  out->seq = header_.first_seq + index;
  for (int c = ChunkEncoder::kKinds + 1; c < chunk_fields::kCommonCount; ++c) {
    common.v[c] = r.Get(static_cast<Column>(c), chunk_fields::kCommonMax[c]);
  }
  chunk_fields::LoadCommon(common, &bases_, out);
  if (r.bad_column == nullptr) chunk_fields::VisitFields(FamilyOf(out->kind), r, *out);
  if (!r.fatal.empty()) return fail(r.fatal);
  if (r.bad_column != nullptr) return fail(std::string(r.bad_column) + " column: truncated or out-of-range value");
  if (r.over != 0) return fail(OverBound(r.over));
  if (r.bad_ref) {
    return fail("string reference out of range (table has " + std::to_string(r.n_strings) + " strings, " +
                std::to_string(s.seen) + " referenced before)");
  }
  ++next_;
  return true;
}

// Reads each field from its codec-1 accessor on the Event struct's group R (format/chunk_fields.h).
// Strings stop at the first reference out of range or past a decoding bound (ok = false).
template <class R>
struct ChunkDecoder::RowReader {
  RowReader(ChunkDecoder& decoder, R group) : d(decoder), r(group) {}

  ChunkDecoder& d;
  R r;
  bool ok = true;
  uint64_t event_bytes = 0;
  int over = 0;       // which decoding bound was passed (WithinDecodeBounds)
  std::string fatal;  // a value no field may hold

  // Sets `dst` to string `ref`; false if the reference is out of range or a decoding bound is passed.
  bool Str(uint32_t ref, std::string* dst) {
    State& s = *d.state_;
    if (ref == 0) {
      dst->clear();
      return true;
    }
    if (ref > s.string_ends.size()) return false;
    uint32_t begin = ref == 1 ? 0 : s.string_ends[ref - 2];
    if (!d.WithinDecodeBounds(s.string_ends[ref - 1] - begin, &event_bytes, &over)) return false;
    dst->assign(s.string_data + begin, s.string_ends[ref - 1] - begin);
    return true;
  }

  template <class G>
  void Ref(Column, std::string& dst, const G& get) {
    if (ok) ok = Str(get(r), &dst);
  }
  void Ref(Column, std::string&, NotInCodec1) {}
  template <class G>
  void List(Column, std::vector<std::string>& dst, const G& get) {
    if (!ok) return;
    auto refs = get(r);
    dst.resize(refs.size());
    for (unsigned i = 0; i < refs.size() && ok; ++i) ok = Str(refs[i], &dst[i]);
  }
  template <class T, class G>
  void Uint(Column, T& v, const G& get) {
    v = get(r);
  }
  template <class T, class G>
  void Zigzag(Column, T& v, const G& get) {
    if constexpr (sizeof(T) == 8) {
      v = static_cast<T>(UnZz64(get(r)));
    } else {
      v = static_cast<T>(UnZz32(get(r)));
    }
  }
  template <class G>
  void ZigzagFromPid(Column, int32_t& v, int32_t pid, const G& get) {
    v = static_cast<int32_t>(static_cast<uint32_t>(pid) + UnZz32(get(r)));
  }
  template <class G>
  void Bool(Column, bool& v, const G& get) {
    v = get(r);
  }
  template <class G>
  void Dir(Column, Direction& v, const G& get) {
    uint8_t dir = get(r);
    if (dir > static_cast<uint8_t>(Direction::kToAgent)) {
      if (fatal.empty()) fatal = "bad direction " + std::to_string(dir);
      return;
    }
    v = static_cast<Direction>(dir);
  }
  template <class G>
  void Args(Column, std::array<uint64_t, 6>& v, const G& get) {
    auto args = get(r);
    if (args.size() != 0 && args.size() != 6) {
      if (fatal.empty()) fatal = std::to_string(args.size()) + " syscall args, not 6";
      return;
    }
    for (unsigned j = 0; j < args.size(); ++j) v[j] = args[j];
  }
};

Result<bool> ChunkDecoder::NextRow(Event* out) {
  State& s = *state_;
  const uint32_t n_strings = static_cast<uint32_t>(s.string_ends.size());
  const uint32_t index = next_;
  auto fail = [&](const std::string& what) -> Result<bool> {
    next_ = header_.event_count;
    return Fail("event " + std::to_string(index) + ": " + what);
  };
  try {
    auto e = s.events[index];
    uint16_t kind = e.getKind();
    if (!IsValidEventKind(kind)) return fail("unknown kind " + std::to_string(kind));
    out->Clear();
    out->kind = static_cast<EventKind>(kind);
    out->seq = header_.first_seq + index;
    chunk_fields::Common common;
    common.v[ChunkEncoder::kKinds] = kind;
    common.v[ChunkEncoder::kMono] = s.mono[index];
    common.v[ChunkEncoder::kWall] = e.getWallDelta();
    common.v[ChunkEncoder::kPid] = e.getPidDelta();
    common.v[ChunkEncoder::kTid] = e.getTidDelta();
    common.v[ChunkEncoder::kResults] = e.getResult();
    chunk_fields::LoadCommon(common, &bases_, out);

    // The fields of the union member the event holds, which must be its kind's family.
    bool ok = true, family_ok = false;
    int over = 0;
    std::string fatal;
    auto read = [&](auto group, Family family, auto visit) {
      family_ok = family == FamilyOf(out->kind);
      RowReader<decltype(group)> reader(*this, group);
      visit(reader, *out);
      ok = reader.ok;
      over = reader.over;
      fatal = std::move(reader.fatal);
    };
    switch (e.which()) {
      case schema::Event::FILE:
        read(e.getFile(), Family::kFile, [](auto& v, Event& ev) { chunk_fields::VisitFileFields(v, ev); });
        break;
      case schema::Event::EXEC:
        read(e.getExec(), Family::kExec, [](auto& v, Event& ev) { chunk_fields::VisitExecFields(v, ev); });
        break;
      case schema::Event::PROC:
        read(e.getProc(), Family::kProc, [](auto& v, Event& ev) { chunk_fields::VisitProcFields(v, ev); });
        break;
      case schema::Event::NET:
        read(e.getNet(), Family::kNet, [](auto& v, Event& ev) { chunk_fields::VisitNetFields(v, ev); });
        break;
      case schema::Event::TOOL:
        read(e.getTool(), Family::kTool, [](auto& v, Event& ev) { chunk_fields::VisitToolFields(v, ev); });
        break;
      case schema::Event::SYS:
        read(e.getSys(), Family::kSys, [](auto& v, Event& ev) { chunk_fields::VisitSysFields(v, ev); });
        break;
      default:
        break;
    }
    if (!fatal.empty()) return fail(fatal);
    if (!family_ok) return fail("fields do not match kind " + std::string(EventKindName(out->kind)));
    if (!ok && over != 0) return fail(OverBound(over));
    if (!ok) return fail("string reference out of range (table has " + std::to_string(n_strings) + " strings)");
  } catch (const kj::Exception& ex) {
    return fail(std::string("malformed message: ") + ex.getDescription().cStr());
  }
  ++next_;
  return true;
}

Status DecodeChunk(std::string_view chunk, const ReaderOptions& options, const Hash256* expected_prev,
                   std::vector<Event>* out, const ChunkContext& ctx) {
  ChunkDecoder decoder(options);
  AT_RETURN_IF_ERROR(decoder.Open(chunk, ctx, expected_prev));
  Event e;
  for (;;) {
    auto r = decoder.Next(&e);
    if (!r.ok()) return r.status();
    if (!*r) return Status::Ok();
    out->push_back(e);
  }
}

}  // namespace agenttrace
