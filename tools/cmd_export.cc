// `agenttrace export SESSION`: a session as JSON lines (format/event_json.h), streamed one event at a
// time with large buffers so that millions of events go through in bounded memory. Other formats are
// handed to their own command paths (tools/export_chrome.h, tools/export_otlp.h).
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
#include "tools/export_otlp.h"
#include "tools/store_commands.h"

namespace agenttrace {
namespace {

struct ExportOptions {
  std::string session;
  std::string format = "jsonl";
  std::string output;
  std::string policy;         // chrome-trace and otlp: mark this policy's denies and asks
  std::string otlp_endpoint;  // otlp: POST to this OTLP/HTTP receiver instead of writing
};

int RunExport(const Cli& cli, const ExportOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "export");
  auto id = ResolveSession(**store, opt.session);
  if (!id.ok()) return ReportError(id.status(), "export");
  const std::string context = "export";  // store errors name the session themselves
  if (!opt.otlp_endpoint.empty() && opt.format != "otlp") {
    return ReportError(Status::InvalidArgument("--otlp-endpoint needs --format otlp"), context);
  }
  if (!opt.otlp_endpoint.empty() && !opt.output.empty()) {
    return ReportError(Status::InvalidArgument("--otlp-endpoint and -o are exclusive"), context);
  }
  if (opt.format == "chrome-trace") {
    return ExportChromeTrace(std::shared_ptr<Store>(std::move(*store)), *id, opt.policy, opt.output);
  }
  if (opt.format == "otlp") {
    return ExportOtlp(std::shared_ptr<Store>(std::move(*store)), *id, opt.policy, opt.output, opt.otlp_endpoint);
  }
  if (!opt.policy.empty()) {
    return ReportError(Status::InvalidArgument("--policy needs --format chrome-trace or otlp"), context);
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
  sub->add_option("--format", opt->format, "output format: jsonl (default), chrome-trace or otlp")
      ->check(CLI::IsMember({"jsonl", "chrome-trace", "otlp"}));
  sub->add_option("--policy", opt->policy,
                  "chrome-trace, otlp: replay against this policy and mark each deny and ask (YAML, "
                  "docs/policy.md)");
  sub->add_option("--otlp-endpoint", opt->otlp_endpoint,
                  "otlp: POST the traces to this OTLP/HTTP receiver (http://HOST:4318; /v1/traces is added "
                  "when the URL has no path)");
  sub->add_option("-o,--output", opt->output, "output file (default: standard output)");
  sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunExport(cli, *opt); }; });
}

}  // namespace agenttrace
