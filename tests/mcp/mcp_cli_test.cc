// End to end through the agenttrace binary: `record --mcp` with the official SDK client and the
// filesystem server from npm (transcripts identical with and without the proxy; every tools/call
// recorded with its result), exit statuses, nesting through the event socket, and `emit`.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "format/event_json.h"
#include "format/store.h"
#include "tests/mcp/shell_run.h"
#include "recorder/event_socket.h"
#include "tests/mcp/fake_writer.h"
#include "tests/mcp/scripted_socket.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;

// Shared with the other MCP command-line tests (tests/mcp/shell_run.h).
using shelltest::Quote;
using shelltest::RunShell;
using shelltest::SessionEvents;
using shelltest::Slurp;
using RunResult = shelltest::ShellResult;
using TempDir = shelltest::ScratchDir;
class McpCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // These tests may themselves run under `agenttrace record`: do not nest into that recording.
    ::unsetenv(kEnvSocket);
    ::unsetenv(kEnvSession);
  }
};

const std::string kBin = AGENTTRACE_BIN;
const std::string kFake = FAKE_MCP_SERVER;

TEST_F(McpCliTest, NodeSdkClientAndFilesystemServerSameTranscriptThroughTheProxy) {
  const fs::path node_dir = MCP_NODE_DIR;
  const fs::path server = node_dir / "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";
  if (!fs::exists(server) || !fs::exists(node_dir / "node_modules/@modelcontextprotocol/sdk")) {
    GTEST_SKIP() << "SKIPPED: npm packages missing in " << node_dir
                 << "/node_modules (run `npm ci` there; scripts/test.sh does). The real-MCP-peer test did NOT run.";
  }
  if (RunShell("command -v node").status != 0) GTEST_SKIP() << "SKIPPED: node is not installed; the real-MCP-peer test did NOT run.";
  TempDir work, store;
  fs::path dir = work.path() / "ws";
  fs::create_directories(dir / "sub");
  auto reset = [&] {
    fs::remove(dir / "written.txt");
    std::ofstream(dir / "hello.txt") << "hello\n";
    std::ofstream(dir / "sub/nested.txt") << "nested\n";
  };
  std::string client = "node " + Quote(node_dir / "client.mjs") + " " + Quote(dir) + " -- ";
  std::string srv = "node " + Quote(server) + " " + Quote(dir);

  reset();
  RunResult direct = RunShell(client + srv);
  ASSERT_EQ(direct.status, 0) << direct.err;
  reset();
  RunResult proxied = RunShell(client + kBin + " record --mcp --store " + Quote(store.path()) +
                          " --label fs-e2e --agent node-test -- " + srv);
  ASSERT_EQ(proxied.status, 0) << proxied.err;
  EXPECT_FALSE(direct.out.empty());
  EXPECT_EQ(direct.out, proxied.out);  // the client cannot tell the proxy is there
  EXPECT_NE(proxied.out.find("\"closed\""), std::string::npos);

  SessionInfo info;
  auto ev = SessionEvents(store.path(), &info);
  EXPECT_EQ(info.recorder, "mcp");
  EXPECT_EQ(info.label, "fs-e2e");
  EXPECT_EQ(info.state, SessionState::kComplete);
  EXPECT_EQ(info.exit_code, 0);
  std::map<std::string, Event> calls, results;
  std::set<std::string> defs;
  bool saw_initialize = false;
  for (const Event& e : ev) {
    if (e.kind == EventKind::kToolCall) calls[e.request_id] = e;
    if (e.kind == EventKind::kToolResult) results[e.request_id] = e;
    if (e.kind == EventKind::kToolDef) {
      defs.insert(e.tool);
      EXPECT_EQ(e.text.size(), 64u);
    }
    if (e.kind == EventKind::kMcpResponse && e.method == "initialize") {
      saw_initialize = true;
      EXPECT_NE(e.json.find("secure-filesystem-server"), std::string::npos);
    }
    if (e.kind != EventKind::kProtocolError) {
      EXPECT_EQ(e.server, "secure-filesystem-server") << EventKindName(e.kind);
    }
  }
  EXPECT_TRUE(saw_initialize);
  EXPECT_EQ(defs.size(), 14u);
  EXPECT_TRUE(defs.count("read_text_file"));
  ASSERT_EQ(calls.size(), 9u);  // 8 scripted calls + the unknown tool
  EXPECT_EQ(results.size(), calls.size());
  int errors = 0;
  for (const auto& [id, call] : calls) {
    if (!results.count(id)) {
      ADD_FAILURE() << "no result for call " << id << " " << call.tool;
      continue;
    }
    EXPECT_EQ(results[id].tool, call.tool);
    EXPECT_GT(results[id].duration_ns, 0);
    errors += results[id].is_error;
  }
  EXPECT_EQ(errors, 3);  // missing file, outside the allowed directory, unknown tool
  // The arguments are recorded as the client sent them.
  bool saw_write = false;
  for (const auto& [id, call] : calls) {
    if (call.tool == "write_file") {
      saw_write = true;
      EXPECT_NE(call.json.find("written through the proxy"), std::string::npos);
    }
  }
  EXPECT_TRUE(saw_write);
}

