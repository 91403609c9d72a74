#include "replayer/report.h"

#include <cstdio>

#include "replayer/report_json.h"

#include "replayer/refusal.h"

namespace agenttrace {
namespace {

using Json = ReportJson;

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string LabelName(const std::string& l) { return l.empty() ? "(no label)" : l; }

Json StringArray(const std::set<std::string>& s) {
  Json a = Json::array();
  for (const auto& x : s) a.push_back(x);
  return a;
}

std::string Dump(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"; }

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Recorded names are bytes, not text: a path or tool argument may hold any byte sequence.
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at s[i] (1-4), or 0 if the bytes there are not one
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t Utf8Length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  }
  const unsigned char c1 = at(i + 1);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) {
    return 0;
  }
  return n;
}

// Text for an XML 1.0 document: markup escaped, invalid UTF-8 and the characters XML forbids
// (controls other than tab and newline, U+FFFE, U+FFFF) replaced by U+FFFD, so that CI systems can
// parse the report whatever the agent did.
std::string XmlEscape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      o += kReplacement;
      ++i;
      continue;
    }
    if (n > 1) {
      std::string_view seq = s.substr(i, n);
      o += seq == "\xEF\xBF\xBE" || seq == "\xEF\xBF\xBF" ? kReplacement : seq;
      i += n;
      continue;
    }
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
          o += kReplacement;  // not allowed in XML 1.0 (DEL is allowed but invisible)
        } else {
          o.push_back(c);
        }
    }
    ++i;
  }
  return o;
}

// A Markdown table cell of at most `max` bytes of text (then "..."): pipes escaped, line breaks and
// backticks neutralised, invalid UTF-8 replaced by U+FFFD, and never cut inside a character.
std::string MdCell(std::string_view s, size_t max = 160) {
  std::string o;
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Length(s, i);
    std::string_view piece = n == 0 ? kReplacement : s.substr(i, n);
    if (n == 1) {
      const char c = s[i];
      piece = c == '|' ? "\\|" : (c == '\n' || c == '\r') ? " " : c == '`' ? "'" : piece;
    }
    if (o.size() + piece.size() > max) {
      o += "...";
      break;
    }
    o += piece;
    i += n == 0 ? 1 : n;
  }
  return o;
}

struct Totals {
  uint64_t events = 0, evaluated = 0, allows = 0, asks = 0, denies = 0, irreversible = 0;
};
Totals Sum(const ReplayReport& r) {
  Totals t;
  for (const SessionResult& s : r.sessions) {
    t.events += s.events;
    t.evaluated += s.evaluated;
    t.allows += s.allows;
    t.asks += s.asks;
    t.denies += s.denies;
    t.irreversible += s.irreversible;
  }
  return t;
}

}  // namespace

