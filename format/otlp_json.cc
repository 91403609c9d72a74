#include "format/otlp_json.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "format/event_text.h"
#include "format/text_escape.h"

namespace agenttrace {
namespace {

constexpr size_t kMaxAttributeBytes = 4096;  // one recorded string in an attribute value
constexpr size_t kMaxNameBytes = 160;        // span names stay low-cardinality and short
constexpr size_t kLineBytes = 1u << 20;      // a line is completed past this many bytes of spans

// Span ids by what opened the span; mixed with the session id and the opening event's seq.
constexpr uint64_t kTagRoot = 1, kTagProcess = 2, kTagCall = 3, kTagNotification = 4, kTagMcpSession = 5;

constexpr int kKindInternal = 1, kKindClient = 3;  // opentelemetry.proto.trace.v1.Span.SpanKind
constexpr int kStatusError = 2;                    // opentelemetry.proto.trace.v1.Status.StatusCode

// splitmix64's finaliser: a bijection that spreads every input bit over the output.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a: a fixed hash (std::hash may differ between builds; the export must not).
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

void AppendHex(uint64_t v, std::string* out) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  out->append(buf, 16);
}

// Escaped text cut to at most `max` bytes on a UTF-8 boundary, the cut marked with "...".
std::string Cut(std::string_view text, size_t max) { return Utf8PrefixWithEllipsis(text, max); }

std::string Recorded(std::string_view bytes, size_t max = kMaxAttributeBytes) { return Cut(Escaped(bytes), max); }

void Sep(std::string* s) {
  if (!s->empty()) s->push_back(',');
}

void KeyOpen(std::string* a, std::string_view key) {
  Sep(a);
  a->append("{\"key\":");
  AppendJsonQuoted(key, a);
  a->append(",\"value\":{");
}

// `value` must be valid UTF-8 (escaped form).
void AttrText(std::string* a, std::string_view key, std::string_view value) {
  KeyOpen(a, key);
  a->append("\"stringValue\":");
  AppendJsonQuoted(value, a);
  a->append("}}");
}

void AttrRecorded(std::string* a, std::string_view key, std::string_view bytes) { AttrText(a, key, Recorded(bytes)); }

// intValue is an int64: a JSON string in OTLP/JSON.
void AttrInt(std::string* a, std::string_view key, int64_t v) {
  KeyOpen(a, key);
  a->append("\"intValue\":\"");
  a->append(std::to_string(v));
  a->append("\"}}");
}

void AttrRecordedList(std::string* a, std::string_view key, const std::vector<std::string>& values) {
  KeyOpen(a, key);
  a->append("\"arrayValue\":{\"values\":[");
  size_t total = 0;
  for (size_t i = 0; i < values.size() && total < kMaxAttributeBytes; ++i) {
    if (i > 0) a->push_back(',');
    std::string v = Recorded(values[i]);
    total += v.size();
    a->append("{\"stringValue\":");
    AppendJsonQuoted(v, a);
    a->push_back('}');
  }
  a->append("]}}}");
}

// The JSON-RPC id as people write it: a string id without its quotes, a number as it is.
std::string RequestIdText(std::string_view json_id) {
  if (json_id.size() >= 2 && json_id.front() == '"') {
    auto j = nlohmann::json::parse(json_id, nullptr, /*allow_exceptions=*/false);
    if (j.is_string()) return Recorded(j.get<std::string>());
  }
  return Recorded(json_id);
}

std::string Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Calls seen on the MCP wire carry no hook method; hooks and transcripts name theirs.
bool IsMcpToolEvent(const Event& e) { return e.method.empty() || e.method == "tools/call"; }

uint8_t RequestDirection(const Event& e, bool is_answer) {
  if (!is_answer || e.direction == Direction::kNone) return static_cast<uint8_t>(e.direction);
  return static_cast<uint8_t>(e.direction == Direction::kToServer ? Direction::kToAgent : Direction::kToServer);
}

}  // namespace