TEST_F(McpCliTest, ExitStatusIsTheServers) {
  TempDir store;
  std::string rec = kBin + " record --mcp --store " + Quote(store.path()) + " -- ";
  EXPECT_EQ(RunShell(rec + kFake + " exit 3").status, 3);
  EXPECT_EQ(RunShell(rec + kFake + " mcp").status, 0);
  RunResult nf = RunShell(rec + "/nonexistent/server");
  EXPECT_EQ(nf.status, 127);
  EXPECT_NE(nf.err.find("/nonexistent/server"), std::string::npos) << nf.err;
  RunResult none = RunShell(kBin + " record --mcp --store " + Quote(store.path()));
  EXPECT_NE(none.status, 0);
}

TEST_F(McpCliTest, StdoutCarriesOnlyTheServersBytes) {
  TempDir store;
  std::string input = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}\nnot json\n{\"partial";
  RunResult r = RunShell(kBin + " record --mcp --store " + Quote(store.path()) + " -- " + kFake + " echo", input);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, input);
  SessionInfo info;
  auto ev = SessionEvents(store.path(), &info);
  int perr = 0;
  for (const Event& e : ev) perr += e.kind == EventKind::kProtocolError;
  EXPECT_EQ(perr, 4);  // "not json" and the unterminated tail, each seen in both directions
}

TEST_F(McpCliTest, NestedRecordSendsEventsThroughTheEnclosingSocket) {
  TempDir sock_dir, store;
  FakeAsyncWriter writer;
  std::string path = (sock_dir.path() / "s").string();
  auto server = EventSocketServer::Start(path, &writer, nullptr);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string input =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" "\n"
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":"v"}}})" "\n";
  RunResult r = RunShell(std::string(kEnvSocket) + "=" + Quote(path) + " " + kBin + " record --mcp --store " +
                        Quote(store.path()) + " -- " + kFake + " mcp",
                    input);
  ASSERT_EQ(r.status, 0) << r.err;
  (*server)->Stop();
  auto ev = writer.Events();
  std::vector<EventKind> kinds;
  for (const Event& e : ev) {
    kinds.push_back(e.kind);
    EXPECT_EQ(e.server, "fake-mcp");
    EXPECT_GT(e.pid, 0);
  }
  ASSERT_EQ(kinds.size(), 4u);
  // Wire order: the tool call may be read before the initialize answer (both lines arrive at once).
  EXPECT_EQ(kinds[0], EventKind::kMcpRequest);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), EventKind::kMcpResponse), 1);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), EventKind::kToolCall), 1);
  EXPECT_EQ(kinds[3], EventKind::kToolResult);
  // No session of its own.
  EXPECT_TRUE(fs::is_empty(store.path()));
}

