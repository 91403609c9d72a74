// OTLP/JSON traces (`agenttrace export --format otlp`, docs/cli.md "OTLP"): a session as an OpenTelemetry
// trace, in the form the OpenTelemetry Collector's file exporter writes and its OTLP/HTTP receiver
// accepts: one `TracesData` object per line,
//
//   {"resourceSpans":[{"resource":{"attributes":[...]},"scopeSpans":[{"scope":{...},"spans":[...]}]}]}
//
// which is also the body of an OTLP/HTTP `POST /v1/traces` (ExportTraceServiceRequest has the same
// JSON shape).
//
// What becomes a span (the semantic conventions followed are named in docs/otlp.md):
//   - the session: the root span (`invoke_agent {agent}` when the agent is named, else
//     `agenttrace.session`), from the session's start to its end;
//   - each recorded process: a span from its fork (or first event) to its exit, child of the span of
//     the process that forked it (the fork/exec tree), named after the program it last exec'd; execs,
//     escapes and gaps are span events on it;
//   - each tool call (tool.call .. tool.result, matched by server, direction and request id): an MCP
//     client span `tools/call {tool}` for calls seen on the MCP wire, an `execute_tool {tool}` span for
//     calls reported by agent hooks or imported transcripts; both carry `gen_ai.operation.name` =
//     `execute_tool` and `gen_ai.tool.name`;
//   - other MCP requests (mcp.request .. mcp.response) and notifications: MCP client spans
//     `{mcp.method.name}`.
// Individual system calls are not spans (a session holds millions); each process span counts its
// events. Policy decisions given to AddEvent become span events `agenttrace.policy.decision` on the
// span of the decided event.
//
// Ids are deterministic so that exporting a session twice gives the same bytes: the trace id is the
// session id's 16 bytes, a span id is a 64-bit mix of the session id and the seq of the event that
// opened the span. 64-bit integers (times, intValue) are JSON strings and ids are lower-case hex, as
// OTLP/JSON requires; enums (span kind, status code) are numbers. Every recorded string is written in
// the escaped form of format/text_escape.h, so the output is valid UTF-8 whatever bytes were recorded.
//
// The writer streams: a span is written when it ends, and a line is completed every `spans_per_line`
// spans (or ~1 MiB); the root span, which ends last, is in the last line. Memory: the open spans only.
// Span events per span are bounded (`max_events_per_span`; the rest counted in droppedEventsCount).
//
// Thread-safety: one writer per object.
#ifndef AGENTTRACE_FORMAT_OTLP_JSON_H_
#define AGENTTRACE_FORMAT_OTLP_JSON_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "format/event.h"
#include "format/session.h"

namespace agenttrace {

struct OtlpOptions {
  size_t spans_per_line = 256;
  size_t max_events_per_span = 1000;
};

// A policy decision on one event (replayer's deny or ask), drawn as a span event.
struct OtlpDecision {
  std::string_view decision;  // "deny", "ask"
  std::string_view rule_id;
};

class OtlpTraceWriter {
 public:
  // Appends complete lines (each ending in '\n') to *out as spans end; *out may be drained between
  // calls. `info` is the session's record (ids, times, agent, host).
  OtlpTraceWriter(const SessionInfo& info, std::string* out, OtlpOptions options = {});
  OtlpTraceWriter(const OtlpTraceWriter&) = delete;
  OtlpTraceWriter& operator=(const OtlpTraceWriter&) = delete;

  // Adds `e` (events in recorded order) and, if not null, a policy decision on it.
  void AddEvent(const Event& e, const OtlpDecision* decision = nullptr);
  // Ends the spans still open at the session's end, writes the root span and the last line.
  void Finish();

  uint64_t spans_written() const { return spans_written_; }

 private:
  struct Span {
    uint64_t span_id = 0;
    uint64_t parent_id = 0;
    std::string name;
    int kind = 1;  // SPAN_KIND_INTERNAL
    int64_t start_ns = 0;
    std::string attributes;  // comma-separated attribute objects
    std::string events;      // comma-separated event objects
    uint64_t event_count = 0;
    uint64_t dropped_events = 0;
    int status_code = 0;  // STATUS_CODE_UNSET
    std::string status_message;
  };
  struct Process {
    Span span;
    int32_t parent_pid = 0;
    bool have_parent = false;
    std::string exe;
    std::string argv_attr;  // process.command_args, already serialised
    uint64_t events = 0;
  };
  using CallKey = std::tuple<std::string, std::string, uint8_t>;  // server, request id, request direction

  uint64_t SpanId(uint64_t tag, uint64_t seq) const;
  int64_t TimeOf(const Event& e) const;
  Span* SpanOf(const Event& e);
  Process& ProcessOf(const Event& e);
  void AddSpanEvent(Span* span, int64_t time_ns, std::string_view name, const std::string& attributes);
  void AddDecisionEvent(Span* span, const Event& e, const OtlpDecision& d);
  void OnToolCall(const Event& e, const OtlpDecision* d);
  void OnToolResult(const Event& e, const OtlpDecision* d);
  void EndProcess(int32_t pid, int64_t end_ns);
  void WriteSpan(const Span& span, int64_t end_ns);
  void FlushLine();

  std::string* out_;
  OtlpOptions options_;
  SessionInfo info_;
  std::string trace_id_;  // 32 hex digits
  std::string resource_;  // the line's opening, up to the spans array
  uint64_t id_hi_ = 0, id_lo_ = 0;
  Span root_;
  int64_t first_ns_ = 0, last_ns_ = 0;
  bool have_time_ = false;
  std::map<int32_t, Process> processes_;
  struct Spawn {
    uint64_t parent_span;
    int32_t parent_pid;
    int64_t time_ns;
  };
  std::map<int32_t, Spawn> spawned_;  // child pid -> its fork, until the child's first event
  std::map<CallKey, Span> open_calls_;
  std::string line_spans_;  // spans of the line being built
  size_t line_span_count_ = 0;
  uint64_t spans_written_ = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_OTLP_JSON_H_
