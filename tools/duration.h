// Durations on the command line: "500ms", "10s", "2m", "1h", or a bare number of seconds ("2.5").
#ifndef AGENTTRACE_TOOLS_DURATION_H_
#define AGENTTRACE_TOOLS_DURATION_H_

#include <chrono>
#include <string_view>

#include "format/status.h"

namespace agenttrace {

// Parses a non-negative duration: a decimal number (fraction allowed) followed by ms, s, m or h, or
// nothing (seconds). Rounded to whole milliseconds. InvalidArgument with the text on anything else,
// or beyond 30 days.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_DURATION_H_
