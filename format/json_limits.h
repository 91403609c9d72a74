// The one size and depth limit for JSON that comes from outside: event lines (import, the event
// socket, replay of .jsonl files), export headers, hook payloads, MCP JSON-RPC messages, `emit`
// input, and tool arguments parsed again at replay. docs/format.md ("JSON limits") lists the entry
// points.
//
// Why a depth limit: nlohmann::json parses iteratively, but serialising a value (dump) and some
// traversals recurse once per nesting level, so a 100,000-deep array from a hostile agent would
// overflow the stack wherever it is serialised again. Text is checked before it is parsed.
//
// Thread-safety: stateless.
#ifndef AGENTTRACE_FORMAT_JSON_LIMITS_H_
#define AGENTTRACE_FORMAT_JSON_LIMITS_H_

#include <cstddef>
#include <string_view>

#include "format/status.h"

namespace agenttrace {

// Largest JSON text accepted at any entry point (one line, one message, one payload).
inline constexpr size_t kMaxJsonBytes = 16u << 20;
// Deepest nesting of arrays and objects accepted at any entry point.
inline constexpr int kMaxJsonDepth = 256;

// True when `text` nests arrays/objects deeper than max_depth. Strings are skipped; not a validator
// (the parser still rejects malformed text), and linear in the size of `text`.
bool JsonNestingExceeds(std::string_view text, int max_depth = kMaxJsonDepth);

// Ok, or ResourceExhausted when `text` is larger than kMaxJsonBytes, or InvalidArgument when it nests
// deeper than kMaxJsonDepth; the message starts with `what` ("hook payload", "JSON line", ...).
Status CheckJsonBounds(std::string_view text, std::string_view what);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_JSON_LIMITS_H_
