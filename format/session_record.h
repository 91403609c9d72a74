// The session record: SessionInfo <-> its stored form (a Cap'n Proto `Session` message, unpacked
// flat array; format/schema/agenttrace.capnp), and the LMDB key encodings of the store.
//
// Decoding treats the bytes as untrusted: bounded traversal, lengths of id and hash checked, any
// Cap'n Proto exception turned into Corruption.
//
// Thread-safety: stateless functions.
#ifndef AGENTTRACE_FORMAT_SESSION_RECORD_H_
#define AGENTTRACE_FORMAT_SESSION_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "format/session.h"
#include "format/status.h"

namespace agenttrace {

std::string EncodeSessionInfo(const SessionInfo& info);
Result<SessionInfo> DecodeSessionInfo(std::string_view bytes);

// "sessions" key: the 16 id bytes.
inline std::string SessionKey(const SessionId& id) {
  return std::string(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}
// "chunks" key: the 16 id bytes then the chunk number as big-endian u32, so that a session's chunks
// are adjacent and in order.
inline std::string ChunkKey(const SessionId& id, uint32_t chunk) {
  std::string k = SessionKey(id);
  for (int i = 3; i >= 0; --i) k.push_back(static_cast<char>(chunk >> (8 * i)));
  return k;
}

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_SESSION_RECORD_H_
