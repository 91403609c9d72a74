// The per-session timeline the HTML report draws (replayer/html_report.h): the events with their
// decisions, full records and the rules considered (--explain lines), the processes (fork/exec tree)
// and the tool calls as spans with durations. Collected during replay, on the worker thread that
// replays the session, only when ReplayOptions::timeline is set.
//
// Bounded whatever the session holds (the limits are in TimelineLimits and docs/cli.md): the first
// `max_events` events are kept with their rules considered; after that only findings (deny, ask,
// irreversible) are kept, without rules considered, and the rest are only counted per kind. Records
// and explanation lines are cut at a byte limit on a UTF-8 boundary. Every kept string is valid
// UTF-8 (recorded bytes appear in the escaped form of format/text_escape.h).
//
// Thread-safety: a TimelineBuilder belongs to one thread; a SessionTimeline is a value.
#ifndef AGENTTRACE_REPLAYER_TIMELINE_H_
#define AGENTTRACE_REPLAYER_TIMELINE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "format/event.h"
#include "replayer/engine.h"
#include "replayer/policy.h"

namespace agenttrace {

struct TimelineLimits {
  size_t max_events = 2000;         // events kept with their rules considered
  size_t max_late_findings = 1000;  // findings kept after max_events (without rules considered)
  size_t max_processes = 500;
  size_t max_spans = 1000;
  size_t max_record_bytes = 2048;  // of an event's JSON record
  size_t max_explain_lines = 48;   // rules-considered lines per event
  size_t max_explain_line_bytes = 240;
};

struct TimelineEvent {
  uint64_t seq = 0;
  int64_t wall_ns = 0;
  int32_t pid = 0;
  EventKind kind = EventKind::kAnnotation;
  bool evaluated = false;
  Decision decision = Decision::kAllow;  // meaningful when evaluated
  std::string rule;                      // deciding rule id, "default"; empty when not evaluated
  ActionClass cls = ActionClass::kFileRead;
  bool irreversible = false;
  bool finding = false;  // deny, ask or irreversible
  std::string what;      // DescribeEvent
  std::string record;    // the JSON-lines record (format/event_json.h), maybe cut
  bool record_cut = false;
  bool explained = false;  // explain holds the rules considered
  std::vector<std::string> explain;
};

struct TimelineProcess {
  int32_t pid = 0;
  int32_t ppid = 0;      // 0: unknown (the root, or spawned before recording started)
  int64_t start_ns = 0;  // first event of the process (or its spawn)
  int64_t end_ns = 0;    // last event (or its exit)
  std::string name;      // argv of its last successful exec, shell-quoted and cut
  bool exited = false;
  int32_t exit_code = 0;
  int32_t signal = 0;
  uint64_t events = 0;
};

// A tool call from its tool.call to the matching tool.result (same server and request id).
struct TimelineSpan {
  std::string server, tool;
  uint64_t call_seq = 0;
  int64_t start_ns = 0;
  int64_t duration_ns = 0;  // from the result; 0 with no result
  bool has_result = false;
  bool is_error = false;
};

struct SessionTimeline {
  bool collected = false;
  int64_t start_ns = 0, end_ns = 0;   // wall clock of the first and last event
  std::vector<TimelineEvent> events;  // in seq order
  uint64_t events_dropped = 0;
  std::map<std::string, uint64_t> dropped_by_kind;
  std::vector<TimelineProcess> processes;  // in order of appearance
  uint64_t processes_dropped = 0;
  std::vector<TimelineSpan> spans;  // in order of the calls
  uint64_t spans_dropped = 0;
};

class TimelineBuilder {
 public:
  TimelineBuilder(const TimelineLimits& limits, const std::vector<Rule>* rules);

  // Where the evaluator should write the next event's explanation, or null when it will not be kept
  // with one (the evaluator then runs without explaining, at full speed).
  std::vector<std::string>* ExplainSink();
  // Adds the event just evaluated; `explain` holds its explanation lines (may be null).
  void Add(const Event& e, const EventVerdict& v, const std::vector<std::string>* explain);
  SessionTimeline Finish();

 private:
  TimelineProcess* Process(int32_t pid, int64_t t);

  TimelineLimits limits_;
  const std::vector<Rule>* rules_;
  SessionTimeline tl_;
  size_t late_findings_ = 0;
  std::vector<std::string> scratch_;
  std::map<int32_t, size_t> proc_index_;
  std::map<std::pair<std::string, std::string>, size_t> open_calls_;  // (server, request id) -> span
};

// `s` cut to at most `max` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(std::string_view s, size_t max);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_TIMELINE_H_
