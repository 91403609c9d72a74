// The read-only codec-1 decoder: chunks of earlier builds hold a packed `Chunk` message of one
// `Event` struct per event; their fields are read through the codec-1 accessors named in
// format/chunk_fields.h.
#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <algorithm>
#include <array>

#include "format/chunk_codec.h"
#include "format/chunk_decoder_state.h"
#include "format/chunk_fields.h"
#include "format/chunk_varint.h"
#include "schema/agenttrace.capnp.h"

namespace agenttrace {
using Column = ChunkEncoder::Column;
using chunk_fields::Family;

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
      if (!chunk_varint::ReadVarint(&pos, mono.end(), &s.mono[i])) {
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
  void Ref(Column, std::string&, chunk_fields::NotInCodec1) {}
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
      v = static_cast<T>(chunk_fields::UnZz64(get(r)));
    } else {
      v = static_cast<T>(chunk_fields::UnZz32(get(r)));
    }
  }
  template <class G>
  void ZigzagFromPid(Column, int32_t& v, int32_t pid, const G& get) {
    v = static_cast<int32_t>(static_cast<uint32_t>(pid) + chunk_fields::UnZz32(get(r)));
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
      family_ok = family == chunk_fields::FamilyOf(out->kind);
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

}  // namespace agenttrace
