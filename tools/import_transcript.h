// `agenttrace import --format claude-code|codex FILE [--join SESSION]` (docs/cli.md "Importing agent
// transcripts"): the tool calls and results of an agent's own transcript (recorder/transcript.h) become
// a session of the store, written through a RecordingSink so that secrets in tool inputs are redacted
// exactly as in recorded tool calls.
//
// Without --join: a new session (recorder "transcript") with the tool events only.
// With --join SESSION: the store is append-only and hash-chained, so the recorded session is never
// changed; a new session is written that holds, first, an annotation naming the recorded session and
// the transcript, then the recorded session's events with the transcript's tool events merged in by
// wall-clock time (a recorded event first when the times are equal). Tool events the recorded session
// already has (recorded by an agent hook: same agent and same call id) are not added twice. The new
// session keeps the recorded one's metadata (command, host, exit status, state), with the label
// `--label`, else the recorded label with "+transcript" appended, so that `replay --label` does not
// count the run twice.
#ifndef AGENTTRACE_TOOLS_IMPORT_TRANSCRIPT_H_
#define AGENTTRACE_TOOLS_IMPORT_TRANSCRIPT_H_

#include <optional>
#include <string>

#include "tools/cli.h"

namespace agenttrace {

struct TranscriptImportOptions {
  std::string format;  // "claude-code", "codex"
  std::string input;   // a file, or "-" / "" for standard input
  std::string join;    // a session id or prefix; empty: a session of its own
  std::optional<std::string> label;
};

// Returns the exit code (tools/exit_codes.h), having printed the new session's id on standard output
// or the error on standard error: a malformed transcript line is exit 3 and leaves the partial session
// `incomplete`.
int ImportTranscript(const Cli& cli, const TranscriptImportOptions& opt);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_IMPORT_TRANSCRIPT_H_
