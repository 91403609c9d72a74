// Renders a DiffReport (replayer/diff.h) as console text, JSON and Markdown. Output depends only on
// the report, whose lists are sorted: the same sessions give the same bytes. Resources and step keys
// are recorded bytes (a file name may hold control characters or invalid UTF-8): every output writes
// them in the escaped form of format/text_escape.h; event texts come escaped from DescribeEvent.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "format/text_escape.h"
#include "replayer/diff.h"

namespace agenttrace {
namespace {

using Json = nlohmann::ordered_json;

// Markdown goes into job summaries (capped at 1 MiB by GitHub): long lists are cut.
constexpr size_t kMarkdownMaxItems = 100;

std::string SideLine(const char* tag, const DiffSideSummary& s) {
  std::string out = std::string(tag) + " = " + Escaped(s.name) + " (" + std::to_string(s.sessions.size()) +
                    (s.sessions.size() == 1 ? " session, " : " sessions, ") + std::to_string(s.profile_size) +
                    " profile entries)";
  return out;
}

std::string KindText(const std::string& kind) {
  if (kind == "only_in_a") return "only in A";
  if (kind == "only_in_b") return "only in B";
  return "changed";
}

std::string StepText(const DiffStep& s) { return "#" + std::to_string(s.seq) + " " + s.what; }

std::string AlignmentHeader(const StepAlignment& st) {
  std::string out = "steps (tool calls and execs): " + std::to_string(st.steps_a) + " in A, " +
                    std::to_string(st.steps_b) + " in B, edit distance " + std::to_string(st.edit_distance);
  if (st.truncated) out += " (only the first " + std::to_string(kMaxDiffSteps) + " steps of a side are compared)";
  return out;
}

Json Strings(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(Escaped(s));
  return a;
}

Json StepJson(const std::optional<DiffStep>& s) {
  if (!s) return nullptr;
  Json j;
  j["seq"] = s->seq;
  j["what"] = s->what;
  j["key"] = Escaped(s->key);
  return j;
}

Json SideJson(const DiffSideSummary& s) {
  Json j;
  j["name"] = Escaped(s.name);
  j["sessions"] = Strings(s.sessions);
  j["profile_entries"] = s.profile_size;
  return j;
}

// A Markdown code span for escaped text (which may hold backticks), safe inside a table cell.
std::string Code(const std::string& s) {
  std::string body;
  for (char c : s) {
    if (c == '|')
      body += "\\|";
    else
      body.push_back(c);
  }
  if (body.find('`') == std::string::npos) return "`" + body + "`";
  return "`` " + body + " ``";
}

}  // namespace

std::string RenderDiffText(const DiffReport& r) {
  std::string out = "agenttrace diff: " + std::string(r.equal() ? "equal" : "different") + "\n";
  out += "  " + SideLine("A", r.a) + "\n";
  out += "  " + SideLine("B", r.b) + "\n";
  auto list = [&](const char* title, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out += std::string(title) + " (" + std::to_string(v.size()) + "):\n";
    for (const auto& s : v) out += "  " + Escaped(s) + "\n";
  };
  list("only in A", r.only_a);
  list("only in B", r.only_b);
  if (!r.reach.empty()) {
    out += "reach:\n";
    for (const ReachChange& c : r.reach) {
      for (const auto& s : c.added) out += "  new " + c.kind + ": " + Escaped(s) + "\n";
      for (const auto& s : c.removed) out += "  gone " + c.kind + ": " + Escaped(s) + "\n";
    }
  }
  if (r.steps) {
    out += AlignmentHeader(*r.steps) + "\n";
    if (r.steps->divergence) {
      const Divergence& d = *r.steps->divergence;
      out += "first divergence after " + std::to_string(r.steps->common_prefix) + " equal steps (" + KindText(d.kind) +
             "):\n";
      if (d.a) out += "  A step " + std::to_string(d.index_a + 1) + ": " + StepText(*d.a) + "\n";
      if (d.b) out += "  B step " + std::to_string(d.index_b + 1) + ": " + StepText(*d.b) + "\n";
    } else {
      out += "the step sequences are equal\n";
    }
  } else {
    out += "steps: not aligned (only for one session per side)\n";
  }
  if (r.policy_used) {
    out += "decisions (policy " + r.policy_source + "): ";
    if (r.decisions.empty()) {
      out += "no change\n";
    } else {
      out += std::to_string(r.decisions.size()) + " changed\n";
      for (const DecisionChange& c : r.decisions)
        out += "  " + Escaped(c.resource) + ": A " + c.a + ", B " + c.b + "\n";
    }
  }
  if (!r.first_error.ok()) out += "error: " + r.first_error.ToString() + "\n";
  return out;
}

std::string RenderDiffJson(const DiffReport& r) {
  Json j;
  j["equal"] = r.equal();
  j["a"] = SideJson(r.a);
  j["b"] = SideJson(r.b);
  j["only_in_a"] = Strings(r.only_a);
  j["only_in_b"] = Strings(r.only_b);
  Json reach = Json::object();
  for (const ReachChange& c : r.reach) {
    reach[c.kind]["added"] = Strings(c.added);
    reach[c.kind]["removed"] = Strings(c.removed);
  }
  j["reach"] = std::move(reach);
  if (r.steps) {
    Json s;
    s["steps_a"] = r.steps->steps_a;
    s["steps_b"] = r.steps->steps_b;
    s["truncated"] = r.steps->truncated;
    s["common_prefix"] = r.steps->common_prefix;
    s["edit_distance"] = r.steps->edit_distance;
    if (r.steps->divergence) {
      const Divergence& d = *r.steps->divergence;
      Json dj;
      dj["kind"] = d.kind;
      dj["index_a"] = d.index_a;
      dj["index_b"] = d.index_b;
      dj["a"] = StepJson(d.a);
      dj["b"] = StepJson(d.b);
      s["divergence"] = std::move(dj);
    } else {
      s["divergence"] = nullptr;
    }
    j["steps"] = std::move(s);
  } else {
    j["steps"] = nullptr;
  }
  j["policy"] = r.policy_used ? Json(r.policy_source) : Json(nullptr);
  Json dec = Json::array();
  for (const DecisionChange& c : r.decisions)
    dec.push_back({{"resource", Escaped(c.resource)}, {"a", c.a}, {"b", c.b}});
  j["decisions"] = std::move(dec);
  j["error"] = r.first_error.ok() ? Json(nullptr) : Json(r.first_error.ToString());
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string RenderDiffMarkdown(const DiffReport& r) {
  std::string out = "## agenttrace diff: " + std::string(r.equal() ? "equal" : "different") + "\n\n";
  out += "- " + SideLine("A", r.a) + "\n";
  out += "- " + SideLine("B", r.b) + "\n\n";
  auto list = [&](const std::string& title, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out += "### " + title + " (" + std::to_string(v.size()) + ")\n\n";
    size_t n = 0;
    for (const auto& s : v) {
      if (n++ == kMarkdownMaxItems) {
        out += "- ... " + std::to_string(v.size() - kMarkdownMaxItems) + " more\n";
        break;
      }
      out += "- " + Code(Escaped(s)) + "\n";
    }
    out += "\n";
  };
  list("Only in A", r.only_a);
  list("Only in B", r.only_b);
  for (const ReachChange& c : r.reach) {
    list("New " + c.kind, c.added);
    list("Gone " + c.kind, c.removed);
  }
  if (r.steps) {
    out += "### Steps\n\n" + AlignmentHeader(*r.steps) + ".\n\n";
    if (r.steps->divergence) {
      const Divergence& d = *r.steps->divergence;
      out += "First divergence after " + std::to_string(r.steps->common_prefix) + " equal steps (" + KindText(d.kind) +
             "):\n\n";
      if (d.a) out += "- A step " + std::to_string(d.index_a + 1) + ": " + Code(StepText(*d.a)) + "\n";
      if (d.b) out += "- B step " + std::to_string(d.index_b + 1) + ": " + Code(StepText(*d.b)) + "\n";
      out += "\n";
    }
  }
  if (r.policy_used) {
    out += "### Decisions (policy " + r.policy_source + ")\n\n";
    if (r.decisions.empty()) {
      out += "No change.\n\n";
    } else {
      out += "| resource | A | B |\n|---|---|---|\n";
      for (const DecisionChange& c : r.decisions)
        out += "| " + Code(Escaped(c.resource)) + " | " + c.a + " | " + c.b + " |\n";
      out += "\n";
    }
  }
  if (!r.first_error.ok()) out += "**Error:** " + r.first_error.ToString() + "\n";
  return out;
}

}  // namespace agenttrace
