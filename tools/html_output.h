// Writing the HTML report (replayer/html_report.h), shared by `agenttrace report` and `replay --html`
// (both in docs/cli.md).
#ifndef AGENTTRACE_TOOLS_HTML_OUTPUT_H_
#define AGENTTRACE_TOOLS_HTML_OUTPUT_H_

#include <string>
#include <vector>

#include "replayer/policy.h"
#include "replayer/replay.h"

namespace agenttrace {

// Computes the behaviour diffs of the report's labels from `inputs` (the inputs the report was made
// from) and writes the page to `path` atomically. Returns kExitOk, or the exit code after printing
// why.
int WriteHtmlReport(const std::string& path, const Policy& policy, const ReplayReport& report,
                    const std::vector<SessionInput>& inputs);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_HTML_OUTPUT_H_
