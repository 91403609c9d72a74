// Chunk encoder: events -> codec-3 `Columns` message (fields per format/chunk_fields.h, strings per
// format/chunk_strings.h) -> one zstd frame -> header + payload.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <type_traits>

#include "format/chunk_codec.h"
#include "format/chunk_columns.h"
#include "format/chunk_fields.h"
#include "format/chunk_strings.h"
#include "format/chunk_varint.h"
#include "schema/agenttrace.capnp.h"

namespace agenttrace {
namespace {

using chunk_fields::FamilyOf;
using chunk_fields::Zz32;
using chunk_fields::Zz64;

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

}  // namespace

struct ChunkEncoder::Buffers {
  std::vector<uint64_t> scratch;  // zeroed first segment for the message builder (re-zeroed by it)
  std::vector<uint8_t> message;   // the serialised message (what zstd compresses)
  std::string lengths;            // the stringLengths column, built at encode time
  std::string suffixes;           // the front-coded stringData, built at encode time
  std::vector<size_t> cuts;       // offsets in `message` where a column starts
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> cctx{ZSTD_createCCtx()};
};

ChunkEncoder::ChunkEncoder(const WriterOptions& options)
    : options_(options), table_(std::make_unique<ChunkStringTable>()), buffers_(std::make_unique<Buffers>()) {
  AT_CHECK(buffers_->cctx != nullptr);
}

ChunkEncoder::~ChunkEncoder() = default;

void ChunkEncoder::Put(Column c, uint64_t v) { chunk_varint::AppendVarint(&columns_[c], v); }

void ChunkEncoder::Ref(Column c, std::string_view s) {
  decoded_bytes_ += s.size();
  Put(c, table_->Intern(s));
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
  uint64_t n = 16 + 14 * 8 + table_->data_bytes() + 7 + 10ull * table_->size() + 7;
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
  table_->Clear();
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
  table_->FrontCode(&b.lengths, &b.suffixes);
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

}  // namespace agenttrace
