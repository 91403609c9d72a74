#include "replayer/html_report.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "format/status.h"
#include "replayer/report_json.h"

namespace agenttrace {
namespace {

using Json = ReportJson;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string DecisionText(bool evaluated, Decision d) { return evaluated ? std::string(DecisionName(d)) : ""; }

// Timeline events use short keys: a session holds up to TimelineLimits::max_events of them.
// Times are nanoseconds since the session's first event (a wall-clock nanosecond count does not fit
// a JavaScript number exactly). Events past 3/4 of `share` bytes of JSON are dropped (counted by
// kind), findings past all of it; *bytes gets the size kept and *kept the seqs kept.
Json TimelineJson(const SessionTimeline& tl, size_t share, size_t* bytes, std::set<uint64_t>* kept) {
  Json j;
  j["start_ns"] = std::to_string(tl.start_ns);
  j["dur_ns"] = tl.end_ns - tl.start_ns;
  Json evs = Json::array();
  uint64_t cut = 0;
  std::map<std::string, uint64_t> by_kind_map = tl.dropped_by_kind;
  *bytes = 0;
  for (const TimelineEvent& e : tl.events) {
    Json x;
    x["s"] = e.seq;
    x["t"] = e.wall_ns - tl.start_ns;
    x["p"] = e.pid;
    x["k"] = EventKindName(e.kind);
    x["d"] = DecisionText(e.evaluated, e.decision);
    if (e.evaluated) {
      x["r"] = e.rule;
      x["c"] = ActionClassName(e.cls);
    }
    if (e.irreversible) x["i"] = true;
    if (e.finding) x["f"] = true;
    x["w"] = e.what;
    x["j"] = e.record;
    if (e.record_cut) x["jc"] = true;
    if (e.explained) x["x"] = e.explain;
    // Ordinary events fill three quarters of the share; findings may use all of it.
    const size_t size = Dump(x).size() + 1;
    if (*bytes + size > (e.finding ? share : share / 4 * 3)) {
      ++cut;
      ++by_kind_map[std::string(EventKindName(e.kind))];
      continue;
    }
    *bytes += size;
    kept->insert(e.seq);
    evs.push_back(std::move(x));
  }
  j["events"] = std::move(evs);
  j["events_dropped"] = tl.events_dropped + cut;
  Json by_kind = Json::object();
  for (const auto& [k, n] : by_kind_map) by_kind[k] = n;
  j["dropped_by_kind"] = by_kind;
  Json procs = Json::array();
  for (const TimelineProcess& p : tl.processes) {
    procs.push_back(Json{{"pid", p.pid},
                         {"ppid", p.ppid},
                         {"t0", p.start_ns - tl.start_ns},
                         {"t1", p.end_ns - tl.start_ns},
                         {"name", p.name},
                         {"exited", p.exited},
                         {"exit_code", p.exit_code},
                         {"signal", p.signal},
                         {"events", p.events}});
  }
  j["processes"] = std::move(procs);
  j["processes_dropped"] = tl.processes_dropped;
  Json spans = Json::array();
  for (const TimelineSpan& s : tl.spans) {
    spans.push_back(Json{{"server", s.server},
                         {"tool", s.tool},
                         {"seq", s.call_seq},
                         {"t", s.start_ns - tl.start_ns},
                         {"dur", s.duration_ns},
                         {"result", s.has_result},
                         {"error", s.is_error}});
  }
  j["spans"] = std::move(spans);
  j["spans_dropped"] = tl.spans_dropped;
  return j;
}

// The diff's lists are as long as the sessions make them: keep the first kHtmlMaxDiffListItems of each.
void CapDiffLists(Json* diff) {
  Json dropped = Json::object();
  auto cap = [&](Json& a, const std::string& name) {
    if (!a.is_array() || a.size() <= kHtmlMaxDiffListItems) return;
    dropped[name] = a.size() - kHtmlMaxDiffListItems;
    a.erase(a.begin() + static_cast<std::ptrdiff_t>(kHtmlMaxDiffListItems), a.end());
  };
  cap((*diff)["only_in_a"], "only_in_a");
  cap((*diff)["only_in_b"], "only_in_b");
  cap((*diff)["decisions"], "decisions");
  for (auto& item : (*diff)["reach"].items()) {
    cap(item.value()["added"], item.key() + ".added");
    cap(item.value()["removed"], item.key() + ".removed");
  }
  (*diff)["dropped"] = std::move(dropped);
}

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

// The CSP source for the page's one script: any other script (an injected element, an inline event
// handler) would be refused by the browser even if it got into the page.
std::string ScriptHashSource(std::string_view script) {
  static const int init = sodium_init();
  AT_CHECK_MSG(init >= 0, "sodium_init failed");
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(script.data()), script.size());
  return "'sha256-" + Base64(h, sizeof h) + "'";
}

}  // namespace

std::string EscapeJsonForScript(std::string_view json) {
  std::string o;
  o.reserve(json.size() + json.size() / 16);
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      o += "\\u003c";
    } else if (c == '>') {
      o += "\\u003e";
    } else if (c == '&') {
      o += "\\u0026";
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      o += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      o.push_back(c);
    }
  }
  return o;
}