// The enclosing recording drops the connection before answering an event: the nested proxy says so
// on stderr at once, goes on (a new connection) and records the loss as a gap; it used to stop sending
// every later event, saying only at the end that recording had stopped.
TEST_F(McpCliTest, NestedRecordSaysAndRecordsEventsItCouldNotDeliver) {
  TempDir store;
  ScriptedRecording rec([](int conn, int index) { return Step{conn == 0 && index == 1 ? Reply::kClose : Reply::kOk, 0}; });
  std::string input =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" "\n"
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":"v"}}})" "\n";
  RunResult r = RunShell(std::string(kEnvSocket) + "=" + Quote(rec.path()) + " " + kBin + " record --mcp --store " +
                             Quote(store.path()) + " -- " + kFake + " mcp",
                         input);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("a tool event was lost"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 tool event lost; the recording holds a gap event for each loss"), std::string::npos) << r.err;
  std::vector<std::string> lines = rec.Lines();
  ASSERT_EQ(lines.size(), 5u);  // 4 events, one of them lost, and the gap
  EXPECT_NE(lines[2].find("\"kind\":\"gap\""), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("\"size\":1"), std::string::npos) << lines[2];
  EXPECT_NE(lines[4].find("tool.result"), std::string::npos) << lines[4];
  EXPECT_EQ(rec.connections(), 2);
}

TEST_F(McpCliTest, SigtermToTheProxyReachesTheServerAndTheSessionCompletes) {
  TempDir store;
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl(kBin.c_str(), kBin.c_str(), "record", "--mcp", "--store", store.path().c_str(), "--", kFake.c_str(),
          "hold", static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  // The server says it is ready (through the proxy): the proxy and the server both run.
  std::string ready;
  char c;
  while (ready.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) ready.push_back(c);
  EXPECT_NE(ready.find("ready"), std::string::npos) << ready;
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ::close(in[1]);
  ::close(out[0]);
  ASSERT_TRUE(WIFEXITED(st)) << "the proxy itself was killed";
  EXPECT_EQ(WEXITSTATUS(st), 128 + SIGTERM);  // the server's fate, passed on
  SessionInfo info;
  SessionEvents(store.path(), &info);
  EXPECT_EQ(info.state, SessionState::kComplete);
  EXPECT_EQ(info.exit_signal, SIGTERM);
}

TEST_F(McpCliTest, McpProxyUnderRecordJoinsTheAgentsSession) {
  TempDir store;
  std::string input =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" "\n"
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":"v"}}})" "\n";
  // The "agent" is a shell that starts the MCP proxy, as an agent starts a configured MCP server.
  RunResult r = RunShell(kBin + " record -q --store " + Quote(store.path()) + " -- /bin/sh -c " +
                             Quote(kBin + " record --mcp -- " + kFake + " mcp >/dev/null"),
                         input);
  if (r.status == 125 && r.err.find("ptrace") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: ptrace is not permitted here, nesting under the tracer was NOT tested: " << r.err;
  }
  ASSERT_EQ(r.status, 0) << r.err;
  SessionInfo info;
  auto ev = SessionEvents(store.path(), &info);  // exactly one session: the agent's
  int execs = 0, calls = 0, results = 0;
  for (const Event& e : ev) {
    execs += e.kind == EventKind::kExec;
    calls += e.kind == EventKind::kToolCall && e.server == "fake-mcp" && e.tool == "echo";
    results += e.kind == EventKind::kToolResult && e.server == "fake-mcp";
  }
  EXPECT_GE(execs, 2);  // sh, agenttrace, the server ...
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(results, 1);
}

TEST_F(McpCliTest, TraceServerRecordsTheServersSyscallsWithItsToolCalls) {
  TempDir store;
  std::string input =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" "\n"
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":"v"}}})" "\n";
  RunResult direct = RunShell(kFake + " mcp", input);
  RunResult r = RunShell(kBin + " record --mcp --trace-server --store " + Quote(store.path()) + " -- " + kFake + " mcp",
                         input);
  if (r.status == 125 && r.err.find("ptrace") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: ptrace is not permitted here, --trace-server was NOT tested: " << r.err;
  }
  ASSERT_EQ(r.status, direct.status) << r.err;
  EXPECT_EQ(r.out, direct.out);  // still transparent
  SessionInfo info;
  auto ev = SessionEvents(store.path(), &info);  // one session holds both
  bool server_exec = false;
  int opens = 0, calls = 0, results = 0;
  for (const Event& e : ev) {
    server_exec |= e.kind == EventKind::kExec && e.path == fs::canonical(kFake).string() && e.result == 0;
    opens += e.kind == EventKind::kFileOpen;
    calls += e.kind == EventKind::kToolCall && e.tool == "echo";
    results += e.kind == EventKind::kToolResult;
  }
  EXPECT_TRUE(server_exec);
  EXPECT_GT(opens, 0);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(results, 1);
  EXPECT_EQ(info.state, SessionState::kComplete);
}

TEST_F(McpCliTest, EmitEventsAndHooks) {
  TempDir sock_dir;
  FakeAsyncWriter writer;
  std::string path = (sock_dir.path() / "s").string();
  auto server = EventSocketServer::Start(path, &writer, nullptr);
  ASSERT_TRUE(server.ok());
  std::string emit = kBin + " emit --socket " + Quote(path);

  RunResult a = RunShell(emit + " --kind tool.call --tool Bash --server my-agent --json '{\"command\": \"ls\"}'");
  EXPECT_EQ(a.status, 0) << a.err;
  RunResult b = RunShell(emit + " --kind annotation --text 'step 2'");
  EXPECT_EQ(b.status, 0) << b.err;
  RunResult c = RunShell(emit + " --hook claude-code",
                    R"({"session_id":"s","hook_event_name":"PostToolUse","tool_name":"Read","tool_input":{"file_path":"/a"},"tool_response":{"content":"x"}})");
  EXPECT_EQ(c.status, 0) << c.err;
  RunResult bad = RunShell(emit + " --kind tool.call --tool T --json '{nope'");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--json is not valid JSON"), std::string::npos) << bad.err;
  RunResult badkind = RunShell(emit + " --kind file.open --tool T");
  EXPECT_EQ(badkind.status, 2);
  RunResult badhook = RunShell(emit + " --hook gemini", "not json");
  EXPECT_EQ(badhook.status, 2);
  (*server)->Stop();

  auto ev = writer.Events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, EventKind::kToolCall);
  EXPECT_EQ(ev[0].tool, "Bash");
  EXPECT_EQ(ev[0].server, "my-agent");
  EXPECT_EQ(ev[0].json, R"({"command":"ls"})");
  EXPECT_EQ(ev[1].text, "step 2");
  EXPECT_EQ(ev[2].kind, EventKind::kToolResult);
  EXPECT_EQ(ev[2].server, "claude-code");
  EXPECT_EQ(ev[2].tool, "Read");
}

TEST_F(McpCliTest, EmitOutsideARecording) {
  RunResult plain = RunShell(kBin + " emit --kind annotation --text x");
  EXPECT_EQ(plain.status, 2);
  EXPECT_NE(plain.err.find("must run under `agenttrace record`"), std::string::npos) << plain.err;
  // A hook must never break the agent when nothing records.
  RunResult hook = RunShell(kBin + " emit --hook claude-code", R"({"hook_event_name":"PreToolUse","tool_name":"Bash"})");
  EXPECT_EQ(hook.status, 0);
  EXPECT_NE(hook.err.find("warning"), std::string::npos);
  EXPECT_EQ(hook.out, "");
  // A socket that nobody listens on.
  RunResult gone = RunShell(kBin + " emit --socket /nonexistent/sock --kind annotation --text x");
  EXPECT_EQ(gone.status, 2);
  EXPECT_NE(gone.err.find("/nonexistent/sock"), std::string::npos);
  // A hook payload over the JSON bound is refused before any socket is tried.
  std::string big = R"({"hook_event_name":"PreToolUse","tool_name":"Bash"})";
  big += std::string(kMaxJsonLineBytes + 1 - big.size(), ' ');
  RunResult oversized = RunShell(kBin + " emit --socket /nonexistent/sock --hook claude-code", big);
  EXPECT_EQ(oversized.status, 2);
  EXPECT_NE(oversized.err.find("hook payload on stdin is larger than " + std::to_string(kMaxJsonLineBytes) + " bytes"),
            std::string::npos)
      << oversized.err;
  EXPECT_EQ(oversized.err.find("/nonexistent/sock"), std::string::npos) << oversized.err;
}

// ---------------------------------------------------------------------------------------------
// Secrets in tool traffic, and the fingerprint key that never enters a store.

// The stored tool.call arguments of the one session in `store`, after recording one echo call whose
// arguments are `args_json`, with `env` (NAME=value words) added to the proxy's environment.
std::string RecordEchoCall(const fs::path& store, const std::string& env, const std::string& args_json,
                           std::string* result_json = nullptr) {
  std::string input = R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})"
                      "\n"
                      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":)" +
                      args_json + "}}\n";
  RunResult r = RunShell(env + " " + kBin + " record --mcp --store " + Quote(store) + " -- " + kFake + " mcp", input);
  EXPECT_EQ(r.status, 0) << r.err;
  std::string call;
  for (const Event& e : SessionEvents(store, nullptr)) {
    if (e.kind == EventKind::kToolCall) call = e.json;
    if (e.kind == EventKind::kToolResult && result_json != nullptr) *result_json = e.json;
  }
  return call;
}

