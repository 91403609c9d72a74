// The JSON-lines form of sessions and events: `agenttrace export --format jsonl`, `import`, the
// ingestion socket and the nesting protocol all speak it. Field names are stable and documented in
// docs/format.md ("JSON lines").
//
// An event is one object. Always present: seq, ts_ns (wall clock), mono_ns, pid, tid, kind. Every other
// field is present only when it differs from its default, except `result`, which is always present for
// kinds that come from a syscall. Derived, read-only fields (`error`: the errno name of a negative
// result) are written for people and ignored when read back. Reading rejects unknown kinds, fields of
// the wrong type and oversized input; unknown field names are ignored (forward compatibility).
#ifndef AGENTTRACE_FORMAT_EVENT_JSON_H_
#define AGENTTRACE_FORMAT_EVENT_JSON_H_

#include <string>
#include <string_view>

#include "format/event.h"
#include "format/json_limits.h"
#include "format/session.h"
#include "format/status.h"

namespace agenttrace {

// Every JSON entry point shares one size and depth limit (format/json_limits.h).
inline constexpr size_t kMaxJsonLineBytes = kMaxJsonBytes;

// Appends the event's JSON object (no newline) to *out.
void AppendEventJson(const Event& event, std::string* out);
// The same without the fields a request's decision event carries itself or no policy reads (ts_ns,
// mono_ns, pid, tid, env_names, syscall_nr, arch, args): the "request" of a decision event
// (format/decision_event.h).
void AppendRequestJson(const Event& event, std::string* out);
// Appends `s` as a JSON string, byte for byte as nlohmann's dump() writes it. `s` must be valid
// UTF-8 (IsValidUtf8): other bytes are copied, not replaced.
void AppendDumpString(std::string_view s, std::string* out);
std::string EventToJson(const Event& event);
// Parses one JSON object. `require_seq`: whether seq/ts fields must be present (import: yes; the
// ingestion socket: no, the writer assigns them). Refuses a line over kMaxJsonBytes or nested deeper
// than kMaxJsonDepth, and a tool.call whose `json` (the arguments, parsed again by replay's `args`
// matcher) nests deeper than kMaxJsonDepth.
Result<Event> EventFromJson(std::string_view line, bool require_seq = true);
// The same into *out, reusing its strings' capacity (the JSON-lines reader's per-line path).
Status ParseEventJson(std::string_view line, bool require_seq, Event* out);

// The header line of an export: {"format":"agenttrace-jsonl","version":1,"session":{...}}.
// Storage-level facts (chunk count, hashes, byte counts) are not part of it.
std::string SessionHeaderToJson(const SessionInfo& info);
Result<SessionInfo> SessionHeaderFromJson(std::string_view line);

// True for kinds produced from a syscall (they always carry `result`).
bool IsSyscallKind(EventKind kind);
// "ENOENT" for 2; "" when unknown.
std::string_view ErrnoName(int err);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_EVENT_JSON_H_
