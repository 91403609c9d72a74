#include "format/chrome_trace.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "format/event_json.h"
#include "format/event_text.h"
#include "format/text_escape.h"

namespace agenttrace {
namespace {

constexpr size_t kNameBytes = 160;       // event names: what a track's slice label can show
constexpr size_t kWhatBytes = 1000;      // args.what: the full text form, bounded
constexpr size_t kTrackNameBytes = 200;  // process names from an exec's path and argv

void AppendJsonString(std::string_view text, std::string* out) { AppendJsonQuoted(text, out); }

// Recorded bytes: escaped (text_escape.h), then quoted.
void AppendJsonRecorded(std::string_view bytes, std::string* out) { AppendJsonString(Escaped(bytes), out); }

void AppendInt(int64_t v, std::string* out) { out->append(std::to_string(v)); }

// Microseconds with nanosecond precision: 1234567 ns -> "1234.567".
void AppendMicros(int64_t ns, std::string* out) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%03" PRId64, ns / 1000, ns % 1000);
  out->append(buf);
}

// Escaped text cut to at most `max` bytes on a UTF-8 boundary, the cut marked with "...".
std::string Cut(std::string_view text, size_t max) { return Utf8PrefixWithEllipsis(text, max); }

}  // namespace

ChromeTraceWriter::ChromeTraceWriter(const SessionInfo& info, std::string* out) : out_(out) {
  // traceEvents comes first (some readers expect it there); the session's identity goes in
  // "metadata" after it, where Chrome puts its own.
  out_->append("{\"traceEvents\":[\n");
  std::string* m = &metadata_;
  m->append("\"metadata\":{\"agenttrace-session\":");
  AppendJsonString(info.id.ToString(), m);
  m->append(",\"label\":");
  AppendJsonRecorded(info.label, m);
  m->append(",\"agent\":");
  AppendJsonRecorded(info.agent_name, m);
  m->append(",\"command\":");
  AppendJsonString(Cut(ShellJoin(info.argv), kWhatBytes), m);
  m->append(",\"recorder\":");
  AppendJsonRecorded(info.recorder, m);
  m->push_back('}');
}

ChromeTraceWriter::Track ChromeTraceWriter::TrackOf(const Event& e) {
  if (e.pid != 0 || e.tid != 0) return {e.pid, e.tid != 0 ? e.tid : e.pid};
  auto [it, inserted] = server_tids_.try_emplace(e.server, 0);
  if (inserted) it->second = kChromeToolPid + static_cast<int32_t>(server_tids_.size());
  return {kChromeToolPid, it->second};
}

int64_t ChromeTraceWriter::TrackTime(const Track& t, int64_t mono_ns) {
  int64_t ns = std::max<int64_t>(0, mono_ns - base_ns_);
  auto [it, inserted] = track_last_ns_.try_emplace({t.pid, t.tid}, ns);
  if (!inserted) {
    ns = std::max(ns, it->second);
    it->second = ns;
  }
  last_ns_ = std::max(last_ns_, ns);
  return ns;
}

void ChromeTraceWriter::BeginEvent(char ph, std::string_view name, std::string_view cat, const Track& t,
                                   int64_t ts_ns) {
  if (!first_) out_->append(",\n");
  first_ = false;
  out_->append("{\"ph\":\"");
  out_->push_back(ph);
  out_->append("\",\"name\":");
  AppendJsonString(name, out_);
  out_->append(",\"cat\":");
  AppendJsonString(cat, out_);
  out_->append(",\"ts\":");
  AppendMicros(ts_ns, out_);
  out_->append(",\"pid\":");
  AppendInt(t.pid, out_);
  out_->append(",\"tid\":");
  AppendInt(t.tid, out_);
  if (ph == 'i') out_->append(",\"s\":\"t\"");
}

void ChromeTraceWriter::EndCall(const OpenCall& call, int64_t ts_ns, std::string_view args_json) {
  BeginEvent('e', call.name, "tool", call.track, std::max(ts_ns, call.ts_ns));
  out_->append(",\"id\":");
  AppendInt(static_cast<int64_t>(call.id), out_);
  out_->append(",\"args\":{");
  out_->append(args_json);
  out_->append("}}");
}