OtlpTraceWriter::OtlpTraceWriter(const SessionInfo& info, std::string* out, OtlpOptions options)
    : out_(out), options_(options), info_(info) {
  for (int i = 0; i < 8; ++i) id_hi_ = (id_hi_ << 8) | info.id.bytes[i];
  for (int i = 8; i < 16; ++i) id_lo_ = (id_lo_ << 8) | info.id.bytes[i];
  AppendHex(id_hi_, &trace_id_);
  AppendHex(id_lo_, &trace_id_);

  std::string attrs;
  AttrRecorded(&attrs, "service.name", info.agent_name.empty() ? std::string("agenttrace") : info.agent_name);
  if (!info.agent_version.empty()) AttrRecorded(&attrs, "service.version", info.agent_version);
  if (!info.host.empty()) AttrRecorded(&attrs, "host.name", info.host);
  AttrText(&attrs, "os.type", "linux");
  if (!info.kernel.empty()) AttrRecorded(&attrs, "os.version", info.kernel);
  AttrText(&attrs, "agenttrace.session.id", info.id.ToString());
  if (!info.label.empty()) AttrRecorded(&attrs, "agenttrace.session.label", info.label);
  if (!info.user.empty()) AttrRecorded(&attrs, "agenttrace.session.user", info.user);
  if (!info.recorder.empty()) AttrRecorded(&attrs, "agenttrace.recorder", info.recorder);
  resource_ = "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" + attrs +
              "]},\"scopeSpans\":[{\"scope\":{\"name\":\"agenttrace\"},\"spans\":[";

  root_.span_id = SpanId(kTagRoot, 0);
  if (!info.agent_name.empty()) {
    root_.name = Cut("invoke_agent " + Escaped(info.agent_name), kMaxNameBytes);
    AttrText(&root_.attributes, "gen_ai.operation.name", "invoke_agent");
    AttrRecorded(&root_.attributes, "gen_ai.agent.name", info.agent_name);
  } else {
    root_.name = "agenttrace.session";
  }
  AttrText(&root_.attributes, "agenttrace.session.id", info.id.ToString());
  if (!info.argv.empty()) AttrRecordedList(&root_.attributes, "process.command_args", info.argv);
  if (!info.cwd.empty()) AttrRecorded(&root_.attributes, "process.working_directory", info.cwd);
  root_.start_ns = info.start_wall_ns;
}

uint64_t OtlpTraceWriter::SpanId(uint64_t tag, uint64_t seq) const {
  uint64_t id = Mix(Mix(Mix(id_hi_ ^ tag) ^ id_lo_) ^ seq);
  return id == 0 ? 1 : id;  // an all-zero span id is invalid
}

int64_t OtlpTraceWriter::TimeOf(const Event& e) const {
  if (e.wall_ns != 0) return e.wall_ns;
  return have_time_ ? last_ns_ : info_.start_wall_ns;
}

OtlpTraceWriter::Process& OtlpTraceWriter::ProcessOf(const Event& e) {
  auto [it, inserted] = processes_.try_emplace(e.pid);
  Process& p = it->second;
  if (inserted) {
    p.span.span_id = SpanId(kTagProcess, e.seq);
    p.span.parent_id = root_.span_id;
    p.span.start_ns = TimeOf(e);
    if (auto s = spawned_.find(e.pid); s != spawned_.end()) {
      // The child's span starts at its fork, so that it covers the whole life of the process.
      p.span.parent_id = s->second.parent_span;
      p.parent_pid = s->second.parent_pid;
      p.span.start_ns = std::min(p.span.start_ns, s->second.time_ns);
      p.have_parent = true;
      spawned_.erase(s);
    }
    // A forked child runs its parent's program until it execs.
    if (p.have_parent) {
      if (auto parent = processes_.find(p.parent_pid); parent != processes_.end()) {
        p.exe = parent->second.exe;
        p.argv_attr = parent->second.argv_attr;
      }
    }
  }
  return p;
}

OtlpTraceWriter::Span* OtlpTraceWriter::SpanOf(const Event& e) {
  if (e.pid == 0) return &root_;
  return &ProcessOf(e).span;
}

void OtlpTraceWriter::AddSpanEvent(Span* span, int64_t time_ns, std::string_view name, const std::string& attributes) {
  if (span->event_count >= options_.max_events_per_span) {
    ++span->dropped_events;
    return;
  }
  ++span->event_count;
  Sep(&span->events);
  span->events.append("{\"timeUnixNano\":\"" + std::to_string(time_ns) + "\",\"name\":");
  AppendJsonQuoted(name, &span->events);
  span->events.append(",\"attributes\":[");
  span->events.append(attributes);
  span->events.append("]}");
}

void OtlpTraceWriter::AddDecisionEvent(Span* span, const Event& e, const OtlpDecision& d) {
  std::string a;
  AttrRecorded(&a, "agenttrace.policy.decision", d.decision);
  AttrRecorded(&a, "agenttrace.policy.rule", d.rule_id);
  AttrInt(&a, "agenttrace.event.seq", static_cast<int64_t>(e.seq));
  AttrText(&a, "agenttrace.event.kind", EventKindName(e.kind));
  AttrText(&a, "agenttrace.event.description", Cut(DescribeEvent(e, kMaxAttributeBytes), kMaxAttributeBytes));
  AddSpanEvent(span, TimeOf(e), "agenttrace.policy.decision", a);
}

