// Chrome Trace Event JSON (`agenttrace export --format chrome-trace`, docs/cli.md): a session as a
// timeline that ui.perfetto.dev and chrome://tracing open.
//
//   {"traceEvents":[ ...events... ],"metadata":{...session...}}
//
// Each recorded process is a process track and each thread a thread track; every recorded system call
// (and annotation, MCP message, gap) is an instant event (`ph:"i"`, thread scope) on its thread's
// track. Tool calls are async spans (`ph:"b"`/`"e"`, `cat:"tool"`, one `id` per call): a tool.call
// opens one and the tool.result with the same server and request id closes it, so overlapping calls
// never have to nest. A call that never got its result (or whose request id was reused first) is closed
// at the end of the session with `args.unmatched` saying why. Tool events recorded without a process
// (the MCP proxy) go on a synthetic process named "mcp tools", one thread per server, whose pid
// (kChromeToolPid) is above Linux's pid_max so it cannot collide with a recorded one. Policy decisions
// passed to AddDecision are instant events `cat:"policy"` on the decided event's track.
//
// No displayTimeUnit: Perfetto once read "ns" there as the unit of `ts`, which is always µs here.
// `ts` is microseconds (with ns precision) since the session's first event, from CLOCK_MONOTONIC; it
// never decreases on a track (a late-stamped event is drawn at its track's previous time). Every
// recorded string is written in the escaped form of format/text_escape.h and then JSON-quoted, so the
// output is valid UTF-8 whatever bytes were recorded. Track names (metadata events, `ph:"M"`) are
// written at the end, when the last exec of each process is known.
//
// The writer streams: it appends to a caller's buffer event by event and keeps only per-track state
// (open tool calls, track names), never the events.
//
// Thread-safety: one writer per object.
#ifndef AGENTTRACE_FORMAT_CHROME_TRACE_H_
#define AGENTTRACE_FORMAT_CHROME_TRACE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "format/event.h"
#include "format/session.h"

namespace agenttrace {

// 2^22 + 1: above the largest pid_max Linux allows (2^22).
inline constexpr int32_t kChromeToolPid = (1 << 22) + 1;

class ChromeTraceWriter {
 public:
  // Appends the opening of the document (session metadata) to *out.
  ChromeTraceWriter(const SessionInfo& info, std::string* out);
  ChromeTraceWriter(const ChromeTraceWriter&) = delete;
  ChromeTraceWriter& operator=(const ChromeTraceWriter&) = delete;

  // Appends the trace events of `e` (events in recorded order).
  void AddEvent(const Event& e);
  // Appends an instant event for a policy decision ("deny", "ask") on `e` by rule `rule_id`; call it
  // after AddEvent(e).
  void AddDecision(const Event& e, std::string_view decision, std::string_view rule_id);
  // Closes the tool calls still open, names the tracks and closes the document.
  void Finish();

  uint64_t unmatched_calls() const { return unmatched_calls_; }

 private:
  struct Track {
    int32_t pid, tid;
  };
  struct OpenCall {
    uint64_t id;
    Track track;
    int64_t ts_ns;
    std::string name;
    uint64_t seq;
  };
  Track TrackOf(const Event& e);
  int64_t TrackTime(const Track& t, int64_t mono_ns);
  void BeginEvent(char ph, std::string_view name, std::string_view cat, const Track& t, int64_t ts_ns);
  void EndCall(const OpenCall& call, int64_t ts_ns, std::string_view args_json);

  std::string* out_;
  std::string metadata_;  // written after traceEvents
  bool first_ = true;
  bool have_base_ = false;
  int64_t base_ns_ = 0;
  int64_t last_ns_ = 0;  // latest time written, relative to base_ns_
  uint64_t next_id_ = 1;
  uint64_t unmatched_calls_ = 0;
  std::map<std::pair<int32_t, int32_t>, int64_t> track_last_ns_;
  std::map<int32_t, std::string> process_names_;                        // pid -> its command (last exec, or parent's)
  std::map<std::string, int32_t> server_tids_;                          // server -> tid on kChromeToolPid
  std::map<std::pair<std::string, std::string>, OpenCall> open_calls_;  // (server, request_id)
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_CHROME_TRACE_H_
