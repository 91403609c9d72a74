// `agenttrace replay --serve`: the flags it adds to `replay` and its entry point (tools/cmd_serve.cc).
#ifndef AGENTTRACE_TOOLS_CMD_SERVE_H_
#define AGENTTRACE_TOOLS_CMD_SERVE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace agenttrace {

struct ServeArgs {
  std::vector<std::string> sessions;  // ids/prefixes or JSON-lines files (the cassette)
  std::string label;                  // --label: selects the cassette and labels the serving run
  bool label_given = false;
  std::string match = "method_params";
  std::string record_mode = "none";
  std::string server;  // --server: the MCP server whose exchanges are served
  std::string agent;   // --agent: the serving run's agent name
  uint64_t max_result_bytes = 64u << 10;
  bool http = false;   // --http: serve over Streamable HTTP on --listen instead of stdio
  std::string listen;  // --listen HOST:PORT (PORT 0: any free port, printed on stderr)
};

// Serves the cassette on stdin/stdout until stdin ends; the live server command (after --) is
// cli.serve_command. Exit status: 0, kExitServeMiss when a request had no usable recorded answer,
// kExitUsage / kExitRecordFailed for its own failures.
int RunServe(Cli& cli, const ServeArgs& a);

// `agenttrace replay --serve ... -- SERVER CMD`: CLI11 would read SERVER CMD as sessions, so main()
// takes it off argv before parsing (shortening *argc). Returns it, or {} for any other command line.
std::vector<std::string> TakeServeCommand(int* argc, char** argv);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_CMD_SERVE_H_