std::string RenderText(const ReplayReport& r) {
  std::string o;
  for (const SessionResult& s : r.sessions) {
    o += "session " + s.info.id.ToString() + " [" + LabelName(s.info.label) + "] " + s.origin + ": " +
         std::to_string(s.events) + " events, " + std::to_string(s.evaluated) + " evaluated: " +
         std::to_string(s.allows) + " allow, " + std::to_string(s.asks) + " ask, " + std::to_string(s.denies) +
         " deny, " + std::to_string(s.irreversible) + " irreversible";
    o += ", " + OutcomeText(s.info);
    if (!s.agent_ran) o += ", AGENT NEVER RAN (" + s.not_run_reason + ")";
    if (s.incomplete) o += ", INCOMPLETE recording";
    if (s.gaps > 0) o += ", " + std::to_string(s.gaps) + " gap(s)";
    if (s.cassette) {
      o += ", tools served from a cassette (" + std::to_string(s.cassette_misses) +
           " request(s) without a recorded answer)";
    }
    o += "\n";
    if (!s.error.ok()) o += "  ERROR: " + s.error.ToString() + "\n";
    for (const Finding& f : s.findings) {
      std::string tag = f.decision != Decision::kAllow ? std::string(DecisionName(f.decision)) : "irreversible";
      if (f.decision != Decision::kAllow && f.irreversible) tag += "+irreversible";
      o += "  " + tag + " seq " + std::to_string(f.seq) + " ts " + std::to_string(f.wall_ns) + " pid " +
           std::to_string(f.pid) + " rule " + f.rule_id + " [" + std::string(ActionClassName(f.cls)) + "] " + f.what +
           "\n";
    }
    if (s.findings_dropped > 0) o += "  ... " + std::to_string(s.findings_dropped) + " more finding(s)\n";
    if (s.request_decisions > 0) {
      uint64_t differ = s.request_mismatches.size() + s.request_mismatches_dropped;
      o += "  request-time decisions: " + std::to_string(s.request_decisions) + " recorded, " +
           std::to_string(s.request_same) + " the same under this policy, " + std::to_string(differ) + " different\n";
      if (s.refused > 0) {
        o += "  of which refused by the MCP proxy (undecidable tool requests, denied by \"refused\"): " +
             std::to_string(s.refused) + "\n";
      }
      for (const DecisionMismatch& m : s.request_mismatches) {
        o += "  decision seq " + std::to_string(m.seq) + ": recorded " + m.recorded + ", replayed " + m.replayed +
             ": " + m.what + "\n";
      }
    }
    for (const std::string& line : s.explain) o += "  " + line + "\n";
  }
  for (const LabelResult& L : r.labels) {
    o += "label " + LabelName(L.label) + ": " + (L.promotable ? "promotable" : "NOT promotable") + " (" +
         std::to_string(L.sessions.size()) + " session(s), pass^k " + (L.pass_k ? "yes" : "no") + ", stability " +
         Fixed(L.stability) + ")\n";
    for (const Criterion& c : L.criteria) o += std::string("  ") + (c.ok ? "ok   " : "FAIL ") + c.name + ": " + c.detail + "\n";
  }
  o += std::string("verdict: ") + (r.promotable ? "promotable" : "NOT promotable") + "\n";
  return o;
}

std::string RenderJson(const ReplayReport& r) {
  Json j = ReportHeadJson(r, "agenttrace-replay", ReportFlavor::kJson);
  Json pr;
  pr["min_sessions"] = r.promotion.min_sessions;
  pr["max_violations"] = r.promotion.max_violations;
  pr["max_asks"] = r.promotion.max_asks;
  pr["min_stability"] = Round4(r.promotion.min_stability);
  pr["allow_irreversible"] = r.promotion.allow_irreversible;
  pr["require_success"] = r.promotion.require_success;
  pr["success_exit_codes"] = r.promotion.success_exit_codes;
  j["promotion"] = pr;
  Totals t = Sum(r);
  Json tj;
  tj["sessions"] = r.sessions.size();
  tj["events"] = t.events;
  tj["evaluated"] = t.evaluated;
  tj["allow"] = t.allows;
  tj["ask"] = t.asks;
  tj["deny"] = t.denies;
  tj["irreversible"] = t.irreversible;
  j["totals"] = tj;
  Json labels = Json::array();
  for (const LabelResult& L : r.labels) labels.push_back(LabelJson(r, L, ReportFlavor::kJson));
  j["labels"] = labels;
  Json sessions = Json::array();
  for (const SessionResult& s : r.sessions) {
    Json sj = SessionSummaryJson(s, ReportFlavor::kJson);
    if (s.cassette) sj["cassette"] = {{"served", true}, {"misses", s.cassette_misses}};
    Json hits = Json::object();
    for (const auto& [id, n] : s.rule_hits) hits[id] = n;
    sj["rule_hits"] = hits;
    Json fs = Json::array();
    for (const Finding& f : s.findings) {
      Json fj;
      fj["seq"] = f.seq;
      fj["ts_ns"] = f.wall_ns;
      fj["pid"] = f.pid;
      fj["decision"] = DecisionName(f.decision);
      fj["rule"] = f.rule_id;
      fj["class"] = ActionClassName(f.cls);
      fj["irreversible"] = f.irreversible;
      fj["what"] = f.what;
      fj["resource"] = f.resource;
      fs.push_back(fj);
    }
    sj["findings"] = fs;
    sj["findings_dropped"] = s.findings_dropped;
    if (s.request_decisions > 0) {
      Json rd;
      rd["recorded"] = s.request_decisions;
      rd["same"] = s.request_same;
      Json ms = Json::array();
      for (const DecisionMismatch& m : s.request_mismatches) {
        ms.push_back({{"seq", m.seq}, {"recorded", m.recorded}, {"replayed", m.replayed}, {"what", m.what}});
      }
      rd["different"] = ms;
      rd["different_dropped"] = s.request_mismatches_dropped;
      if (s.refused > 0) rd["refused"] = s.refused;
      sj["request_decisions"] = rd;
    }
    sj["blast_radius"] = BlastRadiusJson(s.blast, ReportFlavor::kJson);
    sj["profile"] = StringArray(s.profile);
    if (!s.explain.empty()) sj["explain"] = s.explain;
    sessions.push_back(sj);
  }
  j["sessions"] = sessions;
  return Dump(j);
}

