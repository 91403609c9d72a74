// `agenttrace record`: the declarations shared between the syscall recorder's command
// (tools/cmd_record.cc) and the MCP proxy's (tools/cmd_mcp.cc).
#ifndef AGENTTRACE_TOOLS_CMD_RECORD_H_
#define AGENTTRACE_TOOLS_CMD_RECORD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recorder/recorder.h"
#include "tools/cli.h"

namespace agenttrace {

class SigningKey;

// The flags of `agenttrace record` (`run` shares those of the syscall recorder).
struct RecordFlags {
  std::string label, agent, agent_version;
  bool mcp = false;
  bool mcp_http = false;
  std::string listen, upstream, ca_file;
  uint64_t max_message_bytes = 0;
  uint64_t max_streams = 64;
  bool trace_server = false;
  bool allow_io_uring = false;
  bool cpu_pin = false;
  bool no_pin_tracer = false;
  bool no_spin = false;
  bool quiet = false;
  uint64_t max_result_bytes = 64u << 10;
  std::string sign_key;
  std::string kill_after = "5s";
  std::string timeout;
  std::string on_store_failure = "stop";
  uint64_t max_store_bytes = 0;
  std::vector<std::string> command;
  int landlock_ruleset_fd = -1;  // not a flag: `run` sets it (RecordOptions::landlock_ruleset_fd)
  std::string mcp_policy, mcp_mode = "enforce", mcp_ask = "deny";  // with --mcp (tools/cmd_mcp.cc)
};

// Adds the syscall recorder's flags that `record` and `run` share (--label ... --quiet).
void AddCommonRecordFlags(CLI::App* sub, RecordFlags* f);

// Records `f.command` under the syscall recorder (with `enforce`: under a policy, for `run`), prints
// what `record` prints (prefixed "agenttrace: VERB: "), calls `summary` (if set) with the outcome, and
// returns the exit status: the agent's; 124, 125, 126, 127 as documented for `record`; 125 also when
// a denial could not be applied (the agent was killed).
int RunSyscallRecording(Cli& cli, const RecordFlags& f, const char* verb, std::optional<EnforceOptions> enforce,
                        const std::function<void(const RecordOutcome&)>& summary);

// Options of `agenttrace record --mcp [...] -- SERVER_CMD ARGS...`.
struct McpRecordOptions {
  std::string label, agent, agent_version;
  bool trace_server = false;
  std::vector<std::string> command;
  uint64_t max_result_bytes = 64u << 10;       // --max-result-bytes: larger results are stored as size + hash
  std::shared_ptr<const SigningKey> sign_key;  // --sign-key / $AGENTTRACE_SIGN_KEY: signs the session head
  // --policy/--mode/--ask: decide each tools/call before it is forwarded (standalone; nested, the
  // enclosing session's decider always decides).
  std::string policy;
  std::string mode = "enforce";
  std::string ask = "deny";
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
  // --policy/--mode/--ask, as for `record --mcp` (standalone; nested, a run's decider decides).
  std::string policy;
  std::string mode = "enforce";
  std::string ask = "deny";
};

// Runs the MCP Streamable HTTP proxy until SIGINT/SIGTERM/SIGHUP and records the JSON-RPC messages
// (into a new session, or into the enclosing recording when $AGENTTRACE_SOCKET is set), deciding each
// tools/call as `record --mcp` does (tools/mcp_deciders.h). Returns 0 after a clean stop, kExitUsage
// for bad options or an unreadable policy, kExitBadPolicy for an invalid one, kExitRecordFailed when
// it cannot listen or record.
int RunMcpHttpRecord(Cli& cli, const McpHttpRecordOptions& o);

// Runs the MCP stdio proxy for the server `o.command` and records its tool events (into a new session,
// or into the enclosing recording when $AGENTTRACE_SOCKET is set). Returns the exit status to use:
// the server's (128+n for signal n), or kExitRecordFailed/kExitCannotExec/kExitNotFound.
int RunMcpRecord(Cli& cli, const McpRecordOptions& o);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_CMD_RECORD_H_
