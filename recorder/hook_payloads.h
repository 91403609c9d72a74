// Agent-framework hook payloads -> tool events.
//
// Claude Code, Codex CLI and Gemini CLI run a command before and after each tool use and give it a JSON
// object on stdin. `agenttrace emit --hook AGENT` forwards that object to the event socket, adding the
// field "agenttrace_hook" (kHookAgentField) naming the agent. Fields read (all documented by the
// agents; anything else is ignored):
//   hook_event_name  PreToolUse / PostToolUse / PostToolUseFailure (Claude Code, Codex),
//                    BeforeTool / AfterTool (Gemini CLI); any other name becomes an annotation
//   tool_name        Bash, Edit, Read, WebFetch, run_shell_command, mcp__server__tool ...
//   tool_input       the tool's arguments (object)
//   tool_response    the tool's result (PostToolUse / AfterTool)
//   tool_use_id      the agent's id of the call (Claude Code, Codex), used as request_id
//   session_id, cwd  the agent's own session and directory (kept in the annotation of other events)
// Without "agenttrace_hook" the agent is guessed: Before/AfterTool -> gemini-cli, a "turn_id" field ->
// codex, otherwise claude-code.
//
// Mapping: before-tool -> tool.call (server = "claude-code" | "codex" | "gemini-cli", tool = tool_name,
// method = hook_event_name, json = tool_input redacted); after-tool -> tool.result (json = tool_response,
// bounded like MCP results, is_error from the response's is_error/isError/error/success fields or a
// *Failure event); other hook events -> annotation (text = "hook <name>", json = payload bounded).
//
// Thread-safety: pure functions.
#ifndef AGENTTRACE_RECORDER_HOOK_PAYLOADS_H_
#define AGENTTRACE_RECORDER_HOOK_PAYLOADS_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "format/event.h"
#include "format/status.h"
#include "recorder/jsonrpc_framing.h"

namespace agenttrace {

inline constexpr char kHookAgentField[] = "agenttrace_hook";

// True when `line` looks like a hook payload (has a "hook_event_name" key) rather than an event.
bool LooksLikeHookPayload(std::string_view line);

// The server name recorded for an --hook value: "claude-code", "codex" or "gemini" (-> "gemini-cli").
// Empty for anything else.
std::string HookServerName(std::string_view hook_flag);

struct HookOptions {
  size_t max_result_bytes = 64u << 10;
  size_t max_arguments_bytes = kMaxRecordedArgumentsBytes;  // tool_input of a PreToolUse/BeforeTool
  std::function<void(std::string*)> redact;  // may be empty
};

// Converts one hook payload (a JSON object). InvalidArgument with the reason for anything else.
// Times, pid and seq are left for the caller.
Result<Event> EventFromHookPayload(std::string_view line, const HookOptions& options = {});

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_HOOK_PAYLOADS_H_
