// Chunk header (the fixed 96 bytes before the payload) and hashing (docs/format.md, "Chunks").
#include <sodium.h>

#include <cstring>

#include "format/chunk_codec.h"
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

void EnsureSodium() {
  static const int ok = sodium_init();
  AT_CHECK_MSG(ok >= 0, "sodium_init failed");
}

}  // namespace

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
  crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr, 0);
  return h;
}

std::string ChunkContext::Prefix() const {
  std::string s;
  if (!session.empty()) s = "session " + session + ": ";
  return s + "chunk " + std::to_string(chunk) + ": ";
}

}  // namespace agenttrace