void OtlpTraceWriter::AddEvent(const Event& e, const OtlpDecision* decision) {
  const int64_t t = TimeOf(e);
  if (e.wall_ns != 0) {
    if (!have_time_) first_ns_ = e.wall_ns;
    last_ns_ = have_time_ ? std::max(last_ns_, e.wall_ns) : e.wall_ns;
    have_time_ = true;
  }
  switch (e.kind) {
    case EventKind::kToolCall:
    case EventKind::kMcpRequest:
      OnToolCall(e, decision);
      return;
    case EventKind::kToolResult:
    case EventKind::kMcpResponse:
      OnToolResult(e, decision);
      return;
    case EventKind::kMcpNotification: {
      Span s;
      s.span_id = SpanId(kTagNotification, e.seq);
      s.parent_id = root_.span_id;
      s.kind = kKindClient;
      s.name = Cut(Escaped(e.method), kMaxNameBytes);
      s.start_ns = t;
      AttrRecorded(&s.attributes, "mcp.method.name", e.method);
      if (!e.server.empty()) {
        std::string sid;
        AppendHex(SpanId(kTagMcpSession, Fnv1a(e.server)), &sid);
        AttrText(&s.attributes, "mcp.session.id", sid);
        AttrRecorded(&s.attributes, "agenttrace.mcp.server", e.server);
      }
      AttrInt(&s.attributes, "agenttrace.event.seq", static_cast<int64_t>(e.seq));
      if (decision != nullptr) AddDecisionEvent(&s, e, *decision);
      WriteSpan(s, t);
      return;
    }
    default:
      break;
  }

  Span* span = SpanOf(e);
  if (e.pid != 0) ++processes_[e.pid].events;
  if (e.kind == EventKind::kProcSpawn && !e.is_thread && e.result > 0) {
    int32_t child = static_cast<int32_t>(e.result);
    if (auto c = processes_.find(child); c != processes_.end() && !c->second.have_parent) {
      // The child's first event was recorded before its parent's fork returned.
      c->second.span.parent_id = span->span_id;
      c->second.parent_pid = e.pid;
      c->second.have_parent = true;
      c->second.span.start_ns = std::min(c->second.span.start_ns, t);
    } else if (c == processes_.end()) {
      spawned_[child] = Spawn{span->span_id, e.pid, t};
    }
  } else if (e.kind == EventKind::kExec && e.result == 0 && e.pid != 0) {
    Process& p = processes_[e.pid];
    p.exe = e.path;
    p.argv_attr.clear();
    if (!e.argv.empty()) AttrRecordedList(&p.argv_attr, "process.command_args", e.argv);
    std::string a;
    AttrRecorded(&a, "process.executable.path", e.path);
    if (!p.argv_attr.empty()) a += "," + p.argv_attr;
    AttrInt(&a, "agenttrace.event.seq", static_cast<int64_t>(e.seq));
    AddSpanEvent(span, t, "process.exec", a);
  } else if (e.kind == EventKind::kEscape || e.kind == EventKind::kGap || e.kind == EventKind::kProtocolError) {
    std::string a;
    AttrInt(&a, "agenttrace.event.seq", static_cast<int64_t>(e.seq));
    AttrText(&a, "agenttrace.event.description", Cut(DescribeEvent(e, kMaxAttributeBytes), kMaxAttributeBytes));
    if (e.kind == EventKind::kGap) AttrInt(&a, "agenttrace.gap.events_lost", e.size);
    AddSpanEvent(span, t, std::string("agenttrace.") + std::string(EventKindName(e.kind)), a);
  }
  if (decision != nullptr) AddDecisionEvent(span, e, *decision);
  if (e.kind == EventKind::kProcExit && e.pid != 0) {
    Process& p = processes_[e.pid];
    AttrInt(&p.span.attributes, "process.exit.code", e.exit_code);
    if (e.signal != 0) AttrText(&p.span.attributes, "agenttrace.process.signal", SignalName(e.signal));
    EndProcess(e.pid, t);
  }
}

