// Codec 2: which `Columns` field holds which ChunkEncoder::Column, and the column names used in error
// messages. The one place that maps the two; the encoder, the decoder and the test message builder
// (format/chunk_codec_testing.cc) all go through it. Internal to format/.
//
// Thread-safety: stateless.
#ifndef AGENTTRACE_FORMAT_CHUNK_COLUMNS_H_
#define AGENTTRACE_FORMAT_CHUNK_COLUMNS_H_

#include "format/chunk_codec.h"
#include "schema/agenttrace.capnp.h"

namespace agenttrace::columns {

using Column = ChunkEncoder::Column;

inline constexpr const char* kNames[ChunkEncoder::kColumnCount] = {
    "kinds", "monoDeltas", "wallDeltas", "pidDeltas", "tids",    "results",
    "paths", "paths2",     "flags",      "lists",     "strings", "values"};

// The field of column `c`: a Data::Builder for a Columns::Builder, a Data::Reader for a Reader.
template <typename Root>
auto Get(Root root, Column c) {
  switch (c) {
    case ChunkEncoder::kKinds: return root.getKinds();
    case ChunkEncoder::kMono: return root.getMonoDeltas();
    case ChunkEncoder::kWall: return root.getWallDeltas();
    case ChunkEncoder::kPid: return root.getPidDeltas();
    case ChunkEncoder::kTid: return root.getTids();
    case ChunkEncoder::kResults: return root.getResults();
    case ChunkEncoder::kPaths: return root.getPaths();
    case ChunkEncoder::kPaths2: return root.getPaths2();
    case ChunkEncoder::kFlags: return root.getFlags();
    case ChunkEncoder::kLists: return root.getLists();
    case ChunkEncoder::kStrings: return root.getStrings();
    case ChunkEncoder::kValues: return root.getValues();
    case ChunkEncoder::kColumnCount: break;
  }
  __builtin_unreachable();
}

// Copies `bytes` into the field of column `c`.
inline void Set(schema::Columns::Builder root, Column c, const std::string& bytes) {
  capnp::Data::Reader d(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size());
  switch (c) {
    case ChunkEncoder::kKinds: return root.setKinds(d);
    case ChunkEncoder::kMono: return root.setMonoDeltas(d);
    case ChunkEncoder::kWall: return root.setWallDeltas(d);
    case ChunkEncoder::kPid: return root.setPidDeltas(d);
    case ChunkEncoder::kTid: return root.setTids(d);
    case ChunkEncoder::kResults: return root.setResults(d);
    case ChunkEncoder::kPaths: return root.setPaths(d);
    case ChunkEncoder::kPaths2: return root.setPaths2(d);
    case ChunkEncoder::kFlags: return root.setFlags(d);
    case ChunkEncoder::kLists: return root.setLists(d);
    case ChunkEncoder::kStrings: return root.setStrings(d);
    case ChunkEncoder::kValues: return root.setValues(d);
    case ChunkEncoder::kColumnCount: break;
  }
  __builtin_unreachable();
}

// Writes the string table and every column into `root`.
inline void SetAll(schema::Columns::Builder root, const std::string& string_data, const std::string& string_lengths,
                   const std::string (&cols)[ChunkEncoder::kColumnCount]) {
  capnp::Data::Reader data(reinterpret_cast<const kj::byte*>(string_data.data()), string_data.size());
  capnp::Data::Reader lengths(reinterpret_cast<const kj::byte*>(string_lengths.data()), string_lengths.size());
  root.setStringData(data);
  root.setStringLengths(lengths);
  for (int c = 0; c < ChunkEncoder::kColumnCount; ++c) Set(root, static_cast<Column>(c), cols[c]);
}

}  // namespace agenttrace::columns

#endif  // AGENTTRACE_FORMAT_CHUNK_COLUMNS_H_
