// Request-time enforcement of tool calls through the agenttrace binary: `record --mcp --policy` with
// the official SDK client and the filesystem server from npm (a denied call never reaches the server),
// and `agenttrace hook` with each framework's documented pre-tool-use payloads.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "format/decision_event.h"
#include "format/event_json.h"
#include "format/store.h"
#include "tests/mcp/shell_run.h"
#include "recorder/event_socket.h"
#include "replayer/live_decider.h"
#include "replayer/policy.h"
#include "tests/mcp/fake_writer.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kBin = AGENTTRACE_BIN;

// Shared with the other MCP command-line tests (tests/mcp/shell_run.h).
using shelltest::Quote;
using shelltest::RunShell;
using shelltest::Slurp;
using RunResult = shelltest::ShellResult;
using TempDir = shelltest::ScratchDir;
std::vector<Event> OnlySessionEvents(const std::string& store_dir) {
  auto store = Store::Open(store_dir, StoreOptions{.read_only = true});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return {};
  auto sessions = (*store)->ListSessions();
  EXPECT_TRUE(sessions.ok());
  if (!sessions.ok() || sessions->size() != 1) {
    ADD_FAILURE() << "expected one session";
    return {};
  }
  auto reader = (*store)->OpenSession((*sessions)[0].id);
  EXPECT_TRUE(reader.ok());
  std::vector<Event> out;
  for (;;) {
    auto e = (*reader)->Next();
    if (!e.ok() || *e == nullptr) break;
    out.push_back(**e);
  }
  return out;
}

class EnforceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kEnvSocket);  // these tests may run under a recording themselves
    ::unsetenv(kEnvSession);
  }
};

constexpr char kToolPolicy[] = R"(version: 1
default: allow
rules:
  - id: no-writes
    description: the agent may not write files through tools
    decision: deny
    class: tool.call
    tools: ["write_file", "Write", "write_*"]
  - id: no-rm
    description: removing files is not allowed
    decision: deny
    class: tool.call
    tools: ["Bash", "run_shell_command", "shell"]
    args: [{pointer: /command, glob: "rm *"}]
  - id: ask-web
    description: fetching the web needs a human
    decision: ask
    class: tool.call
    tools: ["WebFetch", "web_fetch"]
)";

