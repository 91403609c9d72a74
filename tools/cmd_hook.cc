// `agenttrace hook claude-code|codex|gemini [--policy P]`: a framework's pre-tool-use hook that
// decides the tool call with the policy's evaluator and answers in that framework's contract (docs/cli.md,
// "hook"). Inside a recording ($AGENTTRACE_SOCKET set) the tool call is recorded and decided by the
// session's live decider through the event socket (one session, one state); outside, --policy is
// evaluated for this call alone.
//
// Fail closed: a hook that cannot decide (no policy, policy unreadable, socket broken, payload
// unreadable) answers deny, says why on stderr, and exits 0 so that the framework reads the JSON
// deny (Claude Code and Codex run a call whose hook exited with another non-zero code than 2). Exit 2
// only for a usage error (an unknown framework), which Claude Code and Gemini CLI also treat as block.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "format/decision_event.h"
#include "format/event_json.h"
#include "format/json_limits.h"
#include "recorder/event_socket.h"
#include "recorder/hook_payloads.h"
#include "replayer/live_decider.h"
#include "replayer/policy.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/hook_input.h"

namespace agenttrace {
namespace {

using Json = nlohmann::ordered_json;

// A framework that times its hook out runs the call (Claude Code: "a timed-out hook doesn't block the
// tool call"; Gemini CLI: any exit other than 0 and 2 is a warning). So the hook gives up first and
// denies: just below each framework's default hook timeout (600 s for Claude Code's command hooks and
// for Codex, 60 s for Gemini CLI), since a human may be answering an ask.
constexpr int kDefaultTimeoutSeconds = 570;
constexpr int kDefaultGeminiTimeoutSeconds = 55;

struct HookFlags {
  std::string agent;
  std::string policy;
  std::string socket;
  int timeout_s = 0;  // 0: the framework's default (above)
  // Answer an allow with no opinion: the framework's own permission rules and prompts still run, so
  // the policy can only take authority away (an explicit "allow" skips Claude Code's prompt).
  bool defer_allow = false;
};

enum class Framework { kClaudeCode, kCodex, kGemini };

// What the hook answers: the verdict to give the framework and why.
struct Verdict {
  RequestVerdict verdict = RequestVerdict::kDeny;
  std::string reason;
  bool no_opinion = false;  // say nothing: the framework's own permission flow decides
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string Describe(const RequestDecision& d) {
  std::string s = "agenttrace policy: " + std::string(RequestVerdictName(d.verdict));
  if (!d.rule.empty()) s += " by rule " + d.rule;
  if (!d.reason.empty()) s += ": " + d.reason;
  return s;
}

Verdict CannotDecide(const std::string& why) {
  return Verdict{RequestVerdict::kDeny, "agenttrace: the tool call cannot be decided (" + why + "): denied", false};
}

// Outside a recording: the policy file decides this one call (no state across calls).
Verdict DecideWithPolicy(const std::string& path, const Event& call, const Json& payload) {
  auto policy = LoadPolicyFile(path);
  if (!policy.ok()) return CannotDecide("policy " + path + ": " + policy.status().message());
  PathVars vars;
  auto cwd = payload.find("cwd");
  if (cwd != payload.end() && cwd->is_string()) vars.workspace = cwd->get<std::string>();
  if (vars.workspace.empty()) {
    char buf[4096];
    if (::getcwd(buf, sizeof buf) != nullptr) vars.workspace = buf;
  }
  vars.home = Env("HOME");
  vars.tmp = Env("TMPDIR").empty() ? "/tmp" : Env("TMPDIR");
  auto decider = LiveDecider::Create(std::make_shared<const Policy>(std::move(*policy)), vars, {});
  if (!decider.ok()) return CannotDecide("policy " + path + ": " + decider.status().message());
  RequestDecision d = (*decider)->Decide(call);
  if (d.error) return CannotDecide(d.reason);
  return Verdict{d.verdict, Describe(d), false};
}

// Inside a recording: the session records the call and decides it.
Verdict DecideThroughSocket(const std::string& socket, const std::string& payload_line, bool resolve_ask,
                            const HookFlags& f, const Event& call, const Json& payload) {
  auto client = EventSocketClient::Connect(socket);
  if (!client.ok()) return CannotDecide(client.status().message());
  auto answer = (*client)->Decide(payload_line, resolve_ask, f.timeout_s * 1000);
  if (!answer.ok()) return CannotDecide(answer.status().message());
  if (!answer->policy) {
    // A plain `record`: nothing is enforced by the session; --policy, if given, decides alone.
    if (!f.policy.empty()) return DecideWithPolicy(f.policy, call, payload);
    return Verdict{RequestVerdict::kAllow, "agenttrace: recorded; this recording has no policy", true};
  }
  const RequestDecision& d = answer->decision;
  if (d.error) return CannotDecide(d.reason);
  if (answer->mode == EnforceMode::kAudit) {
    std::fprintf(stderr, "agenttrace hook: audit mode: the policy says %s (not enforced)\n", Describe(d).c_str());
    return Verdict{RequestVerdict::kAllow, "agenttrace audit: " + Describe(d), true};
  }
  if (answer->answered) {
    return Verdict{
        answer->answer.allow ? RequestVerdict::kAllow : RequestVerdict::kDeny,
        Describe(d) + " (answered " + (answer->answer.allow ? "allow" : "deny") + " by " + answer->answer.who + ")",
        false};
  }
  return Verdict{d.verdict, Describe(d), false};
}

// The framework's answer on stdout (exit 0). Sources: Claude Code, code.claude.com/docs/en/hooks
// (PreToolUse); Codex, developers.openai.com/codex/hooks (PreToolUse: deny only); Gemini CLI,
// github.com/google-gemini/gemini-cli docs/hooks/reference.md (BeforeTool: decision allow|deny).
std::string Answer(Framework fw, Verdict v, bool defer_allow) {
  Json j = Json::object();
  if (defer_allow && v.verdict == RequestVerdict::kAllow) return "{}";
  if (fw == Framework::kClaudeCode) {
    if (v.no_opinion) return "{}";
    j["hookSpecificOutput"] = {{"hookEventName", "PreToolUse"},
                               {"permissionDecision", RequestVerdictName(v.verdict)},
                               {"permissionDecisionReason", v.reason}};
  } else {
    if (v.verdict == RequestVerdict::kAsk) {
      // Neither Codex nor Gemini CLI lets a hook ask the user: an ask nobody answered is a deny.
      v.verdict = RequestVerdict::kDeny;
      v.reason += std::string(" (") + (fw == Framework::kCodex ? "Codex" : "Gemini CLI") + " hooks cannot ask: denied)";
    }
    if (v.no_opinion) return "{}";
    if (fw == Framework::kCodex) {
      if (v.verdict == RequestVerdict::kAllow) return "{}";  // no objection: Codex's own approvals run
      j["hookSpecificOutput"] = {
          {"hookEventName", "PreToolUse"}, {"permissionDecision", "deny"}, {"permissionDecisionReason", v.reason}};
    } else {
      j["decision"] = RequestVerdictName(v.verdict);
      j["reason"] = v.reason;
    }
  }
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Set once an answer is on its way to stdout: nothing may write a second one.
volatile sig_atomic_t g_answered = 0;

int Emit(Framework fw, bool defer_allow, const Verdict& v) {
  std::string out = Answer(fw, v, defer_allow);
  if (v.verdict == RequestVerdict::kDeny && !v.no_opinion) std::fprintf(stderr, "%s\n", v.reason.c_str());
  out.push_back('\n');
  g_answered = 1;
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return kExitOk;
}

// A hook that dies answers nothing, and Claude Code and Codex then run the call (an exit other than 0
// and 2 is a "non-blocking error"). So a fatal signal still answers deny: the answer is built before
// anything can fail, and the handler only writes it (write and _exit are async-signal-safe), on a
// stack of its own so that a stack overflow gets there too. SIGKILL (the framework's own timeout, the
// OOM killer) cannot be caught: --timeout keeps the hook ahead of the framework's.
std::string g_crash_answer;
alignas(16) char g_crash_stack[64 * 1024];

void DenyOnFatalSignal(int) {
  if (!g_answered) {
    g_answered = 1;
    static const char kWhy[] = "agenttrace: the hook failed (a fatal signal) before deciding the tool call: denied\n";
    (void)!write(STDERR_FILENO, kWhy, sizeof kWhy - 1);
    (void)!write(STDOUT_FILENO, g_crash_answer.data(), g_crash_answer.size());
  }
  _exit(kExitOk);
}

void InstallDenyOnCrash(Framework fw) {
  g_crash_answer = Answer(fw, CannotDecide("the hook failed with a fatal signal"), false) + "\n";
  stack_t ss{};
  ss.ss_sp = g_crash_stack;
  ss.ss_size = sizeof g_crash_stack;
  (void)sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = DenyOnFatalSignal;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) (void)sigaction(sig, &sa, nullptr);
}

int DecideHook(Framework fw, const HookFlags& f);

int RunHook(const HookFlags& f) {
  Framework fw;
  if (f.agent == "claude-code" || f.agent == "claude") {
    fw = Framework::kClaudeCode;
  } else if (f.agent == "codex") {
    fw = Framework::kCodex;
  } else if (f.agent == "gemini" || f.agent == "gemini-cli") {
    fw = Framework::kGemini;
  } else {
    std::fprintf(stderr, "agenttrace hook: the framework must be claude-code, codex or gemini, not \"%s\"\n",
                 f.agent.c_str());
    return kExitUsage;
  }
  InstallDenyOnCrash(fw);
  // An exception is a failure to decide like any other: deny, never the internal-error exit that a
  // framework would read as "run the call".
  try {
    return DecideHook(fw, f);
  } catch (const std::exception& e) {
    if (g_answered) return kExitOk;
    return Emit(fw, false, CannotDecide(std::string("internal error: ") + e.what()));
  } catch (...) {
    if (g_answered) return kExitOk;
    return Emit(fw, false, CannotDecide("internal error"));
  }
}

int DecideHook(Framework fw, const HookFlags& f) {
  HookFlags flags = f;
  if (flags.timeout_s <= 0) {
    flags.timeout_s = fw == Framework::kGemini ? kDefaultGeminiTimeoutSeconds : kDefaultTimeoutSeconds;
  }
  auto in = ReadHookPayload(0, kMaxJsonLineBytes);
  if (!in.ok()) return Emit(fw, f.defer_allow, CannotDecide(in.status().message()));
  Status bounds = CheckJsonBounds(*in, "hook payload");
  if (!bounds.ok()) return Emit(fw, f.defer_allow, CannotDecide(bounds.message()));
  Json payload = Json::parse(*in, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) {
    return Emit(fw, f.defer_allow, CannotDecide("stdin is not a JSON object (expected the framework's hook payload)"));
  }
  payload[kHookAgentField] = f.agent;
  const std::string line = payload.dump(-1, ' ', false, Json::error_handler_t::replace);
  auto call = EventFromHookPayload(line);
  if (!call.ok()) return Emit(fw, f.defer_allow, CannotDecide(call.status().message()));
  std::string socket = f.socket.empty() ? Env(kEnvSocket) : f.socket;
  if (call->kind != EventKind::kToolCall) {
    // Not a pre-tool-use event: nothing to decide. Recorded as `emit --hook` would when recording.
    if (!socket.empty()) {
      auto client = EventSocketClient::Connect(socket);
      Status st = client.ok() ? (*client)->SendLine(line) : client.status();
      if (!st.ok()) std::fprintf(stderr, "agenttrace hook: not recorded: %s\n", st.message().c_str());
    }
    g_answered = 1;
    std::fwrite("{}\n", 1, 3, stdout);
    return kExitOk;
  }
  if (!socket.empty()) {
    // Codex and Gemini CLI cannot ask the user: the session's resolver answers instead, if it has one.
    const bool resolve_ask = fw != Framework::kClaudeCode;
    return Emit(fw, f.defer_allow, DecideThroughSocket(socket, line, resolve_ask, flags, *call, payload));
  }
  if (f.policy.empty()) {
    return Emit(
        fw, f.defer_allow, CannotDecide("no --policy given and not inside a recording (" + std::string(kEnvSocket) + " is not set)"));
  }
  return Emit(fw, f.defer_allow, DecideWithPolicy(f.policy, *call, payload));
}

}  // namespace

void RegisterHookCommands(Cli& cli) {
  auto f = std::make_shared<HookFlags>();
  CLI::App* sub = cli.app.add_subcommand(
      "hook",
      "a framework's pre-tool-use hook: decide the tool call on stdin with the policy and answer in the "
      "framework's format (denies when it cannot decide)");
  sub->add_option("framework", f->agent, "claude-code, codex or gemini")->required();
  sub->add_option("--policy", f->policy,
                  "the policy that decides outside a recording (inside `agenttrace run`, the run's policy "
                  "decides)");
  sub->add_option("--socket", f->socket, "event socket (default: $AGENTTRACE_SOCKET)");
  sub->add_flag("--defer-allow", f->defer_allow,
                "answer an allow with no opinion ({}), so that the framework's own permission rules and prompts "
                "still apply and the policy only takes authority away");
  sub->add_option("--timeout", f->timeout_s,
                  "seconds to wait for the session's decision before denying; keep it below the framework's "
                  "hook timeout, which runs the call (default: 570, gemini 55)")
      ->check(CLI::Range(1, 24 * 3600));
  sub->callback([&cli, f] { cli.run = [f] { return RunHook(*f); }; });
}

}  // namespace agenttrace
