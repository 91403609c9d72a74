// The one text form of an event for people: the last column of `agenttrace show`, the `what` of replay
// findings and of every report built from them. Keeping one renderer keeps them from disagreeing
// (they once printed a symlink's arrow in opposite directions).
//
// Every recorded string is written in the escaped form of format/text_escape.h, so that output is
// valid UTF-8, holds no control characters (an untrusted file name cannot move a terminal's cursor or
// fake a line of a report) and names the exact bytes recorded. The form of each kind is specified in
// docs/format.md ("Events as text").
//
// Thread-safety: pure functions.
#ifndef AGENTTRACE_FORMAT_EVENT_TEXT_H_
#define AGENTTRACE_FORMAT_EVENT_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "format/event.h"

namespace agenttrace {

inline constexpr size_t kNoFieldLimit = static_cast<size_t>(-1);

// Appends what `e` did, on one line, without its kind: "/a -> /b", "/usr/bin/git [git status]",
// "203.0.113.9:443 = -111 ECONNREFUSED". Free-form payloads (tool JSON, annotation text) longer than
// `max_field_bytes` are cut, on a UTF-8 boundary, and marked "...".
void AppendEventText(const Event& e, size_t max_field_bytes, std::string* out);

// "file.open /etc/passwd flags=00": the kind, a space and AppendEventText, cut to at most `max_len`
// bytes (on a UTF-8 boundary) plus "..." when longer.
std::string DescribeEvent(const Event& e, size_t max_len = 300);

// `word` for a POSIX shell: as it is if it needs no quoting, else in single quotes; escaped bytes
// (text_escape.h) appear as their escapes.
void AppendShellQuoted(std::string_view word, std::string* out);
// The words of `argv`, shell-quoted, separated by spaces.
std::string ShellJoin(const std::vector<std::string>& argv);

// "SIGKILL" for 9; "signal 77" when the number has no name.
std::string SignalName(int sig);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_EVENT_TEXT_H_
