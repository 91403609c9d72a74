#include "tools/import_transcript.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "format/line_reader.h"
#include "format/store.h"
#include "recorder/fingerprint_key.h"
#include "recorder/recording_sink.h"
#include "recorder/secrets.h"
#include "recorder/transcript.h"
#include "tools/exit_codes.h"
#include "tools/store_commands.h"

extern char** environ;

namespace agenttrace {
namespace {

struct Counts {
  uint64_t calls = 0, results = 0, duplicates = 0;
};

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Writes events into a new session through a RecordingSink; on failure leaves it incomplete.
class SessionOut {
 public:
  SessionOut(std::unique_ptr<RecordingSink> sink) : sink_(std::move(sink)) {}
  Status Append(const Event& e) {
    ++appended_;
    return sink_->Append(e);
  }
  int Fail(const Status& s, const std::string& context) {
    (void)sink_->FinishIncomplete(-1, 0);
    std::fprintf(stderr, "agenttrace: import: partial session %s left incomplete\n", sink_->id().ToString().c_str());
    return ReportError(s, context);
  }
  RecordingSink* sink() { return sink_.get(); }
  uint64_t appended() const { return appended_; }

 private:
  std::unique_ptr<RecordingSink> sink_;
  uint64_t appended_ = 0;
};

}  // namespace

int ImportTranscript(const Cli& cli, const TranscriptImportOptions& opt) {
  auto format = ParseTranscriptFormat(opt.format);
  if (!format) return ReportError(Status::InvalidArgument("unknown transcript format " + opt.format), "import");
  const bool from_stdin = opt.input.empty() || opt.input == "-";
  const std::string what = from_stdin ? std::string("standard input") : opt.input;
  const std::string context = "import " + what;
  std::unique_ptr<LineReader> lines;
  if (from_stdin) {
    lines = LineReader::FromFd(STDIN_FILENO, what);
  } else {
    auto l = LineReader::Open(opt.input);
    if (!l.ok()) return ReportError(l.status(), "import");
    lines = std::move(*l);
  }
  auto reader = TranscriptReader::FromLines(std::move(lines), *format);

  std::string dir = StoreDir(cli);
  auto store = Store::Open(dir);
  if (!store.ok()) return ReportError(store.status().WithContext("store " + dir), context);
  auto key = LoadFingerprintKey();
  if (!key.ok()) return ReportError(key.status().WithContext("fingerprint key"), context);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  SecretScanner scanner(*key, env);

  Counts counts;
  auto count = [&counts](const Event& e) { ++(e.kind == EventKind::kToolCall ? counts.calls : counts.results); };

  if (opt.join.empty()) {
    SessionInfo info;
    info.id = SessionId::NewV7();
    info.label = opt.label.value_or("");
    info.agent_name = std::string(TranscriptAgentName(*format));
    info.recorder = "transcript";
    info.exit_code = -1;  // a transcript does not say how the agent exited
    auto sink = RecordingSink::Create(**store, info, &scanner);
    if (!sink.ok()) return ReportError(sink.status(), context);
    SessionOut out(std::move(*sink));
    for (;;) {
      auto next = reader->Next();
      if (!next.ok()) return out.Fail(next.status(), "import");
      if (*next == nullptr) break;
      count(**next);
      if (Status s = out.Append(**next); !s.ok()) return out.Fail(s, context);
    }
    const TranscriptFacts& f = reader->facts();
    out.sink()->UpdateInfo([&](SessionInfo* s) {
      s->agent_version = f.agent_version;
      s->cwd = f.cwd;
      s->start_wall_ns = f.first_ns;
      s->end_wall_ns = f.last_ns;
      s->exit_code = -1;
      s->argv.clear();
      s->host.clear();
      s->user.clear();
    });
    if (Status s = out.sink()->Finish(-1, 0); !s.ok()) return out.Fail(s, context);
    const std::string sid = out.sink()->id().ToString();
    std::printf("%s\n", sid.c_str());
    std::fprintf(stderr,
                 "agenttrace: imported %" PRIu64 " tool calls and %" PRIu64 " results from %s (%" PRIu64
                 " lines, %" PRIu64 " without tool use) into session %s\n",
                 counts.calls, counts.results, what.c_str(), reader->lines_read() - 1, reader->lines_skipped(),
                 sid.c_str());
    return kExitOk;
  }

  // --join: the recorded session is read twice (its tool ids, then its events); the transcript once,
  // into memory (tool events only, a few per agent turn).
  auto id = ResolveSession(**store, opt.join);
  if (!id.ok()) return ReportError(id.status(), "import --join");
  auto recorded_info = (*store)->GetSession(*id);
  if (!recorded_info.ok()) return ReportError(recorded_info.status(), "import --join");
  std::set<std::pair<EventKind, std::string>> recorded_tools;  // hook-recorded (kind, call id)
  int64_t mono_minus_wall = 0;
  bool have_offset = false;
  {
    auto r = (*store)->OpenSession(*id);
    if (!r.ok()) return ReportError(r.status(), "import --join");
    for (;;) {
      auto next = (*r)->Next();
      if (!next.ok()) return ReportError(next.status(), "import --join");
      const Event* e = *next;
      if (e == nullptr) break;
      if (!have_offset && e->mono_ns != 0 && e->wall_ns != 0) {
        mono_minus_wall = e->mono_ns - e->wall_ns;
        have_offset = true;
      }
      if ((e->kind == EventKind::kToolCall || e->kind == EventKind::kToolResult) &&
          e->server == TranscriptAgentName(*format) && !e->request_id.empty()) {
        recorded_tools.emplace(e->kind, e->request_id);
      }
    }
  }
  std::vector<Event> added;
  for (;;) {
    auto next = reader->Next();
    if (!next.ok()) return ReportError(next.status(), "import");
    if (*next == nullptr) break;
    const Event& e = **next;
    if (!e.request_id.empty() && recorded_tools.count({e.kind, e.request_id})) {
      ++counts.duplicates;
      continue;
    }
    count(e);
    added.push_back(e);
    if (have_offset && added.back().wall_ns != 0) added.back().mono_ns = added.back().wall_ns + mono_minus_wall;
  }
  std::stable_sort(added.begin(), added.end(), [](const Event& a, const Event& b) { return a.wall_ns < b.wall_ns; });

  SessionInfo info = *recorded_info;
  const SessionInfo wanted = info;
  info.id = SessionId::NewV7();
  info.state = SessionState::kRecording;
  info.label = opt.label.value_or(recorded_info->label + "+transcript");
  auto sink = RecordingSink::Create(**store, info, &scanner);
  if (!sink.ok()) return ReportError(sink.status(), context);
  SessionOut out(std::move(*sink));
  const std::string joined_id = id->ToString();

  Event note;
  note.kind = EventKind::kAnnotation;
  note.wall_ns = wanted.start_wall_ns;
  if (have_offset && note.wall_ns != 0) note.mono_ns = note.wall_ns + mono_minus_wall;
  note.text = "joined recorded session " + joined_id + " with the " + std::string(TranscriptAgentName(*format)) +
              " transcript " + Basename(what);
  nlohmann::ordered_json j;
  j["joined_session"] = joined_id;
  j["transcript_format"] = TranscriptAgentName(*format);
  j["transcript"] = Basename(what);
  j["tool_events_added"] = added.size();
  j["tool_events_already_recorded"] = counts.duplicates;
  note.json = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (Status s = out.Append(note); !s.ok()) return out.Fail(s, context);

  size_t next_added = 0;
  auto r = (*store)->OpenSession(*id);
  if (!r.ok()) return out.Fail(r.status(), "import --join");
  for (;;) {
    auto next = (*r)->Next();
    if (!next.ok()) return out.Fail(next.status(), "import --join");
    const Event* e = *next;
    if (e == nullptr) break;
    while (next_added < added.size() && added[next_added].wall_ns < e->wall_ns) {
      if (Status s = out.Append(added[next_added++]); !s.ok()) return out.Fail(s, context);
    }
    if (Status s = out.Append(*e); !s.ok()) return out.Fail(s, context);
  }
  while (next_added < added.size()) {
    if (Status s = out.Append(added[next_added++]); !s.ok()) return out.Fail(s, context);
  }
  out.sink()->UpdateInfo([&](SessionInfo* s) { CopyRunFacts(wanted, s); });
  Status done = wanted.state == SessionState::kComplete
                    ? out.sink()->Finish(wanted.exit_code, wanted.exit_signal)
                    : out.sink()->FinishIncomplete(wanted.exit_code, wanted.exit_signal);
  if (!done.ok()) return ReportError(done, context);
  const std::string sid = out.sink()->id().ToString();
  std::printf("%s\n", sid.c_str());
  std::fprintf(stderr,
               "agenttrace: joined %zu tool events from %s (%" PRIu64
               " already recorded) with session %s into new session %s\n",
               added.size(), what.c_str(), counts.duplicates, joined_id.c_str(), sid.c_str());
  return kExitOk;
}

}  // namespace agenttrace
