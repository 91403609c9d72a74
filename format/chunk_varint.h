// Unsigned LEB128 varints (7 bits per byte, low group first, high bit = more follows), the unit of
// every codec-2/3 column and of the front-coded string lengths. Internal to format/.
//
// Thread-safety: stateless.
#ifndef AGENTTRACE_FORMAT_CHUNK_VARINT_H_
#define AGENTTRACE_FORMAT_CHUNK_VARINT_H_

#include <cstdint>
#include <string>

namespace agenttrace::chunk_varint {

inline void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads one varint from [*p, end); false if it is truncated or longer than 10 bytes / 64 bits.
inline bool ReadVarintSlow(const uint8_t** p, const uint8_t* end, uint64_t* v) {
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

}  // namespace agenttrace::chunk_varint

#endif  // AGENTTRACE_FORMAT_CHUNK_VARINT_H_