std::string RenderMarkdown(const ReplayReport& r) {
  Totals t = Sum(r);
  std::string o;
  o += std::string("## agenttrace replay: ") + (r.promotable ? "promotable" : "NOT promotable") + "\n\n";
  o += "Policy `" + MdCell(r.policy_source) + "`: " + std::to_string(r.sessions.size()) + " session(s), " +
       std::to_string(t.events) + " events, " + std::to_string(t.denies) + " deny, " + std::to_string(t.asks) +
       " ask, " + std::to_string(t.irreversible) + " irreversible.\n\n";
  o += "| Label | Sessions | Passed | pass^k | Stability | Deny | Ask | Irreversible | Verdict |\n";
  o += "|---|---:|---:|---|---:|---:|---:|---:|---|\n";
  for (const LabelResult& L : r.labels) {
    o += "| " + MdCell(LabelName(L.label)) + " | " + std::to_string(L.sessions.size()) + " | " +
         std::to_string(L.passed) + " | " + (L.pass_k ? "yes" : "no") + " | " + Fixed(L.stability) + " | " +
         std::to_string(L.denies) + " | " + std::to_string(L.asks) + " | " + std::to_string(L.irreversible) + " | " +
         (L.promotable ? "promotable" : "**not promotable**") + " |\n";
  }
  bool any_failed = false;
  for (const LabelResult& L : r.labels) {
    for (const Criterion& c : L.criteria) {
      if (c.ok) continue;
      if (!any_failed) o += "\n### Failed criteria\n\n";
      any_failed = true;
      o += "- " + MdCell(LabelName(L.label)) + ": `" + c.name + "`: " + MdCell(c.detail) + "\n";
    }
  }
  // Top findings: denies first, then asks, then irreversible, in session order.
  std::vector<std::pair<const SessionResult*, const Finding*>> top;
  uint64_t total_findings = 0;
  for (int pass = 0; pass < 3; ++pass) {
    for (const SessionResult& s : r.sessions) {
      for (const Finding& f : s.findings) {
        bool take = (pass == 0 && f.decision == Decision::kDeny) || (pass == 1 && f.decision == Decision::kAsk) ||
                    (pass == 2 && f.decision == Decision::kAllow);
        if (!take) continue;
        ++total_findings;
        if (top.size() < kMarkdownMaxFindings) top.emplace_back(&s, &f);
      }
      if (pass == 2) total_findings += s.findings_dropped;
    }
  }
  if (!top.empty()) {
    o += "\n### Top findings\n\n| Session | Seq | Decision | Rule | Class | Event |\n|---|---:|---|---|---|---|\n";
    for (const auto& [s, f] : top) {
      std::string dec = f->decision == Decision::kAllow ? "irreversible" : std::string(DecisionName(f->decision));
      if (f->decision != Decision::kAllow && f->irreversible) dec += " (irreversible)";
      o += "| " + s->info.id.ToString() + " | " + std::to_string(f->seq) + " | " + dec + " | `" +
           MdCell(f->rule_id) + "` | " + std::string(ActionClassName(f->cls)) + " | `" + MdCell(f->what) + "` |\n";
    }
    if (total_findings > top.size()) o += "\n... " + std::to_string(total_findings - top.size()) + " more\n";
  }
  for (const SessionResult& s : r.sessions) {
    std::string problem;
    if (!s.error.ok()) {
      problem = "unreadable: " + MdCell(s.error.ToString());
    } else if (s.incomplete) {
      problem = "incomplete recording";
    } else if (s.gaps != 0) {
      problem = std::to_string(s.gaps) + " gap(s)";
    } else if (!s.agent_ran) {
      problem = "the agent never ran: " + MdCell(s.not_run_reason);
    } else if (!s.task_succeeded) {
      problem = "task failed: " + OutcomeText(s.info) + (r.promotion.require_success ? "" : " (not required)");
    } else {
      continue;
    }
    o += "\n- session " + s.info.id.ToString() + ": " + problem + "\n";
  }
  auto list = [&](const std::string& title, const std::set<std::string>& items) {
    if (items.empty()) return;
    o += "- " + title + " (" + std::to_string(items.size()) + "): ";
    size_t n = 0;
    for (const auto& x : items) {
      if (n == kMarkdownMaxListItems) break;
      o += (n ? ", `" : "`") + MdCell(x, 120) + "`";
      ++n;
    }
    if (items.size() > n) o += ", ... " + std::to_string(items.size() - n) + " more";
    o += "\n";
  };
  for (const LabelResult& L : r.labels) {
    const BlastRadius& b = L.blast;
    if (b.written_outside_workspace.empty() && b.hosts.empty() && b.secrets.empty() && b.side_effect_tools.empty() &&
        L.unique_actions.empty()) {
      continue;
    }
    o += "\n### " + MdCell(LabelName(L.label)) + ": blast radius and variation\n\n";
    list("written or deleted outside the workspace", b.written_outside_workspace);
    list("hosts contacted", b.hosts);
    list("secrets touched", b.secrets);
    list("side-effecting tools", b.side_effect_tools);
    if (!L.unique_actions.empty()) {
      o += "- actions seen in only one session (" + std::to_string(L.unique_actions.size()) + "): ";
      size_t n = 0;
      for (const auto& x : L.unique_actions) {
        if (n == kMarkdownMaxListItems) break;
        o += (n ? ", `" : "`") + MdCell(x, 120) + "`";
        ++n;
      }
      if (L.unique_actions.size() > n) o += ", ... " + std::to_string(L.unique_actions.size() - n) + " more";
      o += "\n";
    }
  }
  return o;
}

