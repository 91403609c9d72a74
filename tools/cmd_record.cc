// `agenttrace record`: runs a command under the syscall recorder (recorder/recorder.h), or with
// --mcp the MCP stdio proxy (tools/cmd_mcp.cc), and exits with the recorded command's status.
//
// Exit status: the agent's own (128+n when killed by signal n); 125 when the recorder itself failed
// (store, ptrace or seccomp not available), 126 when the command could not be executed, 127 when it
// was not found (tools/exit_codes.h, docs/cli.md).
#include "tools/cmd_record.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "format/signing.h"
#include "format/store.h"
#include "recorder/event_socket.h"
#include "recorder/recorder.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"

namespace agenttrace {
namespace {

struct RecordFlags {
  std::string label, agent, agent_version;
  bool mcp = false;
  bool trace_server = false;
  bool allow_io_uring = false;
  bool cpu_pin = false;
  bool no_pin_tracer = false;
  bool quiet = false;
  uint64_t max_result_bytes = 64u << 10;
  std::string sign_key;
  std::vector<std::string> command;
};

// The key from --sign-key, else $AGENTTRACE_SIGN_KEY; null when neither is given.
Result<std::shared_ptr<const SigningKey>> LoadSignKey(const RecordFlags& f) {
  std::string path = f.sign_key;
  if (path.empty()) {
    const char* env = std::getenv(kEnvSignKey);
    if (env != nullptr) path = env;
  }
  if (path.empty()) return std::shared_ptr<const SigningKey>();
  return SigningKey::Load(path);
}

int RunRecordCommand(Cli& cli, const RecordFlags& f) {
  if (f.command.empty()) {
    std::fprintf(stderr, "agenttrace: record: no command given (usage: agenttrace record [OPTIONS] -- CMD ARGS...)\n");
    return kExitUsage;
  }
  // Nested under a recording (the event socket is set), tool events join the enclosing session, which
  // its own recorder signs.
  std::shared_ptr<const SigningKey> sign_key;
  if (std::getenv(kEnvSocket) == nullptr) {
    auto k = LoadSignKey(f);
    if (!k.ok()) {
      std::fprintf(stderr, "agenttrace: record: %s\n", k.status().message().c_str());
      return kExitRecordFailed;
    }
    sign_key = std::move(k).value();
  }
  if (f.mcp && f.trace_server && std::getenv(kEnvSocket) == nullptr) {
    // The server's syscalls and its tool calls in one session: record `agenttrace record --mcp -- SERVER`
    // (this proxy and the server it spawns) under the syscall recorder; the inner proxy finds
    // AGENTTRACE_SOCKET and sends its tool events into the same session. Standard input and output pass
    // through to the proxy unchanged.
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
      std::fprintf(stderr, "agenttrace: record --mcp --trace-server: cannot find this executable\n");
      return kExitRecordFailed;
    }
    RecordFlags outer = f;
    outer.mcp = false;
    outer.trace_server = false;
    outer.quiet = true;  // the MCP client reads our stderr as the server's
    outer.command = {std::string(self, static_cast<size_t>(n)), "record", "--mcp", "--max-result-bytes",
                     std::to_string(f.max_result_bytes), "--"};
    outer.command.insert(outer.command.end(), f.command.begin(), f.command.end());
    return RunRecordCommand(cli, outer);
  }
  if (f.mcp) {
    McpRecordOptions m;
    m.label = f.label;
    m.agent = f.agent;
    m.agent_version = f.agent_version;
    m.trace_server = f.trace_server;
    m.command = f.command;
    m.max_result_bytes = f.max_result_bytes;
    m.sign_key = sign_key;
    return RunMcpRecord(cli, m);
  }
  RecordOptions o;
  o.store_dir = StoreDir(cli);
  o.label = f.label;
  o.agent_name = f.agent;
  o.agent_version = f.agent_version;
  o.command = f.command;
  o.allow_io_uring = f.allow_io_uring;
  o.cpu_pin = f.cpu_pin;
  o.pin_tracer = !f.no_pin_tracer;
  o.sign_key = sign_key;
  Result<RecordOutcome> r = RunRecord(o);
  if (!r.ok()) {
    std::fprintf(stderr, "agenttrace: record: %s\n", r.status().message().c_str());
    return kExitRecordFailed;
  }
  if (r->not_found || r->cannot_execute) {
    std::fprintf(stderr, "agenttrace: record: %s (session %s)\n", r->message.c_str(),
                 r->session.ToString().c_str());
    return r->not_found ? kExitNotFound : kExitCannotExec;
  }
  if (!f.quiet) {
    std::fprintf(stderr, "agenttrace: recorded session %s: %llu events, %llu processes, exit %d\n",
                 r->session.ToString().c_str(), static_cast<unsigned long long>(r->events),
                 static_cast<unsigned long long>(r->processes), r->exit_code);
  }
  return r->exit_code;
}

}  // namespace

void RegisterRecordCommands(Cli& cli) {
  auto flags = std::make_shared<RecordFlags>();
  CLI::App* sub = cli.app.add_subcommand(
      "record", "run a command and record what it and all its descendants do (or, with --mcp, proxy an MCP "
                "server and record its tool calls)");
  AddStoreOption(sub, cli);
  sub->add_option("--label", flags->label, "groups runs of the same task (stability is computed per label)");
  sub->add_option("--agent", flags->agent, "name of the agent being recorded");
  sub->add_option("--agent-version", flags->agent_version, "version of the agent being recorded");
  sub->add_flag("--mcp", flags->mcp, "the command is an MCP stdio server: proxy it and record its tool calls");
  sub->add_flag("--trace-server", flags->trace_server,
                "with --mcp: also record the syscalls of the server's process tree, in the same session");
  sub->add_option("--max-result-bytes", flags->max_result_bytes,
                  "with --mcp: larger tool results are stored as size + hash");
  sub->add_flag("--allow-io-uring", flags->allow_io_uring,
                "let io_uring_setup succeed (by default it fails with ENOSYS so that software falls back to "
                "traceable syscalls; the attempt is always recorded)");
  sub->add_flag("--cpu-pin", flags->cpu_pin, "run the tracer and the agent on one CPU");
  sub->add_flag("--no-pin-tracer", flags->no_pin_tracer,
                "let the tracer thread run on any CPU (by default it stays on the CPU it starts on; the "
                "agent is never restricted unless --cpu-pin)");
  sub->add_option("--sign-key", flags->sign_key,
                  "sign the completed session's head with this Ed25519 private key file (from `agenttrace key "
                  "generate`; default: $AGENTTRACE_SIGN_KEY)");
  sub->add_flag("-q,--quiet", flags->quiet, "no summary line on stderr");
  sub->add_option("command", flags->command, "the command to record, after --")->required();
  sub->callback([&cli, flags] { cli.run = [&cli, flags] { return RunRecordCommand(cli, *flags); }; });
}

}  // namespace agenttrace
