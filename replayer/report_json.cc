#include "replayer/report_json.h"

#include <cmath>
#include <string>

#include "replayer/html_report.h"

namespace agenttrace {
namespace {

// The first kHtmlMaxListItems of `items` (all of them for the JSON report); *dropped gets the rest's count.
template <typename C>
ReportJson Listed(const C& items, ReportFlavor flavor, uint64_t* dropped) {
  const size_t max = flavor == ReportFlavor::kHtml ? kHtmlMaxListItems : items.size();
  ReportJson a = ReportJson::array();
  for (const auto& x : items) {
    if (a.size() == max) break;
    a.push_back(x);
  }
  *dropped = items.size() - a.size();
  return a;
}

}  // namespace

double Round4(double v) { return std::round(v * 10000.0) / 10000.0; }

ReportJson ReportHeadJson(const ReplayReport& r, std::string_view format, ReportFlavor flavor) {
  ReportJson j;
  j["format"] = format;
  j["version"] = 1;
  j["policy"] = r.policy_source;
  j["promotable"] = r.promotable;
  j["verdict"] = r.promotable ? "promotable" : flavor == ReportFlavor::kHtml ? "NOT promotable" : "not promotable";
  return j;
}

ReportJson BlastRadiusJson(const BlastRadius& b, ReportFlavor flavor) {
  ReportJson j;
  auto add = [&](const char* name, const std::set<std::string>& s) {
    uint64_t dropped = 0;
    j[name] = Listed(s, flavor, &dropped);
    if (flavor == ReportFlavor::kHtml) j[std::string(name) + "_dropped"] = dropped;
  };
  add("written_outside_workspace", b.written_outside_workspace);
  add("hosts", b.hosts);
  add("secrets", b.secrets);
  add("side_effect_tools", b.side_effect_tools);
  return j;
}

ReportJson LabelJson(const ReplayReport& r, const LabelResult& l, ReportFlavor flavor) {
  const bool html = flavor == ReportFlavor::kHtml;
  ReportJson j;
  j["label"] = l.label;
  j["promotable"] = l.promotable;
  if (html) {
    j["sessions"] = l.sessions;
  } else {
    ReportJson ids = ReportJson::array();
    for (size_t i : l.sessions) ids.push_back(r.sessions[i].info.id.ToString());
    j["sessions"] = std::move(ids);
  }
  j["passed"] = l.passed;
  j["pass_k"] = l.pass_k;
  j["stability"] = Round4(l.stability);
  j["deny"] = l.denies;
  j["ask"] = l.asks;
  j["irreversible"] = l.irreversible;
  if (!html) {
    j["incomplete"] = l.incomplete;
    j["not_run"] = l.not_run;
    j["task_failures"] = l.task_failures;
  }
  ReportJson crit = ReportJson::array();
  for (const Criterion& c : l.criteria)
    crit.push_back(ReportJson{{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  j["criteria"] = std::move(crit);
  uint64_t dropped = 0;
  if (html) {
    j["blast_radius"] = BlastRadiusJson(l.blast, flavor);
    j["unique_actions"] = Listed(l.unique_actions, flavor, &dropped);
    j["unique_actions_dropped"] = dropped;
  } else {
    j["unique_actions"] = Listed(l.unique_actions, flavor, &dropped);
    j["blast_radius"] = BlastRadiusJson(l.blast, flavor);
  }
  return j;
}

ReportJson SessionSummaryJson(const SessionResult& s, ReportFlavor flavor) {
  const bool html = flavor == ReportFlavor::kHtml;
  ReportJson j;
  j["id"] = s.info.id.ToString();
  j["label"] = s.info.label;
  if (html) j["agent"] = s.info.agent_name;
  j["origin"] = s.origin;
  j["state"] = s.error.ok() ? std::string(SessionStateName(s.info.state)) : "unreadable";
  j["error"] = s.error.ok() ? "" : s.error.ToString();
  j["passed"] = s.passed;
  j["agent_ran"] = s.agent_ran;
  if (html || !s.agent_ran) j["not_run_reason"] = s.not_run_reason;
  if (!html) {
    j["exit_code"] = s.info.exit_code;
    j["exit_signal"] = s.info.exit_signal;
  }
  j["outcome"] = OutcomeText(s.info);
  if (!html) j["task_succeeded"] = s.task_succeeded;
  j["events"] = s.events;
  j["evaluated"] = s.evaluated;
  j["allow"] = s.allows;
  j["ask"] = s.asks;
  j["deny"] = s.denies;
  j["irreversible"] = s.irreversible;
  j["gaps"] = s.gaps;
  return j;
}

}  // namespace agenttrace
