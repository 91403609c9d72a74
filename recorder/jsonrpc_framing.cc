#include "recorder/jsonrpc_framing.h"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace agenttrace {
namespace {

// Parsed with sorted keys: dumps are canonical, so a tool definition hashes the same whatever key
// order the server used.
using Json = nlohmann::json;

constexpr size_t kMaxHeldEvents = 64;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string_view Snippet(std::string_view bytes) {
  return bytes.substr(0, std::min(bytes.size(), kProtocolErrorSnippetBytes));
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// LineSplitter

void LineSplitter::Append(std::string_view part) {
  line_size_ += part.size();
  // The kept head of an oversized line is also bounded by max_, so that buffered() <= max_ always.
  const size_t snippet = std::min(kProtocolErrorSnippetBytes, max_);
  if (!oversized_ && buf_.size() + part.size() > max_) {
    oversized_ = true;
    buf_.resize(std::min(buf_.size(), snippet));
    buf_.shrink_to_fit();  // do not keep up to max_ bytes of capacity for a line we gave up on
  }
  if (oversized_) {
    if (buf_.size() < snippet) buf_.append(part.substr(0, std::min(part.size(), snippet - buf_.size())));
    return;
  }
  buf_.append(part);
}

void LineSplitter::Feed(std::string_view bytes, LineSink* sink) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      Append(bytes);
      return;
    }
    std::string_view part = bytes.substr(0, nl);
    if (!oversized_ && buf_.empty() && part.size() <= max_) {
      sink->OnLine(part);  // the common case: a whole line inside one read, no copy
    } else {
      Append(part);
      if (oversized_) {
        sink->OnOversized(buf_, line_size_, true);
      } else {
        sink->OnLine(buf_);
      }
      buf_.clear();
      oversized_ = false;
    }
    line_size_ = 0;
    bytes.remove_prefix(nl + 1);
  }
}

void LineSplitter::Finish(LineSink* sink) {
  if (oversized_) {
    sink->OnOversized(buf_, line_size_, false);
  } else if (!buf_.empty()) {
    sink->OnTrailingBytes(buf_);
  }
  buf_.clear();
  oversized_ = false;
  line_size_ = 0;
}

Direction Opposite(Direction d) {
  switch (d) {
    case Direction::kToServer:
      return Direction::kToAgent;
    case Direction::kToAgent:
      return Direction::kToServer;
    case Direction::kNone:
      break;
  }
  return Direction::kNone;
}

std::string TruncatedBodyJson(std::string_view body) {
  return Dump(Json{{"truncated", true}, {"size", body.size()}, {"blake2b", Blake2bHex(body)}});
}

std::string Blake2bHex(std::string_view bytes) {
  unsigned char out[crypto_generichash_BYTES];  // 32
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(sizeof out * 2, '0');
  for (size_t i = 0; i < sizeof out; ++i) {
    hex[2 * i] = kHex[out[i] >> 4];
    hex[2 * i + 1] = kHex[out[i] & 15];
  }
  return hex;
}

// The tool.call of a tools/call request's params: the one rule, for the recorder and for a decision
// taken before forwarding (so that replay decides on exactly what was decided live).
static void FillToolCall(const Json& params, const McpTrackerOptions& options, Event* e) {
  e->kind = EventKind::kToolCall;
  if (params.is_object()) {
    auto n = params.find("name");
    if (n != params.end() && n->is_string()) e->tool = n->get<std::string>();
    auto a = params.find("arguments");
    e->json = a != params.end() ? Dump(*a) : "{}";
  }
  if (e->json.size() > options.max_arguments_bytes) {
    e->size = static_cast<int64_t>(e->json.size());
    e->json = TruncatedBodyJson(e->json);
  }
  if (options.redact) options.redact(&e->json);
}

bool ToolCallFromRequest(std::string_view line, const McpTrackerOptions& options, Event* out) {
  if (line.find("tools/call") == std::string_view::npos) return false;
  if (JsonNestingExceeds(line, kMaxJsonDepth)) return false;
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  auto jv = j.find("jsonrpc");
  auto mit = j.find("method");
  auto iit = j.find("id");
  if (jv == j.end() || *jv != "2.0" || mit == j.end() || *mit != "tools/call" || iit == j.end() ||
      !(iit->is_string() || iit->is_number_integer())) {
    return false;
  }
  static const Json kNoParams = Json::object();
  auto pit = j.find("params");
  out->Clear();
  out->request_id = Dump(*iit);
  out->direction = Direction::kToServer;
  FillToolCall(pit != j.end() ? *pit : kNoParams, options, out);
  return true;
}