TEST_F(EnforceCliTest, DeniedToolCallFromTheSdkClientNeverReachesTheFilesystemServer) {
  const fs::path node_dir = MCP_NODE_DIR;
  const fs::path server = node_dir / "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";
  if (!fs::exists(server) || RunShell("command -v node").status != 0) {
    GTEST_SKIP() << "SKIPPED: node or npm packages missing in " << node_dir << " (run `npm ci` there)";
  }
  TempDir work, store;
  fs::path dir = work.path() / "ws";
  fs::create_directories(dir);
  std::ofstream(dir / "hello.txt") << "hello\n";
  std::ofstream(work.path() / "policy.yaml") << kToolPolicy;
  Json calls = Json::array({Json::array({"write_file", {{"path", (dir / "planted.txt").string()}, {"content", "x"}}}),
                            Json::array({"read_text_file", {{"path", (dir / "hello.txt").string()}}})});
  std::string cmd = "node " + Quote(node_dir / "deny_client.mjs") + " " + Quote(calls.dump()) + " -- " + kBin +
                    " record --mcp --store " + Quote(store.path()) + " --policy " + Quote(work.path() / "policy.yaml") +
                    " -- node " + Quote(server) + " " + Quote(dir);
  RunResult r = RunShell(cmd);
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<Json> lines;
  std::istringstream is(r.out);
  for (std::string l; std::getline(is, l);) lines.push_back(Json::parse(l));
  ASSERT_EQ(lines.size(), 2u) << r.out;
  // The client got a JSON-RPC error naming the rule and its reason ...
  ASSERT_TRUE(lines[0].contains("error")) << lines[0].dump();
  EXPECT_EQ(lines[0]["error"]["code"], -32050);
  std::string msg = lines[0]["error"]["message"];
  EXPECT_NE(msg.find("no-writes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("may not write files"), std::string::npos) << msg;
  // ... the server never saw the request: the file does not exist ...
  EXPECT_FALSE(fs::exists(dir / "planted.txt"));
  // ... and the allowed call went through.
  ASSERT_TRUE(lines[1].contains("result")) << lines[1].dump();
  EXPECT_NE(lines[1]["result"].dump().find("hello"), std::string::npos);
  // The session records the call, the decision and the error the client got.
  auto ev = OnlySessionEvents(store.path());
  int write_calls = 0, deny_decisions = 0, allow_decisions = 0, error_results = 0, enforcement = 0;
  for (const Event& e : ev) {
    if (e.kind == EventKind::kToolCall && e.tool == "write_file") ++write_calls;
    if (e.kind == EventKind::kToolResult && e.tool == "write_file" && e.is_error) ++error_results;
    if (e.kind == EventKind::kAnnotation && e.text == kEnforcementText) ++enforcement;
    if (IsDecisionEvent(e)) {
      auto d = ParseDecisionEvent(e);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      if (d->decision.verdict == RequestVerdict::kDeny) {
        ++deny_decisions;
        EXPECT_EQ(d->decision.rule, "no-writes");
        EXPECT_EQ(d->request.tool, "write_file");
      } else {
        ++allow_decisions;
      }
    }
  }
  EXPECT_EQ(write_calls, 1);
  EXPECT_EQ(deny_decisions, 1);
  EXPECT_EQ(allow_decisions, 1);
  EXPECT_EQ(error_results, 1);
  EXPECT_EQ(enforcement, 1);
}

// ---------------------------------------------------------------------------------------------------
// agenttrace hook: documented payloads of each framework (docs/cli.md, "hook").

struct HookCase {
  const char* framework;
  const char* payload;
};

// Claude Code PreToolUse (code.claude.com/docs/en/hooks).
std::string ClaudePayload(const std::string& tool, const Json& input) {
  return Json{{"session_id", "abc123"},       {"transcript_path", "/tmp/t.jsonl"}, {"cwd", "/tmp"},
              {"permission_mode", "default"}, {"hook_event_name", "PreToolUse"},   {"tool_name", tool},
              {"tool_input", input},          {"tool_use_id", "toolu_01"}}
      .dump();
}
// Codex PreToolUse (developers.openai.com/codex/hooks): Claude's shape plus turn_id and model.
std::string CodexPayload(const std::string& tool, const Json& input) {
  return Json{{"session_id", "s"},
              {"turn_id", "t1"},
              {"transcript_path", "/tmp/r.jsonl"},
              {"cwd", "/tmp"},
              {"hook_event_name", "PreToolUse"},
              {"model", "gpt-5"},
              {"tool_name", tool},
              {"tool_input", input},
              {"tool_use_id", "call_1"}}
      .dump();
}
// Gemini CLI BeforeTool (gemini-cli docs/hooks/reference.md).
std::string GeminiPayload(const std::string& tool, const Json& input) {
  return Json{{"session_id", "s"},
              {"transcript_path", "/tmp/g.json"},
              {"cwd", "/tmp"},
              {"hook_event_name", "BeforeTool"},
              {"timestamp", "2026-11-30T00:00:00Z"},
              {"tool_name", tool},
              {"tool_input", input}}
      .dump();
}

RunResult Hook(const std::string& framework, const std::string& policy, const std::string& payload) {
  return RunShell(kBin + " hook " + framework + (policy.empty() ? "" : " --policy " + Quote(policy)), payload);
}

// The decision a framework reads from the hook's stdout: allow / deny / ask, or "" for no opinion.
std::string DecisionOf(const std::string& framework, const RunResult& r, std::string* reason) {
  Json j = Json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << "not JSON: " << r.out;
  if (!j.is_object()) return "?";
  if (framework == "gemini") {
    if (!j.contains("decision")) return "";
    *reason = j.value("reason", "");
    return j["decision"];
  }
  if (!j.contains("hookSpecificOutput")) return "";
  const Json& h = j["hookSpecificOutput"];
  EXPECT_EQ(h["hookEventName"], "PreToolUse");
  *reason = h.value("permissionDecisionReason", "");
  return h["permissionDecision"];
}

class HookCliTest : public EnforceCliTest {
 protected:
  void SetUp() override {
    EnforceCliTest::SetUp();
    policy_ = dir_.path() / "policy.yaml";
    std::ofstream(policy_) << kToolPolicy;
  }
  TempDir dir_;
  fs::path policy_;
};

TEST_F(HookCliTest, ClaudeCodeAllowDenyAsk) {
  std::string why;
  RunResult r = Hook("claude-code", policy_, ClaudePayload("Bash", {{"command", "rm -rf build"}}));
  EXPECT_EQ(r.status, 0) << r.err;  // a JSON deny with exit 0, not exit 2
  EXPECT_EQ(DecisionOf("claude-code", r, &why), "deny");
  EXPECT_NE(why.find("no-rm"), std::string::npos) << why;
  EXPECT_NE(r.err.find("no-rm"), std::string::npos) << r.err;
  r = Hook("claude-code", policy_, ClaudePayload("Bash", {{"command", "ls"}}));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(DecisionOf("claude-code", r, &why), "allow");
  r = Hook("claude-code", policy_, ClaudePayload("WebFetch", {{"url", "https://example.com"}}));
  EXPECT_EQ(DecisionOf("claude-code", r, &why), "ask");
  EXPECT_NE(why.find("ask-web"), std::string::npos) << why;
}

// --defer-allow: an allow is answered with no opinion, so the framework's own prompts still run; a deny
// and an ask are answered as without it.
TEST_F(HookCliTest, DeferAllowLeavesAnAllowToTheFrameworkAndKeepsDenyAndAsk) {
  auto hook = [&](const std::string& framework, const std::string& payload) {
    return RunShell(kBin + " hook " + framework + " --defer-allow --policy " + Quote(policy_), payload);
  };
  std::string why;
  RunResult r = hook("claude-code", ClaudePayload("Bash", {{"command", "ls"}}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(DecisionOf("claude-code", r, &why), "");
  r = hook("claude-code", ClaudePayload("Bash", {{"command", "rm -rf build"}}));
  EXPECT_EQ(DecisionOf("claude-code", r, &why), "deny");
  EXPECT_NE(why.find("no-rm"), std::string::npos) << why;
  r = hook("claude-code", ClaudePayload("WebFetch", {{"url", "https://example.com"}}));
  EXPECT_EQ(DecisionOf("claude-code", r, &why), "ask");
  r = hook("gemini", GeminiPayload("read_file", {{"path", "/tmp/a"}}));
  EXPECT_EQ(DecisionOf("gemini", r, &why), "");
  r = hook("gemini", GeminiPayload("run_shell_command", {{"command", "rm -rf /"}}));
  EXPECT_EQ(DecisionOf("gemini", r, &why), "deny");
}

TEST_F(HookCliTest, CodexHasNoAskSoAskIsDenied) {
  std::string why;
  RunResult r = Hook("codex", policy_, CodexPayload("shell", {{"command", "rm -f x"}}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(DecisionOf("codex", r, &why), "deny");
  r = Hook("codex", policy_, CodexPayload("web_fetch", {{"url", "https://example.com"}}));
  EXPECT_EQ(DecisionOf("codex", r, &why), "deny");
  EXPECT_NE(why.find("cannot ask"), std::string::npos) << why;
  r = Hook("codex", policy_, CodexPayload("shell", {{"command", "ls"}}));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(DecisionOf("codex", r, &why), "");  // no objection: Codex's own approvals run
}

TEST_F(HookCliTest, GeminiDecisionAndReason) {
  std::string why;
  RunResult r = Hook("gemini", policy_, GeminiPayload("run_shell_command", {{"command", "rm -rf /"}}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(DecisionOf("gemini", r, &why), "deny");
  EXPECT_NE(why.find("no-rm"), std::string::npos);
  r = Hook("gemini", policy_, GeminiPayload("web_fetch", {{"url", "x"}}));
  EXPECT_EQ(DecisionOf("gemini", r, &why), "deny");
  EXPECT_NE(why.find("cannot ask"), std::string::npos) << why;
  r = Hook("gemini", policy_, GeminiPayload("read_file", {{"path", "/tmp/a"}}));
  EXPECT_EQ(DecisionOf("gemini", r, &why), "allow");
}

TEST_F(HookCliTest, AHookThatCannotDecideDenies) {
  std::string why;
  fs::path broken = dir_.path() / "broken.yaml";
  std::ofstream(broken) << "version: 1\ndefault: maybe\nrules: [\n";
  for (const char* fw : {"claude-code", "codex", "gemini"}) {
    std::string payload = std::string(fw) == "gemini"  ? GeminiPayload("read_file", {{"path", "/tmp/a"}})
                          : std::string(fw) == "codex" ? CodexPayload("shell", {{"command", "ls"}})
                                                       : ClaudePayload("Read", {{"file_path", "/tmp/a"}});
    for (const std::string& policy : {broken.string(), (dir_.path() / "missing.yaml").string(), std::string()}) {
      RunResult r = Hook(fw, policy, payload);
      EXPECT_EQ(r.status, 0) << fw << " " << policy;
      EXPECT_EQ(DecisionOf(fw, r, &why), "deny") << fw << " " << policy << ": " << r.out;
      EXPECT_NE(why.find("cannot be decided"), std::string::npos) << why;
      EXPECT_NE(r.err.find("cannot be decided"), std::string::npos) << r.err;
    }
    RunResult garbage = Hook(fw, policy_, "not json");
    EXPECT_EQ(DecisionOf(fw, garbage, &why), "deny") << fw;
  }
  EXPECT_EQ(Hook("cursor", policy_, ClaudePayload("Bash", {{"command", "ls"}})).status, 2);
}

// A payload over the JSON bound is not read past the bound, and the hook denies saying why.
TEST_F(HookCliTest, AnOversizedPayloadIsDeniedNamingTheBound) {
  std::string payload = ClaudePayload("Bash", {{"command", "ls"}});
  payload += std::string(kMaxJsonLineBytes + 1 - payload.size(), ' ');
  RunResult r = Hook("claude-code", policy_, payload);
  EXPECT_EQ(r.status, 0) << r.err;
  std::string why;
  EXPECT_EQ(DecisionOf("claude-code", r, &why), "deny") << r.out;
  const std::string want = "hook payload on stdin is larger than " + std::to_string(kMaxJsonLineBytes) + " bytes";
  EXPECT_NE(why.find(want), std::string::npos) << why;
}

// Inside a recording the hook records the call and the session decides it; a socket that answers
// nothing or is gone makes the hook deny.
TEST_F(HookCliTest, InsideARecordingTheSessionRecordsAndDecides) {
  FakeAsyncWriter writer;
  std::string sock = (dir_.path() / "events.sock").string();
  {
    auto server = EventSocketServer::Start(sock, &writer, nullptr);
    ASSERT_TRUE(server.ok());
    // No policy in the recording and none given: recorded, no opinion.
    RunResult r =
        RunShell(kBin + " hook claude-code --socket " + Quote(sock), ClaudePayload("Bash", {{"command", "rm -rf x"}}));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "{}\n");
    // No policy in the recording, --policy given: the policy decides this call.
    std::string why;
    r = RunShell(kBin + " hook claude-code --socket " + Quote(sock) + " --policy " + Quote(policy_),
                 ClaudePayload("Bash", {{"command", "rm -rf x"}}));
    EXPECT_EQ(DecisionOf("claude-code", r, &why), "deny");
    auto ev = writer.Events();
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].kind, EventKind::kToolCall);
    EXPECT_EQ(ev[0].server, "claude-code");
    EXPECT_EQ(ev[0].json, R"({"command":"rm -rf x"})");
  }
  std::string why;
  RunResult gone =
      RunShell(kBin + " hook gemini --socket " + Quote(sock), GeminiPayload("read_file", {{"path", "/a"}}));
  EXPECT_EQ(gone.status, 0);
  EXPECT_EQ(DecisionOf("gemini", gone, &why), "deny");
  EXPECT_NE(why.find("cannot be decided"), std::string::npos) << why;
}

// A nested `record --mcp` inside a run: the run's live decider (the real evaluator, here behind the
// event socket of an in-process recording) decides the proxy's tool calls, so one session has one
// state; the decisions are the decider's, the tool calls and results the proxy's.
TEST_F(EnforceCliTest, NestedProxyIsDecidedByTheEnclosingSessionsDecider) {
  TempDir dir;
  std::ofstream(dir.path() / "policy.yaml") << R"(version: 1
default: allow
rules:
  - id: no-echo
    description: echo is off limits in this run
    decision: deny
    class: tool.call
    tools: ["echo"]
)";
  auto policy = LoadPolicyFile((dir.path() / "policy.yaml").string());
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  FakeAsyncWriter writer;
  LiveDeciderOptions lo;
  lo.record = [&writer](const Event& e) { (void)writer.Append(e); };
  auto decider =
      LiveDecider::Create(std::make_shared<const Policy>(std::move(*policy)), PathVars{"/w", "/h", "/tmp"}, lo);
  ASSERT_TRUE(decider.ok()) << decider.status().ToString();
  std::string sock = (dir.path() / "events.sock").string();
  auto server = EventSocketServer::Start(sock, &writer, nullptr, {decider->get(), nullptr, EnforceMode::kEnforce});
  ASSERT_TRUE(server.ok());
  std::string input = R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})"
                      "\n"
                      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":"v"}}})"
                      "\n"
                      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"other","arguments":{}}})"
                      "\n";
  RunResult r = RunShell(std::string(kEnvSocket) + "=" + Quote(sock) + " " + kEnvDecides + "=1 " + kBin +
                             " record --mcp -- " + FAKE_MCP_SERVER + " mcp",
                         input);
  ASSERT_EQ(r.status, 0) << r.err;
  (*server)->Stop();
  // The agent got the proxy's error for the denied call and the server's answer for the other.
  std::map<int, Json> answers;
  std::istringstream is(r.out);
  for (std::string l; std::getline(is, l);) {
    Json j = Json::parse(l);
    answers[j["id"].get<int>()] = j;
  }
  ASSERT_TRUE(answers[1].contains("error")) << r.out;
  EXPECT_NE(answers[1]["error"]["message"].get<std::string>().find("no-echo"), std::string::npos);
  EXPECT_TRUE(answers[2].contains("result")) << r.out;
  int calls = 0, denials = 0, allows = 0, error_results = 0;
  for (const Event& e : writer.Events()) {
    calls += e.kind == EventKind::kToolCall;
    error_results += e.kind == EventKind::kToolResult && e.tool == "echo" && e.is_error;
    if (IsDecisionEvent(e)) {
      auto d = ParseDecisionEvent(e);
      ASSERT_TRUE(d.ok());
      (d->decision.verdict == RequestVerdict::kDeny ? denials : allows)++;
    }
  }
  EXPECT_EQ(calls, 2);  // once each: recorded by the proxy, not again by the socket
  EXPECT_EQ(denials, 1);
  EXPECT_EQ(allows, 1);
  EXPECT_EQ(error_results, 1);
  EXPECT_EQ((*decider)->counts().deny, 1u);
}