// Every byte of every regular file under `dir`.
std::string AllFileBytes(const fs::path& dir) {
  std::string all;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) all += Slurp(entry.path());
  }
  return all;
}

TEST_F(McpCliTest, FingerprintKeyStaysOutOfTheStoreAndFingerprintsCompareAcrossStores) {
  TempDir a, b, c, config;
  const std::string key_hex = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
  const std::string other_hex(64, '7');
  const std::string secret = "pw-Ur8mKq2Lx";
  const std::string args = R"({"password":")" + secret + R"("})";
  const std::string env = "XDG_CONFIG_HOME=" + Quote(config.path()) + " DB_PASSWORD=" + secret;
  std::string fa = RecordEchoCall(a.path(), "AGENTTRACE_FINGERPRINT_KEY=" + key_hex + " " + env, args);
  std::string fb = RecordEchoCall(b.path(), "AGENTTRACE_FINGERPRINT_KEY=" + key_hex + " " + env, args);
  std::string fc = RecordEchoCall(c.path(), "AGENTTRACE_FINGERPRINT_KEY=" + other_hex + " " + env, args);
  EXPECT_THAT(fa, ::testing::MatchesRegex(R"(\{"password":"<secret:fp:[0-9a-f]{64}>"\})"));
  EXPECT_EQ(fa, fb);  // the same key in two stores: the same fingerprint
  EXPECT_NE(fa, fc);
  // No key material in any file of the store, in any form; nor a key file.
  std::array<uint8_t, 32> raw;
  for (size_t i = 0; i < 32; ++i) raw[i] = static_cast<uint8_t>(std::stoi(key_hex.substr(2 * i, 2), nullptr, 16));
  const std::string raw_key(reinterpret_cast<const char*>(raw.data()), raw.size());
  for (const TempDir* d : {&a, &b}) {
    std::string bytes = AllFileBytes(d->path());
    EXPECT_EQ(bytes.find(raw_key), std::string::npos);
    EXPECT_EQ(bytes.find(key_hex), std::string::npos);
    EXPECT_EQ(bytes.find(secret), std::string::npos);
    EXPECT_FALSE(fs::exists(d->path() / "fingerprint.key"));
  }
  EXPECT_FALSE(fs::exists(config.path() / "agenttrace" / "fingerprint.key"));  // the environment gave it

  // Without the variable: the per-user key, created once, outside the store, the same for every store.
  TempDir d, e;
  std::string fd = RecordEchoCall(d.path(), env, args);
  std::string fe = RecordEchoCall(e.path(), env, args);
  EXPECT_EQ(fd, fe);
  EXPECT_NE(fd, fa);
  const fs::path user_key = config.path() / "agenttrace" / "fingerprint.key";
  ASSERT_TRUE(fs::exists(user_key));
  std::string user_hex = Slurp(user_key).substr(0, 64);
  EXPECT_EQ(AllFileBytes(d.path()).find(user_hex), std::string::npos);
  EXPECT_EQ(fs::status(user_key).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

// A secret the server hands back through a tool (here: echoed inside the result's text, which is
// JSON inside a JSON string) or the agent passes in an encoded form is stored as its fingerprint, in
// the tool.call arguments and in the tool.result.
TEST_F(McpCliTest, EncodedSecretValuesInToolTrafficAreRedacted) {
  TempDir store, config;
  const std::string secret = "s3cr\"et/pa ss";
  const std::string b64 = "dXNlcjpzM2NyImV0L3BhIHNz";  // base64("user:" + secret)
  const std::string args =
      R"({"raw":"s3cr\"et/pa ss","url":"https://h/?pw=s3cr%22et%2Fpa%20ss","auth":"Basic )" + b64 + R"("})";
  std::string result;
  std::string call = RecordEchoCall(
      store.path(), "XDG_CONFIG_HOME=" + Quote(config.path()) + " DB_PASSWORD=" + Quote(secret), args, &result);
  ASSERT_FALSE(call.empty());
  ASSERT_FALSE(result.empty());
  for (const std::string& stored : {call, result}) {
    EXPECT_EQ(stored.find("s3cr"), std::string::npos) << stored;
    EXPECT_EQ(stored.find("pa ss"), std::string::npos) << stored;
    EXPECT_EQ(stored.find("%2Fpa%20ss"), std::string::npos) << stored;
    EXPECT_EQ(stored.find(b64.substr(8, 12)), std::string::npos) << stored;  // the middle of the base64
  }
  size_t n = 0;
  for (size_t at = call.find("<secret:fp:"); at != std::string::npos; at = call.find("<secret:fp:", at + 1)) ++n;
  EXPECT_EQ(n, 3u) << call;
}

}  // namespace
}  // namespace agenttrace
