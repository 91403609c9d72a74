// The trace store's commands: ls, show, export, import, verify, stats (docs/cli.md).
//
// Read commands open the store read-only and never create it: a missing directory is a usage error.
// Sessions are named by their full id or a unique prefix of it. Export and import speak the JSON-lines
// form of format/event_json.h; both stream (one event in memory at a time) with large buffers, so a
// session of millions of events goes through in bounded memory. `export --format chrome-trace` is
// handed to tools/export_chrome.cc.
//
// Import reads through JsonlReader (format/jsonl_reader.h, the checks replay of .jsonl files shares),
// writes events as it reads them and finishes the session only once every line was read and
// checked: a bad line (exit 3, "FILE: line N: ...") leaves the partial session in the store in state
// `incomplete`, never `complete` (the store has no delete; the message names the partial session).
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/event.h"
#include "format/event_json.h"
#include "format/event_text.h"
#include "format/jsonl_reader.h"
#include "format/key_file.h"
#include "format/session.h"
#include "format/signing.h"
#include "format/status.h"
#include "format/store.h"
#include "format/sys.h"
#include "format/text_escape.h"
#include "format/unique_fd.h"
#include "format/output_file.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/export_chrome.h"

namespace agenttrace {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kShowMaxFieldBytes = 200;      // show: longer JSON/text fields are cut

// ---------------------------------------------------------------------------------------------
// Store access.

bool DirectoryExists(const std::string& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Opens the store for a read command; never creates it.
Result<std::unique_ptr<Store>> OpenStoreForRead(const Cli& cli) {
  std::string dir = StoreDir(cli);
  if (!DirectoryExists(dir)) return Status::NotFound("no trace store at " + dir);
  StoreOptions options;
  options.read_only = true;
  auto store = Store::Open(dir, options);
  if (!store.ok()) return store.status().WithContext("store " + dir);
  return store;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// Resolves a full id or unique prefix. NotFound and ambiguity come back with messages for people
// (an ambiguous prefix lists its candidates); both map to exit 2.
Result<SessionId> ResolveSession(Store& store, std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty session id");
  auto id = store.Resolve(text);
  if (id.ok()) return id;
  if (id.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("no session matches \"" + std::string(text) + "\" in " + store.dir());
  }
  if (id.status().code() != StatusCode::kInvalidArgument) return id.status();
  // Ambiguous (or otherwise rejected): list what the prefix matches, to help the user choose.
  std::string prefix = ToLower(text);
  std::string candidates;
  size_t n = 0;
  if (auto all = store.ListSessions(); all.ok()) {
    for (const SessionInfo& s : *all) {
      std::string sid = s.id.ToString();
      if (sid.compare(0, prefix.size(), prefix) != 0) continue;
      if (++n <= 20) candidates += "\n  " + sid + (s.label.empty() ? "" : "  " + s.label);
    }
  }
  if (n < 2) return id.status();
  if (n > 20) candidates += "\n  ... and " + std::to_string(n - 20) + " more";
  return Status::InvalidArgument("session prefix \"" + std::string(text) + "\" is ambiguous; it matches " +
                                 std::to_string(n) + " sessions:" + candidates);
}

// ---------------------------------------------------------------------------------------------
// Formatting for people.

// "2026-11-26T20:29:45.123Z"; "-" for 0.
std::string FormatUtc(int64_t wall_ns) {
  if (wall_ns == 0) return "-";
  int64_t secs = wall_ns / 1000000000;
  int64_t ms = (wall_ns % 1000000000) / 1000000;
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// "+12.345ms" for a delta of 12345678 ns (negative deltas, from clock steps, keep their sign).
void FormatRelativeTime(int64_t delta_ns, char* buf, size_t size) {
  uint64_t abs = delta_ns < 0 ? 0 - static_cast<uint64_t>(delta_ns) : static_cast<uint64_t>(delta_ns);
  std::snprintf(buf, size, "%c%" PRIu64 ".%03" PRIu64 "ms", delta_ns < 0 ? '-' : '+', abs / 1000000,
                (abs / 1000) % 1000);
}

std::string ExitText(const SessionInfo& s) {
  if (s.exit_signal != 0) return SignalName(s.exit_signal);
  if (s.exit_code < 0) return "-";
  return std::to_string(s.exit_code);
}

std::string AgentText(const SessionInfo& s) {
  std::string out;
  AppendEscaped(s.agent_name.empty() ? std::string_view("-") : std::string_view(s.agent_name), &out);
  if (!s.agent_version.empty()) {
    out.push_back(' ');
    AppendEscaped(s.agent_version, &out);
  }
  return out;
}

// Recorded text for people, in the escaped form of format/text_escape.h.
std::string Printable(std::string_view s) { return Escaped(s); }

// ---------------------------------------------------------------------------------------------
// Commands.

struct LsOptions {
  bool json = false;
  std::string label;
  bool label_set = false;
};

Json SessionToJson(const SessionInfo& s) {
  Json j;
  j["id"] = s.id.ToString();
  j["start"] = FormatUtc(s.start_wall_ns);
  j["start_ns"] = s.start_wall_ns;
  j["end_ns"] = s.end_wall_ns;
  j["state"] = SessionStateName(s.state);
  j["label"] = s.label;
  j["agent_name"] = s.agent_name;
  j["agent_version"] = s.agent_version;
  j["events"] = s.event_count;
  j["chunks"] = s.chunk_count;
  j["raw_bytes"] = s.raw_bytes;
  j["stored_bytes"] = s.stored_bytes;
  j["exit_code"] = s.exit_code;
  j["exit_signal"] = s.exit_signal;
  j["argv"] = s.argv;
  j["cwd"] = s.cwd;
  j["host"] = s.host;
  j["user"] = s.user;
  j["recorder"] = s.recorder;
  // Which key signed the head (verify --pubkey checks it); absent when unsigned.
  if (!s.signer_key.empty()) {
    j["signer_key"] = BytesToHex(reinterpret_cast<const uint8_t*>(s.signer_key.data()), s.signer_key.size());
  }
  return j;
}

int RunLs(const Cli& cli, const LsOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "ls");
  auto sessions = (*store)->ListSessions();
  if (!sessions.ok()) return ReportError(sessions.status(), "ls");
  std::vector<const SessionInfo*> shown;
  for (const SessionInfo& s : *sessions) {
    if (opt.label_set && s.label != opt.label) continue;
    shown.push_back(&s);
  }
  std::sort(shown.begin(), shown.end(), [](const SessionInfo* a, const SessionInfo* b) { return a->id < b->id; });
  std::string out;
  if (opt.json) {
    Json arr = Json::array();
    for (const SessionInfo* s : shown) arr.push_back(SessionToJson(*s));
    out = arr.dump(2, ' ', false, Json::error_handler_t::replace);
    out.push_back('\n');
  } else {
    constexpr size_t kCols = 8;
    std::vector<std::array<std::string, kCols>> rows;
    rows.push_back({"ID", "START (UTC)", "STATE", "LABEL", "AGENT", "EVENTS", "EXIT", "COMMAND"});
    for (const SessionInfo* s : shown) {
      rows.push_back({s->id.ToString(), FormatUtc(s->start_wall_ns), std::string(SessionStateName(s->state)),
                      s->label.empty() ? "-" : Printable(s->label), AgentText(*s), std::to_string(s->event_count),
                      ExitText(*s), ShellJoin(s->argv)});
    }
    std::array<size_t, kCols> width{};
    for (const auto& r : rows) {
      for (size_t c = 0; c < kCols; ++c) width[c] = std::max(width[c], r[c].size());
    }
    for (const auto& r : rows) {
      std::string line;
      for (size_t c = 0; c < kCols; ++c) {
        line += r[c];
        if (c + 1 < kCols) line.append(width[c] - r[c].size() + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line;
      out.push_back('\n');
    }
  }
  Status s = WriteAll(STDOUT_FILENO, out, "standard output");
  return s.ok() ? kExitOk : ReportError(s, "ls");
}

struct ShowOptions {
  std::string session;
  uint64_t limit = 0;  // 0: all
};

int RunShow(const Cli& cli, const ShowOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "show");
  auto id = ResolveSession(**store, opt.session);
  if (!id.ok()) return ReportError(id.status(), "show");
  auto reader = (*store)->OpenSession(*id);
  if (!reader.ok()) return ReportError(reader.status(), "show");
  const SessionInfo& s = (*reader)->info();

  auto out_or = OutputFile::Open("-");
  if (!out_or.ok()) return ReportError(out_or.status(), "show");
  OutputFile& output = **out_or;
  std::string* out = output.buffer();
  auto field = [&](const char* name, const std::string& value) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%-9s ", name);
    out->append(buf);
    out->append(value);
    out->push_back('\n');
  };
  field("session", s.id.ToString());
  field("label", s.label.empty() ? "-" : Printable(s.label));
  field("agent", AgentText(s));
  field("state", std::string(SessionStateName(s.state)));
  field("command", s.argv.empty() ? "-" : ShellJoin(s.argv));
  field("cwd", s.cwd.empty() ? "-" : Printable(s.cwd));
  std::string where = Printable(s.user) + "@" + Printable(s.host);
  if (!s.kernel.empty() || !s.arch.empty()) where += "  " + Printable(s.kernel) + " " + Printable(s.arch);
  field("host", where);
  field("start", FormatUtc(s.start_wall_ns));
  std::string end = FormatUtc(s.end_wall_ns);
  if (s.end_wall_ns != 0 && s.start_wall_ns != 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (%.3fs)", static_cast<double>(s.end_wall_ns - s.start_wall_ns) / 1e9);
    end += buf;
  }
  field("end", end);
  field("exit", ExitText(s));
  field("events", std::to_string(s.event_count) + " in " + std::to_string(s.chunk_count) + " chunks, " +
                      std::to_string(s.stored_bytes) + " bytes stored (" + std::to_string(s.raw_bytes) + " raw)");
  field("recorder", s.recorder.empty() ? "-" : Printable(s.recorder));
  std::string env = std::to_string(s.env_names.size()) + " variables";
  if (!s.secret_env_names.empty()) {
    env += "; secret: ";
    for (size_t i = 0; i < s.secret_env_names.size(); ++i) {
      if (i > 0) env += ", ";
      env += Printable(s.secret_env_names[i]);
    }
  }
  field("env", env);
  out->push_back('\n');

  uint64_t shown = 0;
  bool have_base = false;
  int64_t base_mono = 0, base_wall = 0;
  for (;;) {
    if (opt.limit != 0 && shown == opt.limit) break;
    auto next = (*reader)->Next();
    if (!next.ok()) {
      Status flushed = output.Flush();
      (void)flushed;  // the read error is the one to report
      return ReportError(next.status(), "show");
    }
    const Event* e = *next;
    if (e == nullptr) break;
    if (!have_base) {
      base_mono = e->mono_ns;
      base_wall = e->wall_ns;
      have_base = true;
    }
    // Monotonic time orders events of one host; wall time is the fallback for hand-made input.
    int64_t delta = (e->mono_ns != 0 && base_mono != 0) ? e->mono_ns - base_mono : e->wall_ns - base_wall;
    char rel[48];
    FormatRelativeTime(delta, rel, sizeof rel);
    char buf[128];
    std::snprintf(buf, sizeof buf, "%-12s %7d  %-16s ", rel, e->pid, EventKindName(e->kind).data());
    out->append(buf);
    AppendEventText(*e, kShowMaxFieldBytes, out);
    out->push_back('\n');
    ++shown;
    if (Status st = output.MaybeFlush(); !st.ok()) return ReportError(st, "show");
  }
  if (opt.limit != 0 && shown == opt.limit && s.event_count > shown) {
    out->append("... " + std::to_string(s.event_count - shown) + " more events (--limit " +
                std::to_string(opt.limit) + ")\n");
  }
  Status st = output.Commit();
  return st.ok() ? kExitOk : ReportError(st, "show");
}

struct ExportOptions {
  std::string session;
  std::string format = "jsonl";
  std::string output;
  std::string policy;  // chrome-trace only: mark this policy's denies and asks
};

int RunExport(const Cli& cli, const ExportOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "export");
  auto id = ResolveSession(**store, opt.session);
  if (!id.ok()) return ReportError(id.status(), "export");
  const std::string context = "export";  // store errors name the session themselves
  if (opt.format == "chrome-trace") {
    return ExportChromeTrace(std::shared_ptr<Store>(std::move(*store)), *id, opt.policy, opt.output);
  }
  if (!opt.policy.empty()) {
    return ReportError(Status::InvalidArgument("--policy needs --format chrome-trace"), context);
  }
  auto reader = (*store)->OpenSession(*id);
  if (!reader.ok()) return ReportError(reader.status(), context);
  auto output = OutputFile::Open(opt.output);
  if (!output.ok()) return ReportError(output.status(), context);
  std::string* out = (*output)->buffer();
  out->append(SessionHeaderToJson((*reader)->info()));
  out->push_back('\n');
  for (;;) {
    auto next = (*reader)->Next();
    if (!next.ok()) return ReportError(next.status(), context);  // a file output is removed
    const Event* e = *next;
    if (e == nullptr) break;
    AppendEventJson(*e, out);
    out->push_back('\n');
    if (Status s = (*output)->MaybeFlush(); !s.ok()) return ReportError(s, context);
  }
  Status s = (*output)->Commit();
  return s.ok() ? kExitOk : ReportError(s, context);
}

struct ImportOptions {
  std::string format = "jsonl";
  std::string input = "-";
  bool new_id = false;
};

int RunImport(const Cli& cli, const ImportOptions& opt) {
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
    s->agent_name = wanted.agent_name;
    s->agent_version = wanted.agent_version;
    s->argv = wanted.argv;
    s->cwd = wanted.cwd;
    s->home = wanted.home;
    s->tmp = wanted.tmp;
    s->host = wanted.host;
    s->user = wanted.user;
    s->kernel = wanted.kernel;
    s->arch = wanted.arch;
    s->start_wall_ns = wanted.start_wall_ns;
    s->end_wall_ns = wanted.end_wall_ns;
    s->exit_code = wanted.exit_code;
    s->exit_signal = wanted.exit_signal;
    s->env_names = wanted.env_names;
    s->secret_env_names = wanted.secret_env_names;
    s->recorder = wanted.recorder;
  });
  Status done = final_state == SessionState::kComplete ? writer->Finish(wanted.exit_code, wanted.exit_signal)
                                                       : writer->Flush();
  if (!done.ok()) return fail(done);
  writer.reset();  // an unfinished writer that is gone: the session reads back as incomplete
  std::printf("%s\n", sid.c_str());
  std::fprintf(stderr, "agenttrace: imported %" PRIu64 " events into session %s (%s)\n", expected_seq,
               sid.c_str(), SessionStateName(final_state == SessionState::kComplete ? SessionState::kComplete
                                                                                    : SessionState::kIncomplete)
                                .data());
  return kExitOk;
}

