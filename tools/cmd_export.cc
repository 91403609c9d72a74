// `agenttrace export SESSION`: a session as JSON lines (format/event_json.h), streamed one event at a
// time with large buffers so that millions of events go through in bounded memory. Other formats are
// handed to their own command paths (tools/export_chrome.h).
#include <memory>
#include <string>

#include "format/event.h"
#include "format/event_json.h"
#include "format/output_file.h"
#include "format/status.h"
#include "format/store.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/export_chrome.h"
#include "tools/store_commands.h"

namespace agenttrace {
namespace {

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

}  // namespace

void RegisterExportCommand(Cli& cli) {
  auto opt = std::make_shared<ExportOptions>();
  CLI::App* sub = cli.app.add_subcommand("export", "write a session as JSON lines or as a Chrome trace (Perfetto)");
  AddStoreOption(sub, cli);
  sub->add_option("session", opt->session, "session id or unique prefix")->required();
  sub->add_option("--format", opt->format, "output format: jsonl (default) or chrome-trace")
      ->check(CLI::IsMember({"jsonl", "chrome-trace"}));
  sub->add_option("--policy", opt->policy,
                  "chrome-trace: replay against this policy and mark each deny and ask (YAML, docs/policy.md)");
  sub->add_option("-o,--output", opt->output, "output file (default: standard output)");
  sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunExport(cli, *opt); }; });
}

}  // namespace agenttrace
