#include "format/chunk_codec_testing.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/io.h>
#include <zstd.h>

#include "format/chunk_codec.h"
#include "format/chunk_columns.h"
#include "format/event.h"
#include "schema/agenttrace.capnp.h"

namespace agenttrace {

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

namespace testing {

std::string EncodeRawChunkMessage(const RawChunk& chunk) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::Chunk>();
  root.setStringData(
      capnp::Data::Reader(reinterpret_cast<const kj::byte*>(chunk.string_data.data()), chunk.string_data.size()));
  auto ends = root.initStringEnds(static_cast<unsigned>(chunk.string_ends.size()));
  for (unsigned i = 0; i < chunk.string_ends.size(); ++i) ends.set(i, chunk.string_ends[i]);
  root.setMonoDeltas(
      capnp::Data::Reader(reinterpret_cast<const kj::byte*>(chunk.mono_varints.data()), chunk.mono_varints.size()));
  auto events = root.initEvents(static_cast<unsigned>(chunk.events.size()));
  for (unsigned i = 0; i < chunk.events.size(); ++i) {
    const auto& in = chunk.events[i];
    auto e = events[i];
    e.setKind(in.kind);
    switch (in.group) {
      case RawChunk::Group::kFile: e.initFile().setPath(in.string_ref); break;
      case RawChunk::Group::kExec: e.initExec().setPath(in.string_ref); break;
      case RawChunk::Group::kProc: e.initProc(); break;
      case RawChunk::Group::kNet: e.initNet().setAddress(in.string_ref); break;
      case RawChunk::Group::kTool: e.initTool().setServer(in.string_ref); break;
      case RawChunk::Group::kSys: e.initSys().setText(in.string_ref); break;
    }
  }
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, message);
  auto bytes = out.getArray();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

std::string Varints(std::initializer_list<uint64_t> values) {
  std::string out;
  for (uint64_t v : values) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  return out;
}

std::string EncodeRawColumnsMessage(const RawColumns& c) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::Columns>();
  columns::SetAll(root, c.string_data, c.string_lengths, c.columns);
  kj::VectorOutputStream out;
  capnp::writeMessage(out, message);
  auto bytes = out.getArray();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

std::string ArgvBombColumnsMessage(uint64_t string_bytes, uint32_t refs) {
  RawColumns c;
  c.string_data.assign(string_bytes, 'A');
  c.string_lengths = Varints({0, string_bytes});
  c.columns[ChunkEncoder::kKinds] = Varints({static_cast<uint16_t>(EventKind::kExec)});
  for (auto col : {ChunkEncoder::kMono, ChunkEncoder::kWall, ChunkEncoder::kPid, ChunkEncoder::kTid,
                   ChunkEncoder::kResults, ChunkEncoder::kFlags, ChunkEncoder::kPaths, ChunkEncoder::kPaths2}) {
    c.columns[col] = Varints({0});
  }
  // argv: `refs` entries, the first introducing the string (1), the others pointing back at it (2);
  // then empty env_names and secret_env_names.
  std::string& lists = c.columns[ChunkEncoder::kLists];
  lists = Varints({refs});
  if (refs > 0) lists += Varints({1});
  lists.append(refs > 0 ? refs - 1 : 0, '\x02');
  lists += Varints({0, 0});
  return EncodeRawColumnsMessage(c);
}

}  // namespace testing
}  // namespace agenttrace