// Under `agenttrace run --policy DIR/policy.yaml`: a Claude Code hook fed DIR/payload.json (answer in
// DIR/hook.out), then a nested `record --mcp` of the fake server fed DIR/mcp.in (answers in
// DIR/mcp.out).
RunResult RunHookAndNestedProxy(const std::string& store, const std::string& d) {
  std::string agent = kBin + " hook claude-code <" + Quote(d + "/payload.json") + " >" + Quote(d + "/hook.out") + "; " +
                      kBin + " record --mcp -- " + FAKE_MCP_SERVER + " mcp <" + Quote(d + "/mcp.in") + " >" +
                      Quote(d + "/mcp.out");
  return RunShell(kBin + " run --ask deny --store " + Quote(store) + " --policy " + Quote(d + "/policy.yaml") +
                  " -- /bin/sh -c " + Quote(agent));
}

// Under `agenttrace run`, a hook and a nested proxy are decided by the run's own live decider through
// its event socket: the same session records their tool calls and the decisions.
TEST_F(EnforceCliTest, UnderRunHooksAndNestedProxiesAreDecidedByTheRun) {
  TempDir dir, store;
  std::ofstream(dir.path() / "policy.yaml") << R"(version: 1
default: allow
rules:
  - id: no-rm
    description: removing files is not allowed
    decision: deny
    class: tool.call
    tools: ["Bash"]
    args: [{pointer: /command, glob: "rm *"}]
  - id: no-echo
    description: echo is off limits in this run
    decision: deny
    class: tool.call
    tools: ["echo"]
)";
  std::ofstream(dir.path() / "payload.json") << ClaudePayload("Bash", {{"command", "rm -rf build"}});
  std::ofstream(dir.path() / "mcp.in")
      << R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" "\n"
         R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":"v"}}})" "\n";
  const std::string d = dir.path().string();
  // The hook is given no --policy: the run decides.
  RunResult r = RunHookAndNestedProxy(store.path(), d);
  if (r.status == 125 && r.err.find("ptrace") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: ptrace is not permitted here; `run` was NOT tested: " << r.err;
  }
  ASSERT_EQ(r.status, 0) << r.err;
  std::string why;
  RunResult hook_out{0, Slurp(dir.path() / "hook.out"), ""};
  EXPECT_EQ(DecisionOf("claude-code", hook_out, &why), "deny") << hook_out.out;
  EXPECT_NE(why.find("no-rm"), std::string::npos) << why;
  std::string mcp_out = Slurp(dir.path() / "mcp.out");
  EXPECT_NE(mcp_out.find("no-echo"), std::string::npos) << mcp_out;
  EXPECT_NE(mcp_out.find("-32050"), std::string::npos) << mcp_out;
  std::set<std::string> denied_rules;
  int tool_calls = 0;
  for (const Event& e : OnlySessionEvents(store.path())) {
    tool_calls += e.kind == EventKind::kToolCall;
    if (!IsDecisionEvent(e)) continue;
    auto dec = ParseDecisionEvent(e);
    ASSERT_TRUE(dec.ok());
    if (dec->request.kind == EventKind::kToolCall && dec->decision.verdict == RequestVerdict::kDeny) {
      denied_rules.insert(dec->decision.rule);
    }
  }
  EXPECT_EQ(tool_calls, 2);  // the hook's and the proxy's, each once
  EXPECT_EQ(denied_rules, (std::set<std::string>{"no-rm", "no-echo"}));
}

