// The annotations a serving run of `agenttrace replay --serve` writes (recorder/cassette.h), named in
// one place because the recorder writes them and the replayer reads them (replay reports say which
// sessions had their tools served from a cassette). docs/format.md "MCP cassettes" has their json.
#ifndef AGENTTRACE_FORMAT_CASSETTE_ANNOTATIONS_H_
#define AGENTTRACE_FORMAT_CASSETTE_ANNOTATIONS_H_

namespace agenttrace {

// Written once at the start of a serving run; json names the cassette sessions.
inline constexpr char kSourceAnnotation[] = "cassette.source";
// Written after each answer; json "served" is "replayed", "live", "miss", "unusable" or "local".
inline constexpr char kServedAnnotation[] = "cassette.served";

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_CASSETTE_ANNOTATIONS_H_
