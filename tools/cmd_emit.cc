// `agenttrace emit`: sends one tool event, or an agent hook payload read from stdin, to the recording
// in progress (its event socket, $AGENTTRACE_SOCKET), and waits for the acknowledgement.
//
// Exit codes: 0 acknowledged; 2 with a message otherwise. Exception, so that a hook configured in an
// agent never breaks the agent when it runs outside `agenttrace record`: with --hook and no socket,
// emit warns on stderr and exits 0.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "format/event_json.h"
#include "format/json_limits.h"
#include "recorder/event_socket.h"
#include "recorder/hook_payloads.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/hook_input.h"

namespace agenttrace {
namespace {

struct EmitOptions {
  std::string socket;
  std::string kind = "annotation";
  std::string tool, server, json, text, hook, request_id;
  bool is_error = false;
};

int Fail(const std::string& msg) {
  std::fprintf(stderr, "agenttrace emit: %s\n", msg.c_str());
  return kExitUsage;
}

// The line to send: the hook payload (compacted, tagged with the agent) or an event.
Result<std::string> BuildLine(const EmitOptions& o) {
  using Json = nlohmann::ordered_json;
  if (!o.hook.empty()) {
    AT_ASSIGN_OR_RETURN(std::string in, ReadHookPayload(0, kMaxJsonLineBytes));
    AT_RETURN_IF_ERROR(CheckJsonBounds(in, "--hook: stdin"));
    Json j = Json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::InvalidArgument("--hook: stdin is not a JSON object (expected the agent's hook payload)");
    }
    if (!j.contains("hook_event_name")) {
      return Status::InvalidArgument("--hook: the payload has no \"hook_event_name\"");
    }
    j[kHookAgentField] = o.hook;
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  auto kind = ParseEventKind(o.kind);
  if (!kind || !(*kind == EventKind::kToolCall || *kind == EventKind::kToolResult ||
                 *kind == EventKind::kAnnotation)) {
    return Status::InvalidArgument("--kind must be tool.call, tool.result or annotation, not \"" + o.kind + "\"");
  }
  Event e;
  e.kind = *kind;
  e.tool = o.tool;
  e.server = o.server;
  e.text = o.text;
  e.request_id = o.request_id;
  e.is_error = o.is_error;
  if (!o.json.empty()) {
    AT_RETURN_IF_ERROR(CheckJsonBounds(o.json, "--json"));
    Json j = Json::parse(o.json, nullptr, false);
    if (j.is_discarded()) return Status::InvalidArgument("--json is not valid JSON: " + o.json.substr(0, 200));
    e.json = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  if (e.kind != EventKind::kAnnotation && e.tool.empty()) {
    return Status::InvalidArgument("--tool is required for " + o.kind);
  }
  return EventToJson(e);
}

int RunEmit(const EmitOptions& o) {
  if (!o.hook.empty() && HookServerName(o.hook).empty()) {
    return Fail("--hook must be claude-code, codex or gemini, not \"" + o.hook + "\"");
  }
  std::string socket = o.socket;
  if (socket.empty()) {
    const char* env = std::getenv(kEnvSocket);
    if (env != nullptr) socket = env;
  }
  if (socket.empty()) {
    if (!o.hook.empty()) {
      std::fprintf(stderr,
                   "agenttrace emit: warning: not recording (%s is not set); hook payload ignored. "
                   "Run the agent under `agenttrace record` to record its tool calls.\n",
                   kEnvSocket);
      return kExitOk;
    }
    return Fail(std::string("no event socket: emit must run under `agenttrace record` (which sets ") + kEnvSocket +
                "), or be given --socket PATH");
  }
  auto line = BuildLine(o);
  if (!line.ok()) return Fail(line.status().message());
  auto client = EventSocketClient::Connect(socket);
  if (!client.ok()) return Fail(client.status().message() + " (is the recording still running?)");
  Status st = (*client)->SendLine(*line);
  if (!st.ok()) return Fail(st.message());
  return kExitOk;
}

}  // namespace

void RegisterToolEventCommands(Cli& cli) {
  auto o = std::make_shared<EmitOptions>();
  CLI::App* sub = cli.app.add_subcommand(
      "emit", "send a tool event, or an agent hook payload from stdin, to the recording in progress");
  sub->add_option("--socket", o->socket, "event socket (default: $AGENTTRACE_SOCKET)");
  sub->add_option("--kind", o->kind, "tool.call, tool.result or annotation (default annotation)");
  sub->add_option("--tool", o->tool, "tool name");
  sub->add_option("--server", o->server, "server or framework the tool belongs to");
  sub->add_option("--json", o->json, "arguments (tool.call), result (tool.result) or data, as JSON");
  sub->add_option("--text", o->text, "free text (annotation)");
  sub->add_option("--request-id", o->request_id, "id pairing a tool.call with its tool.result, as JSON text");
  sub->add_flag("--is-error", o->is_error, "tool.result: the tool failed");
  sub->add_option("--hook", o->hook,
                  "read a hook payload of this agent from stdin: claude-code, codex or gemini; "
                  "exits 0 with a warning when not recording");
  sub->callback([&cli, o] { cli.run = [o] { return RunEmit(*o); }; });
}

}  // namespace agenttrace
