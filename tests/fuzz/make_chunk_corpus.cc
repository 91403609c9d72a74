// Writes the seed corpus for fuzz_chunk_decode: a few small valid chunks (names start with "valid_")
// and broken ones, of the codec the encoder writes (the valid_codec1_* and broken_codec1_* seeds were
// written by the codec-1 encoder of earlier builds and are kept). Run from the repository root when
// the chunk format changes:
//   build/tests/fuzz/make_chunk_corpus tests/fuzz/corpus/chunk_decode
#include <cstdio>
#include <string>
#include <vector>

#include "format/chunk_codec.h"
#include "format/chunk_codec_testing.h"
#include "format/output_file.h"
#include "format/sys.h"
#include "tests/format/synthetic_events.h"

using agenttrace::ChunkEncoder;
using agenttrace::Event;
using agenttrace::EventKind;

namespace {

std::string Encode(const std::vector<Event>& events, const agenttrace::Hash256& prev = {}) {
  ChunkEncoder enc(agenttrace::WriterOptions{});
  for (const auto& e : events) enc.Add(e);
  std::string out;
  AT_CHECK(enc.Seal(0, prev, &out).ok());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<Event> every;
  for (uint16_t k = 0; k < agenttrace::kEventKindCount; ++k) {
    every.push_back(agenttrace::testing::FullEvent(static_cast<EventKind>(k), k));
  }
  files.emplace_back("valid_every_kind", Encode(every));
  files.emplace_back("valid_agent_mix_200", Encode(agenttrace::testing::AgentMix(3).Take(200)));
  files.emplace_back("valid_one_annotation", Encode({Event{}}));
  // A chunk of the size the writer seals at (1 MiB of message), as recordings store them.
  {
    ChunkEncoder enc(agenttrace::WriterOptions{});
    for (const Event& e : agenttrace::testing::AgentMix(5).Take(200000)) {
      enc.Add(e);
      if (enc.full()) break;
    }
    std::string out;
    AT_CHECK(enc.Seal(0, {}, &out).ok());
    files.emplace_back("valid_agent_mix_full_chunk", out);
  }
  // A few KB that reference a 1 MiB string 65,535 times: refused by the decoded-bytes bound.
  files.emplace_back("broken_argv_bomb",
                     agenttrace::FrameChunk(agenttrace::testing::ArgvBombColumnsMessage(1u << 20, 65535), 0, 1, {}, 19,
                                            agenttrace::kCodecColumnsZstd));
  std::string good = Encode(agenttrace::testing::AgentMix(4).Take(20));
  files.emplace_back("broken_truncated", good.substr(0, good.size() / 2));
  std::string bad_version = good;
  bad_version[4] = 7;
  files.emplace_back("broken_version", bad_version);
  std::string flipped = good;
  flipped[agenttrace::kChunkHeaderSize + 5] ^= 0x40;
  files.emplace_back("broken_payload_bit", flipped);
  agenttrace::Hash256 other{};
  other[3] = 9;
  files.emplace_back("broken_chain", Encode(every, other));
  files.emplace_back("broken_garbage_frame", agenttrace::FrameChunk(std::string(300, '\xa5'), 0, 2, {}));
  for (const auto& [name, bytes] : files) {
    agenttrace::Status st = agenttrace::WriteFileAtomically(dir + "/" + name, bytes);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
