// What a chunk stores of each event, written once: the one description of the field layout that the
// encoder (format/chunk_encoder.cc), the codec-2/3 column decoder (format/chunk_decoder.cc) and the
// read-only codec-1 row decoder (format/chunk_rows_decoder.cc) all go through.
//
// An event is its common fields (kind, clocks, pid, tid, result: one column each, see Common) plus the
// fields of its family (the schema's `Event` union member). Each family's fields are listed once, by
// one Visit*Fields function, as calls on a visitor V, in the order codec 2/3 stores them: values that
// share a column (paths2, lists, strings, values) are stored in call order, so the order of the calls
// below is the format. Each call names:
//   - how the field is stored: Ref (an interned string), List (a count, then one Ref per entry),
//     Uint (the value; the decoder bounds it by the field's type), Zigzag (signed, zigzag encoded),
//     ZigzagFromPid (zigzag of the difference to the event's pid), Bool (0 or 1), Dir (a Direction),
//     Args (0, or 6 followed by the six syscall arguments);
//   - its column (ChunkEncoder::Column);
//   - the event field (E is `const Event` for the encoder, `Event` for the decoders);
//   - its codec-1 accessor on the schema's group reader (AT_CODEC1), or NotInCodec1.
// A visitor must implement every kind of call, so a new kind of field cannot be encoded without being
// decoded, and adding a field is one line here (plus a codec bump in format/chunk_codec.h and
// docs/format.md when the new field changes what is stored).
//
// Internal to format/. Thread-safety: stateless.
#ifndef AGENTTRACE_FORMAT_CHUNK_FIELDS_H_
#define AGENTTRACE_FORMAT_CHUNK_FIELDS_H_

#include <cstdint>

#include "format/chunk_codec.h"
#include "format/event.h"

