// The payload an agent framework writes on the stdin of a hook command (`emit --hook`, `hook`): read
// whole, and bounded, since a framework passes whatever the tool call held.
#ifndef AGENTTRACE_TOOLS_HOOK_INPUT_H_
#define AGENTTRACE_TOOLS_HOOK_INPUT_H_

#include <cstddef>
#include <string>

#include "format/status.h"

namespace agenttrace {

// Reads `fd` to its end. ResourceExhausted when it holds more than `max` bytes; IOError (with errno)
// when a read fails.
Result<std::string> ReadHookPayload(int fd, size_t max);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_HOOK_INPUT_H_