// ---------------------------------------------------------------------------------------------------
// McpTracker

McpTracker::McpTracker(McpTrackerOptions options, EventSink& sink)
    : options_(std::move(options)), sink_(sink), server_name_(options_.fallback_server_name) {}

void McpTracker::Redact(std::string* s) const {
  if (options_.redact) options_.redact(s);
}

void McpTracker::SetBoundedBody(std::string body, Event* e) const {
  e->size = static_cast<int64_t>(body.size());
  if (body.size() > options_.max_result_bytes) {
    e->json = TruncatedBodyJson(body);
    return;
  }
  Redact(&body);
  e->json = std::move(body);
}

void McpTracker::Emit(Event& e) {
  e.server = server_name_;
  if (holding_) {
    if (held_.size() < kMaxHeldEvents) {
      held_.push_back(e);
      return;
    }
    Flush();  // the server is slow to answer initialize: stop waiting for its name
  }
  (void)sink_.Append(e);  // see the constructor: the stream is tracked whatever the sink says
}

void McpTracker::Flush() {
  holding_ = false;
  for (Event& h : held_) {
    h.server = server_name_;
    (void)sink_.Append(h);
  }
  held_.clear();
}

void McpTracker::ProtocolError(Direction dir, std::string_view what, std::string_view bytes, int64_t mono_ns,
                               int64_t wall_ns, int64_t size) {
  Event& e = scratch_;
  e.Clear();
  e.kind = EventKind::kProtocolError;
  e.direction = dir;
  e.mono_ns = mono_ns;
  e.wall_ns = wall_ns;
  e.text.assign(what);
  e.json.assign(Snippet(bytes));
  e.size = size != 0 ? size : static_cast<int64_t>(bytes.size());
  Redact(&e.json);
  Emit(e);
}

void McpTracker::OnOversized(Direction dir, std::string_view head, uint64_t size, bool complete, int64_t mono_ns,
                             int64_t wall_ns) {
  std::string what = "message of " + std::to_string(size) + " bytes exceeds the maximum";
  if (!complete) what += " (stream ended before its newline)";
  ProtocolError(dir, what, head, mono_ns, wall_ns, static_cast<int64_t>(size));
}

void McpTracker::OnTrailingBytes(Direction dir, std::string_view bytes, int64_t mono_ns, int64_t wall_ns) {
  ProtocolError(dir, "stream ended inside a message (" + std::to_string(bytes.size()) + " bytes without newline)",
                bytes, mono_ns, wall_ns);
}

