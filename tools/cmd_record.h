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
};

// Options of `agenttrace record --mcp-http --listen HOST:PORT --upstream URL`.
struct McpHttpRecordOptions {
  std::string label, agent, agent_version;
  std::string listen;    // HOST:PORT (PORT 0: any free port, printed on stderr)
  std::string upstream;  // http(s)://HOST[:PORT][/PATH]
  uint64_t max_result_bytes = 64u << 10;
  uint64_t max_message_bytes = 0;  // 0: the default (recorder/jsonrpc_framing.h)
  uint64_t max_streams = 64;
  std::string ca_file;
  std::shared_ptr<const SigningKey> sign_key;
};

// Runs the MCP Streamable HTTP proxy until SIGINT/SIGTERM/SIGHUP and records the JSON-RPC messages
// (into a new session, or into the enclosing recording when $AGENTTRACE_SOCKET is set). Returns 0
// after a clean stop, kExitUsage for bad options, kExitRecordFailed when it cannot listen or record.
int RunMcpHttpRecord(Cli& cli, const McpHttpRecordOptions& o);

// Runs the MCP stdio proxy for the server `o.command` and records its tool events (into a new session,
// or into the enclosing recording when $AGENTTRACE_SOCKET is set). Returns the exit status to use:
// the server's (128+n for signal n), or kExitRecordFailed/kExitCannotExec/kExitNotFound.
int RunMcpRecord(Cli& cli, const McpRecordOptions& o);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_CMD_RECORD_H_
