// The JSON both reports write about a label and a session: the JSON report (report.cc, RenderJson) and
// the data the HTML report embeds (html_report.cc, HtmlReportData). One builder, so that a field added
// to or renamed in one report reaches the other, and the two cannot drift apart in what "state",
// "passed" or a blast radius means.
//
// The two reports are stable formats with byte-identical golden outputs and a fixed key order each; they
// differ in a few fields (the HTML page shows the agent's name, caps its lists for the browser and
// refers to sessions by index), so every builder takes the flavour it writes. Each report appends its
// own fields after what the builder returns.
//
// Internal to replayer/ (nlohmann::json is a private dependency of the library): include it only from
// replayer/*.cc. Thread-safety: pure functions.
#ifndef AGENTTRACE_REPLAYER_REPORT_JSON_H_
#define AGENTTRACE_REPLAYER_REPORT_JSON_H_

#include <nlohmann/json.hpp>
#include <string_view>

#include "replayer/replay.h"

namespace agenttrace {

using ReportJson = nlohmann::ordered_json;

enum class ReportFlavor {
  kJson,  // RenderJson: every list in full; sessions named by id
  kHtml,  // HtmlReportData: lists capped at kHtmlMaxListItems with "<name>_dropped" counts; sessions by index
};

// Ratios (stability) rounded to 4 decimals, so that the text does not depend on the last bits of a sum.
double Round4(double v);

// "format", "version", "policy", "promotable" and "verdict", the opening of each report.
ReportJson ReportHeadJson(const ReplayReport& r, std::string_view format, ReportFlavor flavor);

ReportJson BlastRadiusJson(const BlastRadius& b, ReportFlavor flavor);

// A label's verdict, counts, criteria, unique actions and blast radius. `r` is the report that holds `l`
// (its session indices point into r.sessions).
ReportJson LabelJson(const ReplayReport& r, const LabelResult& l, ReportFlavor flavor);

// A session's identity, state and counts, up to "gaps"; the caller appends the rest.
ReportJson SessionSummaryJson(const SessionResult& s, ReportFlavor flavor);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_REPORT_JSON_H_
