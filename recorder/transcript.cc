#include "recorder/transcript.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

#include "format/json_limits.h"
#include "recorder/jsonrpc_framing.h"

namespace agenttrace {
namespace {

using Json = nlohmann::json;

constexpr char kMethod[] = "transcript";

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

const Json* Field(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string StringField(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

// Bounded JSON text: oversized values become the truncation marker MCP results get.
std::string Bounded(std::string json, size_t max) {
  if (json.size() <= max) return json;
  return TruncatedBodyJson(json);
}

int Digits(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<TranscriptFormat> ParseTranscriptFormat(std::string_view name) {
  if (name == "claude-code") return TranscriptFormat::kClaudeCode;
  if (name == "codex") return TranscriptFormat::kCodex;
  return std::nullopt;
}

std::string_view TranscriptAgentName(TranscriptFormat format) {
  return format == TranscriptFormat::kClaudeCode ? "claude-code" : "codex";
}

std::optional<int64_t> ParseIsoTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int year = Digits(s, 0, 4), mon = Digits(s, 5, 2), day = Digits(s, 8, 2);
  int hour = Digits(s, 11, 2), min = Digits(s, 14, 2), sec = Digits(s, 17, 2);
  if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || min < 0 || min > 59 ||
      sec < 0 || sec > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t begin = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == begin) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && s[pos] == 'Z' && pos + 1 == s.size()) {
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    int oh = Digits(s, pos + 1, 2), om = Digits(s, pos + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  return (static_cast<int64_t>(t) - offset_s) * 1000000000 + frac_ns;
}

Result<std::unique_ptr<TranscriptReader>> TranscriptReader::Open(const std::string& path, TranscriptFormat format,
                                                                 TranscriptOptions options) {
  AT_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> lines, LineReader::Open(path));
  return FromLines(std::move(lines), format, options);
}

std::unique_ptr<TranscriptReader> TranscriptReader::FromLines(std::unique_ptr<LineReader> lines,
                                                              TranscriptFormat format, TranscriptOptions options) {
  return std::unique_ptr<TranscriptReader>(new TranscriptReader(std::move(lines), format, options));
}

Status TranscriptReader::LineError(const std::string& what) const {
  return Status::Corruption(lines_->name() + ": line " + std::to_string(lines_->line()) + ": " + what);
}

Result<const Event*> TranscriptReader::Next() {
  while (pending_.empty() && !done_) {
    std::string_view line;
    auto got = lines_->Next(&line);
    if (!got.ok()) {
      done_ = true;
      return got.status();
    }
    if (!*got) {
      done_ = true;
      break;
    }
    if (line.empty()) continue;
    if (Status s = ParseLine(line); !s.ok()) {
      done_ = true;
      return s;
    }
  }
  if (pending_.empty()) return static_cast<const Event*>(nullptr);
  current_ = std::move(pending_.front());
  pending_.pop_front();
  return static_cast<const Event*>(&current_);
}

Status TranscriptReader::ParseLine(std::string_view line) {
  if (Status s = CheckJsonBounds(line, "transcript line"); !s.ok()) return LineError(s.message());
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return LineError("not valid JSON");
  if (!j.is_object()) return LineError("not a JSON object");
  int64_t t = 0;
  if (const Json* ts = Field(j, "timestamp"); ts != nullptr && ts->is_string()) {
    auto parsed = ParseIsoTime(ts->get_ref<const std::string&>());
    if (!parsed) return LineError("timestamp \"" + ts->get<std::string>() + "\" is not an ISO 8601 UTC time");
    t = *parsed;
    if (facts_.first_ns == 0 || t < facts_.first_ns) facts_.first_ns = t;
    if (t > facts_.last_ns) facts_.last_ns = t;
  }
  return format_ == TranscriptFormat::kClaudeCode ? ParseClaudeCode(&j, t) : ParseCodex(&j, t);
}

void TranscriptReader::AddCall(int64_t t, std::string tool, const std::string& id, std::string args_json) {
  if (!id.empty() && calls_.count(id)) return;  // already seen (Codex logs MCP calls twice)
  Event e;
  e.kind = EventKind::kToolCall;
  e.wall_ns = t;
  e.server = std::string(TranscriptAgentName(format_));
  e.tool = std::move(tool);
  e.method = kMethod;
  if (!id.empty()) e.request_id = Dump(Json(id));
  if (args_json.size() > options_.max_arguments_bytes) e.size = static_cast<int64_t>(args_json.size());
  e.json = Bounded(std::move(args_json), options_.max_arguments_bytes);
  if (!id.empty()) calls_[id] = {t, e.tool};
  pending_.push_back(std::move(e));
}

void TranscriptReader::AddResult(int64_t t, const std::string& id, std::string tool, std::string result_json,
                                 bool is_error) {
  if (!id.empty() && !answered_.insert(id).second) return;
  Event e;
  e.kind = EventKind::kToolResult;
  e.wall_ns = t;
  e.server = std::string(TranscriptAgentName(format_));
  e.method = kMethod;
  if (!id.empty()) e.request_id = Dump(Json(id));
  if (auto c = calls_.find(id); c != calls_.end()) {
    if (!c->second.second.empty()) tool = c->second.second;  // the name the call was logged under
    if (t != 0 && c->second.first != 0 && t >= c->second.first) e.duration_ns = t - c->second.first;
  }
  e.tool = std::move(tool);
  e.size = static_cast<int64_t>(result_json.size());
  e.json = Bounded(std::move(result_json), options_.max_result_bytes);
  e.is_error = is_error;
  pending_.push_back(std::move(e));
}

Status TranscriptReader::ParseClaudeCode(const void* p, int64_t t) {
  const Json& j = *static_cast<const Json*>(p);
  if (facts_.agent_session_id.empty()) facts_.agent_session_id = StringField(j, "sessionId");
  if (facts_.agent_version.empty()) facts_.agent_version = StringField(j, "version");
  if (facts_.cwd.empty()) facts_.cwd = StringField(j, "cwd");
  const std::string type = StringField(j, "type");
  const Json* message = Field(j, "message");
  const Json* content = message != nullptr ? Field(*message, "content") : nullptr;
  if ((type != "assistant" && type != "user") || content == nullptr || !content->is_array()) {
    ++skipped_;
    return Status::Ok();
  }
  bool any = false;
  for (const Json& block : *content) {
    const std::string btype = StringField(block, "type");
    if (type == "assistant" && btype == "tool_use") {
      const Json* input = Field(block, "input");
      AddCall(t, StringField(block, "name"), StringField(block, "id"), input != nullptr ? Dump(*input) : "{}");
      any = true;
    } else if (type == "user" && btype == "tool_result") {
      const Json* c = Field(block, "content");
      const Json* err = Field(block, "is_error");
      AddResult(t, StringField(block, "tool_use_id"), "", c != nullptr ? Dump(*c) : "null",
                err != nullptr && err->is_boolean() && err->get<bool>());
      any = true;
    }
  }
  if (!any) ++skipped_;
  return Status::Ok();
}

Status TranscriptReader::ParseCodex(const void* p, int64_t t) {
  const Json& j = *static_cast<const Json*>(p);
  const std::string type = StringField(j, "type");
  const Json* payload = Field(j, "payload");
  if (payload == nullptr || !payload->is_object()) {
    ++skipped_;
    return Status::Ok();
  }
  const std::string ptype = StringField(*payload, "type");
  if (type == "session_meta") {
    if (facts_.agent_session_id.empty()) facts_.agent_session_id = StringField(*payload, "id");
    if (facts_.agent_version.empty()) facts_.agent_version = StringField(*payload, "cli_version");
    if (facts_.cwd.empty()) facts_.cwd = StringField(*payload, "cwd");
    return Status::Ok();
  }
  const std::string call_id = StringField(*payload, "call_id");
  if (type == "response_item" && (ptype == "function_call" || ptype == "custom_tool_call")) {
    // function_call arguments are a JSON text in a string; keep the object when it parses.
    std::string args = "{}";
    if (const Json* a = Field(*payload, ptype == "function_call" ? "arguments" : "input"); a != nullptr) {
      args = Dump(*a);
      if (a->is_string() && CheckJsonBounds(a->get_ref<const std::string&>(), "arguments").ok()) {
        Json parsed = Json::parse(a->get_ref<const std::string&>(), nullptr, /*allow_exceptions=*/false);
        if (!parsed.is_discarded()) args = Dump(parsed);
      }
    }
    AddCall(t, StringField(*payload, "name"), call_id, std::move(args));
    return Status::Ok();
  }
  if (type == "response_item" && (ptype == "function_call_output" || ptype == "custom_tool_call_output")) {
    const Json* out = Field(*payload, "output");
    std::string result = out != nullptr ? Dump(*out) : "null";
    // The shell tool's output is a JSON text with metadata.exit_code; a non-zero exit is a failure.
    bool is_error = false;
    if (out != nullptr && out->is_string() && CheckJsonBounds(out->get_ref<const std::string&>(), "output").ok()) {
      Json parsed = Json::parse(out->get_ref<const std::string&>(), nullptr, /*allow_exceptions=*/false);
      const Json* meta = parsed.is_discarded() ? nullptr : Field(parsed, "metadata");
      const Json* code = meta != nullptr ? Field(*meta, "exit_code") : nullptr;
      is_error = code != nullptr && code->is_number_integer() && code->get<int64_t>() != 0;
    }
    AddResult(t, call_id, "", std::move(result), is_error);
    return Status::Ok();
  }
  if (type == "event_msg" && ptype == "mcp_tool_call_end") {
    const Json* inv = Field(*payload, "invocation");
    std::string tool =
        inv != nullptr ? "mcp__" + StringField(*inv, "server") + "__" + StringField(*inv, "tool") : std::string();
    const Json* args = inv != nullptr ? Field(*inv, "arguments") : nullptr;
    int64_t duration = 0;
    if (const Json* d = Field(*payload, "duration"); d != nullptr) {
      const Json* secs = Field(*d, "secs");
      const Json* nanos = Field(*d, "nanos");
      if (secs != nullptr && secs->is_number_unsigned()) duration += secs->get<int64_t>() * 1000000000;
      if (nanos != nullptr && nanos->is_number_unsigned()) duration += nanos->get<int64_t>();
    }
    // The call's own line may have come first (as a function_call); if not, it started `duration` ago.
    AddCall(t > duration ? t - duration : t, tool, call_id, args != nullptr ? Dump(*args) : "{}");
    const Json* result = Field(*payload, "result");
    const Json* ok = result != nullptr ? Field(*result, "Ok") : nullptr;
    const Json* err = result != nullptr ? Field(*result, "Err") : nullptr;
    bool is_error = err != nullptr;
    if (ok != nullptr) {
      const Json* ie = Field(*ok, "isError");
      is_error = ie != nullptr && ie->is_boolean() && ie->get<bool>();
    }
    AddResult(t, call_id, tool, ok != nullptr ? Dump(*ok) : (err != nullptr ? Dump(*err) : "null"), is_error);
    return Status::Ok();
  }
  ++skipped_;
  return Status::Ok();
}

}  // namespace agenttrace