std::string RenderJunit(const ReplayReport& r) {
  uint64_t tests = 0, failures = 0;
  std::string suites;
  for (const LabelResult& L : r.labels) {
    uint64_t lt = 0, lf = 0;
    std::string cases;
    std::string cls = XmlEscape(LabelName(L.label));
    for (size_t i : L.sessions) {
      const SessionResult& s = r.sessions[i];
      ++lt;
      cases += "    <testcase classname=\"" + cls + "\" name=\"session " + s.info.id.ToString() + "\">\n";
      if (!s.passed) {
        ++lf;
        std::string msg = std::to_string(s.denies) + " deny, " + std::to_string(s.asks) + " ask";
        if (!s.agent_ran) msg += ", the agent never ran: " + s.not_run_reason;
        if (s.agent_ran && !s.task_succeeded) msg += ", task failed: " + OutcomeText(s.info);
        if (!s.error.ok()) msg += ", unreadable: " + s.error.ToString();
        if (s.incomplete) msg += ", incomplete recording";
        if (s.gaps) msg += ", " + std::to_string(s.gaps) + " gap(s)";
        std::string body;
        size_t n = 0;
        for (const Finding& f : s.findings) {
          if (f.decision != Decision::kDeny) continue;
          if (n++ == kMarkdownMaxFindings) break;
          body += "seq " + std::to_string(f.seq) + " rule " + f.rule_id + ": " + f.what + "\n";
        }
        cases += "      <failure type=\"policy\" message=\"" + XmlEscape(msg) + "\">" + XmlEscape(body) + "</failure>\n";
      }
      cases += "    </testcase>\n";
    }
    for (const Criterion& c : L.criteria) {
      ++lt;
      cases += "    <testcase classname=\"" + cls + "\" name=\"criterion " + XmlEscape(c.name) + "\">\n";
      if (!c.ok) {
        ++lf;
        cases += "      <failure type=\"promotion\" message=\"" + XmlEscape(c.detail) + "\"/>\n";
      }
      cases += "    </testcase>\n";
    }
    tests += lt;
    failures += lf;
    suites += "  <testsuite name=\"" + cls + "\" tests=\"" + std::to_string(lt) + "\" failures=\"" + std::to_string(lf) +
              "\" errors=\"0\" skipped=\"0\">\n" + cases + "  </testsuite>\n";
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"agenttrace replay\" tests=\"" +
         std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"0\">\n" + suites +
         "</testsuites>\n";
}

std::string RenderSarif(const ReplayReport& r) {
  Json rules = Json::array();
  std::map<std::string, size_t> index;
  auto level_of = [](Decision d) { return d == Decision::kDeny ? "error" : d == Decision::kAsk ? "warning" : "note"; };
  for (const RuleSummary& rs : r.rules) {
    index[rs.id] = rules.size();
    Json rj;
    rj["id"] = rs.id;
    rj["name"] = rs.id;
    rj["shortDescription"] = Json{{"text", rs.description.empty() ? "policy rule " + rs.id : rs.description}};
    rj["defaultConfiguration"] = Json{{"level", level_of(rs.decision)}};
    rules.push_back(rj);
  }
  index["default"] = rules.size();
  rules.push_back(Json{{"id", "default"},
                       {"name", "default"},
                       {"shortDescription", Json{{"text", "no rule matched: the policy's default decision"}}},
                       {"defaultConfiguration", Json{{"level", level_of(r.default_decision)}}}});
  bool any_refused = false;
  for (const SessionResult& s : r.sessions) any_refused = any_refused || s.refused > 0;
  if (any_refused) {  // the proxy's refusals (replayer/refusal.h) are reported under a rule of their own
    index[std::string(kRefusedRuleId)] = rules.size();
    rules.push_back(
        Json{{"id", kRefusedRuleId},
             {"name", kRefusedRuleId},
             {"shortDescription", Json{{"text", "a message the MCP proxy could not decide as a tool call: refused"}}},
             {"defaultConfiguration", Json{{"level", "error"}}}});
  }
  Json results = Json::array();
  for (const SessionResult& s : r.sessions) {
    for (const Finding& f : s.findings) {
      if (f.decision == Decision::kAllow) continue;
      Json res;
      res["ruleId"] = f.rule_id;
      auto it = index.find(f.rule_id);
      if (it != index.end()) res["ruleIndex"] = it->second;
      res["level"] = level_of(f.decision);
      res["message"] = Json{{"text", std::string(DecisionName(f.decision)) + " by rule " + f.rule_id + ": " + f.what +
                                         " (session " + s.info.id.ToString() + ", event " + std::to_string(f.seq) + ")"}};
      std::string fqn = "session/" + s.info.id.ToString() + "/event/" + std::to_string(f.seq);
      res["locations"] = Json::array(
          {Json{{"logicalLocations", Json::array({Json{{"fullyQualifiedName", fqn}, {"kind", "event"}}})}}});
      // Stable across runs and sessions: rule, label and the normalised resource, not the seq or time.
      std::string fp = f.rule_id + "\n" + s.info.label + "\n" + f.resource;
      res["partialFingerprints"] = Json{{"agenttraceFinding/v1", Hex64(Fnv1a(fp))}};
      results.push_back(res);
    }
  }
  Json driver;
  driver["name"] = "agenttrace";
  driver["version"] = "0.1.0";
  driver["rules"] = rules;
  Json run;
  run["tool"] = Json{{"driver", driver}};
  run["results"] = results;
  Json j;
  j["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json";
  j["version"] = "2.1.0";
  j["runs"] = Json::array({run});
  return Dump(j);
}

}  // namespace agenttrace
