// The one reversible text form of recorded bytes (docs/format.md, "Escaped text").
//
// Recorded strings (file names, argv, tool payloads) are arbitrary bytes: Linux file names need not
// be UTF-8 and may hold control characters. JSON must be valid UTF-8 and a terminal must not receive
// control characters, so both the JSON-lines export and the text shown to people use this form:
//
//   `\`                                              -> `\\`
//   a byte that is not part of well-formed UTF-8,
//   a C0 control character (0x00-0x1f) or DEL (0x7f)   -> `\xNN` (two lower-case hex digits)
//   a C1 control character (U+0080-U+009F)             -> `\xc2\xNN` (each of its two bytes)
//   anything else (printable ASCII, well-formed UTF-8)  -> itself
//
// The result is well-formed UTF-8 without control characters, and Unescape() gives the bytes back
// exactly. Well-formed UTF-8 follows RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF.
//
// Thread-safety: pure functions.
#ifndef AGENTTRACE_FORMAT_TEXT_ESCAPE_H_
#define AGENTTRACE_FORMAT_TEXT_ESCAPE_H_

#include <string>
#include <string_view>

#include "format/status.h"

namespace agenttrace {

// Whether `s` is well-formed UTF-8 (RFC 3629). Control characters are well-formed.
bool IsValidUtf8(std::string_view s);

// The longest prefix of `s` of at most `max` bytes that does not split a UTF-8 sequence (continuation
// bytes at the cut are left out with the sequence they belong to). `s` need not be valid UTF-8.
std::string_view Utf8Prefix(std::string_view s, size_t max);
// `s` when it fits in `max` bytes, else Utf8Prefix(s, max) followed by "..." (at most max + 3 bytes).
std::string Utf8PrefixWithEllipsis(std::string_view s, size_t max);

// Appends the escaped form of `bytes` to *out.
void AppendEscaped(std::string_view bytes, std::string* out);
std::string Escaped(std::string_view bytes);

// Appends `utf8` as a JSON string literal: quotes, `"` and `\` backslashed, control characters as
// \u00XX. `utf8` must already be valid UTF-8 (the escaped form above is); bytes are copied as they are.
void AppendJsonQuoted(std::string_view utf8, std::string* out);

// The bytes whose escaped form is `text`. InvalidArgument (naming the offset) for a `\` that does
// not start `\\` or `\xNN`. Text that was never escaped and contains no `\` comes back unchanged.
Result<std::string> Unescape(std::string_view text);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_TEXT_ESCAPE_H_
