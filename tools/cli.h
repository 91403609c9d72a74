// Shared plumbing of the agenttrace CLI: each cmd_*.cc registers its subcommands on the one CLI11
// app; the chosen subcommand's callback stores the function main() runs. Errors are reported through
// ReportError, which prints "agenttrace: <what>" and returns the documented exit code.
#ifndef AGENTTRACE_TOOLS_CLI_H_
#define AGENTTRACE_TOOLS_CLI_H_

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "format/status.h"

namespace agenttrace {

struct Cli {
  CLI::App app{"agenttrace: record AI agents' actions and replay them against a policy", "agenttrace"};
  std::string store_dir;     // from --store, else DefaultStoreDir()
  std::function<int()> run;  // set by the selected subcommand
  std::vector<std::string> serve_command;  // `replay --serve ... -- SERVER CMD` (tools/cmd_serve.h)
};

// Adds `--store DIR` to `sub`, bound to cli.store_dir.
void AddStoreOption(CLI::App* sub, Cli& cli);
// The store directory to use: --store, $AGENTTRACE_STORE, ./.agenttrace.
std::string StoreDir(const Cli& cli);

// Prints "agenttrace: <context>: <status message>" to stderr and returns the exit code for the status:
// Corruption -> kExitCorrupt, InvalidArgument -> kExitUsage, NotFound/IOError/... -> kExitUsage,
// Internal -> kExitInternal.
int ReportError(const Status& status, const std::string& context = "");

void RegisterStoreCommands(Cli& cli);      // ls, show, export, import, verify, stats  (store_commands.h)
void RegisterRecordCommands(Cli& cli);     // record                                   (cmd_record.cc)
void RegisterToolEventCommands(Cli& cli);  // emit                                     (cmd_emit.cc)
void RegisterReplayCommands(Cli& cli);     // replay, policy check, policy suggest     (cmd_replay.cc)
void RegisterKeyCommands(Cli& cli);        // key generate                             (cmd_key.cc)
void RegisterDiffCommands(Cli& cli);       // diff                                     (cmd_diff.cc)
void RegisterReportCommands(Cli& cli);     // report                                   (cmd_report.cc)
void RegisterHookCommands(Cli& cli);       // hook                                     (cmd_hook.cc)
void RegisterRunCommands(Cli& cli);        // run                                      (cmd_run.cc)

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_CLI_H_