void OtlpTraceWriter::OnToolCall(const Event& e, const OtlpDecision* d) {
  const bool tool = e.kind == EventKind::kToolCall;
  const bool mcp = !tool || IsMcpToolEvent(e);
  CallKey key{e.server, e.request_id, RequestDirection(e, false)};
  if (auto old = open_calls_.find(key); old != open_calls_.end() && !e.request_id.empty()) {
    // The id was reused before an answer came: the old call ends here, unanswered.
    AttrText(&old->second.attributes, "agenttrace.unmatched",
             "request id reused by event " + std::to_string(e.seq) + " before an answer");
    WriteSpan(old->second, TimeOf(e));
    open_calls_.erase(old);
  }
  Span s;
  s.span_id = SpanId(kTagCall, e.seq);
  s.parent_id = root_.span_id;
  s.start_ns = TimeOf(e);
  std::string& a = s.attributes;
  if (tool) {
    s.name = Cut((mcp ? "tools/call " : "execute_tool ") + Escaped(e.tool), kMaxNameBytes);
    AttrText(&a, "gen_ai.operation.name", "execute_tool");
    AttrRecorded(&a, "gen_ai.tool.name", e.tool);
  } else {
    s.name = Cut(Escaped(e.method), kMaxNameBytes);
  }
  if (mcp) {
    s.kind = kKindClient;
    AttrText(&a, "mcp.method.name", tool ? std::string("tools/call") : Recorded(e.method));
    if (!e.request_id.empty()) AttrText(&a, "jsonrpc.request.id", RequestIdText(e.request_id));
    if (!e.server.empty()) {
      std::string sid;
      AppendHex(SpanId(kTagMcpSession, Fnv1a(e.server)), &sid);
      AttrText(&a, "mcp.session.id", sid);
    }
  } else {
    AttrText(&a, "gen_ai.tool.type", "function");
    if (!e.request_id.empty()) AttrText(&a, "gen_ai.tool.call.id", RequestIdText(e.request_id));
    if (!e.method.empty()) AttrRecorded(&a, "agenttrace.tool.source", e.method);
  }
  if (!e.server.empty()) AttrRecorded(&a, mcp ? "agenttrace.mcp.server" : "agenttrace.agent", e.server);
  if (e.pid != 0) AttrInt(&a, "process.pid", e.pid);
  AttrInt(&a, "agenttrace.event.seq", static_cast<int64_t>(e.seq));
  if (d != nullptr) AddDecisionEvent(&s, e, *d);
  if (e.request_id.empty()) {  // nothing can answer it: a point in time
    AttrText(&a, "agenttrace.unmatched", "no request id; the answer cannot be matched");
    WriteSpan(s, s.start_ns);
    return;
  }
  open_calls_[key] = std::move(s);
}

void OtlpTraceWriter::OnToolResult(const Event& e, const OtlpDecision* d) {
  const int64_t t = TimeOf(e);
  CallKey key{e.server, e.request_id, RequestDirection(e, true)};
  auto it = open_calls_.find(key);
  Span s;
  if (it != open_calls_.end()) {
    s = std::move(it->second);
    open_calls_.erase(it);
  } else {
    s.span_id = SpanId(kTagCall, e.seq);
    s.parent_id = root_.span_id;
    s.start_ns = t;
    const bool tool = e.kind == EventKind::kToolResult;
    s.name = Cut(tool ? (IsMcpToolEvent(e) ? "tools/call " : "execute_tool ") + Escaped(e.tool)
                      : (e.method.empty() ? std::string("mcp.response") : Escaped(e.method)),
                 kMaxNameBytes);
    if (tool) {
      AttrText(&s.attributes, "gen_ai.operation.name", "execute_tool");
      AttrRecorded(&s.attributes, "gen_ai.tool.name", e.tool);
    }
    AttrText(&s.attributes, "agenttrace.unmatched", "no request recorded for this answer");
  }
  AttrInt(&s.attributes, "agenttrace.result.seq", static_cast<int64_t>(e.seq));
  if (e.is_error) {
    s.status_code = kStatusError;
    // A JSON-RPC error carries a code (error.type per the MCP conventions); a tool's own failure
    // (isError) is "tool_error".
    std::string type = "tool_error";
    if (e.text == "JSON-RPC error" || e.kind == EventKind::kMcpResponse) {
      auto j = nlohmann::json::parse(e.json, nullptr, /*allow_exceptions=*/false);
      if (j.is_object()) {
        if (auto c = j.find("code"); c != j.end() && c->is_number_integer()) {
          type = std::to_string(c->get<int64_t>());
          AttrText(&s.attributes, "rpc.response.status_code", type);
        }
        if (auto m = j.find("message"); m != j.end() && m->is_string())
          s.status_message = Recorded(m->get<std::string>());
      }
      if (type == "tool_error") type = "_OTHER";
    }
    AttrText(&s.attributes, "error.type", type);
  }
  if (d != nullptr) AddDecisionEvent(&s, e, *d);
  WriteSpan(s, std::max(t, s.start_ns));
}

