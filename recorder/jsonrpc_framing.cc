#include "recorder/jsonrpc_framing.h"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>

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

namespace {

// Parses `text`; `duplicate` gets the first key that occurs twice in one object, at any depth. Node's
// JSON.parse and Python's json keep the last of two equal keys, nlohmann keeps the last, other parsers
// keep the first or refuse: a message with one is read differently by different servers.
Json ParseNotingDuplicates(std::string_view text, std::string* duplicate) {
  std::vector<std::unordered_set<std::string>> open;  // keys of each open object
  Json::parser_callback_t note = [&](int, Json::parse_event_t ev, Json& parsed) {
    switch (ev) {
      case Json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open.empty() && parsed.is_string() && !open.back().insert(parsed.get<std::string>()).second &&
            duplicate->empty()) {
          *duplicate = parsed.get<std::string>();
          if (duplicate->empty()) *duplicate = "\"\"";
        }
        break;
      default:
        break;
    }
    return true;
  };
  return Json::parse(text.begin(), text.end(), note, /*allow_exceptions=*/false);
}

// The id to answer a refused request with: any number or string (a float id is answered as it came,
// so that a client that reads 1.0 as 1 finds its answer); none for notifications, null or other ids.
std::string AnswerId(const Json& m) {
  auto iit = m.find("id");
  if (iit == m.end() || !(iit->is_string() || iit->is_number())) return "";
  return Dump(*iit);
}

// True when a string anywhere in `j` (keys included) holds a NUL: a server that reads strings as C
// strings (cJSON, strcmp, open(2)) sees only what comes before it, the policy the whole string.
bool HoldsNul(const Json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().find('\0') != std::string::npos;
  if (j.is_array()) return std::any_of(j.begin(), j.end(), [](const Json& e) { return HoldsNul(e); });
  if (!j.is_object()) return false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key().find('\0') != std::string::npos || HoldsNul(it.value())) return true;
  }
  return false;
}

bool LooksLikeToolsCall(std::string_view method) {
  method = method.substr(0, method.find('\0'));  // what a C-string reader sees
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  size_t b = method.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return false;
  method = method.substr(b, method.find_last_not_of(kSpace) - b + 1);
  constexpr std::string_view kCall = "tools/call";
  return method.size() == kCall.size() && std::equal(method.begin(), method.end(), kCall.begin(), [](char a, char c) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == c;
         });
}

// One message object (top level or batch element): forward, decide, or refuse with `reason`.
ClientMessageAction Examine(const Json& m, std::string* reason) {
  if (!m.is_object()) return ClientMessageAction::kForward;  // the server answers "invalid request"
  auto mit = m.find("method");
  if (mit == m.end() || !mit->is_string()) return ClientMessageAction::kForward;
  const std::string& method = mit->get_ref<const std::string&>();
  if (method != "tools/call") {
    if (!LooksLikeToolsCall(method)) return ClientMessageAction::kForward;
    *reason = "method " + Dump(*mit) + " differs from tools/call only by case or whitespace";
    return ClientMessageAction::kRefuse;
  }
  auto jv = m.find("jsonrpc");
  if (jv == m.end() || *jv != "2.0") {
    *reason = "tools/call without \"jsonrpc\":\"2.0\"";
    return ClientMessageAction::kRefuse;
  }
  auto iit = m.find("id");
  if (iit == m.end()) {
    *reason = "tools/call sent as a notification (no id)";
    return ClientMessageAction::kRefuse;
  }
  if (!(iit->is_string() || iit->is_number_integer())) {
    *reason = "tools/call whose id " + Dump(*iit) + " is not a string or an integer";
    return ClientMessageAction::kRefuse;
  }
  auto pit = m.find("params");
  if (pit == m.end() || !pit->is_object()) {
    *reason = "tools/call without params";
    return ClientMessageAction::kRefuse;
  }
  auto nit = pit->find("name");
  if (nit == pit->end() || !nit->is_string()) {
    *reason = "tools/call whose params.name is not a string";
    return ClientMessageAction::kRefuse;
  }
  if (HoldsNul(*pit)) {
    *reason = "tools/call with a NUL character in its name or arguments (a C-string reader stops there)";
    return ClientMessageAction::kRefuse;
  }
  return ClientMessageAction::kDecide;
}

}  // namespace

ClientMessageVerdict ClassifyClientMessage(std::string_view line, const McpTrackerOptions& options, Event* call) {
  ClientMessageVerdict v;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return v;  // a blank keep-alive line
  auto refuse = [&](std::string reason) {
    v.action = ClientMessageAction::kRefuse;
    v.reason = std::move(reason);
    return v;
  };
  if (line.find('\r') != std::string_view::npos) {
    // Whitespace to JSON, but a line end to Python's universal newlines (the Python SDK's stdin): such
    // a server would read the parts as separate messages.
    refuse("carriage return inside the message (a server may split it into several)");
    if (JsonNestingExceeds(line, kMaxJsonDepth)) return v;
    std::string duplicate;
    Json j = ParseNotingDuplicates(line, &duplicate);
    if (j.is_object()) {
      std::string id = AnswerId(j);
      if (!id.empty()) v.answer_ids.push_back(std::move(id));
    }
    return v;
  }
  if (JsonNestingExceeds(line, kMaxJsonDepth)) {
    return refuse("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  std::string duplicate;
  Json j = ParseNotingDuplicates(line, &duplicate);
  if (j.is_discarded()) return refuse("not valid JSON in UTF-8 (a server's parser may still read it)");
  if (!duplicate.empty()) {
    if (j.is_object()) {
      std::string id = AnswerId(j);
      if (!id.empty()) v.answer_ids.push_back(std::move(id));
    }
    return refuse("duplicate key \"" + duplicate + "\" (parsers disagree on which one counts)");
  }
  if (j.is_array()) {
    bool refused = false;
    std::string reason;
    for (const Json& m : j) {
      std::string why;
      ClientMessageAction a = Examine(m, &why);
      if (a == ClientMessageAction::kForward || refused) continue;
      refused = true;
      reason = why;
    }
    if (!refused) return v;
    for (const Json& m : j) {
      if (!m.is_object() || !m.contains("method")) continue;
      std::string id = AnswerId(m);
      if (!id.empty()) v.answer_ids.push_back(std::move(id));
    }
    v.batch = true;
    return refuse("JSON-RPC batch with a tools/call in it" + (reason.empty() ? "" : " (" + reason + ")") +
                  "; each tools/call is decided alone: send it alone");
  }
  std::string reason;
  v.action = Examine(j, &reason);
  if (v.action == ClientMessageAction::kRefuse) {
    std::string id = AnswerId(j);
    if (!id.empty()) v.answer_ids.push_back(std::move(id));
    v.reason = std::move(reason);
  } else if (v.action == ClientMessageAction::kDecide) {
    call->Clear();
    call->request_id = Dump(j["id"]);
    call->direction = Direction::kToServer;
    FillToolCall(j["params"], options, call);
  }
  return v;
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
