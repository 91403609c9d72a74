// `agenttrace record`: the declarations shared between the syscall recorder's command
// (tools/cmd_record.cc) and the MCP proxy's (tools/cmd_mcp.cc).
#ifndef AGENTTRACE_TOOLS_CMD_RECORD_H_
#define AGENTTRACE_TOOLS_CMD_RECORD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace agenttrace {

class SigningKey;

// Options of `agenttrace record --mcp [...] -- SERVER_CMD ARGS...`.
struct McpRecordOptions {
  std::string label, agent, agent_version;
  bool trace_server = false;
  std::vector<std::string> command;
  uint64_t max_result_bytes = 64u << 10;  // --max-result-bytes: larger results are stored as size + hash
  std::shared_ptr<const SigningKey> sign_key;  // --sign-key / $AGENTTRACE_SIGN_KEY: signs the session head
  // --policy/--mode/--ask: decide each tools/call before it is forwarded (standalone; nested, the
  // enclosing session's decider always decides).
  std::string policy;
  std::string mode = "enforce";
  std::string ask = "deny";
};

// Runs the MCP stdio proxy for the server `o.command` and records its tool events (into a new session,
// or into the enclosing recording when $AGENTTRACE_SOCKET is set). Returns the exit status to use:
// the server's (128+n for signal n), or kExitRecordFailed/kExitCannotExec/kExitNotFound.
int RunMcpRecord(Cli& cli, const McpRecordOptions& o);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_CMD_RECORD_H_