struct VerifyOptions {
  std::vector<std::string> sessions;
  std::string pubkey;  // --pubkey: also check each session head's signature against this key
};

int RunVerify(const Cli& cli, const VerifyOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "verify");
  std::vector<SessionId> ids;
  if (opt.sessions.empty()) {
    auto all = (*store)->ListSessions();
    if (!all.ok()) return ReportError(all.status(), "verify");
    for (const SessionInfo& s : *all) ids.push_back(s.id);
  } else {
    for (const std::string& text : opt.sessions) {
      auto id = ResolveSession(**store, text);
      if (!id.ok()) return ReportError(id.status(), "verify");
      ids.push_back(*id);
    }
  }
  std::optional<PublicKey> pubkey;
  if (!opt.pubkey.empty()) {
    auto k = LoadPublicKey(opt.pubkey);
    if (!k.ok()) return ReportError(k.status(), "verify --pubkey");
    pubkey = *k;
  }
  int rc = kExitOk;
  std::string out;
  for (const SessionId& id : ids) {
    auto r = (*store)->Verify(id);
    std::string sid = id.ToString();
    if (!r.ok()) {
      if (r.status().code() != StatusCode::kCorruption) {
        (void)WriteAll(STDOUT_FILENO, out, "standard output");
        return ReportError(r.status(), "verify " + sid);
      }
      out += sid + " BROKEN: " + Printable(r.status().message()) + "\n";
      rc = kExitCorrupt;
      continue;
    }
    // The signature is checked against the very record the chain was recomputed against.
    Status signature = r->ok && pubkey ? VerifySessionHead(r->record, *pubkey) : Status::Ok();
    if (r->ok && !signature.ok()) {
      out += sid + " BAD SIGNATURE: " + Printable(signature.message()) + "\n";
      rc = kExitCorrupt;
    } else if (r->ok) {
      out += sid + " ok (" + std::to_string(r->chunks_checked) + " chunks, " + std::to_string(r->events_checked) +
             " events" + (pubkey ? ", signed" : "") + ")\n";
    } else {
      out += sid + " BROKEN";
      if (r->first_bad_chunk) out += " at chunk " + std::to_string(*r->first_bad_chunk);
      out += ": " + (r->problem.empty() ? std::string("verification failed") : Printable(r->problem)) + "\n";
      rc = kExitCorrupt;
    }
  }
  Status s = WriteAll(STDOUT_FILENO, out, "standard output");
  if (!s.ok()) return ReportError(s, "verify");
  return rc;
}

