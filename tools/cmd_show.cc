// `agenttrace show SESSION`: a session's metadata and its timeline for people (docs/cli.md); each
// event in the one text form of format/event_text.h.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "format/event.h"
#include "format/event_text.h"
#include "format/output_file.h"
#include "format/status.h"
#include "format/store.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/store_commands.h"

namespace agenttrace {
namespace {

constexpr size_t kShowMaxFieldBytes = 200;  // show: longer JSON/text fields are cut

// "+12.345ms" for a delta of 12345678 ns (negative deltas, from clock steps, keep their sign).
void FormatRelativeTime(int64_t delta_ns, char* buf, size_t size) {
  uint64_t abs = delta_ns < 0 ? 0 - static_cast<uint64_t>(delta_ns) : static_cast<uint64_t>(delta_ns);
  std::snprintf(buf, size, "%c%" PRIu64 ".%03" PRIu64 "ms", delta_ns < 0 ? '-' : '+', abs / 1000000,
                (abs / 1000) % 1000);
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
    out->append("... " + std::to_string(s.event_count - shown) + " more events (--limit " + std::to_string(opt.limit) +
                ")\n");
  }
  Status st = output.Commit();
  return st.ok() ? kExitOk : ReportError(st, "show");
}

}  // namespace

void RegisterShowCommand(Cli& cli) {
  auto opt = std::make_shared<ShowOptions>();
  CLI::App* sub = cli.app.add_subcommand("show", "print a session's metadata and timeline");
  AddStoreOption(sub, cli);
  sub->add_option("session", opt->session, "session id or unique prefix")->required();
  sub->add_option("--limit", opt->limit, "print at most N events (0: all)");
  sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunShow(cli, *opt); }; });
}

}  // namespace agenttrace
