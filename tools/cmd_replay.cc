// `agenttrace replay`, `agenttrace policy check`, `agenttrace policy suggest` (docs/cli.md, docs/policy.md).

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/store.h"
#include "replayer/engine.h"
#include "replayer/policy.h"
#include "replayer/replay.h"
#include "replayer/report.h"
#include "replayer/suggest.h"
#include "tools/cli.h"
#include "tools/cmd_serve.h"
#include "tools/exit_codes.h"
#include "tools/html_output.h"
#include "tools/landlock_cli.h"
#include "tools/select.h"

namespace agenttrace {
namespace {

struct ReplayArgs {
  std::string policy;
  std::string label;
  std::vector<std::string> sessions;
  std::optional<uint64_t> explain;
  uint64_t explain_value = 0;
  unsigned threads = 0;
  std::string junit, sarif, json, markdown, html;
  uint64_t min_sessions = 0, max_violations = 0, max_asks = 0;
  double min_stability = 0;
  bool allow_irreversible = false, no_irreversible = false;
  bool require_success = false, no_require_success = false;
  std::vector<int32_t> success_exit_codes;
  bool serve = false;
  ServeArgs serve_args;
  CLI::Option *o_label = nullptr, *o_explain = nullptr, *o_min_sessions = nullptr, *o_max_violations = nullptr,
              *o_max_asks = nullptr, *o_min_stability = nullptr;
};

struct CheckArgs {
  std::string policy;
  bool enforce = false;  // also print the kernel (Landlock) part under `run --mode enforce`
};

struct SuggestArgs {
  std::string label;
  std::vector<std::string> sessions;
  std::string output;
};

int RunReplayCommand(const Cli& cli, const ReplayArgs& a) {
  if (a.policy.empty()) {
    std::fprintf(stderr, "agenttrace: replay: --policy is required (or --serve to serve recorded tools)\n");
    return kExitUsage;
  }
  Policy policy;
  if (int rc = LoadPolicy(a.policy, &policy); rc != kExitOk) return rc;
  Promotion pr = policy.promotion;
  if (a.o_min_sessions->count()) pr.min_sessions = a.min_sessions;
  if (a.o_max_violations->count()) pr.max_violations = a.max_violations;
  if (a.o_max_asks->count()) pr.max_asks = a.max_asks;
  if (a.o_min_stability->count()) {
    if (!(a.min_stability >= 0.0 && a.min_stability <= 1.0)) {
      std::fprintf(stderr, "agenttrace: --min-stability must be between 0 and 1\n");
      return kExitUsage;
    }
    pr.min_stability = a.min_stability;
  }
  if (a.allow_irreversible && a.no_irreversible) {
    std::fprintf(stderr, "agenttrace: --allow-irreversible and --no-irreversible exclude each other\n");
    return kExitUsage;
  }
  if (a.allow_irreversible) pr.allow_irreversible = true;
  if (a.no_irreversible) pr.allow_irreversible = false;
  if (a.require_success && a.no_require_success) {
    std::fprintf(stderr, "agenttrace: --require-success and --no-require-success exclude each other\n");
    return kExitUsage;
  }
  if (a.require_success) pr.require_success = true;
  if (a.no_require_success) pr.require_success = false;
  if (!a.success_exit_codes.empty()) {
    for (int32_t c : a.success_exit_codes) {
      if (c < 0 || c > 255) {
        std::fprintf(stderr, "agenttrace: --success-exit-codes: %d is not an exit code (0..255)\n", c);
        return kExitUsage;
      }
    }
    pr.success_exit_codes = a.success_exit_codes;
  }
  std::vector<SessionInput> inputs;
  std::shared_ptr<Store> store;
  const std::string* label = a.o_label->count() ? &a.label : nullptr;
  if (int rc = SelectSomeSessions(cli, a.sessions, label, &store, &inputs); rc != kExitOk) return rc;
  ReplayOptions opt;
  opt.threads = a.threads;
  opt.promotion = pr;
  opt.timeline = !a.html.empty();
  if (a.o_explain->count()) {
    if (inputs.size() != 1) {
      std::fprintf(stderr, "agenttrace: --explain needs exactly one session (%zu selected)\n", inputs.size());
      return kExitUsage;
    }
    opt.explain_seq = a.explain_value;
  }
  // The HTML report's diffs read the sessions again: keep the inputs (copies share their store).
  std::vector<SessionInput> kept;
  if (!a.html.empty()) kept = inputs;
  auto report = RunReplay(policy, std::move(inputs), opt);
  if (!report.ok()) {
    std::fprintf(stderr, "agenttrace: %s\n", report.status().message().c_str());
    return kExitBadPolicy;
  }
  std::string text = RenderText(*report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  bool ok = true;
  if (!a.json.empty()) ok = WriteFile(a.json, RenderJson(*report)) && ok;
  if (!a.markdown.empty()) ok = WriteFile(a.markdown, RenderMarkdown(*report)) && ok;
  if (!a.junit.empty()) ok = WriteFile(a.junit, RenderJunit(*report)) && ok;
  if (!a.sarif.empty()) ok = WriteFile(a.sarif, RenderSarif(*report)) && ok;
  if (!a.html.empty()) {
    if (int rc = WriteHtmlReport(a.html, policy, *report, kept); rc != kExitOk) return rc;
  }
  if (!ok) return kExitUsage;
  if (!report->first_error.ok()) {
    std::fprintf(stderr, "agenttrace: %s\n", report->first_error.ToString().c_str());
    return report->first_error.code() == StatusCode::kCorruption ? kExitCorrupt : kExitUsage;
  }
  return report->promotable ? kExitOk : kExitNotPromotable;
}

int RunPolicyCheck(const CheckArgs& a) {
  Policy p;
  if (int rc = LoadPolicy(a.policy, &p); rc != kExitOk) return rc;
  size_t allow = 0, ask = 0, deny = 0, seq = 0, budget = 0, irr = 0;
  for (const Rule& r : p.rules) {
    (r.decision == Decision::kAllow ? allow : r.decision == Decision::kAsk ? ask : deny)++;
    if (r.sequence) ++seq;
    if (r.budget) ++budget;
    if (r.irreversible) ++irr;
  }
  std::printf("%s: valid policy (version %d, default %s)\n", a.policy.c_str(), p.version,
              std::string(DecisionName(p.default_decision)).c_str());
  std::printf("  rules: %zu (%zu allow, %zu ask, %zu deny; %zu sequence, %zu budget, %zu marked irreversible)\n",
              p.rules.size(), allow, ask, deny, seq, budget, irr);
  std::printf("  lists: %zu, secrets: %zu glob(s), irreversible matchers: %zu, failed attempts %s\n", p.lists.size(),
              p.secrets.size(), p.irreversible.size(), p.evaluate_failed ? "evaluated" : "ignored");
  std::printf("  promotion: min_sessions %llu, max_violations %llu, max_asks %llu, min_stability %.4f, %s\n",
              static_cast<unsigned long long>(p.promotion.min_sessions),
              static_cast<unsigned long long>(p.promotion.max_violations),
              static_cast<unsigned long long>(p.promotion.max_asks), p.promotion.min_stability,
              p.promotion.allow_irreversible ? "irreversible allowed" : "no irreversible actions");
  std::string codes;
  for (int32_t c : p.promotion.success_exit_codes) codes += (codes.empty() ? "" : ", ") + std::to_string(c);
  std::printf("  task outcome: %s (success exit codes: %s)\n",
              p.promotion.require_success ? "required" : "not required", codes.c_str());
  if (a.enforce) return PrintLandlockEnforcement(p, PathVarsHere(), stdout);
  return kExitOk;
}

int RunPolicySuggest(const Cli& cli, const SuggestArgs& a) {
  std::vector<SessionInput> inputs;
  std::shared_ptr<Store> store;
  const std::string* label = a.label.empty() ? nullptr : &a.label;
  if (label == nullptr && a.sessions.empty()) {
    std::fprintf(stderr, "agenttrace: policy suggest needs --label L or sessions\n");
    return kExitUsage;
  }
  if (int rc = SelectSomeSessions(cli, a.sessions, label, &store, &inputs); rc != kExitOk) return rc;
  std::stable_sort(inputs.begin(), inputs.end(),
                   [](const SessionInput& x, const SessionInput& y) { return x.info.id < y.info.id; });
  std::vector<std::string> irreversible;
  auto yaml = SuggestPolicy(inputs, a.label, &irreversible);
  if (!yaml.ok()) return ReportError(yaml.status(), "policy suggest");
  if (!irreversible.empty()) {
    std::fprintf(stderr,
                 "agenttrace: policy suggest: these sessions deleted %zu path(s) outside the workspace and ${tmp} "
                 "(e.g. %s): irreversible under the suggested policy, so the gate will not promote them until you "
                 "decide (see the comment above `irreversible:`)\n",
                 irreversible.size(), irreversible.front().c_str());
  }
  if (a.output.empty()) {
    std::fwrite(yaml->data(), 1, yaml->size(), stdout);
    return kExitOk;
  }
  return WriteFile(a.output, *yaml) ? kExitOk : kExitUsage;
}

}  // namespace

void RegisterReplayCommands(Cli& cli) {
  {
    auto a = std::make_shared<ReplayArgs>();
    CLI::App* sub = cli.app.add_subcommand("replay", "replay sessions against a policy and gate promotion");
    AddStoreOption(sub, cli);
    sub->add_option("--policy", a->policy, "policy file (YAML, docs/policy.md); required unless --serve");
    a->o_label = sub->add_option("--label", a->label, "replay the sessions with this label");
    sub->add_option("sessions", a->sessions, "session ids/prefixes, or JSON-lines export files (default: all)");
    a->o_explain = sub->add_option("--explain", a->explain_value, "explain every rule considered for event SEQ");
    sub->add_option("--threads", a->threads, "worker threads (default: hardware concurrency)");
    sub->add_option("--junit", a->junit, "write a JUnit XML report");
    sub->add_option("--sarif", a->sarif, "write a SARIF 2.1.0 report");
    sub->add_option("--json", a->json, "write the full JSON report");
    sub->add_option("--markdown", a->markdown, "write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)");
    sub->add_option("--html", a->html, "write the self-contained HTML report (as `agenttrace report`)");
    a->o_min_sessions = sub->add_option("--min-sessions", a->min_sessions, "override promotion.min_sessions");
    a->o_max_violations = sub->add_option("--max-violations", a->max_violations, "override promotion.max_violations");
    a->o_max_asks = sub->add_option("--max-asks", a->max_asks, "override promotion.max_asks");
    a->o_min_stability = sub->add_option("--min-stability", a->min_stability, "override promotion.min_stability");
    sub->add_flag("--allow-irreversible", a->allow_irreversible, "irreversible actions do not block promotion");
    sub->add_flag("--no-irreversible", a->no_irreversible, "any irreversible action blocks promotion");
    sub->add_flag("--require-success", a->require_success,
                  "each session's agent must have exited successfully (the default; overrides the policy)");
    sub->add_flag("--no-require-success", a->no_require_success,
                  "do not judge the agent's exit status (a session whose agent never ran still blocks)");
    sub->add_option("--success-exit-codes", a->success_exit_codes,
                    "exit statuses that count as task success (default 0), e.g. 0,3")
        ->delimiter(',');
    sub->add_flag("--serve", a->serve,
                  "serve the sessions' recorded MCP answers on stdin/stdout (an MCP server; docs/cli.md); "
                  "a live server command may follow --");
    sub->add_flag("--http", a->serve_args.http,
                  "with --serve: speak MCP Streamable HTTP on --listen instead of stdio (until SIGINT/SIGTERM)");
    sub->add_option("--listen", a->serve_args.listen, "with --serve --http: HOST:PORT (PORT 0: any free port)");
    sub->add_option("--match", a->serve_args.match, "with --serve: method_params (default), strict, sequential");
    sub->add_option("--record-mode", a->serve_args.record_mode,
                    "with --serve: none (default: a miss is an error), once, new_episodes, all");
    sub->add_option("--server", a->serve_args.server, "with --serve: the MCP server whose answers are served");
    sub->add_option("--agent", a->serve_args.agent, "with --serve: agent name of the serving run's session");
    sub->add_option("--max-result-bytes", a->serve_args.max_result_bytes,
                    "with --serve: larger answers are recorded as size + hash in the serving run's session");
    sub->callback([&cli, a] {
      cli.run = [&cli, a] {
        if (!a->serve) {
          if (!cli.serve_command.empty()) return kExitUsage;  // unreachable: only taken with --serve
          return RunReplayCommand(cli, *a);
        }
        ServeArgs s = a->serve_args;
        s.sessions = a->sessions;
        s.label = a->label;
        s.label_given = a->o_label->count() > 0;
        return RunServe(cli, s);
      };
    });
  }
  CLI::App* policy = cli.app.add_subcommand("policy", "check or suggest policies");
  policy->require_subcommand(1);
  {
    auto a = std::make_shared<CheckArgs>();
    CLI::App* sub = policy->add_subcommand("check", "validate a policy file (exit 4 if invalid)");
    sub->add_option("policy", a->policy, "policy file")->required();
    sub->add_flag("--enforce", a->enforce,
                  "also say which rules the kernel (Landlock) enforces under `run --mode enforce` and which only "
                  "the tracer, for a session started here");
    sub->callback([&cli, a] { cli.run = [a] { return RunPolicyCheck(*a); }; });
  }
  {
    auto a = std::make_shared<SuggestArgs>();
    CLI::App* sub = policy->add_subcommand("suggest", "the least-privilege policy allowing what sessions did");
    AddStoreOption(sub, cli);
    sub->add_option("--label", a->label, "sessions with this label");
    sub->add_option("sessions", a->sessions, "session ids/prefixes, or JSON-lines export files");
    sub->add_option("-o,--output", a->output, "output file (default: standard output)");
    sub->callback([&cli, a] { cli.run = [&cli, a] { return RunPolicySuggest(cli, *a); }; });
  }
}

}  // namespace agenttrace