// Under `run` the decision events are built on the session's writer thread from the requests the
// decider got: a token in a hook's tool input and in a nested proxy's tools/call arguments (the
// request's json) must reach neither those events nor any other.
TEST_F(EnforceCliTest, UnderRunSecretsInToolRequestsNeverReachTheStore) {
  TempDir dir, store;
  std::ofstream(dir.path() / "policy.yaml") << "version: 1\ndefault: allow\nrules:\n"
                                               "  - {id: no-rm, decision: deny, class: tool.call, tools: [\"rm\"]}\n";
  // Assembled from pieces so that no complete token sits in the source.
  const std::string token = std::string("ghp_") + "RunToolToken0123456789abcdefGHIJKLMN";
  std::ofstream(dir.path() / "payload.json")
      << ClaudePayload("Bash", {{"command", "curl -H 'Authorization: Bearer " + token + "' https://x"}});
  std::ofstream(dir.path() / "mcp.in")
      << R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" << '\n'
      << R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"token":")" << token
      << R"("}}})" << '\n';
  const std::string d = dir.path().string();
  RunResult r = RunHookAndNestedProxy(store.path(), d);
  if (r.status == 125 && r.err.find("ptrace") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: ptrace is not permitted here; `run` was NOT tested: " << r.err;
  }
  ASSERT_EQ(r.status, 0) << r.err;
  int tool_decisions = 0;
  for (const Event& e : OnlySessionEvents(store.path())) {
    std::string all = e.json + e.text + e.path;
    for (const std::string& a : e.argv) all += a;
    EXPECT_EQ(all.find(token), std::string::npos) << "the token leaked: " << all;
    if (!IsDecisionEvent(e)) continue;
    auto dec = ParseDecisionEvent(e);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    if (dec->request.kind != EventKind::kToolCall) continue;
    ++tool_decisions;
    EXPECT_NE(dec->request.json.find("<secret:fp:"), std::string::npos) << dec->request.json;
  }
  EXPECT_EQ(tool_decisions, 2);  // the hook's and the proxy's
}

