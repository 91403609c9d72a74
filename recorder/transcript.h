// Agent transcripts -> tool events: the producer behind `agenttrace import --format claude-code|codex`
// (docs/cli.md "Importing agent transcripts"). Agents that ran without agenttrace still wrote down
// which tools they called; this reads those files so that a policy can gate the run.
//
// Claude Code (`~/.claude/projects/<dir>/<session>.jsonl`): one JSON object per line with `type`,
// `timestamp` (ISO 8601), `cwd`, `sessionId`, `version` and `message`. Read:
//   type "assistant", message.content[] {type:"tool_use", id, name, input}        -> tool.call
//   type "user",      message.content[] {type:"tool_result", tool_use_id, content, is_error} -> tool.result
// Codex (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`): lines {timestamp, type, payload}. Read:
//   type "session_meta"  payload {id, cwd, cli_version}                         -> session facts
//   type "response_item" payload {type:"function_call", name, arguments (a JSON string), call_id}
//                         or {type:"custom_tool_call", name, input, call_id}     -> tool.call
//   type "response_item" payload {type:"function_call_output" | "custom_tool_call_output",
//                         call_id, output}                                       -> tool.result
//   type "event_msg"     payload {type:"mcp_tool_call_end", call_id, invocation {server, tool,
//                         arguments}, duration {secs, nanos}, result {"Ok": CallToolResult} |
//                         {"Err": message}}                                      -> tool.call + tool.result
// Every other line (messages, reasoning, token counts, summaries) is skipped. A call id seen twice
// (Codex logs an MCP call both as a function call and as an MCP event) gives one call and one result.
//
// The events look like the ones agent hooks record (recorder/hook_payloads.h), so one policy gates
// both: server = the agent ("claude-code", "codex"), tool = the tool's name (MCP tools through Codex
// as "mcp__SERVER__TOOL", Claude Code's own naming), request_id = the call id as a JSON string,
// method = "transcript", json = the arguments / the result (bounded as MCP results are; oversized
// ones become the truncation marker of recorder/jsonrpc_framing.h), wall_ns from the line's
// timestamp, duration_ns on a result whose call was seen. Secrets are not redacted here: the events
// go to the store through a RecordingSink (recorder/recording_sink.h), which redacts every tool event.
//
// Input is untrusted: lines are bounded by LineReader and checked by CheckJsonBounds before parsing
// (format/json_limits.h); a line that is not JSON is Corruption "FILE: line N: ...".
//
// Thread-safety: one reader per thread.
#ifndef AGENTTRACE_RECORDER_TRANSCRIPT_H_
#define AGENTTRACE_RECORDER_TRANSCRIPT_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "format/event.h"
#include "format/event_source.h"
#include "format/line_reader.h"
#include "format/status.h"

namespace agenttrace {

enum class TranscriptFormat { kClaudeCode, kCodex };

// "claude-code", "codex"; nullopt for anything else.
std::optional<TranscriptFormat> ParseTranscriptFormat(std::string_view name);
std::string_view TranscriptAgentName(TranscriptFormat format);

// "2025-06-01T10:00:00.123Z" (or with a +HH:MM offset, any number of fraction digits) -> ns since
// the epoch; nullopt when it is not such a time.
std::optional<int64_t> ParseIsoTime(std::string_view text);

struct TranscriptOptions {
  size_t max_arguments_bytes = 1u << 20;
  size_t max_result_bytes = 64u << 10;
};

// What the transcript says about the run (the first value seen of each).
struct TranscriptFacts {
  std::string agent_session_id;  // Claude Code sessionId, Codex session_meta id
  std::string agent_version;     // Claude Code version, Codex cli_version
  std::string cwd;
  int64_t first_ns = 0, last_ns = 0;  // the earliest and latest timestamps of any line
};

class TranscriptReader final : public EventSource {
 public:
  static Result<std::unique_ptr<TranscriptReader>> Open(const std::string& path, TranscriptFormat format,
                                                        TranscriptOptions options = {});
  static std::unique_ptr<TranscriptReader> FromLines(std::unique_ptr<LineReader> lines, TranscriptFormat format,
                                                     TranscriptOptions options = {});

  // The next tool event in file order (seq left 0: the writer numbers them), nullptr at the end.
  Result<const Event*> Next() override;

  const TranscriptFacts& facts() const { return facts_; }
  uint64_t lines_read() const { return lines_->line(); }
  uint64_t lines_skipped() const { return skipped_; }

 private:
  TranscriptReader(std::unique_ptr<LineReader> lines, TranscriptFormat format, TranscriptOptions options)
      : lines_(std::move(lines)), format_(format), options_(options) {}
  Status ParseLine(std::string_view line);
  Status ParseClaudeCode(const void* json, int64_t t);
  Status ParseCodex(const void* json, int64_t t);
  void AddCall(int64_t t, std::string tool, const std::string& id, std::string args_json);
  void AddResult(int64_t t, const std::string& id, std::string tool, std::string result_json, bool is_error);
  Status LineError(const std::string& what) const;

  std::unique_ptr<LineReader> lines_;
  TranscriptFormat format_;
  TranscriptOptions options_;
  TranscriptFacts facts_;
  std::deque<Event> pending_;
  Event current_;
  std::map<std::string, std::pair<int64_t, std::string>> calls_;  // call id -> (time, tool)
  std::set<std::string> answered_;
  uint64_t skipped_ = 0;
  bool done_ = false;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_TRANSCRIPT_H_
