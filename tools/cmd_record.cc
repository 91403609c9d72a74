// `agenttrace record`: runs a command under the syscall recorder (recorder/recorder.h), or with
// --mcp the MCP stdio proxy (tools/cmd_mcp.cc), and exits with the recorded command's status.
//
// Exit status: the agent's own (128+n when killed by signal n); 124 when --timeout stopped it; 125 when
// the recorder itself failed (store, ptrace or seccomp not available, or a store failure stopped the
// agent or, under --on-store-failure stop, came after it exited), 126 when the command could not
// be executed, 127 when it was not found (tools/exit_codes.h, docs/cli.md).
#include "tools/cmd_record.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "format/signing.h"
#include "format/store.h"
#include "recorder/event_socket.h"
#include "recorder/recorder.h"
#include "tools/cli.h"
#include "tools/duration.h"
#include "tools/exit_codes.h"

namespace agenttrace {
namespace {

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

// "123 (sleep), 124 (bash)".
std::string DescribeProcesses(const std::vector<StoppedProcess>& procs) {
  std::string s;
  for (const StoppedProcess& p : procs) {
    if (!s.empty()) s += ", ";
    s += std::to_string(p.pid);
    if (!p.comm.empty()) s += " (" + p.comm + ")";
  }
  return s;
}

int RunRecordCommand(Cli& cli, const RecordFlags& f) {
  // Fail closed: a policy nothing here would apply is refused, never silently ignored.
  if (!f.mcp && !f.mcp_http && !f.mcp_policy.empty()) {
    std::fprintf(
        stderr,
        "agenttrace: record --policy: only --mcp and --mcp-http decide with a policy; to decide a command's system "
        "calls use `agenttrace run --policy P -- CMD`\n");
    return kExitUsage;
  }
  if (f.mcp_http) {
    if (!f.command.empty() || f.mcp || f.trace_server) {
      std::fprintf(stderr,
                   "agenttrace: record --mcp-http: takes no command (and no --mcp, --trace-server): the "
                   "server is the one at --upstream\n");
      return kExitUsage;
    }
    McpHttpRecordOptions m;
    m.label = f.label;
    m.agent = f.agent;
    m.agent_version = f.agent_version;
    m.listen = f.listen;
    m.upstream = f.upstream;
    m.max_result_bytes = f.max_result_bytes;
    m.max_message_bytes = f.max_message_bytes;
    m.max_streams = f.max_streams;
    m.ca_file = f.ca_file;
    m.policy = f.mcp_policy;
    m.mode = f.mcp_mode;
    m.ask = f.mcp_ask;
    if (std::getenv(kEnvSocket) == nullptr) {
      auto k = LoadSignKey(f);
      if (!k.ok()) {
        std::fprintf(stderr, "agenttrace: record: %s\n", k.status().message().c_str());
        return kExitRecordFailed;
      }
      m.sign_key = std::move(k).value();
    }
    return RunMcpHttpRecord(cli, m);
  }
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
  if (f.mcp && f.trace_server && !f.mcp_policy.empty() && std::getenv(kEnvSocket) == nullptr) {
    // The proxy would join a plain recording, whose (absent) policy decides nested proxies.
    std::fprintf(stderr,
                 "agenttrace: record --mcp --trace-server --policy: not supported together; run the proxy "
                 "under the policy instead: agenttrace run --policy P -- agenttrace record --mcp -- SERVER\n");
    return kExitUsage;
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
                     std::to_string(f.max_result_bytes),        "--"};
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
    m.policy = f.mcp_policy;
    m.mode = f.mcp_mode;
    m.ask = f.mcp_ask;
    return RunMcpRecord(cli, m);
  }
  return RunSyscallRecording(cli, f, "record", std::nullopt, nullptr);
}

}  // namespace