void OtlpTraceWriter::EndProcess(int32_t pid, int64_t end_ns) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  Process& p = it->second;
  Span& s = p.span;
  s.name = p.exe.empty() ? "pid " + std::to_string(pid) : Cut(Escaped(Basename(p.exe)), kMaxNameBytes);
  std::string a;
  AttrInt(&a, "process.pid", pid);
  if (p.have_parent) AttrInt(&a, "process.parent_pid", p.parent_pid);
  if (!p.exe.empty()) {
    AttrRecorded(&a, "process.executable.path", p.exe);
    AttrRecorded(&a, "process.executable.name", Basename(p.exe));
  }
  if (!p.argv_attr.empty()) a += "," + p.argv_attr;
  AttrInt(&a, "agenttrace.event_count", static_cast<int64_t>(p.events));
  if (!s.attributes.empty()) a += "," + s.attributes;
  s.attributes = std::move(a);
  WriteSpan(s, std::max(end_ns, s.start_ns));
  processes_.erase(it);
}

void OtlpTraceWriter::WriteSpan(const Span& s, int64_t end_ns) {
  std::string& o = line_spans_;
  Sep(&o);
  o.append("{\"traceId\":\"");
  o.append(trace_id_);
  o.append("\",\"spanId\":\"");
  AppendHex(s.span_id, &o);
  o.push_back('"');
  if (s.parent_id != 0) {
    o.append(",\"parentSpanId\":\"");
    AppendHex(s.parent_id, &o);
    o.push_back('"');
  }
  o.append(",\"name\":");
  AppendJsonQuoted(s.name, &o);
  o.append(",\"kind\":" + std::to_string(s.kind));
  o.append(",\"startTimeUnixNano\":\"" + std::to_string(s.start_ns) + "\"");
  o.append(",\"endTimeUnixNano\":\"" + std::to_string(std::max(end_ns, s.start_ns)) + "\"");
  o.append(",\"attributes\":[");
  o.append(s.attributes);
  o.append("]");
  if (!s.events.empty()) {
    o.append(",\"events\":[");
    o.append(s.events);
    o.append("]");
  }
  if (s.dropped_events != 0) o.append(",\"droppedEventsCount\":" + std::to_string(s.dropped_events));
  if (s.status_code != 0) {
    o.append(",\"status\":{\"code\":" + std::to_string(s.status_code));
    if (!s.status_message.empty()) {
      o.append(",\"message\":");
      AppendJsonQuoted(s.status_message, &o);
    }
    o.push_back('}');
  }
  o.push_back('}');
  ++spans_written_;
  if (++line_span_count_ >= options_.spans_per_line || o.size() >= kLineBytes) FlushLine();
}

void OtlpTraceWriter::FlushLine() {
  if (line_span_count_ == 0) return;
  out_->append(resource_);
  out_->append(line_spans_);
  out_->append("]}]}]}\n");
  line_spans_.clear();
  line_span_count_ = 0;
}

void OtlpTraceWriter::Finish() {
  // Calls never answered end with the session, in the order they were made.
  std::vector<Span*> open;
  for (auto& [key, span] : open_calls_) open.push_back(&span);
  std::sort(open.begin(), open.end(), [](const Span* a, const Span* b) { return a->start_ns < b->start_ns; });
  for (Span* s : open) {
    AttrText(&s->attributes, "agenttrace.unmatched", "no answer recorded; ends with the session");
    WriteSpan(*s, last_ns_);
  }
  open_calls_.clear();
  // Processes still running when the recording stopped.
  std::vector<int32_t> pids;
  for (const auto& [pid, p] : processes_) pids.push_back(pid);
  for (int32_t pid : pids) EndProcess(pid, last_ns_);

  if (root_.start_ns == 0 || (have_time_ && first_ns_ < root_.start_ns)) {
    root_.start_ns = have_time_ ? first_ns_ : root_.start_ns;
  }
  int64_t end = std::max(info_.end_wall_ns, last_ns_);
  if (info_.exit_signal != 0) {
    AttrText(&root_.attributes, "agenttrace.session.signal", SignalName(info_.exit_signal));
  } else if (info_.exit_code >= 0 && info_.state == SessionState::kComplete) {
    AttrInt(&root_.attributes, "process.exit.code", info_.exit_code);
  }
  AttrText(&root_.attributes, "agenttrace.session.state", SessionStateName(info_.state));
  if (info_.state != SessionState::kComplete) {
    root_.status_code = kStatusError;
    root_.status_message = "session incomplete: the recording stopped before its end";
  }
  WriteSpan(root_, end);
  FlushLine();
}

}  // namespace agenttrace
