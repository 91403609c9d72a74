// agenttrace: the command-line entry point. The only place that parses argv and maps errors to exit
// codes (tools/exit_codes.h, docs/cli.md).
#include <cstdio>
#include <exception>

#include "format/store.h"
#include "tools/cli.h"
#include "tools/cmd_serve.h"
#include "tools/exit_codes.h"

namespace agenttrace {

void AddStoreOption(CLI::App* sub, Cli& cli) {
  sub->add_option("--store", cli.store_dir,
                  "trace store directory (default: $AGENTTRACE_STORE, else ./.agenttrace)");
}

std::string StoreDir(const Cli& cli) { return cli.store_dir.empty() ? DefaultStoreDir() : cli.store_dir; }

int ReportError(const Status& status, const std::string& context) {
  std::string msg = status.message();
  if (!context.empty()) msg = context + ": " + msg;
  std::fprintf(stderr, "agenttrace: %s\n", msg.c_str());
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kCorruption: return kExitCorrupt;
    case StatusCode::kInternal: return kExitInternal;
    default: return kExitUsage;
  }
}

}  // namespace agenttrace

int main(int argc, char** argv) {
  using namespace agenttrace;
  Cli cli;
  cli.app.require_subcommand(1);
  cli.app.set_version_flag("--version", "agenttrace 0.1.0");
  RegisterStoreCommands(cli);
  RegisterRecordCommands(cli);
  RegisterToolEventCommands(cli);
  RegisterReplayCommands(cli);
  RegisterKeyCommands(cli);
  RegisterDiffCommands(cli);
  RegisterReportCommands(cli);
  RegisterHookCommands(cli);
  RegisterRunCommands(cli);
  cli.serve_command = TakeServeCommand(&argc, argv);
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = cli.app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!cli.run) return kExitUsage;
  try {
    return cli.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agenttrace: internal error: %s\n", e.what());
    return kExitInternal;
  }
}
