#include "format/chunk_codec.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/exception.h>
#include <kj/io.h>
#include <sodium.h>
#include <zstd.h>

#include <cstring>
#include <functional>
#include <optional>

#include "schema/agenttrace.capnp.h"

namespace agenttrace {
namespace {

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

// Zigzag keeps small magnitudes small: 0,-1,1,-2 -> 0,1,2,3. Arithmetic is done unsigned so that any
// input (also overflowing differences) round-trips exactly.
uint64_t Zz64(uint64_t v) { return (v << 1) ^ (0 - (v >> 63)); }
uint64_t UnZz64(uint64_t u) { return (u >> 1) ^ (0 - (u & 1)); }
uint32_t Zz32(uint32_t v) { return (v << 1) ^ (0 - (v >> 31)); }
uint32_t UnZz32(uint32_t u) { return (u >> 1) ^ (0 - (u & 1)); }

// Which union member of schema::Event carries a kind's fields.
enum class Family { kFile, kExec, kProc, kNet, kTool, kSys };
Family FamilyOf(EventKind kind) {
  uint16_t k = static_cast<uint16_t>(kind);
  if (k <= static_cast<uint16_t>(EventKind::kFileRmdir)) return Family::kFile;
  switch (kind) {
    case EventKind::kExec: return Family::kExec;
    case EventKind::kProcSpawn:
    case EventKind::kProcExit: return Family::kProc;
    case EventKind::kNetConnect:
    case EventKind::kNetBind:
    case EventKind::kNetListen:
    case EventKind::kNetSend: return Family::kNet;
    case EventKind::kEscape:
    case EventKind::kRaw: return Family::kSys;
    default: return Family::kTool;
  }
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

// Bytes a non-zero value occupies in the packed encoding (the zero bytes of a word are free).
uint64_t NzBytes(uint64_t v) { return v == 0 ? 0 : (71 - static_cast<uint64_t>(__builtin_clzll(v))) / 8; }
// Packed-size estimate of one value: its bytes plus, if non-zero, a word tag and a zero-run marker
// (an upper bound: fields sharing a word share the tag).
uint64_t PackedCost(uint64_t v) { return v == 0 ? 0 : NzBytes(v) + 1; }
// A list of n elements: pointer word, and at worst every word verbatim plus tags.
uint64_t ListBytes(uint64_t n, uint64_t elem_bytes) { return (n * elem_bytes + 7) / 8 * 10 + 12; }

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
  if (h.codec != kCodecCapnpPackedZstd) return Status::Unsupported("unknown chunk codec " + std::to_string(h.codec));
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

struct ChunkEncoder::Pending {
  uint16_t kind = 0;
  uint8_t flags8 = 0;  // bit 0 is_thread, bit 1 is_error
  uint8_t direction = 0;
  uint32_t pid_delta = 0, tid_delta = 0;
  uint64_t mono_delta = 0, wall_delta = 0, result = 0;
  uint32_t s[6] = {};  // string references; meaning depends on the family (see Add)
  uint64_t flags = 0, size = 0, duration = 0;
  uint32_t mode = 0, uid = 0, gid = 0;  // also child_pid/exit_code/signal (proc), family/port (net),
                                        // syscall_nr/arch (sys)
  uint32_t list_off = 0;                // into list_refs_ (exec) or args (sys, 6 x 2 entries)
  uint16_t n_argv = 0, n_env = 0, n_secret = 0;
  bool has_args = false;
};

// Open addressing over (hash, index) so that the table never holds pointers into string_data_, which
// moves when it grows.
struct ChunkEncoder::StringTable {
  std::vector<uint32_t> slots;  // index + 1, 0 = empty
  std::vector<uint64_t> hashes;  // per string
  size_t count = 0;
};

struct ChunkEncoder::Buffers {
  std::vector<uint64_t> scratch;  // zeroed first segment for the message builder (re-zeroed by it)
  std::vector<uint8_t> packed;
  std::vector<uint8_t> varints;  // the mono clock column
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> cctx{ZSTD_createCCtx()};
};

ChunkEncoder::ChunkEncoder(const WriterOptions& options)
    : options_(options), table_(std::make_unique<StringTable>()), buffers_(std::make_unique<Buffers>()) {
  AT_CHECK(buffers_->cctx != nullptr);
  table_->slots.assign(1024, 0);
  // Grows (amortised) to the chunk's size on the first chunk and keeps it for the following ones.
  events_.reserve(std::min<size_t>(options_.chunk_max_events, 4096));
}

ChunkEncoder::~ChunkEncoder() = default;

uint32_t ChunkEncoder::Intern(std::string_view s) {
  if (s.empty()) return 0;
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
      if (std::string_view(string_data_).substr(begin, string_ends_[idx] - begin) == s) return idx + 1;
    }
    i = (i + 1) & mask;
  }
  string_data_.append(s);
  string_ends_.push_back(static_cast<uint32_t>(string_data_.size()));
  t.hashes.push_back(h);
  t.slots[i] = static_cast<uint32_t>(t.count + 1);
  ++t.count;
  return static_cast<uint32_t>(t.count);
}

uint32_t ChunkEncoder::InternList(const std::vector<std::string>& list) {
  for (const auto& s : list) list_refs_.push_back(Intern(s));
  return static_cast<uint32_t>(list.size());
}

void ChunkEncoder::Add(const Event& e) {
  Pending& p = events_.emplace_back();  // filled in place: Intern() does not touch events_
  p.kind = static_cast<uint16_t>(e.kind);
  const uint64_t prev_mono = last_mono_, prev_skew = last_skew_;
  const uint32_t prev_pid = last_pid_;
  uint64_t mono = static_cast<uint64_t>(e.mono_ns);
  uint64_t skew = static_cast<uint64_t>(e.wall_ns) - mono;
  p.mono_delta = Zz64(mono - prev_mono);
  p.wall_delta = Zz64(skew - prev_skew);
  p.pid_delta = Zz32(static_cast<uint32_t>(e.pid) - prev_pid);
  p.tid_delta = Zz32(static_cast<uint32_t>(e.tid) - static_cast<uint32_t>(e.pid));
  p.result = Zz64(static_cast<uint64_t>(e.result));
  last_mono_ = mono;
  last_skew_ = skew;
  last_pid_ = static_cast<uint32_t>(e.pid);
  uint64_t extra = 0;
  switch (FamilyOf(e.kind)) {
    case Family::kFile:
      p.s[0] = Intern(e.path);
      p.s[1] = Intern(e.path2);
      p.s[2] = Intern(e.resolved);
      p.flags = e.flags;
      p.mode = e.mode;
      p.uid = e.uid;
      p.gid = e.gid;
      p.size = Zz64(static_cast<uint64_t>(e.size));
      break;
    case Family::kExec:
      p.s[0] = Intern(e.path);
      p.s[1] = Intern(e.resolved);
      p.flags = e.flags;
      p.list_off = static_cast<uint32_t>(list_refs_.size());
      p.n_argv = static_cast<uint16_t>(std::min<size_t>(e.argv.size(), 0xFFFF));
      p.n_env = static_cast<uint16_t>(std::min<size_t>(e.env_names.size(), 0xFFFF));
      p.n_secret = static_cast<uint16_t>(std::min<size_t>(e.secret_env_names.size(), 0xFFFF));
      AT_CHECK_MSG(e.argv.size() <= 0xFFFF && e.env_names.size() <= 0xFFFF && e.secret_env_names.size() <= 0xFFFF,
                   "exec event with more than 65535 argv or environment entries");
      InternList(e.argv);
      InternList(e.env_names);
      InternList(e.secret_env_names);
      extra += ListBytes(p.n_argv, 4) + ListBytes(p.n_env, 4) + ListBytes(p.n_secret, 4);
      break;
    case Family::kProc:
      p.mode = Zz32(static_cast<uint32_t>(e.child_pid) - static_cast<uint32_t>(e.pid));
      p.uid = Zz32(static_cast<uint32_t>(e.exit_code));
      p.gid = Zz32(static_cast<uint32_t>(e.signal));
      p.flags = e.flags;
      p.flags8 = e.is_thread ? 1 : 0;
      break;
    case Family::kNet:
      p.mode = e.family;
      p.uid = e.port;
      p.s[0] = Intern(e.address);
      p.s[1] = Intern(e.path);
      p.size = Zz64(static_cast<uint64_t>(e.size));
      p.flags = e.flags;
      break;
    case Family::kTool:
      p.s[0] = Intern(e.server);
      p.s[1] = Intern(e.tool);
      p.s[2] = Intern(e.method);
      p.s[3] = Intern(e.request_id);
      p.s[4] = Intern(e.json);
      p.s[5] = Intern(e.text);
      p.flags8 = e.is_error ? 2 : 0;
      p.direction = static_cast<uint8_t>(e.direction);
      p.duration = Zz64(static_cast<uint64_t>(e.duration_ns));
      p.size = Zz64(static_cast<uint64_t>(e.size));
      break;
    case Family::kSys: {
      p.s[0] = Intern(e.text);
      p.mode = e.syscall_nr;
      p.uid = e.arch;
      bool any = false;
      for (uint64_t a : e.args) any |= a != 0;
      if (any) {
        p.has_args = true;
        p.list_off = static_cast<uint32_t>(list_refs_.size());
        for (uint64_t a : e.args) {
          list_refs_.push_back(static_cast<uint32_t>(a));
          list_refs_.push_back(static_cast<uint32_t>(a >> 32));
        }
        extra += ListBytes(6, 8);
      }
      break;
    }
  }
  // What this event adds to the packed message (the header's raw size), estimated from above.
  uint64_t cost = 2 + extra + NzBytes(p.mono_delta) + PackedCost(p.kind) + PackedCost(p.pid_delta) +
                  PackedCost(p.tid_delta) + PackedCost(p.wall_delta) + PackedCost(p.result) + PackedCost(p.flags) +
                  PackedCost(p.size) + PackedCost(p.duration) + PackedCost(p.mode) + PackedCost(p.uid) +
                  PackedCost(p.gid) + PackedCost(p.flags8) + PackedCost(p.direction);
  for (uint32_t ref : p.s) cost += PackedCost(ref);
  raw_estimate_ += cost;
}

uint64_t ChunkEncoder::estimated_raw_bytes() const {
  // Segment table and root, the events, the string bytes (verbatim at worst: +1/8 for tags) and the
  // string end offsets (4 bytes each, plus tags).
  return 64 + raw_estimate_ + string_data_.size() * 9 / 8 + 5ull * string_ends_.size();
}

uint32_t ChunkEncoder::event_count() const { return static_cast<uint32_t>(events_.size()); }

bool ChunkEncoder::full() const {
  return events_.size() >= options_.chunk_max_events || estimated_raw_bytes() >= options_.chunk_max_raw_bytes;
}

void ChunkEncoder::Reset() {
  events_.clear();
  list_refs_.clear();
  string_data_.clear();
  string_ends_.clear();
  std::fill(table_->slots.begin(), table_->slots.end(), 0);
  table_->hashes.clear();
  table_->count = 0;
  raw_estimate_ = 0;
  last_mono_ = last_skew_ = 0;
  last_pid_ = 0;
}

Status ChunkEncoder::Seal(uint64_t first_seq, const Hash256& prev_hash, std::string* out, ChunkHeader* header_out) {
  AT_CHECK(!events_.empty());
  Buffers& b = *buffers_;
  const uint64_t struct_words =
      schema::Event::_capnpPrivate::dataWordSize + schema::Event::_capnpPrivate::pointerCount;
  uint64_t words = events_.size() * struct_words + estimated_raw_bytes() / 8 + 64;
  if (b.scratch.size() < words) b.scratch.assign(words, 0);
  size_t packed_size = 0;
  try {
    capnp::MallocMessageBuilder message(
        kj::arrayPtr(reinterpret_cast<capnp::word*>(b.scratch.data()), b.scratch.size()));
    auto root = message.initRoot<schema::Chunk>();
    root.setStringData(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(string_data_.data()), string_data_.size()));
    auto ends = root.initStringEnds(static_cast<unsigned>(string_ends_.size()));
    for (unsigned i = 0; i < string_ends_.size(); ++i) ends.set(i, string_ends_[i]);
    auto events = root.initEvents(static_cast<unsigned>(events_.size()));
    b.varints.clear();
    for (const Pending& p : events_) {
      uint64_t v = p.mono_delta;
      while (v >= 0x80) {
        b.varints.push_back(static_cast<uint8_t>(v | 0x80));
        v >>= 7;
      }
      b.varints.push_back(static_cast<uint8_t>(v));
    }
    root.setMonoDeltas(capnp::Data::Reader(b.varints.data(), b.varints.size()));
    for (unsigned i = 0; i < events_.size(); ++i) {
      const Pending& p = events_[i];
      auto e = events[i];
      e.setKind(p.kind);
      e.setWallDelta(p.wall_delta);
      e.setPidDelta(p.pid_delta);
      e.setTidDelta(p.tid_delta);
      e.setResult(p.result);
      switch (FamilyOf(static_cast<EventKind>(p.kind))) {
        case Family::kFile: {
          auto f = e.initFile();
          f.setPath(p.s[0]);
          f.setPath2(p.s[1]);
          f.setResolved(p.s[2]);
          f.setFlags(p.flags);
          f.setMode(p.mode);
          f.setUid(p.uid);
          f.setGid(p.gid);
          f.setSize(p.size);
          break;
        }
        case Family::kExec: {
          auto x = e.initExec();
          x.setPath(p.s[0]);
          x.setResolved(p.s[1]);
          x.setFlags(p.flags);
          const uint32_t* refs = list_refs_.data() + p.list_off;
          auto argv = x.initArgv(p.n_argv);
          for (unsigned j = 0; j < p.n_argv; ++j) argv.set(j, *refs++);
          auto env = x.initEnvNames(p.n_env);
          for (unsigned j = 0; j < p.n_env; ++j) env.set(j, *refs++);
          auto sec = x.initSecretEnvNames(p.n_secret);
          for (unsigned j = 0; j < p.n_secret; ++j) sec.set(j, *refs++);
          break;
        }
        case Family::kProc: {
          auto x = e.initProc();
          x.setChildPid(p.mode);
          x.setExitCode(p.uid);
          x.setSignal(p.gid);
          x.setFlags(p.flags);
          x.setIsThread((p.flags8 & 1) != 0);
          break;
        }
        case Family::kNet: {
          auto x = e.initNet();
          x.setFamily(static_cast<uint16_t>(p.mode));
          x.setPort(static_cast<uint16_t>(p.uid));
          x.setAddress(p.s[0]);
          x.setPath(p.s[1]);
          x.setSize(p.size);
          x.setFlags(p.flags);
          break;
        }
        case Family::kTool: {
          auto x = e.initTool();
          x.setServer(p.s[0]);
          x.setTool(p.s[1]);
          x.setMethod(p.s[2]);
          x.setRequestId(p.s[3]);
          x.setJson(p.s[4]);
          x.setText(p.s[5]);
          x.setIsError((p.flags8 & 2) != 0);
          x.setDirection(p.direction);
          x.setDurationNs(p.duration);
          x.setSize(p.size);
          break;
        }
        case Family::kSys: {
          auto x = e.initSys();
          x.setText(p.s[0]);
          x.setSyscallNr(p.mode);
          x.setArch(p.uid);
          if (p.has_args) {
            auto args = x.initArgs(6);
            const uint32_t* refs = list_refs_.data() + p.list_off;
            for (unsigned j = 0; j < 6; ++j) {
              args.set(j, static_cast<uint64_t>(refs[2 * j]) | static_cast<uint64_t>(refs[2 * j + 1]) << 32);
            }
          }
          break;
        }
      }
    }
    // Packing never grows a word by more than 2 bytes (tag + run count), so this bound always holds.
    size_t unpacked_bytes = 8 * (capnp::computeSerializedSizeInWords(message));
    size_t bound = unpacked_bytes + unpacked_bytes / 4 + 64;
    if (b.packed.size() < bound) b.packed.resize(bound);
    kj::ArrayOutputStream stream(kj::arrayPtr(b.packed.data(), b.packed.size()));
    capnp::writePackedMessage(stream, message);
    packed_size = stream.getArray().size();
  } catch (const kj::Exception& ex) {
    return Status::Internal(std::string("encoding chunk: ") + ex.getDescription().cStr());
  }
  if (packed_size > 0xFFFFFFFFull) return Status::ResourceExhausted("chunk too large to encode");