// Regression: messages the proxy cannot decide as a tools/call (a duplicate key, a batch, a float id)
// are refused under `run` and recorded as protocol.error events with no decision event. Replay with
// the same policy ignored them, and the tracker's own reading of the duplicate-key call (the last
// "name": echo) was allowed: the agent passed the gate as if it had sent nothing undecidable. Replay
// now reports each refusal as the proxy decided it (a deny by "refused"), the gate fails on them,
// and the request-time check counts them among the decisions replayed the same.
TEST_F(EnforceCliTest, ToolRequestsRefusedUnderRunAreDenialsInReplay) {
  TempDir dir, store;
  const std::string d = dir.path().string();
  std::ofstream(dir.path() / "policy.yaml") << R"(version: 1
default: allow
rules:
  - id: no-zap
    description: zapping is not allowed
    decision: deny
    class: tool.call
    tools: ["zap"]
promotion: {min_sessions: 1}
)";
  std::ofstream(dir.path() / "mcp.in")
      << R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" "\n"
         R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":"v"}}})" "\n"
         R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"zap","name":"echo"}})" "\n"
         R"([{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"zap"}}])" "\n"
         R"({"jsonrpc":"2.0","id":4.0,"method":"tools/call","params":{"name":"zap"}})" "\n";
  std::string agent = kBin + " record --mcp -- " + FAKE_MCP_SERVER + " mcp <" + Quote(d + "/mcp.in") + " >" +
                      Quote(d + "/mcp.out");
  RunResult r = RunShell(kBin + " run --ask deny --store " + Quote(store.path()) + " --label hostile --policy " +
                         Quote(d + "/policy.yaml") + " -- /bin/sh -c " + Quote(agent));
  if (r.status == 125 && r.err.find("ptrace") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: ptrace is not permitted here; `run` was NOT tested: " << r.err;
  }
  ASSERT_EQ(r.status, 0) << r.err;
  // Under run: the three hostile spellings were refused (never reached the server), the plain echo
  // answered by the server. Nothing else the agent did breaks the policy.
  std::string out = Slurp(dir.path() / "mcp.out");
  int refused_answers = 0;
  for (size_t at = out.find("\"decision\":\"refused\""); at != std::string::npos;
       at = out.find("\"decision\":\"refused\"", at + 1)) {
    ++refused_answers;
  }
  EXPECT_EQ(refused_answers, 3) << out;
  int refusals = 0, decisions = 0;
  for (const Event& e : OnlySessionEvents(store.path())) {
    refusals += e.kind == EventKind::kProtocolError && e.text.find("is refused") != std::string::npos;
    decisions += IsDecisionEvent(e) ? 1 : 0;
  }
  ASSERT_EQ(refusals, 3);
  ASSERT_GE(decisions, 2);  // the echo call and the run's syscalls

  // Replay with the same policy: the same decision for every request, the refusals among them.
  RunResult rep = RunShell(kBin + " replay --store " + Quote(store.path()) + " --label hostile --policy " +
                           Quote(d + "/policy.yaml") + " --json " + Quote(d + "/report.json"));
  EXPECT_EQ(rep.status, 1) << "an agent that sent undecidable tool calls must not be promotable:\n" << rep.out;
  EXPECT_NE(rep.out.find("rule refused [tool.call]"), std::string::npos) << rep.out;
  Json j = Json::parse(Slurp(dir.path() / "report.json"));
  ASSERT_EQ(j["sessions"].size(), 1u);
  const Json& s = j["sessions"][0];
  const Json& rd = s["request_decisions"];
  EXPECT_EQ(rd["refused"], 3) << rd.dump();
  EXPECT_EQ(rd["recorded"].get<int>(), decisions + 3) << rd.dump();
  EXPECT_EQ(rd["same"], rd["recorded"]) << rd.dump();
  EXPECT_TRUE(rd["different"].empty()) << rd.dump();
  int refused_findings = 0;
  for (const Json& f : s["findings"]) {
    if (f["rule"] == "refused") {
      ++refused_findings;
      EXPECT_EQ(f["decision"], "deny");
      EXPECT_EQ(f["class"], "tool.call");
    }
  }
  EXPECT_EQ(refused_findings, 3) << s["findings"].dump(1);
  bool max_violations_failed = false;
  for (const Json& c : j["labels"][0]["criteria"]) {
    if (c["name"] == "max_violations") max_violations_failed = !c["ok"].get<bool>();
  }
  EXPECT_TRUE(max_violations_failed) << j["labels"][0].dump(1);
  EXPECT_EQ(s["deny"], 3) << s["findings"].dump(1);
  EXPECT_FALSE(j["labels"][0]["promotable"].get<bool>());
}