void ChromeTraceWriter::AddEvent(const Event& e) {
  if (!have_base_) {
    base_ns_ = e.mono_ns;
    have_base_ = true;
  }
  const Track track = TrackOf(e);
  const int64_t ts = TrackTime(track, e.mono_ns);
  const std::string what = DescribeEvent(e, kWhatBytes);
  std::string seq_arg = "\"seq\":" + std::to_string(e.seq);

  if (e.kind == EventKind::kToolCall || e.kind == EventKind::kToolResult) {
    auto key = std::make_pair(e.server, e.request_id);
    auto open = open_calls_.find(key);
    if (e.kind == EventKind::kToolResult && open != open_calls_.end()) {
      std::string args = seq_arg + ",\"what\":";
      AppendJsonString(what, &args);
      args += std::string(",\"is_error\":") + (e.is_error ? "true" : "false") +
              ",\"duration_ns\":" + std::to_string(e.duration_ns);
      EndCall(open->second, TrackTime(open->second.track, e.mono_ns), args);
      open_calls_.erase(open);
      return;
    }
    if (e.kind == EventKind::kToolCall) {
      if (open != open_calls_.end()) {  // the id was reused before a result came: close the old call
        std::string args = "\"unmatched\":\"request id reused by event " + std::to_string(e.seq) + "\"";
        EndCall(open->second, TrackTime(open->second.track, e.mono_ns), args);
        open_calls_.erase(open);
        ++unmatched_calls_;
      }
      std::string name = Escaped(e.server) + "/" + Escaped(e.tool);
      OpenCall call{next_id_++, track, ts, Cut(std::move(name), kNameBytes), e.seq};
      BeginEvent('b', call.name, "tool", track, ts);
      out_->append(",\"id\":");
      AppendInt(static_cast<int64_t>(call.id), out_);
      out_->append(",\"args\":{" + seq_arg + ",\"what\":");
      AppendJsonString(what, out_);
      out_->append(",\"server\":");
      AppendJsonRecorded(e.server, out_);
      out_->append(",\"tool\":");
      AppendJsonRecorded(e.tool, out_);
      out_->append(",\"request_id\":");
      AppendJsonRecorded(e.request_id, out_);
      out_->append("}}");
      open_calls_.emplace(std::move(key), std::move(call));
      return;
    }
    // A result without a recorded call falls through to an instant event, saying so.
  }

  if (e.kind == EventKind::kExec && e.result == 0) {
    // The command line as a shell would take it; the path when argv is empty.
    process_names_[e.pid] = Cut(e.argv.empty() ? Escaped(e.path) : ShellJoin(e.argv), kTrackNameBytes);
  } else if (e.kind == EventKind::kProcSpawn && !e.is_thread && e.result > 0) {
    // A forked child runs its parent's program until it execs (which renames it).
    if (auto parent = process_names_.find(e.pid); parent != process_names_.end()) {
      process_names_.try_emplace(static_cast<int32_t>(e.result), parent->second);
    }
  }
  std::string_view kind = EventKindName(e.kind);
  BeginEvent('i', Cut(what, kNameBytes), kind, track, ts);
  out_->append(",\"args\":{" + seq_arg + ",\"what\":");
  AppendJsonString(what, out_);
  if (IsSyscallKind(e.kind)) {
    out_->append(",\"result\":");
    AppendInt(e.result, out_);
  }
  if (e.kind == EventKind::kToolResult) out_->append(",\"unmatched\":\"no tool.call recorded for this result\"");
  out_->append("}}");
}

void ChromeTraceWriter::AddDecision(const Event& e, std::string_view decision, std::string_view rule_id) {
  const Track track = TrackOf(e);
  const int64_t ts = TrackTime(track, e.mono_ns);
  std::string name = Escaped(decision) + " " + Escaped(rule_id);
  BeginEvent('i', Cut(std::move(name), kNameBytes), "policy", track, ts);
  out_->append(",\"args\":{\"seq\":" + std::to_string(e.seq) + ",\"decision\":");
  AppendJsonRecorded(decision, out_);
  out_->append(",\"rule\":");
  AppendJsonRecorded(rule_id, out_);
  out_->append(",\"what\":");
  AppendJsonString(DescribeEvent(e, kWhatBytes), out_);
  out_->append("}}");
}

void ChromeTraceWriter::Finish() {
  // Calls still open end with the session, in the order they were made.
  std::vector<const OpenCall*> open;
  for (const auto& [key, call] : open_calls_) open.push_back(&call);
  std::sort(open.begin(), open.end(), [](const OpenCall* a, const OpenCall* b) { return a->id < b->id; });
  for (const OpenCall* call : open) {
    EndCall(*call, last_ns_, "\"unmatched\":\"no tool.result recorded; drawn to the end of the session\"");
    ++unmatched_calls_;
  }
  open_calls_.clear();

  auto meta = [this](std::string_view what, const Track& t, const std::string& name) {
    if (!first_) out_->append(",\n");
    first_ = false;
    out_->append("{\"ph\":\"M\",\"name\":");
    AppendJsonString(what, out_);
    out_->append(",\"ts\":0,\"pid\":");
    AppendInt(t.pid, out_);
    out_->append(",\"tid\":");
    AppendInt(t.tid, out_);
    out_->append(",\"args\":{\"name\":");
    AppendJsonString(name, out_);
    out_->append("}}");
  };
  std::map<int32_t, std::string> server_of_tid;
  for (const auto& [server, tid] : server_tids_) server_of_tid[tid] = server.empty() ? "(no server)" : Escaped(server);
  int32_t last_pid = 0;
  bool any = false;
  for (const auto& [key, ns] : track_last_ns_) {
    const auto [pid, tid] = key;
    if (!any || pid != last_pid) {
      std::string name;
      if (pid == kChromeToolPid) {
        name = "mcp tools";
      } else if (auto it = process_names_.find(pid); it != process_names_.end()) {
        name = it->second + " (pid " + std::to_string(pid) + ")";
      } else {
        name = "pid " + std::to_string(pid);
      }
      meta("process_name", {pid, pid}, name);
      last_pid = pid;
      any = true;
    }
    meta("thread_name", {pid, tid},
         pid == kChromeToolPid ? "mcp: " + server_of_tid[tid] : "tid " + std::to_string(tid));
  }
  out_->append("\n],");
  out_->append(metadata_);
  out_->append("}\n");
}

}  // namespace agenttrace