  size_t cap = ZSTD_compressBound(packed_size);
  out->resize(kChunkHeaderSize + cap);
  ZSTD_CCtx_reset(b.cctx.get(), ZSTD_reset_session_only);
  ZSTD_CCtx_setParameter(b.cctx.get(), ZSTD_c_compressionLevel, options_.zstd_level);
  size_t n = ZSTD_compress2(b.cctx.get(), out->data() + kChunkHeaderSize, cap, b.packed.data(), packed_size);
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compress: ") + ZSTD_getErrorName(n));
  out->resize(kChunkHeaderSize + n);

  ChunkHeader h;
  h.first_seq = first_seq;
  h.event_count = static_cast<uint32_t>(events_.size());
  h.raw_size = static_cast<uint32_t>(packed_size);
  h.stored_size = static_cast<uint32_t>(n);
  h.payload_hash = Blake2b256(std::string_view(*out).substr(kChunkHeaderSize));
  h.prev_hash = prev_hash;
  EncodeChunkHeader(h, reinterpret_cast<uint8_t*>(out->data()));
  if (header_out != nullptr) *header_out = h;
  Reset();
  return Status::Ok();
}

std::string FrameChunk(std::string_view raw, uint64_t first_seq, uint32_t event_count, const Hash256& prev_hash,
                       int zstd_level) {
  std::string out(kChunkHeaderSize + ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(out.data() + kChunkHeaderSize, out.size() - kChunkHeaderSize, raw.data(), raw.size(),
                           zstd_level);
  AT_CHECK_MSG(!ZSTD_isError(n), ZSTD_getErrorName(n));
  out.resize(kChunkHeaderSize + n);
  ChunkHeader h;
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
  std::unique_ptr<char[]> raw;
  size_t raw_capacity = 0;
  std::optional<kj::ArrayInputStream> input;
  std::optional<capnp::PackedMessageReader> message;
  capnp::List<schema::Event>::Reader events;
  std::vector<uint64_t> mono;  // decoded mono clock column
  const char* string_data = nullptr;
  std::vector<uint32_t> string_ends;

  void Close() {
    // The reader may read (and throw on) unread segments while being destroyed.
    try {
      message.reset();
    } catch (const kj::Exception&) {
      message.reset();
    }
    input.reset();
    events = {};
    mono.clear();
    string_data = nullptr;
    string_ends.clear();
  }
  ~State() { Close(); }
};

ChunkDecoder::ChunkDecoder(const ReaderOptions& options) : options_(options), state_(std::make_unique<State>()) {
  AT_CHECK(state_->dctx != nullptr);
}

ChunkDecoder::~ChunkDecoder() = default;

Status ChunkDecoder::Fail(std::string what) const { return Status::Corruption(ctx_.Prefix() + what); }

Status ChunkDecoder::Open(std::string_view chunk, const ChunkContext& ctx, const Hash256* expected_prev) {
  State& s = *state_;
  s.Close();
  ctx_ = ctx;
  next_ = 0;
  prev_mono_ = prev_skew_ = 0;
  prev_pid_ = 0;
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
    s.raw.reset(new char[h.raw_size]);
    s.raw_capacity = h.raw_size;
  }
  size_t n = ZSTD_decompressDCtx(s.dctx.get(), s.raw.get(), h.raw_size, payload.data(), payload.size());
  if (ZSTD_isError(n)) return Fail(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != h.raw_size) return Fail("payload decompressed to " + std::to_string(n) + " bytes, header says " +
                                   std::to_string(h.raw_size));
  try {
    capnp::ReaderOptions ro;
    // Unpacking can expand the packed bytes up to ~1000x (a zero run of 256 words costs 2 bytes) and
    // Cap'n Proto allocates what the segment table declares: bound the message by the bytes we hold
    // too. 64 unpacked bytes per packed byte is far above what the encoder produces (a chunk of
    // all-default events expands ~25x).
    ro.traversalLimitInWords = std::min<uint64_t>(options_.traversal_limit_words, std::max<uint64_t>(1024, 8ull * n));
    ro.nestingLimit = 16;
    s.input.emplace(kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.raw.get()), n));
    s.message.emplace(*s.input, ro);
    auto root = s.message->getRoot<schema::Chunk>();
    s.events = root.getEvents();
    if (s.events.size() != h.event_count) {
      std::string what = "chunk holds " + std::to_string(s.events.size()) + " events, header says " +
                         std::to_string(h.event_count);
      s.Close();
      return Fail(what);
    }
    auto mono = root.getMonoDeltas();
    s.mono.resize(h.event_count);
    size_t pos = 0;
    for (uint32_t i = 0; i < h.event_count; ++i) {
      uint64_t v = 0;
      int shift = 0;
      for (;;) {
        if (pos >= mono.size() || shift > 63) {
          s.Close();
          return Fail("mono clock column: bad or missing varint for event " + std::to_string(i));
        }
        uint8_t byte = mono[pos++];
        v |= static_cast<uint64_t>(byte & 0x7F) << shift;
        shift += 7;
        if ((byte & 0x80) == 0) break;
      }
      s.mono[i] = v;
    }
    if (pos != mono.size()) {
      s.Close();
      return Fail("mono clock column: " + std::to_string(mono.size() - pos) + " trailing bytes");
    }
    auto data = root.getStringData();
    auto ends = root.getStringEnds();
    s.string_data = reinterpret_cast<const char*>(data.begin());
    s.string_ends.resize(ends.size());
    uint32_t last = 0;
    for (unsigned i = 0; i < ends.size(); ++i) {
      uint32_t end = ends[i];
      if (end < last || end > data.size()) {
        s.Close();
        return Fail("string table entry " + std::to_string(i) + " is out of range");
      }
      s.string_ends[i] = last = end;
    }
  } catch (const kj::Exception& ex) {
    s.Close();
    return Fail(std::string("malformed message: ") + ex.getDescription().cStr());
  }
  header_ = h;
  return Status::Ok();
}

