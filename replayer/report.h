// Renders a ReplayReport: the console text, JSON (everything, stable field names), Markdown (a GitHub
// job summary, capped well under 1 MiB), JUnit XML (a testsuite per label; a testcase per session and
// per promotion criterion) and SARIF 2.1.0 (rules from the policy's rule ids; a result per deny/ask
// with a logical location "session/<id>/event/<seq>" and a partial fingerprint that is stable across
// runs). Output depends only on the report: no clock, no addresses, no hash-table order.
//
// Thread-safety: pure functions.
#ifndef AGENTTRACE_REPLAYER_REPORT_H_
#define AGENTTRACE_REPLAYER_REPORT_H_

#include <string>

#include "replayer/replay.h"

namespace agenttrace {

std::string RenderText(const ReplayReport& r);
std::string RenderJson(const ReplayReport& r);
std::string RenderMarkdown(const ReplayReport& r);
std::string RenderJunit(const ReplayReport& r);
std::string RenderSarif(const ReplayReport& r);

// Caps on listings in the Markdown and text reports ("... N more").
inline constexpr size_t kMarkdownMaxFindings = 50;
inline constexpr size_t kMarkdownMaxListItems = 20;

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_REPORT_H_