void McpTracker::OnLine(Direction dir, std::string_view line, int64_t mono_ns, int64_t wall_ns) {
  if (line.empty()) return;  // blank keep-alive lines carry nothing
  if (JsonNestingExceeds(line, kMaxJsonDepth)) {
    ProtocolError(dir, "JSON nested deeper than " + std::to_string(kMaxJsonDepth), line, mono_ns, wall_ns);
    return;
  }
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    ProtocolError(dir, "invalid JSON", line, mono_ns, wall_ns);
    return;
  }
  if (!j.is_object()) {
    ProtocolError(dir, j.is_array() ? "JSON-RPC batch (not allowed in MCP)" : "not a JSON-RPC object", line, mono_ns,
                  wall_ns);
    return;
  }
  auto jv = j.find("jsonrpc");
  if (jv == j.end() || !jv->is_string() || jv->get_ref<const std::string&>() != "2.0") {
    ProtocolError(dir, "missing \"jsonrpc\":\"2.0\"", line, mono_ns, wall_ns);
    return;
  }
  auto mit = j.find("method");
  auto iit = j.find("id");
  bool has_method = mit != j.end();
  bool has_id = iit != j.end();
  if (has_method && !mit->is_string()) {
    ProtocolError(dir, "\"method\" is not a string", line, mono_ns, wall_ns);
    return;
  }
  if (has_id && !(iit->is_string() || iit->is_number_integer() || (iit->is_null() && !has_method))) {
    ProtocolError(dir, "\"id\" is not a string or an integer", line, mono_ns, wall_ns);
    return;
  }

  Event& e = scratch_;
  e.Clear();
  e.direction = dir;
  e.mono_ns = mono_ns;
  e.wall_ns = wall_ns;
  static const Json kNoParams = Json::object();
  auto pit = j.find("params");
  const Json& params = pit != j.end() ? *pit : kNoParams;

  if (has_method) {
    const std::string& method = mit->get_ref<const std::string&>();
    if (!has_id) {  // notification
      e.kind = EventKind::kMcpNotification;
      e.method = method;
      if (method == "notifications/cancelled" && params.is_object()) {
        auto rid = params.find("requestId");
        if (rid != params.end()) {
          e.request_id = Dump(*rid);
          // The requester cancels, so the request travelled in this same direction.
          auto p = pending_.find(Key{dir, e.request_id});
          if (p != pending_.end()) p->second.cancelled = true;
        }
      }
      if (pit != j.end()) SetBoundedBody(Dump(params), &e);
      e.size = 0;
      Emit(e);
      return;
    }
    // Request.
    std::string id = Dump(*iit);
    Key key{dir, id};
    auto existing = pending_.find(key);
    if (existing != pending_.end()) {
      ProtocolError(dir, "request id " + id + " reused while still pending", line, mono_ns, wall_ns);
      pending_.erase(existing);
      e.Clear();
      e.direction = dir;
      e.mono_ns = mono_ns;
      e.wall_ns = wall_ns;
    }
    Pending pend;
    pend.method = method;
    pend.start_mono_ns = mono_ns;
    e.request_id = id;
    if (method == "tools/call") {
      FillToolCall(params, options_, &e);
      pend.tool = e.tool;
    } else {
      e.kind = EventKind::kMcpRequest;
      e.method = method;
      if (pit != j.end()) SetBoundedBody(Dump(params), &e);
      e.size = 0;
      if (method == "initialize") holding_ = true;
    }
    if (pending_.size() < kMaxPendingRequests) {
      pending_.emplace(std::move(key), std::move(pend));
      Emit(e);
    } else {
      Emit(e);
      ProtocolError(dir, "too many pending requests; the answer to " + id + " will not be matched", "", mono_ns,
                    wall_ns);
    }
    return;
  }

  if (!has_id) {
    ProtocolError(dir, "neither a request, a notification nor a response", line, mono_ns, wall_ns);
    return;
  }
  auto rit = j.find("result");
  auto eit = j.find("error");
  if ((rit == j.end()) == (eit == j.end())) {
    ProtocolError(dir, "a response must have exactly one of \"result\" and \"error\"", line, mono_ns, wall_ns);
    return;
  }
  // Response.
  std::string id = Dump(*iit);
  bool is_error = eit != j.end();
  const Json& body = is_error ? *eit : *rit;
  e.request_id = id;
  e.is_error = is_error;
  auto p = pending_.find(Key{Opposite(dir), id});
  if (p == pending_.end()) {
    e.kind = EventKind::kMcpResponse;
    e.text = "unmatched response";
    SetBoundedBody(Dump(body), &e);
    Emit(e);
    return;
  }
  Pending pend = std::move(p->second);
  pending_.erase(p);
  e.duration_ns = mono_ns - pend.start_mono_ns;
  if (pend.cancelled) e.text = "response after cancel";
  if (pend.method == "tools/call") {
    e.kind = EventKind::kToolResult;
    e.tool = pend.tool;
    if (is_error) {
      if (e.text.empty()) e.text = "JSON-RPC error";
    } else if (body.is_object()) {
      auto ie = body.find("isError");
      e.is_error = ie != body.end() && ie->is_boolean() && ie->get<bool>();
    }
    SetBoundedBody(Dump(body), &e);
    Emit(e);
    return;
  }
  e.kind = EventKind::kMcpResponse;
  e.method = pend.method;
  SetBoundedBody(Dump(body), &e);
  if (pend.method == "initialize") {
    if (!is_error && body.is_object()) {
      auto si = body.find("serverInfo");
      if (si != body.end() && si->is_object()) {
        auto n = si->find("name");
        if (n != si->end() && n->is_string() && !n->get_ref<const std::string&>().empty()) {
          server_name_ = n->get<std::string>();
        }
      }
    }
    Emit(e);
    Flush();
    return;
  }
  Emit(e);
  if (pend.method == "tools/list" && !is_error && body.is_object()) {
    auto tools = body.find("tools");
    if (tools != body.end() && tools->is_array()) {
      for (const Json& def : *tools) {
        if (!def.is_object()) continue;
        auto n = def.find("name");
        if (n == def.end() || !n->is_string()) continue;
        Event& d = scratch_;
        d.Clear();
        d.kind = EventKind::kToolDef;
        d.direction = dir;
        d.mono_ns = mono_ns;
        d.wall_ns = wall_ns;
        d.tool = n->get<std::string>();
        d.json = Dump(def);
        d.text = Blake2bHex(d.json);
        d.size = static_cast<int64_t>(d.json.size());
        Emit(d);
      }
    }
  }
}

}  // namespace agenttrace
