// `agenttrace export --format chrome-trace [--policy P]` (docs/cli.md): the command path that writes a
// session as Chrome Trace Event JSON (format/chrome_trace.h). It lives apart from cmd_export.cc because
// with --policy it first replays the session (replayer/) to mark each deny and ask on the timeline.
#ifndef AGENTTRACE_TOOLS_EXPORT_CHROME_H_
#define AGENTTRACE_TOOLS_EXPORT_CHROME_H_

#include <memory>
#include <string>

#include "format/session.h"
#include "format/store.h"

namespace agenttrace {

// Writes session `id` of `store` to `output` ("-" or "": standard output), whole or not at all. With a
// non-empty `policy_path`, replays the session against that policy first and adds an instant event per
// deny and ask. Returns the exit code (tools/exit_codes.h), having printed any error.
int ExportChromeTrace(std::shared_ptr<Store> store, const SessionId& id, const std::string& policy_path,
                      const std::string& output);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_EXPORT_CHROME_H_
