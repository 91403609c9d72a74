// The fast path of EventFromJson (format/event_json_scan.cc says what it takes and why). Internal
// to format/: callers use EventFromJson / ParseEventJson (format/event_json.h).
#ifndef AGENTTRACE_FORMAT_EVENT_JSON_SCAN_H_
#define AGENTTRACE_FORMAT_EVENT_JSON_SCAN_H_

#include <string>
#include <string_view>

#include "format/event.h"
#include "format/status.h"

namespace agenttrace {

// Fills *e from `line` and returns true, or returns false (leaving *e unspecified) when the line is
// not one the fast path takes; the caller then parses it with the full parser. `line` must already be
// within kMaxJsonBytes. *scratch is reused between calls.
bool ScanEventJson(std::string_view line, bool require_seq, Event* e, std::string* scratch);

// The full parser (nlohmann::json): what EventFromJson falls back to, and the reference the fast
// path is tested against (tests/format/event_json_scan_test.cc).
Result<Event> EventFromJsonFull(std::string_view line, bool require_seq);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_EVENT_JSON_SCAN_H_
