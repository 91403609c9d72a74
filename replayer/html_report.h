// The HTML report (`agenttrace report`, `replay --html`): one self-contained file a reviewer opens in
// a browser, with no network access: the verdict per label and its criteria, a timeline per session
// (processes as rows, events as marks coloured by decision, tool calls as spans), the findings linked
// into the timeline, each event's record and the rules considered, the blast radius, the actions seen
// in only one session and behaviour diffs between sessions of a label.
//
// The page is static CSS and script (html_report_page.cc) plus the data, embedded as JSON in a
// <script type="application/json"> element and drawn by the script with DOM text nodes only. Recorded
// strings are chosen by the agent, so the embedding escapes every '<', '>', '&', U+2028 and U+2029
// and replaces invalid UTF-8; a Content-Security-Policy allows only the page's own script (by hash)
// and no network at all.
//
// Deterministic: the same report gives the same bytes (no clock, no random ids, sorted data).
// Bounded: the limits below and TimelineLimits (replayer/timeline.h); docs/cli.md lists them.
//
// Thread-safety: pure functions; ComputeHtmlDiffs runs RunDiff (which joins its own threads).
#ifndef AGENTTRACE_REPLAYER_HTML_REPORT_H_
#define AGENTTRACE_REPLAYER_HTML_REPORT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "format/status.h"
#include "replayer/diff.h"
#include "replayer/policy.h"
#include "replayer/replay.h"

namespace agenttrace {

// Timeline events embedded over all sessions, in bytes of JSON. Each session gets an equal share of
// it (at least kHtmlMinSessionShare): its ordinary events fill up to 3/4 of the share, findings up to
// all of it; events past that are summarised (counted by kind). Sessions after the budget is spent
// (in session order; only possible with more than kHtmlMaxTimelineBytes / kHtmlMinSessionShare
// sessions) have no timeline, so all timelines together stay under the budget plus one share.
inline constexpr size_t kHtmlMaxTimelineBytes = 8u << 20;
inline constexpr size_t kHtmlMinSessionShare = 128u << 10;
// Findings listed over all sessions (each session keeps at most ReplayOptions::max_findings_per_session).
inline constexpr size_t kHtmlMaxFindings = 2000;
// Items per blast-radius list and unique actions per label.
inline constexpr size_t kHtmlMaxListItems = 200;
// Items per list of a behaviour diff (only in A, only in B, each reach change, decisions).
inline constexpr size_t kHtmlMaxDiffListItems = 100;
// Precomputed behaviour diffs: consecutive sessions of each label, at most this many pairs in all.
inline constexpr size_t kHtmlMaxDiffPairs = 32;

// A behaviour diff between two sessions of one label (indices into ReplayReport::sessions).
struct HtmlDiffPair {
  size_t a = 0, b = 0;
  DiffReport diff;
};

// Computes the diffs of consecutive sessions of each label (in session order), at most
// kHtmlMaxDiffPairs. `inputs` are the inputs the report was made from (matched by id and origin).
Result<std::vector<HtmlDiffPair>> ComputeHtmlDiffs(const ReplayReport& report, const std::vector<SessionInput>& inputs,
                                                   const Policy& policy);

// The data the page embeds, as JSON (before escaping for the <script> element). Exposed for tests.
std::string HtmlReportData(const ReplayReport& report, const std::vector<HtmlDiffPair>& diffs);

// The whole page. The report should come from RunReplay with ReplayOptions::timeline set (without
// it, the sessions have no timeline and the page says so).
std::string RenderHtml(const ReplayReport& report, const std::vector<HtmlDiffPair>& diffs);

// JSON text made safe inside an HTML <script> element: '<', '>', '&', U+2028 and U+2029 become
// \uXXXX escapes. Valid only for JSON text, where those characters can occur only inside strings.
std::string EscapeJsonForScript(std::string_view json);

// The page's static parts (html_report_page.cc).
std::string_view HtmlReportStyle();
std::string_view HtmlReportScript();

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_HTML_REPORT_H_
