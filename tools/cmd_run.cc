// `agenttrace run --policy P -- CMD...`: records like `agenttrace record` and decides every action of
// the agent's process tree at request time with the policy (replayer/live_decider.h, wired to the
// tracer through format/request_decider.h). docs/cli.md ("run") documents options and exit codes.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "format/decision_event.h"
#include "replayer/live_decider.h"
#include "replayer/policy.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"

namespace agenttrace {
namespace {

struct RunFlags {
  std::string policy;
  std::string mode = "enforce";
  std::string ask;  // empty: deny without a terminal or in CI, tty otherwise
  std::string label, agent, agent_version;
  bool watch_policy = false;
  std::vector<std::string> command;
};

int RunRunCommand(Cli& cli, const RunFlags& f) {
  (void)cli;
  if (f.command.empty()) {
    std::fprintf(stderr, "agenttrace: run: no command given (usage: agenttrace run --policy P -- CMD ARGS...)\n");
    return kExitUsage;
  }
  if (!ParseEnforceMode(f.mode)) {
    std::fprintf(stderr, "agenttrace: run --mode: '%s' is not one of enforce, audit\n", f.mode.c_str());
    return kExitUsage;
  }
  Result<Policy> policy = LoadPolicyFile(f.policy);
  if (!policy.ok()) {
    std::fprintf(stderr, "agenttrace: run: %s\n", policy.status().message().c_str());
    return policy.status().code() == StatusCode::kIOError ? kExitUsage : kExitBadPolicy;
  }
  std::fprintf(stderr, "agenttrace: run: not wired to the tracer yet\n");
  return kExitInternal;
}

}  // namespace

void RegisterRunCommands(Cli& cli) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* sub = cli.app.add_subcommand(
      "run",
      "run a command under the policy: record it like `record` and decide every action of its process "
      "tree at request time (enforce: denied calls fail; audit: nothing is blocked)");
  AddStoreOption(sub, cli);
  sub->add_option("--policy", flags->policy, "the policy to enforce")->required();
  sub->add_option("--mode", flags->mode, "enforce (a deny blocks the call) or audit (record what would be denied)")
      ->capture_default_str();
  sub->add_option("--ask", flags->ask,
                  "who answers an `ask`: deny, allow, tty (prompt on the terminal; a timeout denies) or "
                  "exec:PROG (the request as JSON on stdin; exit 0 allows). Default: tty with a terminal, "
                  "deny without one or when $CI is set");
  sub->add_option("--label", flags->label, "groups runs of the same task (as for record)");
  sub->add_option("--agent", flags->agent, "name of the agent being run");
  sub->add_option("--agent-version", flags->agent_version, "version of the agent being run");
  sub->add_flag("--watch-policy", flags->watch_policy, "reload the policy when its file changes (as SIGHUP does)");
  sub->add_option("command", flags->command, "the command to run, after --")->required();
  sub->callback([&cli, flags] { cli.run = [&cli, flags] { return RunRunCommand(cli, *flags); }; });
}

}  // namespace agenttrace