Result<std::vector<HtmlDiffPair>> ComputeHtmlDiffs(const ReplayReport& report, const std::vector<SessionInput>& inputs,
                                                   const Policy& policy) {
  std::map<std::pair<std::string, std::string>, const SessionInput*> by_key;
  for (const SessionInput& in : inputs) by_key.emplace(std::make_pair(in.info.id.ToString(), in.origin), &in);
  auto input_of = [&](size_t i) -> const SessionInput* {
    const SessionResult& s = report.sessions[i];
    auto it = by_key.find({s.info.id.ToString(), s.origin});
    return it == by_key.end() ? nullptr : it->second;
  };
  std::vector<HtmlDiffPair> out;
  for (const LabelResult& L : report.labels) {
    for (size_t k = 0; k + 1 < L.sessions.size() && out.size() < kHtmlMaxDiffPairs; ++k) {
      const size_t a = L.sessions[k], b = L.sessions[k + 1];
      const SessionInput* ia = input_of(a);
      const SessionInput* ib = input_of(b);
      if (ia == nullptr || ib == nullptr) continue;
      AT_ASSIGN_OR_RETURN(DiffReport d, RunDiff({*ia}, report.sessions[a].info.id.ToString(), {*ib},
                                                report.sessions[b].info.id.ToString(), &policy));
      out.push_back(HtmlDiffPair{a, b, std::move(d)});
    }
  }
  return out;
}

std::string HtmlReportData(const ReplayReport& r, const std::vector<HtmlDiffPair>& diffs) {
  Json j = ReportHeadJson(r, "agenttrace-html-report", ReportFlavor::kHtml);
  j["limits"] = Json{{"timeline_bytes", kHtmlMaxTimelineBytes},
                     {"findings", kHtmlMaxFindings},
                     {"list_items", kHtmlMaxListItems},
                     {"diff_pairs", kHtmlMaxDiffPairs},
                     {"diff_list_items", kHtmlMaxDiffListItems}};
  Json labels = Json::array();
  for (const LabelResult& L : r.labels) labels.push_back(LabelJson(r, L, ReportFlavor::kHtml));
  j["labels"] = std::move(labels);
  Json sessions = Json::array();
  Json findings = Json::array();
  uint64_t findings_dropped = 0;
  // The timeline budget is shared fairly: each session may use an equal share (at least
  // kHtmlMinSessionShare), so that one long session does not crowd out the others. Once the budget is
  // spent, later sessions (in session order) have no timeline.
  size_t with_timeline = 0;
  for (const SessionResult& s : r.sessions) with_timeline += s.timeline.collected ? 1 : 0;
  const size_t share = std::max(kHtmlMinSessionShare, kHtmlMaxTimelineBytes / std::max<size_t>(1, with_timeline));
  size_t timeline_bytes = 0;
  for (size_t i = 0; i < r.sessions.size(); ++i) {
    const SessionResult& s = r.sessions[i];
    Json sj = SessionSummaryJson(s, ReportFlavor::kHtml);
    sj["blast_radius"] = BlastRadiusJson(s.blast, ReportFlavor::kHtml);
    std::set<uint64_t> in_timeline;
    if (!s.timeline.collected) {
      sj["timeline"] = nullptr;
      sj["timeline_omitted"] = "no timeline was collected";
    } else if (timeline_bytes >= kHtmlMaxTimelineBytes) {
      sj["timeline"] = nullptr;
      sj["timeline_omitted"] = "the report's timeline size limit (" + std::to_string(kHtmlMaxTimelineBytes) +
                               " bytes) was reached by earlier sessions";
    } else {
      size_t bytes = 0;
      sj["timeline"] = TimelineJson(s.timeline, share, &bytes, &in_timeline);
      timeline_bytes += bytes;
    }
    for (const Finding& f : s.findings) {
      if (findings.size() == kHtmlMaxFindings) {
        ++findings_dropped;
        continue;
      }
      findings.push_back(Json{{"session", i},
                              {"seq", f.seq},
                              {"decision", DecisionName(f.decision)},
                              {"irreversible", f.irreversible},
                              {"rule", f.rule_id},
                              {"class", ActionClassName(f.cls)},
                              {"what", f.what},
                              {"in_timeline", in_timeline.count(f.seq) > 0}});
    }
    findings_dropped += s.findings_dropped;
    sessions.push_back(std::move(sj));
  }
  j["sessions"] = std::move(sessions);
  j["findings"] = std::move(findings);
  j["findings_dropped"] = findings_dropped;
  Json dj = Json::array();
  for (const HtmlDiffPair& d : diffs) {
    Json diff = Json::parse(RenderDiffJson(d.diff));
    CapDiffLists(&diff);
    dj.push_back(Json{{"a", d.a}, {"b", d.b}, {"diff", std::move(diff)}});
  }
  j["diffs"] = std::move(dj);
  return Dump(j);
}

std::string RenderHtml(const ReplayReport& report, const std::vector<HtmlDiffPair>& diffs) {
  const std::string_view script = HtmlReportScript();
  const char* verdict = report.promotable ? "promotable" : "NOT promotable";
  std::string o;
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  o += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
       "script-src " +
       ScriptHashSource(script) + "; img-src data:; base-uri 'none'; form-action 'none'\">\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  o += std::string("<title>agenttrace report: ") + verdict + "</title>\n<style>\n";
  o += HtmlReportStyle();
  o += "</style>\n</head>\n<body>\n";
  o += std::string("<noscript><p>The agenttrace report is drawn by its inline script. Verdict: ") + verdict +
       ".</p></noscript>\n<div id=\"app\"></div>\n";
  o += "<script type=\"application/json\" id=\"agenttrace-data\">";
  o += EscapeJsonForScript(HtmlReportData(report, diffs));
  o += "</script>\n<script>";
  o += script;
  o += "</script>\n</body>\n</html>\n";
  return o;
}

}  // namespace agenttrace