int RunSyscallRecording(Cli& cli, const RecordFlags& f, const char* verb, std::optional<EnforceOptions> enforce,
                        const std::function<void(const RecordOutcome&)>& summary) {
  std::shared_ptr<const SigningKey> sign_key;
  if (std::getenv(kEnvSocket) == nullptr) {
    auto k = LoadSignKey(f);
    if (!k.ok()) {
      std::fprintf(stderr, "agenttrace: %s: %s\n", verb, k.status().message().c_str());
      return kExitRecordFailed;
    }
    sign_key = std::move(k).value();
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
  o.spin = !f.no_spin;
  o.sign_key = sign_key;
  o.max_store_bytes = f.max_store_bytes;
  o.landlock_ruleset_fd = f.landlock_ruleset_fd;
  Result<std::chrono::milliseconds> kill_after = ParseDuration(f.kill_after);
  if (!kill_after.ok()) return ReportError(kill_after.status(), std::string(verb) + " --kill-after");
  o.stop.kill_after = *kill_after;
  if (!f.timeout.empty()) {
    Result<std::chrono::milliseconds> timeout = ParseDuration(f.timeout);
    if (!timeout.ok()) return ReportError(timeout.status(), std::string(verb) + " --timeout");
    if (timeout->count() == 0) {
      std::fprintf(stderr, "agenttrace: %s --timeout: must be more than 0\n", verb);
      return kExitUsage;
    }
    o.stop.timeout = *timeout;
  }
  if (f.on_store_failure == "stop") {
    o.stop.on_store_failure = StoreFailurePolicy::kStop;
  } else if (f.on_store_failure == "pause") {
    o.stop.on_store_failure = StoreFailurePolicy::kPause;
  } else if (f.on_store_failure == "continue") {
    o.stop.on_store_failure = StoreFailurePolicy::kContinue;
  } else {
    std::fprintf(stderr, "agenttrace: %s --on-store-failure: '%s' is not one of stop, pause, continue\n", verb,
                 f.on_store_failure.c_str());
    return kExitUsage;
  }
  o.enforce = std::move(enforce);
  Result<RecordOutcome> r = RunRecord(o);
  if (!r.ok()) {
    std::fprintf(stderr, "agenttrace: %s: %s\n", verb, r.status().message().c_str());
    return kExitRecordFailed;
  }
  if (r->not_found || r->cannot_execute) {
    std::fprintf(stderr, "agenttrace: %s: %s (session %s)\n", verb, r->message.c_str(), r->session.ToString().c_str());
    return r->not_found ? kExitNotFound : kExitCannotExec;
  }
  if (!r->killed.empty()) {
    std::fprintf(stderr, "agenttrace: %s: killed %zu traced process(es) still running: %s\n", verb, r->killed.size(),
                 DescribeProcesses(r->killed).c_str());
  }
  if (!r->store_failure.ok()) {
    std::string what = "agenttrace: " + std::string(verb) + ": session " + r->session.ToString() +
                       " is incomplete: the store failed (" + r->store_failure.message() + ")";
    if (r->store_failure_at_end) what += " storing the last events, after the agent had exited";
    if (r->gap_error.ok() && r->events_lost == 0 && !r->finish_error.ok()) {
      what += "; every event was stored";
    } else if (r->gap_error.ok()) {
      what += "; a gap event records " + std::to_string(r->events_lost) + " lost event(s)";
    } else {
      what += "; the loss could not be recorded as a gap (" + r->gap_error.message() + ")";
    }
    if (!r->finish_error.ok()) what += "; the session could not be finished (" + r->finish_error.message() + ")";
    std::fprintf(stderr, "%s\n", what.c_str());
    if (r->store_failure_ended_run || r->store_failure_fails_recording) return kExitRecordFailed;
  }
  if (summary) summary(*r);
  if (r->enforcement_failed) return kExitRecordFailed;
  if (!f.quiet) {
    std::fprintf(stderr, "agenttrace: recorded session %s: %llu events, %llu processes, exit %d\n",
                 r->session.ToString().c_str(), static_cast<unsigned long long>(r->events),
                 static_cast<unsigned long long>(r->processes), r->exit_code);
  }
  if (r->timed_out) return kExitTimeout;
  return r->exit_code;
}

void AddCommonRecordFlags(CLI::App* sub, RecordFlags* f) {
  sub->add_option("--label", f->label, "groups runs of the same task (stability is computed per label)");
  sub->add_option("--agent", f->agent, "name of the agent being recorded");
  sub->add_option("--agent-version", f->agent_version, "version of the agent being recorded");
  sub->add_flag("--allow-io-uring", f->allow_io_uring,
                "let io_uring_setup succeed (by default it fails with ENOSYS so that software falls back to "
                "traceable syscalls; the attempt is always recorded)");
  sub->add_flag("--cpu-pin", f->cpu_pin, "run the tracer and the agent on one CPU");
  sub->add_flag("--no-pin-tracer", f->no_pin_tracer,
                "let the tracer thread run on any CPU (by default it stays on the CPU it starts on; the "
                "agent is never restricted unless --cpu-pin)");
  sub->add_flag("--no-spin", f->no_spin,
                "let the tracer always sleep until the next ptrace stop (by default it first polls for up to "
                "60 us where that has been catching stops)");
  sub->add_option("--sign-key", f->sign_key,
                  "sign the completed session's head with this Ed25519 private key file (from `agenttrace key "
                  "generate`; default: $AGENTTRACE_SIGN_KEY)");
  sub->add_option("--kill-after", f->kill_after,
                  "after a stop signal or the timeout, kill the traced processes still running this much "
                  "later (a second signal kills at once); 0: at once (default 5s; units ms, s, m, h)")
      ->capture_default_str();
  sub->add_option("--timeout", f->timeout,
                  "stop the recording after this long like a SIGTERM (then --kill-after); exit status 124");
  sub->add_option("--on-store-failure", f->on_store_failure,
                  "when the store cannot be written (disk full, I/O error): stop (kill the agent's processes, "
                  "exit 125), pause (SIGSTOP them until the store takes writes again) or continue (let the "
                  "agent run on unrecorded); the session is never complete")
      ->capture_default_str();
  sub->add_option("--max-store-bytes", f->max_store_bytes,
                  "the store's data file (LMDB map) never grows past SIZE (e.g. 512K, 64M); needing more is a "
                  "store failure (MDB_MAP_FULL)")
      ->transform(CLI::AsSizeValue(false));
  sub->add_flag("-q,--quiet", f->quiet, "no summary line on stderr");
}

void RegisterRecordCommands(Cli& cli) {
  auto flags = std::make_shared<RecordFlags>();
  CLI::App* sub = cli.app.add_subcommand(
      "record",
      "run a command and record what it and all its descendants do (or, with --mcp, proxy an MCP "
      "server and record its tool calls)");
  AddStoreOption(sub, cli);
  AddCommonRecordFlags(sub, flags.get());
  sub->add_flag("--mcp", flags->mcp, "the command is an MCP stdio server: proxy it and record its tool calls");
  sub->add_flag("--mcp-http", flags->mcp_http,
                "proxy an MCP server spoken to over Streamable HTTP (--listen, --upstream) and record its tool "
                "calls until SIGINT/SIGTERM; takes no command");
  sub->add_option("--listen", flags->listen,
                  "with --mcp-http: HOST:PORT to accept the agent's requests on (PORT 0: "
                  "any free port, printed on stderr)");
  sub->add_option("--upstream", flags->upstream,
                  "with --mcp-http: the MCP server's endpoint URL, http(s)://HOST[:PORT][/PATH]");
  sub->add_option("--max-message-bytes", flags->max_message_bytes,
                  "with --mcp-http: larger request bodies are refused (413); larger response messages are "
                  "forwarded and recorded as size + head (default 16M)")
      ->transform(CLI::AsSizeValue(false));
  sub->add_option("--max-streams", flags->max_streams,
                  "with --mcp-http: HTTP exchanges in flight at once; more are answered 503")
      ->capture_default_str();
  sub->add_option("--ca-file", flags->ca_file,
                  "with --mcp-http: CA bundle to verify an https upstream with "
                  "(default: the system's)");
  sub->add_flag("--trace-server", flags->trace_server,
                "with --mcp: also record the syscalls of the server's process tree, in the same session");
  sub->add_option("--max-result-bytes", flags->max_result_bytes,
                  "with --mcp: larger tool results are stored as size + hash");
  sub->add_option("--policy", flags->mcp_policy,
                  "with --mcp or --mcp-http: decide each tools/call with this policy before it reaches the server "
                  "(a denied call is answered with a JSON-RPC error); nested in a run, the run decides");
  sub->add_option("--mode", flags->mcp_mode,
                  "with --mcp/--mcp-http --policy: enforce, or audit (record, block nothing)")
      ->capture_default_str();
  sub->add_option("--ask", flags->mcp_ask, "with --mcp/--mcp-http --policy: who answers an ask: deny or allow")
      ->capture_default_str();
  // Not required by the parser: --mcp-http takes none; RunRecordCommand says what is missing.
  sub->add_option("command", flags->command, "the command to record, after --");
  sub->callback([&cli, flags] { cli.run = [&cli, flags] { return RunRecordCommand(cli, *flags); }; });
}

}  // namespace agenttrace
