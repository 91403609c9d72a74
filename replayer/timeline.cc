#include "replayer/timeline.h"

#include "format/event_json.h"
#include "format/event_text.h"
#include "format/text_escape.h"
#include "replayer/refusal.h"

namespace agenttrace {
namespace {
constexpr size_t kDroppedProcess = static_cast<size_t>(-1);

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Lines of SessionEvaluator's explanation (replayer/engine.cc) for rules that do not apply to the
// event at all (tests/replayer/html_report_test.cc checks that they are recognised).
bool IsOtherClassLine(std::string_view line) {
  return line.find("): no match: class ") != std::string_view::npos && EndsWith(line, " not listed");
}
bool IsStatefulNotAdvancedLine(std::string_view line) {
  return (line.rfind("  sequence rule ", 0) == 0 &&
          line.find(": no step matches this event") != std::string_view::npos) ||
         (line.rfind("  budget rule ", 0) == 0 && EndsWith(line, ": does not match this event"));
}
}  // namespace

std::string CutUtf8(std::string_view s, size_t max) { return std::string(Utf8Prefix(s, max)); }

TimelineBuilder::TimelineBuilder(const TimelineLimits& limits, const std::vector<Rule>* rules)
    : limits_(limits), rules_(rules) {
  tl_.collected = true;
}

std::vector<std::string>* TimelineBuilder::ExplainSink() {
  if (tl_.events.size() >= limits_.max_events) return nullptr;
  scratch_.clear();
  return &scratch_;
}

TimelineProcess* TimelineBuilder::Process(int32_t pid, int64_t t) {
  auto it = proc_index_.find(pid);
  if (it != proc_index_.end()) return it->second == kDroppedProcess ? nullptr : &tl_.processes[it->second];
  if (tl_.processes.size() >= limits_.max_processes) {
    ++tl_.processes_dropped;
    proc_index_.emplace(pid, kDroppedProcess);  // counted once
    return nullptr;
  }
  proc_index_.emplace(pid, tl_.processes.size());
  TimelineProcess p;
  p.pid = pid;
  p.start_ns = p.end_ns = t;
  tl_.processes.push_back(std::move(p));
  return &tl_.processes.back();
}

void TimelineBuilder::Add(const Event& e, const EventVerdict& v, const std::vector<std::string>* explain) {
  if (tl_.events.empty() && tl_.events_dropped == 0) tl_.start_ns = e.wall_ns;
  tl_.end_ns = std::max(tl_.end_ns, e.wall_ns);
  if (e.pid != 0) {
    TimelineProcess* p = Process(e.pid, e.wall_ns);
    if (p != nullptr) {
      ++p->events;
      p->end_ns = std::max(p->end_ns, e.wall_ns);
      if (e.kind == EventKind::kExec && e.result >= 0) p->name = CutUtf8(ShellJoin(e.argv), 200);
      if (e.kind == EventKind::kProcExit) {
        p->exited = true;
        p->exit_code = e.exit_code;
        p->signal = e.signal;
      }
    }
    if (e.kind == EventKind::kProcSpawn && !e.is_thread && e.child_pid > 0 && e.result >= 0) {
      TimelineProcess* c = Process(e.child_pid, e.wall_ns);
      if (c != nullptr && c->ppid == 0) c->ppid = e.pid;
    }
  }
  if (e.kind == EventKind::kToolCall) {
    if (tl_.spans.size() < limits_.max_spans) {
      TimelineSpan s;
      s.server = Escaped(e.server);
      s.tool = Escaped(e.tool);
      s.call_seq = e.seq;
      s.start_ns = e.wall_ns;
      open_calls_[{e.server, e.request_id}] = tl_.spans.size();
      tl_.spans.push_back(std::move(s));
    } else {
      ++tl_.spans_dropped;
    }
  } else if (e.kind == EventKind::kToolResult) {
    auto it = open_calls_.find({e.server, e.request_id});
    if (it != open_calls_.end()) {
      TimelineSpan& s = tl_.spans[it->second];
      s.has_result = true;
      s.is_error = e.is_error;
      s.duration_ns = e.duration_ns > 0 ? e.duration_ns : std::max<int64_t>(0, e.wall_ns - s.start_ns);
      open_calls_.erase(it);
    }
  }
  const bool finding = v.evaluated && (v.decision != Decision::kAllow || v.irreversible);
  const bool early = tl_.events.size() < limits_.max_events;
  if (!early && !(finding && late_findings_ < limits_.max_late_findings)) {
    ++tl_.events_dropped;
    ++tl_.dropped_by_kind[std::string(EventKindName(e.kind))];
    return;
  }
  if (!early) ++late_findings_;
  TimelineEvent t;
  t.seq = e.seq;
  t.wall_ns = e.wall_ns;
  t.pid = e.pid;
  t.kind = e.kind;
  t.evaluated = v.evaluated;
  if (v.evaluated) {
    t.decision = v.decision;
    t.rule = VerdictRuleId(*rules_, v.rule);
    t.cls = v.cls;
    t.irreversible = v.irreversible;
  }
  t.finding = finding;
  t.what = DescribeEvent(e);
  std::string record = EventToJson(e);
  t.record_cut = record.size() > limits_.max_record_bytes;
  t.record = t.record_cut ? CutUtf8(record, limits_.max_record_bytes) : std::move(record);
  if (early && explain != nullptr) {
    t.explained = true;
    size_t other_class = 0, not_advanced = 0, more = 0;
    for (const std::string& line : *explain) {
      // Most lines of --explain say a rule does not apply at all; with a real policy they are most
      // of the page. They are counted, not listed.
      if (IsOtherClassLine(line)) {
        ++other_class;
        continue;
      }
      if (IsStatefulNotAdvancedLine(line)) {
        ++not_advanced;
        continue;
      }
      if (t.explain.size() >= limits_.max_explain_lines) {
        ++more;
        continue;
      }
      t.explain.push_back(
          line.size() > limits_.max_explain_line_bytes ? CutUtf8(line, limits_.max_explain_line_bytes) + "..." : line);
    }
    if (more > 0) t.explain.push_back("  ... " + std::to_string(more) + " more line(s)");
    if (other_class + not_advanced > 0) {
      t.explain.push_back("  (not shown: " + std::to_string(other_class) + " rule(s) for other action classes, " +
                          std::to_string(not_advanced) + " sequence or budget rule(s) this event does not advance)");
    }
  }
  tl_.events.push_back(std::move(t));
}

SessionTimeline TimelineBuilder::Finish() {
  open_calls_.clear();
  return std::move(tl_);
}

}  // namespace agenttrace