struct StatsOptions {
  bool json = false;
};

int RunStats(const Cli& cli, const StatsOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "stats");
  auto st = (*store)->Stats();
  if (!st.ok()) return ReportError(st.status(), "stats");
  const StoreStats& s = *st;
  double per_event = s.events ? static_cast<double>(s.stored_bytes) / static_cast<double>(s.events) : 0.0;
  double raw_per_event = s.events ? static_cast<double>(s.raw_bytes) / static_cast<double>(s.events) : 0.0;
  double ratio = s.stored_bytes ? static_cast<double>(s.raw_bytes) / static_cast<double>(s.stored_bytes) : 0.0;
  std::string out;
  if (opt.json) {
    Json j;
    j["store"] = (*store)->dir();
    j["sessions"] = s.sessions;
    j["events"] = s.events;
    j["chunks"] = s.chunks;
    j["raw_bytes"] = s.raw_bytes;
    j["stored_bytes"] = s.stored_bytes;
    j["file_bytes"] = s.file_bytes;
    j["bytes_per_event"] = per_event;
    j["raw_bytes_per_event"] = raw_per_event;
    j["compression_ratio"] = ratio;
    out = j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  } else {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "store              %s\n"
                  "sessions           %" PRIu64 "\n"
                  "events             %" PRIu64 "\n"
                  "chunks             %" PRIu64 "\n"
                  "raw bytes          %" PRIu64 "\n"
                  "stored bytes       %" PRIu64 "\n"
                  "file bytes         %" PRIu64 "\n"
                  "bytes per event    %.1f stored, %.1f raw\n"
                  "compression ratio  %.2f\n",
                  Printable((*store)->dir()).c_str(), s.sessions, s.events, s.chunks, s.raw_bytes, s.stored_bytes,
                  s.file_bytes, per_event, raw_per_event, ratio);
    out = buf;
  }
  Status w = WriteAll(STDOUT_FILENO, out, "standard output");
  return w.ok() ? kExitOk : ReportError(w, "stats");
}

}  // namespace

