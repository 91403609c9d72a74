// `agenttrace diff` (docs/cli.md): compares two sessions, or two labelled sets of sessions, and exits
// 0 when they behave the same, 1 when they differ.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "replayer/diff.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/select.h"

namespace agenttrace {
namespace {

struct DiffArgs {
  std::string policy;
  std::vector<std::string> labels;
  std::vector<std::string> sessions;
  std::string json, markdown;
};

// One side: `args` and `label` as SelectSessions takes them; an empty side is a usage error.
int SelectSide(const Cli& cli, const std::vector<std::string>& args, const std::string* label, const std::string& what,
               std::shared_ptr<Store>* store, std::vector<SessionInput>* inputs) {
  if (int rc = SelectSessions(cli, args, label, store, inputs); rc != kExitOk) return rc;
  if (inputs->empty()) {
    std::fprintf(stderr, "agenttrace: diff: no sessions selected for %s\n", what.c_str());
    return kExitUsage;
  }
  return kExitOk;
}

int RunDiffCommand(const Cli& cli, const DiffArgs& a) {
  std::vector<SessionInput> side_a, side_b;
  std::string name_a, name_b;
  std::shared_ptr<Store> store_a, store_b;
  if (a.labels.empty()) {
    if (a.sessions.size() != 2) {
      std::fprintf(stderr, "agenttrace: diff needs two sessions (A B) or two labels (--label L1 --label L2)\n");
      return kExitUsage;
    }
    name_a = a.sessions[0];
    name_b = a.sessions[1];
    if (int rc = SelectSide(cli, {a.sessions[0]}, nullptr, name_a, &store_a, &side_a); rc != kExitOk) return rc;
    if (int rc = SelectSide(cli, {a.sessions[1]}, nullptr, name_b, &store_b, &side_b); rc != kExitOk) return rc;
  } else {
    if (a.labels.size() != 2) {
      std::fprintf(stderr, "agenttrace: diff needs exactly two --label options (%zu given)\n", a.labels.size());
      return kExitUsage;
    }
    // With labels, sessions named on the command line are the pool to pick from (default: the store).
    name_a = "label " + a.labels[0];
    name_b = "label " + a.labels[1];
    if (int rc = SelectSide(cli, a.sessions, &a.labels[0], name_a, &store_a, &side_a); rc != kExitOk) return rc;
    if (int rc = SelectSide(cli, a.sessions, &a.labels[1], name_b, &store_b, &side_b); rc != kExitOk) return rc;
  }
  Policy policy;
  bool with_policy = !a.policy.empty();
  if (with_policy) {
    if (int rc = LoadPolicy(a.policy, &policy); rc != kExitOk) return rc;
  }
  auto report = RunDiff(std::move(side_a), name_a, std::move(side_b), name_b, with_policy ? &policy : nullptr);
  if (!report.ok()) {
    std::fprintf(stderr, "agenttrace: %s\n", report.status().message().c_str());
    return kExitBadPolicy;
  }
  // "-" sends that rendering to standard output in place of the text.
  bool text_to_stdout = a.json != "-" && a.markdown != "-";
  if (a.json == "-" && a.markdown == "-") {
    std::fprintf(stderr, "agenttrace: diff: only one of --json and --markdown can be \"-\"\n");
    return kExitUsage;
  }
  std::string out = text_to_stdout  ? RenderDiffText(*report)
                    : a.json == "-" ? RenderDiffJson(*report)
                                    : RenderDiffMarkdown(*report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  bool ok = true;
  if (!a.json.empty() && a.json != "-") ok = WriteFile(a.json, RenderDiffJson(*report)) && ok;
  if (!a.markdown.empty() && a.markdown != "-") ok = WriteFile(a.markdown, RenderDiffMarkdown(*report)) && ok;
  if (!ok) return kExitUsage;
  if (!report->first_error.ok()) {
    std::fprintf(stderr, "agenttrace: %s\n", report->first_error.ToString().c_str());
    return report->first_error.code() == StatusCode::kCorruption ? kExitCorrupt : kExitUsage;
  }
  return report->equal() ? kExitOk : kExitDifferent;
}

}  // namespace

void RegisterDiffCommands(Cli& cli) {
  auto a = std::make_shared<DiffArgs>();
  CLI::App* sub =
      cli.app.add_subcommand("diff", "compare the behaviour of two sessions or two labels (exit 1 if different)");
  AddStoreOption(sub, cli);
  sub->add_option("--policy", a->policy, "also compare the policy's decisions (YAML, docs/policy.md)");
  sub->add_option("--label", a->labels, "a side: the sessions with this label (give it twice)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("sessions", a->sessions,
                  "sessions A and B (ids/prefixes or JSON-lines export files); with --label, the pool to pick from");
  sub->add_option("--json", a->json, "write the JSON report to FILE (\"-\": standard output, instead of the text)");
  sub->add_option("--markdown", a->markdown, "write a Markdown report to FILE (\"-\": standard output)");
  sub->callback([&cli, a] { cli.run = [&cli, a] { return RunDiffCommand(cli, *a); }; });
}

}  // namespace agenttrace