namespace agenttrace::chunk_fields {

using Column = ChunkEncoder::Column;

// Which union member of schema::Event carries a kind's fields.
enum class Family { kFile, kExec, kProc, kNet, kTool, kSys };

inline Family FamilyOf(EventKind kind) {
  uint16_t k = static_cast<uint16_t>(kind);
  if (k <= static_cast<uint16_t>(EventKind::kFileRmdir)) return Family::kFile;
  switch (kind) {
    case EventKind::kExec:
      return Family::kExec;
    case EventKind::kProcSpawn:
    case EventKind::kProcExit:
      return Family::kProc;
    case EventKind::kNetConnect:
    case EventKind::kNetBind:
    case EventKind::kNetListen:
    case EventKind::kNetSend:
      return Family::kNet;
    case EventKind::kEscape:
    case EventKind::kRaw:
      return Family::kSys;
    default:
      return Family::kTool;
  }
}

// Zigzag keeps small magnitudes small: 0,-1,1,-2 -> 0,1,2,3. Arithmetic is done unsigned so that any
// input (also overflowing differences) round-trips exactly.
inline uint64_t Zz64(uint64_t v) { return (v << 1) ^ (0 - (v >> 63)); }
inline uint64_t UnZz64(uint64_t u) { return (u >> 1) ^ (0 - (u & 1)); }
inline uint32_t Zz32(uint32_t v) { return (v << 1) ^ (0 - (v >> 31)); }
inline uint32_t UnZz32(uint32_t u) { return (u >> 1) ^ (0 - (u & 1)); }

// The common fields as stored, indexed by column kKinds..kResults: the kind, the mono clock as a
// zigzag delta to the previous event's, the wall clock's offset to mono as a zigzag delta to the
// previous event's, the pid as a zigzag delta to the previous event's, the tid as a zigzag delta to
// the pid, the result zigzag encoded. Codec 1 stores the same values (monoDeltas column, then
// wallDelta, pidDelta, tidDelta, result of each Event struct).
inline constexpr int kCommonCount = ChunkEncoder::kResults + 1;
struct Common {
  uint64_t v[kCommonCount] = {};
};
// The largest stored value each common column may hold (the decoders treat more as corruption).
inline constexpr uint64_t kCommonMax[kCommonCount] = {0xFFFF,     UINT64_MAX, UINT64_MAX,
                                                      UINT32_MAX, UINT32_MAX, UINT64_MAX};

// Stores the common fields of `e` relative to *bases, then makes `e` the new base.
inline Common StoreCommon(const Event& e, ChunkDeltaBases* bases) {
  const uint64_t mono = static_cast<uint64_t>(e.mono_ns);
  const uint64_t skew = static_cast<uint64_t>(e.wall_ns) - mono;
  Common c;
  c.v[ChunkEncoder::kKinds] = static_cast<uint16_t>(e.kind);
  c.v[ChunkEncoder::kMono] = Zz64(mono - bases->mono);
  c.v[ChunkEncoder::kWall] = Zz64(skew - bases->skew);
  c.v[ChunkEncoder::kPid] = Zz32(static_cast<uint32_t>(e.pid) - bases->pid);
  c.v[ChunkEncoder::kTid] = Zz32(static_cast<uint32_t>(e.tid) - static_cast<uint32_t>(e.pid));
  c.v[ChunkEncoder::kResults] = Zz64(static_cast<uint64_t>(e.result));
  bases->mono = mono;
  bases->skew = skew;
  bases->pid = static_cast<uint32_t>(e.pid);
  return c;
}

// The inverse of StoreCommon: sets the clocks, pid, tid and result of `e` (not its kind or seq: the
// decoders check the kind first) and makes them the new base.
inline void LoadCommon(const Common& c, ChunkDeltaBases* bases, Event* e) {
  const uint64_t mono = bases->mono + UnZz64(c.v[ChunkEncoder::kMono]);
  const uint64_t skew = bases->skew + UnZz64(c.v[ChunkEncoder::kWall]);
  const uint32_t pid = bases->pid + UnZz32(static_cast<uint32_t>(c.v[ChunkEncoder::kPid]));
  e->mono_ns = static_cast<int64_t>(mono);
  e->wall_ns = static_cast<int64_t>(mono + skew);
  e->pid = static_cast<int32_t>(pid);
  e->tid = static_cast<int32_t>(pid + UnZz32(static_cast<uint32_t>(c.v[ChunkEncoder::kTid])));
  e->result = static_cast<int64_t>(UnZz64(c.v[ChunkEncoder::kResults]));
  bases->mono = mono;
  bases->skew = skew;
  bases->pid = pid;
}

// A field codec 1 does not store (it decodes as empty); `since` is the first codec that does.
struct NotInCodec1 {
  uint16_t since;
};

// The codec-1 accessor of a field: a callable taking the schema's group reader (schema::Event::File
// for file fields, ...). Generic, so that this header needs no generated schema header.
#define AT_CODEC1(getter) [](const auto& r) { return r.getter(); }

// The fields of each family, in stored order. E is `const Event` or `Event`.
template <class V, class E>
inline __attribute__((always_inline)) void VisitFileFields(V& v, E& e) {
  v.Ref(Column::kPaths, e.path, AT_CODEC1(getPath));
  v.Ref(Column::kPaths2, e.path2, AT_CODEC1(getPath2));
  v.Ref(Column::kPaths2, e.resolved, AT_CODEC1(getResolved));
  v.Ref(Column::kPaths2, e.resolved2, NotInCodec1{kCodecColumns3Zstd});
  v.Uint(Column::kFlags, e.flags, AT_CODEC1(getFlags));
  v.Uint(Column::kValues, e.mode, AT_CODEC1(getMode));
  v.Uint(Column::kValues, e.uid, AT_CODEC1(getUid));
  v.Uint(Column::kValues, e.gid, AT_CODEC1(getGid));
  v.Zigzag(Column::kValues, e.size, AT_CODEC1(getSize));
}

template <class V, class E>
inline __attribute__((always_inline)) void VisitExecFields(V& v, E& e) {
  v.Ref(Column::kPaths, e.path, AT_CODEC1(getPath));
  v.Ref(Column::kPaths2, e.resolved, AT_CODEC1(getResolved));
  v.Uint(Column::kFlags, e.flags, AT_CODEC1(getFlags));
  v.List(Column::kLists, e.argv, AT_CODEC1(getArgv));
  v.List(Column::kLists, e.env_names, AT_CODEC1(getEnvNames));
  v.List(Column::kLists, e.secret_env_names, AT_CODEC1(getSecretEnvNames));
}

template <class V, class E>
inline __attribute__((always_inline)) void VisitProcFields(V& v, E& e) {
  v.Uint(Column::kFlags, e.flags, AT_CODEC1(getFlags));
  v.ZigzagFromPid(Column::kValues, e.child_pid, e.pid, AT_CODEC1(getChildPid));
  v.Zigzag(Column::kValues, e.exit_code, AT_CODEC1(getExitCode));
  v.Zigzag(Column::kValues, e.signal, AT_CODEC1(getSignal));
  v.Bool(Column::kValues, e.is_thread, AT_CODEC1(getIsThread));
}

template <class V, class E>
inline __attribute__((always_inline)) void VisitNetFields(V& v, E& e) {
  v.Ref(Column::kPaths, e.path, AT_CODEC1(getPath));
  v.Ref(Column::kStrings, e.address, AT_CODEC1(getAddress));
  v.Uint(Column::kFlags, e.flags, AT_CODEC1(getFlags));
  v.Uint(Column::kValues, e.family, AT_CODEC1(getFamily));
  v.Uint(Column::kValues, e.port, AT_CODEC1(getPort));
  v.Zigzag(Column::kValues, e.size, AT_CODEC1(getSize));
}

template <class V, class E>
inline __attribute__((always_inline)) void VisitToolFields(V& v, E& e) {
  v.Ref(Column::kStrings, e.server, AT_CODEC1(getServer));
  v.Ref(Column::kStrings, e.tool, AT_CODEC1(getTool));
  v.Ref(Column::kStrings, e.method, AT_CODEC1(getMethod));
  v.Ref(Column::kStrings, e.request_id, AT_CODEC1(getRequestId));
  v.Ref(Column::kStrings, e.json, AT_CODEC1(getJson));
  v.Ref(Column::kStrings, e.text, AT_CODEC1(getText));
  v.Bool(Column::kValues, e.is_error, AT_CODEC1(getIsError));
  v.Dir(Column::kValues, e.direction, AT_CODEC1(getDirection));
  v.Zigzag(Column::kValues, e.duration_ns, AT_CODEC1(getDurationNs));
  v.Zigzag(Column::kValues, e.size, AT_CODEC1(getSize));
}

template <class V, class E>
inline __attribute__((always_inline)) void VisitSysFields(V& v, E& e) {
  v.Ref(Column::kStrings, e.text, AT_CODEC1(getText));
  v.Uint(Column::kValues, e.syscall_nr, AT_CODEC1(getSyscallNr));
  v.Uint(Column::kValues, e.arch, AT_CODEC1(getArch));
  v.Args(Column::kValues, e.args, AT_CODEC1(getArgs));
}

#undef AT_CODEC1

// The fields of family `f`.
template <class V, class E>
inline __attribute__((always_inline)) void VisitFields(Family f, V& v, E& e) {
  switch (f) {
    case Family::kFile:
      return VisitFileFields(v, e);
    case Family::kExec:
      return VisitExecFields(v, e);
    case Family::kProc:
      return VisitProcFields(v, e);
    case Family::kNet:
      return VisitNetFields(v, e);
    case Family::kTool:
      return VisitToolFields(v, e);
    case Family::kSys:
      return VisitSysFields(v, e);
  }
}

}  // namespace agenttrace::chunk_fields

#endif  // AGENTTRACE_FORMAT_CHUNK_FIELDS_H_
