#include "recorder/hook_payloads.h"

#include <nlohmann/json.hpp>

#include "recorder/jsonrpc_framing.h"

namespace agenttrace {
namespace {

using Json = nlohmann::json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void SetBounded(std::string body, const HookOptions& o, Event* e) {
  e->size = static_cast<int64_t>(body.size());
  if (body.size() > o.max_result_bytes) {
    e->json = TruncatedBodyJson(body);
    return;
  }
  if (o.redact) o.redact(&body);
  e->json = std::move(body);
}

bool ResponseIsError(const Json& r) {
  if (!r.is_object()) return false;
  for (const char* k : {"is_error", "isError"}) {
    auto it = r.find(k);
    if (it != r.end() && it->is_boolean() && it->get<bool>()) return true;
  }
  auto s = r.find("success");
  if (s != r.end() && s->is_boolean() && !s->get<bool>()) return true;
  auto err = r.find("error");
  return err != r.end() && !err->is_null() && !(err->is_string() && err->get_ref<const std::string&>().empty());
}

}  // namespace

bool LooksLikeHookPayload(std::string_view line) { return line.find("\"hook_event_name\"") != std::string_view::npos; }

std::string HookServerName(std::string_view hook_flag) {
  if (hook_flag == "claude-code" || hook_flag == "claude") return "claude-code";
  if (hook_flag == "codex") return "codex";
  if (hook_flag == "gemini" || hook_flag == "gemini-cli") return "gemini-cli";
  return "";
}

Result<Event> EventFromHookPayload(std::string_view line, const HookOptions& options) {
  AT_RETURN_IF_ERROR(CheckJsonBounds(line, "hook payload"));
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("hook payload is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("hook payload is not a JSON object");
  auto hn = j.find("hook_event_name");
  if (hn == j.end() || !hn->is_string() || hn->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument("hook payload has no string field \"hook_event_name\"");
  }
  const std::string& name = hn->get_ref<const std::string&>();

  Event e;
  e.method = name;
  std::string server;
  if (auto a = j.find(kHookAgentField); a != j.end()) {
    if (!a->is_string()) return Status::InvalidArgument(std::string("field \"") + kHookAgentField + "\" must be a string");
    server = HookServerName(a->get_ref<const std::string&>());
    if (server.empty()) {
      return Status::InvalidArgument("unknown hook agent \"" + a->get<std::string>() +
                                     "\" (expected claude-code, codex or gemini)");
    }
  } else if (name == "BeforeTool" || name == "AfterTool") {
    server = "gemini-cli";
  } else if (j.contains("turn_id")) {
    server = "codex";
  } else {
    server = "claude-code";
  }
  e.server = server;

  bool before = name == "PreToolUse" || name == "BeforeTool";
  bool after = name == "PostToolUse" || name == "AfterTool" || name == "PostToolUseFailure";
  if (before || after) {
    auto tn = j.find("tool_name");
    if (tn == j.end() || !tn->is_string()) {
      return Status::InvalidArgument(name + " hook payload has no string field \"tool_name\"");
    }
    e.tool = tn->get<std::string>();
    if (auto id = j.find("tool_use_id"); id != j.end() && (id->is_string() || id->is_number_integer())) {
      e.request_id = Dump(*id);
    }
  }
  if (before) {
    e.kind = EventKind::kToolCall;
    auto in = j.find("tool_input");
    e.json = in != j.end() ? Dump(*in) : "{}";
    if (e.json.size() > options.max_arguments_bytes) {
      e.size = static_cast<int64_t>(e.json.size());
      e.json = TruncatedBodyJson(e.json);
    }
    if (options.redact) options.redact(&e.json);
    return e;
  }
  if (after) {
    e.kind = EventKind::kToolResult;
    auto r = j.find("tool_response");
    static const Json kNull;
    const Json& resp = r != j.end() ? *r : kNull;
    e.is_error = name == "PostToolUseFailure" || ResponseIsError(resp);
    if (name == "PostToolUseFailure" && resp.is_null()) {
      if (auto err = j.find("error"); err != j.end()) {
        SetBounded(Dump(*err), options, &e);
        return e;
      }
    }
    SetBounded(Dump(resp), options, &e);
    return e;
  }
  e.kind = EventKind::kAnnotation;
  e.text = "hook " + name;
  j.erase(kHookAgentField);
  SetBounded(Dump(j), options, &e);
  return e;
}

}  // namespace agenttrace