Result<bool> ChunkDecoder::Next(Event* out) {
  State& s = *state_;
  if (!s.message.has_value() || next_ >= header_.event_count) return false;
  const uint32_t n_strings = static_cast<uint32_t>(s.string_ends.size());
  // Sets `dst` to string `ref`; false if the reference is out of range.
  auto str = [&](uint32_t ref, std::string* dst) {
    if (ref == 0) {
      dst->clear();
      return true;
    }
    if (ref > n_strings) return false;
    uint32_t begin = ref == 1 ? 0 : s.string_ends[ref - 2];
    dst->assign(s.string_data + begin, s.string_ends[ref - 1] - begin);
    return true;
  };
  auto list = [&](capnp::List<uint32_t>::Reader refs, std::vector<std::string>* dst) {
    dst->resize(refs.size());
    for (unsigned i = 0; i < refs.size(); ++i) {
      if (!str(refs[i], &(*dst)[i])) return false;
    }
    return true;
  };
  const uint32_t index = next_;
  try {
    auto e = s.events[index];
    uint16_t kind = e.getKind();
    if (!IsValidEventKind(kind)) {
      next_ = header_.event_count;
      return Fail("event " + std::to_string(index) + ": unknown kind " + std::to_string(kind));
    }
    out->Clear();
    out->kind = static_cast<EventKind>(kind);
    out->seq = header_.first_seq + index;
    uint64_t mono = prev_mono_ + UnZz64(s.mono[index]);
    uint64_t skew = prev_skew_ + UnZz64(e.getWallDelta());
    uint32_t pid = prev_pid_ + UnZz32(e.getPidDelta());
    out->mono_ns = static_cast<int64_t>(mono);
    out->wall_ns = static_cast<int64_t>(mono + skew);
    out->pid = static_cast<int32_t>(pid);
    out->tid = static_cast<int32_t>(pid + UnZz32(e.getTidDelta()));
    out->result = static_cast<int64_t>(UnZz64(e.getResult()));
    prev_mono_ = mono;
    prev_skew_ = skew;
    prev_pid_ = pid;

    bool ok = true;
    Family family = FamilyOf(out->kind);
    bool family_ok = false;
    switch (e.which()) {
      case schema::Event::FILE: {
        family_ok = family == Family::kFile;
        auto f = e.getFile();
        ok = str(f.getPath(), &out->path) && str(f.getPath2(), &out->path2) && str(f.getResolved(), &out->resolved);
        out->flags = f.getFlags();
        out->mode = f.getMode();
        out->uid = f.getUid();
        out->gid = f.getGid();
        out->size = static_cast<int64_t>(UnZz64(f.getSize()));
        break;
      }
      case schema::Event::EXEC: {
        family_ok = family == Family::kExec;
        auto x = e.getExec();
        ok = str(x.getPath(), &out->path) && str(x.getResolved(), &out->resolved) &&
             list(x.getArgv(), &out->argv) && list(x.getEnvNames(), &out->env_names) &&
             list(x.getSecretEnvNames(), &out->secret_env_names);
        out->flags = x.getFlags();
        break;
      }
      case schema::Event::PROC: {
        family_ok = family == Family::kProc;
        auto x = e.getProc();
        out->child_pid = static_cast<int32_t>(pid + UnZz32(x.getChildPid()));
        out->exit_code = static_cast<int32_t>(UnZz32(x.getExitCode()));
        out->signal = static_cast<int32_t>(UnZz32(x.getSignal()));
        out->flags = x.getFlags();
        out->is_thread = x.getIsThread();
        break;
      }
      case schema::Event::NET: {
        family_ok = family == Family::kNet;
        auto x = e.getNet();
        out->family = x.getFamily();
        out->port = x.getPort();
        ok = str(x.getAddress(), &out->address) && str(x.getPath(), &out->path);
        out->size = static_cast<int64_t>(UnZz64(x.getSize()));
        out->flags = x.getFlags();
        break;
      }
      case schema::Event::TOOL: {
        family_ok = family == Family::kTool;
        auto x = e.getTool();
        ok = str(x.getServer(), &out->server) && str(x.getTool(), &out->tool) && str(x.getMethod(), &out->method) &&
             str(x.getRequestId(), &out->request_id) && str(x.getJson(), &out->json) && str(x.getText(), &out->text);
        out->is_error = x.getIsError();
        uint8_t dir = x.getDirection();
        if (dir > static_cast<uint8_t>(Direction::kToAgent)) {
          next_ = header_.event_count;
          return Fail("event " + std::to_string(index) + ": bad direction " + std::to_string(dir));
        }
        out->direction = static_cast<Direction>(dir);
        out->duration_ns = static_cast<int64_t>(UnZz64(x.getDurationNs()));
        out->size = static_cast<int64_t>(UnZz64(x.getSize()));
        break;
      }
      case schema::Event::SYS: {
        family_ok = family == Family::kSys;
        auto x = e.getSys();
        ok = str(x.getText(), &out->text);
        out->syscall_nr = x.getSyscallNr();
        out->arch = x.getArch();
        auto args = x.getArgs();
        if (args.size() != 0 && args.size() != 6) {
          next_ = header_.event_count;
          return Fail("event " + std::to_string(index) + ": " + std::to_string(args.size()) + " syscall args, not 6");
        }
        for (unsigned j = 0; j < args.size(); ++j) out->args[j] = args[j];
        break;
      }
      default:
        break;
    }
    if (!family_ok) {
      next_ = header_.event_count;
      return Fail("event " + std::to_string(index) + ": fields do not match kind " +
                  std::string(EventKindName(out->kind)));
    }
    if (!ok) {
      next_ = header_.event_count;
      return Fail("event " + std::to_string(index) + ": string reference out of range (table has " +
                  std::to_string(n_strings) + " strings)");
    }
  } catch (const kj::Exception& ex) {
    next_ = header_.event_count;
    return Fail("event " + std::to_string(index) + ": malformed message: " + ex.getDescription().cStr());
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