// Under `agenttrace run`, a tools/call the run puts to a human (here an `--ask exec:` program that
// takes 12 s) is still being decided when the agent closes the nested stdio proxy's stdin. The proxy
// leaves that decision behind after its 2 s bound (McpProxyOptions::decider): it must exit promptly
// with the server's status, the server never gets the call, and what the abandoned decision uses
// (the nested deciders) must outlive the proxy's return and its static destruction. The proxy's
// stderr is checked for a sanitizer report (a build with -DAGENTTRACE_SANITIZE=ON).
TEST_F(EnforceCliTest, UnderRunTheStdioProxyStopsWithoutWaitingForAnAskInProgress) {
  TempDir dir, store;
  const fs::path d = dir.path();
  std::ofstream(d / "policy.yaml") << R"(version: 1
default: allow
rules:
  - {id: ask-echo, description: a human must agree, decision: ask, class: tool.call, tools: ["echo"]}
)";
  const std::string asked = (d / "asked").string(), in = (d / "in").string();
  // The agent: starts the proxy on a FIFO, sends initialize and the call, waits until the ask is
  // being answered, closes the proxy's stdin and writes its exit status and how long it took to
  // stop (ms) to stop.out.
  std::ofstream(d / "agent.sh")
      << "mkfifo " << Quote(in) << "\n"
      << kBin << " record --mcp -- " << FAKE_MCP_SERVER << " mcp < " << Quote(in) << " > "
      << Quote((d / "mcp.out").string()) << " 2> " << Quote((d / "proxy.err").string()) << " &\n"
      << "P=$!\nexec 3> " << Quote(in) << "\n"
      << "printf '%s\\n' " << Quote(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})") << " "
      << Quote(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":"v"}}})")
      << " >&3\n"
      << "for i in $(seq 1 1200); do [ -e " << Quote(asked) << " ] && break; sleep 0.05; done\n"
      << "T0=$(date +%s%N)\nexec 3>&-\nwait $P\nRC=$?\nT1=$(date +%s%N)\n"
      << "echo \"$RC $(( (T1 - T0) / 1000000 ))\" > " << Quote((d / "stop.out").string()) << "\n";
  RunResult r = RunShell(kBin + " run --ask-timeout 60s --ask " + Quote("exec:touch " + Quote(asked) + "; sleep 12") +
                         " --store " + Quote(store.path()) + " --label stdio-ask --policy " +
                         Quote((d / "policy.yaml").string()) + " -- /bin/sh " + Quote((d / "agent.sh").string()));
  if (r.status == 125 && r.err.find("ptrace") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: ptrace is not permitted here; `run` was NOT tested: " << r.err;
  }
  const std::string proxy_err = Slurp(d / "proxy.err");
  ASSERT_TRUE(fs::exists(asked)) << "the ask was never put to the program\n" << r.err << proxy_err;
  int rc = -1, ms = -1;
  std::istringstream(Slurp(d / "stop.out")) >> rc >> ms;
  // The server's status: the relay keeps the server's stdin open while a call is being decided (it
  // may yet be forwarded), so the server is ended by the 2 s rule (SIGTERM).
  EXPECT_EQ(rc, 128 + SIGTERM) << proxy_err;
  EXPECT_GE(ms, 0);
  EXPECT_LT(ms, 8000) << "the proxy's stop waited for the ask";
  EXPECT_EQ(proxy_err.find("Sanitizer"), std::string::npos) << proxy_err;
  EXPECT_EQ(proxy_err.find("runtime error"), std::string::npos) << proxy_err;
  // The server answered initialize and never got the call.
  std::set<int> answered;
  std::istringstream os(Slurp(d / "mcp.out"));
  for (std::string l; std::getline(os, l);) {
    Json j = Json::parse(l, nullptr, false);
    if (j.is_object() && j.contains("id")) answered.insert(j["id"].get<int>());
  }
  EXPECT_EQ(answered, (std::set<int>{0})) << Slurp(d / "mcp.out");
  // The run's session is complete, holds the call (recorded by the proxy), no result for it, and
  // nothing recorded after its end.
  SessionInfo info;
  {
    auto st = Store::Open(store.path(), StoreOptions{.read_only = true});  // closed before it is read again
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    auto sessions = (*st)->ListSessions();
    ASSERT_TRUE(sessions.ok() && sessions->size() == 1u);
    info = (*sessions)[0];
  }
  EXPECT_EQ(info.state, SessionState::kComplete) << r.err;
  int calls = 0, results = 0;
  for (const Event& e : OnlySessionEvents(store.path())) {
    calls += e.kind == EventKind::kToolCall && e.tool == "echo";
    results += e.kind == EventKind::kToolResult;
    EXPECT_LE(e.wall_ns, info.end_wall_ns) << EventKindName(e.kind) << " " << e.text;
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(results, 0);
}

