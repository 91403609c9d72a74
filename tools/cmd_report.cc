// `agenttrace report` (docs/cli.md): replays sessions against a policy, as `replay` does, and writes
// the self-contained HTML report (replayer/html_report.h). Exits like replay: 0 promotable, 1 not.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "format/store.h"
#include "replayer/html_report.h"
#include "replayer/policy.h"
#include "replayer/replay.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/html_output.h"
#include "tools/select.h"

namespace agenttrace {
namespace {

struct ReportArgs {
  std::string policy;
  std::string label;
  std::vector<std::string> sessions;
  std::string output;
  unsigned threads = 0;
  CLI::Option* o_label = nullptr;
};

int RunReportCommand(const Cli& cli, const ReportArgs& a) {
  Policy policy;
  if (int rc = LoadPolicy(a.policy, &policy); rc != kExitOk) return rc;
  std::vector<SessionInput> inputs;
  std::shared_ptr<Store> store;
  const std::string* label = a.o_label->count() ? &a.label : nullptr;
  if (int rc = SelectSomeSessions(cli, a.sessions, label, &store, &inputs); rc != kExitOk) return rc;
  ReplayOptions opt;
  opt.threads = a.threads;
  opt.promotion = policy.promotion;
  opt.timeline = true;
  auto report = RunReplay(policy, inputs, opt);
  if (!report.ok()) {
    std::fprintf(stderr, "agenttrace: %s\n", report.status().message().c_str());
    return kExitBadPolicy;
  }
  if (int rc = WriteHtmlReport(a.output, policy, *report, inputs); rc != kExitOk) return rc;
  std::printf("%s: %zu session(s), verdict: %s\n", a.output.c_str(), report->sessions.size(),
              report->promotable ? "promotable" : "NOT promotable");
  if (!report->first_error.ok()) {
    std::fprintf(stderr, "agenttrace: %s\n", report->first_error.ToString().c_str());
    return report->first_error.code() == StatusCode::kCorruption ? kExitCorrupt : kExitUsage;
  }
  return report->promotable ? kExitOk : kExitNotPromotable;
}

}  // namespace

int WriteHtmlReport(const std::string& path, const Policy& policy, const ReplayReport& report,
                    const std::vector<SessionInput>& inputs) {
  auto diffs = ComputeHtmlDiffs(report, inputs, policy);
  if (!diffs.ok()) {
    std::fprintf(stderr, "agenttrace: html report: %s\n", diffs.status().message().c_str());
    return kExitBadPolicy;
  }
  return WriteFile(path, RenderHtml(report, *diffs)) ? kExitOk : kExitUsage;
}

void RegisterReportCommands(Cli& cli) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* sub = cli.app.add_subcommand("report", "replay sessions against a policy and write an HTML report");
  AddStoreOption(sub, cli);
  sub->add_option("--policy", a->policy, "policy file (YAML, docs/policy.md)")->required();
  a->o_label = sub->add_option("--label", a->label, "the sessions with this label");
  sub->add_option("sessions", a->sessions, "session ids/prefixes, or JSON-lines export files (default: all)");
  sub->add_option("-o,--output", a->output, "the HTML file to write")->required();
  sub->add_option("--threads", a->threads, "worker threads (default: hardware concurrency)");
  sub->callback([&cli, a] { cli.run = [&cli, a] { return RunReportCommand(cli, *a); }; });
}

}  // namespace agenttrace
