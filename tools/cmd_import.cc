// `agenttrace import [FILE]`: a JSON-lines session (format/event_json.h) into the store (docs/cli.md).
// Agent transcripts (--format claude-code|codex) are handed to tools/import_transcript.h.
//
// Import reads through JsonlReader (format/jsonl_reader.h, the checks replay of .jsonl files shares),
// writes events as it reads them and finishes the session only once every line was read and
// checked: a bad line (exit 3, "FILE: line N: ...") leaves the partial session in the store in state
// `incomplete`, never `complete` (the store has no delete; the message names the partial session).
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "format/event.h"
#include "format/jsonl_reader.h"
#include "format/status.h"
#include "format/store.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/import_transcript.h"
#include "tools/store_commands.h"

namespace agenttrace {
namespace {

struct ImportOptions {
  std::string format = "jsonl";
  std::string input = "-";
  bool new_id = false;
  std::string join;   // transcripts: merge into a copy of this recorded session
  std::string label;  // transcripts: the new session's label
  bool label_set = false;
};

int RunImport(const Cli& cli, const ImportOptions& opt) {
  if (opt.format != "jsonl") {
    if (opt.new_id) return ReportError(Status::InvalidArgument("--new-id is for --format jsonl"), "import");
    TranscriptImportOptions t{opt.format, opt.input, opt.join, std::nullopt};
    if (opt.label_set) t.label = opt.label;
    return ImportTranscript(cli, t);
  }
  if (!opt.join.empty() || opt.label_set) {
    return ReportError(Status::InvalidArgument("--join and --label are for --format claude-code or codex"), "import");
  }
  const bool from_stdin = opt.input.empty() || opt.input == "-";
  const std::string what = from_stdin ? std::string("standard input") : opt.input;
  const std::string context = "import " + what;
  // Line 1: the header. Nothing is written to the store before it parsed. Reader errors name the
  // input and line themselves.
  auto reader_or = from_stdin ? JsonlReader::FromFd(STDIN_FILENO, what) : JsonlReader::Open(opt.input);
  if (!reader_or.ok()) return ReportError(reader_or.status(), "import");
  JsonlReader& reader = **reader_or;
  SessionInfo info = reader.info();
  const SessionState final_state = info.state;

  std::string dir = StoreDir(cli);
  auto store = Store::Open(dir);
  if (!store.ok()) return ReportError(store.status().WithContext("store " + dir), context);
  if (opt.new_id || info.id == SessionId{}) {
    info.id = SessionId::NewV7();
  } else {
    auto existing = (*store)->GetSession(info.id);
    if (existing.ok()) {
      return ReportError(Status::InvalidArgument("session " + info.id.ToString() + " already exists in " + dir +
                                                 " (use --new-id to import it under a fresh id)"),
                         context);
    }
    if (existing.status().code() != StatusCode::kNotFound) return ReportError(existing.status(), context);
  }
  info.state = SessionState::kRecording;
  const SessionInfo wanted = info;
  auto writer_or = (*store)->CreateSession(info);
  if (!writer_or.ok()) return ReportError(writer_or.status(), context);
  std::unique_ptr<SessionWriter> writer = std::move(writer_or).value();
  const std::string sid = writer->info().id.ToString();

  // On any failure below the partial session stays `incomplete` (the writer is dropped unfinished).
  auto fail = [&](const Status& s, const char* where = nullptr) {
    Status flushed = writer->Flush();
    (void)flushed;  // best effort: keep what was read before the error inspectable
    writer.reset();
    std::fprintf(stderr, "agenttrace: import: partial session %s left incomplete\n", sid.c_str());
    return ReportError(s, where != nullptr ? std::string(where) : context);
  };

  // The reader checks each line, the dense seq and the header's event count (format/jsonl_reader.h).
  uint64_t expected_seq = 0;
  for (;;) {
    auto next = reader.Next();
    if (!next.ok()) return fail(next.status(), "import");
    const Event* event = *next;
    if (event == nullptr) break;
    const std::string where = "line " + std::to_string(reader.line());
    auto seq = writer->Append(*event);
    if (!seq.ok()) return fail(seq.status().WithContext(where));
    if (*seq != expected_seq) {
      return fail(Status::Internal("store assigned seq " + std::to_string(*seq) + " to " + where + ", expected " +
                                   std::to_string(expected_seq)));
    }
    ++expected_seq;
  }

  // Restore the recorded facts the writer does not derive itself.
  writer->UpdateInfo([&](SessionInfo* s) {
    s->label = wanted.label;
    CopyRunFacts(wanted, s);
  });
  Status done =
      final_state == SessionState::kComplete ? writer->Finish(wanted.exit_code, wanted.exit_signal) : writer->Flush();
  if (!done.ok()) return fail(done);
  writer.reset();  // an unfinished writer that is gone: the session reads back as incomplete
  std::printf("%s\n", sid.c_str());
  std::fprintf(
      stderr, "agenttrace: imported %" PRIu64 " events into session %s (%s)\n", expected_seq, sid.c_str(),
      SessionStateName(final_state == SessionState::kComplete ? SessionState::kComplete : SessionState::kIncomplete)
          .data());
  return kExitOk;
}

}  // namespace

void RegisterImportCommand(Cli& cli) {
  auto opt = std::make_shared<ImportOptions>();
  CLI::App* sub =
      cli.app.add_subcommand("import", "read a JSON-lines session, or an agent's transcript, into the store");
  AddStoreOption(sub, cli);
  sub->add_option("--format", opt->format,
                  "input format: jsonl (default; an agenttrace export), claude-code (a Claude Code session "
                  "transcript) or codex (a Codex rollout file)")
      ->check(CLI::IsMember({"jsonl", "claude-code", "codex"}));
  sub->add_option("file", opt->input, "input file, or - for standard input (default)");
  sub->add_flag("--new-id", opt->new_id, "give the session a fresh id instead of the header's");
  sub->add_option("--join", opt->join,
                  "transcripts: write a new session holding this recorded session's events with the "
                  "transcript's tool calls merged in by time");
  CLI::Option* label = sub->add_option("--label", opt->label, "transcripts: the new session's label");
  sub->callback([&cli, opt, label] {
    opt->label_set = label->count() > 0;
    cli.run = [&cli, opt] { return RunImport(cli, *opt); };
  });
}

}  // namespace agenttrace