// A Unix socket listening at `path` that nobody serves (connections wait in its backlog), or -1.
int ListenUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 8) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A framework that times its hook out runs the call. A session that does not answer (here a socket
// that is listened on but never accepted) must make the hook deny on its own, before the framework
// gives up; --timeout sets how long it waits.
TEST_F(HookCliTest, NoDecisionInTimeDeniesBeforeTheFrameworkGivesUp) {
  std::string sock = (dir_.path() / "mute.sock").string();
  int fd = ListenUnix(sock);
  ASSERT_GE(fd, 0);
  for (const char* fw : {"claude-code", "gemini"}) {
    std::string payload = std::string(fw) == "gemini" ? GeminiPayload("read_file", {{"path", "/tmp/a"}})
                                                      : ClaudePayload("Read", {{"file_path", "/tmp/a"}});
    auto start = std::chrono::steady_clock::now();
    RunResult r = RunShell("timeout 30 " + kBin + " hook " + fw + " --timeout 1 --socket " + Quote(sock), payload);
    auto took = std::chrono::steady_clock::now() - start;
    std::string why;
    EXPECT_EQ(r.status, 0) << fw << ": " << r.err;
    EXPECT_EQ(DecisionOf(fw, r, &why), "deny") << fw << ": " << r.out;
    EXPECT_NE(why.find("cannot be decided"), std::string::npos) << why;
    EXPECT_LT(took, std::chrono::seconds(15)) << fw;
  }
  ::close(fd);
}

// A hook that dies answers nothing, and Claude Code and Codex then run the call. A fatal signal while
// it waits for the session's decision must still leave the framework a deny to read, with exit 0.
TEST_F(HookCliTest, AFatalSignalWhileDecidingStillAnswersDeny) {
  std::string sock = (dir_.path() / "slow.sock").string();
  int fd = ListenUnix(sock);
  ASSERT_GE(fd, 0);
  for (const char* fw : {"claude-code", "codex", "gemini"}) {
    SCOPED_TRACE(fw);
    const std::string name = fw;
    std::string payload = name == "gemini"  ? GeminiPayload("read_file", {{"path", "/tmp/a"}})
                          : name == "codex" ? CodexPayload("shell", {{"command", "ls"}})
                                            : ClaudePayload("Read", {{"file_path", "/tmp/a"}});
    RunResult r;
    std::thread hook(
        [&] { r = RunShell("timeout 60 " + kBin + " hook " + name + " --timeout 50 --socket " + Quote(sock), payload); });
    // The hook connects and sends its request: it is now waiting for the decision.
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 30000), 1);
    int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(conn, 0);
    ucred who{};
    socklen_t len = sizeof who;
    ASSERT_EQ(::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &who, &len), 0);
    char c = 0;
    while (::read(conn, &c, 1) == 1 && c != '\n') {
    }
    ASSERT_EQ(c, '\n');
    ASSERT_EQ(::kill(who.pid, SIGSEGV), 0);
    hook.join();
    ::close(conn);
    EXPECT_EQ(r.status, 0) << r.err;
    if (name == "codex") {
      Json j = Json::parse(r.out, nullptr, false);
      ASSERT_TRUE(j.is_object()) << r.out;
      EXPECT_EQ(j["hookSpecificOutput"]["permissionDecision"], "deny") << r.out;
    } else {
      std::string why;
      EXPECT_EQ(DecisionOf(name, r, &why), "deny") << r.out;
      EXPECT_NE(why.find("fatal signal"), std::string::npos) << why;
    }
    EXPECT_NE(r.err.find("fatal signal"), std::string::npos) << r.err;
  }
  ::close(fd);
}

}  // namespace
}  // namespace agenttrace
