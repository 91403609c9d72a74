// Chunk decoder: checks a chunk's header and hashes, decompresses it and reads its events back, for
// codec 2/3 from the `Columns` message (fields per format/chunk_fields.h, strings per
// format/chunk_strings.h); codec 1 is read by format/chunk_rows_decoder.cc.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <limits>
#include <type_traits>

#include "format/chunk_codec.h"
#include "format/chunk_columns.h"
#include "format/chunk_decoder_state.h"
#include "format/chunk_fields.h"
#include "format/chunk_strings.h"
#include "format/chunk_varint.h"
#include "schema/agenttrace.capnp.h"

namespace agenttrace {
namespace {

using Column = ChunkEncoder::Column;
using chunk_fields::FamilyOf;
using chunk_fields::NotInCodec1;
using chunk_fields::UnZz32;
using chunk_fields::UnZz64;
using chunk_varint::ReadVarint;

}  // namespace

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
  if (n != h.raw_size)
    return Fail("payload decompressed to " + std::to_string(n) + " bytes, header says " + std::to_string(h.raw_size));
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
    if (static_cast<uint64_t>(s.columns[ChunkEncoder::kKinds].end - s.columns[ChunkEncoder::kKinds].pos) <
        event_count) {
      return Fail("kinds column holds fewer than the header's " + std::to_string(event_count) + " events");
    }
    auto data = root.getStringData();
    auto lengths = root.getStringLengths();
    Status st = UndoFrontCoding(std::string_view(reinterpret_cast<const char*>(lengths.begin()), lengths.size()),
                                std::string_view(reinterpret_cast<const char*>(data.begin()), data.size()),
                                options_.max_chunk_raw_bytes, &s.strings, &s.string_ends);
    if (!st.ok()) return Fail(st.message());
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
        return Fail(std::string(columns::kNames[c]) + " column: " +
                    std::to_string(s.columns[c].end - s.columns[c].pos) + " trailing bytes after the last event");
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
  std::string fatal;                 // set (with bad_column = "") on a value no field may hold
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