void RegisterStoreCommands(Cli& cli) {
  {
    auto opt = std::make_shared<LsOptions>();
    CLI::App* sub = cli.app.add_subcommand("ls", "list the sessions of the store");
    AddStoreOption(sub, cli);
    sub->add_flag("--json", opt->json, "print one JSON array of session objects");
    CLI::Option* label = sub->add_option("--label", opt->label, "only sessions with this label");
    sub->callback([&cli, opt, label] {
      opt->label_set = label->count() > 0;
      cli.run = [&cli, opt] { return RunLs(cli, *opt); };
    });
  }
  {
    auto opt = std::make_shared<ShowOptions>();
    CLI::App* sub = cli.app.add_subcommand("show", "print a session's metadata and timeline");
    AddStoreOption(sub, cli);
    sub->add_option("session", opt->session, "session id or unique prefix")->required();
    sub->add_option("--limit", opt->limit, "print at most N events (0: all)");
    sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunShow(cli, *opt); }; });
  }
  {
    auto opt = std::make_shared<ExportOptions>();
    CLI::App* sub =
        cli.app.add_subcommand("export", "write a session as JSON lines or as a Chrome trace (Perfetto)");
    AddStoreOption(sub, cli);
    sub->add_option("session", opt->session, "session id or unique prefix")->required();
    sub->add_option("--format", opt->format, "output format: jsonl (default) or chrome-trace")
        ->check(CLI::IsMember({"jsonl", "chrome-trace"}));
    sub->add_option("--policy", opt->policy,
                    "chrome-trace: replay against this policy and mark each deny and ask (YAML, docs/policy.md)");
    sub->add_option("-o,--output", opt->output, "output file (default: standard output)");
    sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunExport(cli, *opt); }; });
  }
  {
    auto opt = std::make_shared<ImportOptions>();
    CLI::App* sub = cli.app.add_subcommand("import", "read a JSON-lines session into the store");
    AddStoreOption(sub, cli);
    sub->add_option("--format", opt->format, "input format")->check(CLI::IsMember({"jsonl"}));
    sub->add_option("file", opt->input, "input file, or - for standard input (default)");
    sub->add_flag("--new-id", opt->new_id, "give the session a fresh id instead of the header's");
    sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunImport(cli, *opt); }; });
  }
  {
    auto opt = std::make_shared<VerifyOptions>();
    CLI::App* sub = cli.app.add_subcommand("verify", "recompute sessions' hash chains (all when none given)");
    AddStoreOption(sub, cli);
    sub->add_option("sessions", opt->sessions, "session ids or unique prefixes");
    sub->add_option("--pubkey", opt->pubkey,
                    "also require each session head to be signed by this Ed25519 public key (a .pub file from "
                    "`agenttrace key generate`, or its 64 hex digits)");
    sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunVerify(cli, *opt); }; });
  }
  {
    auto opt = std::make_shared<StatsOptions>();
    CLI::App* sub = cli.app.add_subcommand("stats", "print the store's size and compression figures");
    AddStoreOption(sub, cli);
    sub->add_flag("--json", opt->json, "print one JSON object");
    sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunStats(cli, *opt); }; });
  }
}

}  // namespace agenttrace
