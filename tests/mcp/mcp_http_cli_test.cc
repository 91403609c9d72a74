// End to end through the agenttrace binary: `record --mcp-http` between the official SDK's Streamable
// HTTP client and server (transcripts identical with and without the proxy, SSE progress, a stream
// resumed with Last-Event-ID, the session's events, no Authorization value in the store), and its
// bounds and failure handling against a misbehaving upstream (malformed answers recorded as errors,
// 502, 503 beyond --max-streams, 413 beyond --max-message-bytes).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "format/decision_event.h"
#include "format/store.h"
#include "recorder/event_socket.h"
#include "tests/mcp/fake_writer.h"
#include "tests/mcp/shell_run.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kBin = AGENTTRACE_BIN;
const fs::path kNodeDir = MCP_NODE_DIR;

// Shared with the other MCP command-line tests (tests/mcp/shell_run.h).
using shelltest::Quote;
using shelltest::RunShell;
using shelltest::SessionEvents;
using shelltest::Slurp;
using RunResult = shelltest::ShellResult;
using TempDir = shelltest::ScratchDir;
// A background process with stdout and stderr in files; SIGKILLed on destruction if still running.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const fs::path& dir, const std::string& name)
      : out_(dir / (name + ".out")), err_(dir / (name + ".err")) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      FILE* o = std::freopen(out_.c_str(), "w", stdout);
      FILE* e = std::freopen(err_.c_str(), "w", stderr);
      (void)o;
      (void)e;
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  // Waits until `re`'s first group appears in stdout (which=1) or stderr (2); "" after 60 s (node
  // starts in well under a second, but a loaded machine may take many).
  std::string WaitFor(const std::regex& re, int which) {
    for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end;) {
      std::smatch m;
      std::string s = Slurp(which == 1 ? out_ : err_);
      if (std::regex_search(s, m, re)) return m[1];
      std::this_thread::sleep_for(20ms);
    }
    return "";
  }
  // Sends `sig` and returns the exit status (128+n for a signal), -1 after 20 s.
  int Stop(int sig) {
    ::kill(pid_, sig);
    for (int i = 0; i < 2000; ++i) {
      int st;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }
  std::string err() const { return Slurp(err_); }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  fs::path out_, err_;
};

// Every byte of every file under `dir`.
std::string AllBytes(const fs::path& dir) {
  std::string all;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    if (f.is_regular_file()) all += Slurp(f.path());
  }
  return all;
}

const std::regex kListening("listening ([0-9]+)");
const std::regex kProxyListening("listening on http://127\\.0\\.0\\.1:([0-9]+)");

class McpHttpCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kEnvSocket);
    ::unsetenv(kEnvSession);
    if (!fs::exists(kNodeDir / "node_modules/@modelcontextprotocol/sdk")) {
      GTEST_SKIP() << "SKIPPED: npm packages missing in " << kNodeDir
                   << "/node_modules (run `npm ci` there). The Streamable HTTP tests did NOT run.";
    }
    if (RunShell("command -v node").status != 0) GTEST_SKIP() << "SKIPPED: node is not installed";
  }

  std::unique_ptr<Background> StartProxy(const std::string& upstream, const std::vector<std::string>& extra,
                                         std::string* port) {
    std::vector<std::string> argv = {kBin,       "record",      "--mcp-http",
                                     "--listen", "127.0.0.1:0", "--upstream",
                                     upstream,   "--store",     (dir_.path() / "store").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<Background>(argv, dir_.path(), "proxy" + std::to_string(++proxies_));
    *port = p->WaitFor(kProxyListening, 2);
    return p;
  }

  // Runs `client URL tail` against http_server.mjs through `record --mcp-http --label label` into the
  // fixture's store. Returns the client's output; "" (and a test failure) when a step failed.
  std::string RecordLiveRun(const std::string& client, const std::string& tail, const std::string& label) {
    Background server({"node", (kNodeDir / "http_server.mjs").string()}, dir_.path(), "server");
    std::string sport = server.WaitFor(kListening, 1);
    if (sport.empty()) {
      ADD_FAILURE() << "the server did not start: " << server.err();
      return "";
    }
    std::string pport;
    auto proxy = StartProxy("http://127.0.0.1:" + sport + "/mcp", {"--label", label}, &pport);
    if (pport.empty()) {
      ADD_FAILURE() << "the proxy did not start: " << proxy->err();
      return "";
    }
    RunResult live = RunShell(client + "http://127.0.0.1:" + pport + "/mcp" + tail);
    EXPECT_EQ(live.status, 0) << live.err;
    EXPECT_EQ(proxy->Stop(SIGTERM), 0) << proxy->err();
    return live.status == 0 ? live.out : "";
  }

  // `replay --serve --http` of the fixture's store's sessions labelled `label`; *port is "" when it did
  // not start listening.
  std::unique_ptr<Background> StartServe(const std::string& label, std::string* port) {
    auto serve = std::make_unique<Background>(
        std::vector<std::string>{kBin, "replay", "--serve", "--http", "--listen", "127.0.0.1:0", "--label", label,
                                 "--store", (dir_.path() / "store").string()},
        dir_.path(), "serve");
    *port = serve->WaitFor(std::regex("listening on http://127\\.0\\.0\\.1:([0-9]+)/mcp"), 2);
    return serve;
  }

  TempDir dir_;
  int proxies_ = 0;  // each proxy writes its own files: a second one must not see the first's port
};

TEST_F(McpHttpCliTest, SdkClientAndServerSameTranscriptThroughTheProxyWithProgressAndResumption) {
  Background server({"node", (kNodeDir / "http_server.mjs").string()}, dir_.path(), "server");
  std::string sport = server.WaitFor(kListening, 1);
  ASSERT_FALSE(sport.empty()) << server.err();
  const std::string upstream = "http://127.0.0.1:" + sport + "/mcp";
  const std::string secret = "Bearer at-test-sekrit-4c1d9e";
  const std::string client = "node " + Quote((kNodeDir / "http_client.mjs").string()) + " ";

  RunResult direct = RunShell(client + upstream + " " + Quote(secret));
  ASSERT_EQ(direct.status, 0) << direct.err;
  auto resumed = [&] {
    std::string e = server.err();
    size_t n = 0;
    for (size_t at = 0; (at = e.find("resumed a stream with Last-Event-ID", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  ASSERT_GE(resumed(), 1u) << "the direct run did not exercise resumption";
  size_t resumed_direct = resumed();

  std::string pport;
  auto proxy = StartProxy(upstream, {"--label", "http-e2e", "--agent", "node-test"}, &pport);
  ASSERT_FALSE(pport.empty()) << proxy->err();
  RunResult proxied = RunShell(client + "http://127.0.0.1:" + pport + "/mcp " + Quote(secret));
  ASSERT_EQ(proxied.status, 0) << proxied.err;
  EXPECT_EQ(direct.out, proxied.out);  // the client cannot tell the proxy is there
  EXPECT_NE(proxied.out.find("\"progress\":5"), std::string::npos);
  EXPECT_NE(proxied.out.find("\"terminated\",\"value\":true"), std::string::npos);
  EXPECT_GT(resumed(), resumed_direct) << "the proxied run's stream was not resumed through the proxy";

  EXPECT_EQ(proxy->Stop(SIGINT), 0) << proxy->err();
  EXPECT_NE(proxy->err().find("recorded MCP HTTP session"), std::string::npos) << proxy->err();

  SessionInfo info;
  auto ev = SessionEvents((dir_.path() / "store").string(), &info);
  EXPECT_EQ(info.recorder, "mcp-http");
  EXPECT_EQ(info.label, "http-e2e");
  EXPECT_EQ(info.state, SessionState::kComplete);
  std::map<std::string, std::string> calls;  // request id -> tool
  std::map<std::string, const Event*> results;
  std::map<std::string, int> progress;  // progress token -> notifications
  int defs = 0, errors = 0;
  for (const Event& e : ev) {
    if (e.kind == EventKind::kProtocolError) {
      ++errors;
      ADD_FAILURE() << "unexpected protocol.error: " << e.text << " " << e.json;
    }
    if (e.kind == EventKind::kToolCall) calls[e.request_id] = e.tool;
    if (e.kind == EventKind::kToolResult) results[e.request_id] = &e;
    if (e.kind == EventKind::kToolDef) {
      ++defs;
      EXPECT_EQ(e.text.size(), 64u);
    }
    if (e.kind == EventKind::kMcpNotification && e.method == "notifications/progress") {
      std::smatch m;
      if (std::regex_search(e.json, m, std::regex("\"progressToken\":([0-9]+)"))) ++progress[m[1]];
    }
    EXPECT_EQ(e.server, "agenttrace-http-test-server") << EventKindName(e.kind);
  }
  EXPECT_EQ(defs, 3);
  ASSERT_EQ(calls.size(), 5u);  // echo, count, count (resumed), fail, no_such_tool
  ASSERT_EQ(results.size(), calls.size());
  int counts = 0;
  for (const auto& [id, tool] : calls) {
    ASSERT_TRUE(results.count(id)) << "no result for " << tool;
    EXPECT_EQ(results[id]->tool, tool);
    if (tool == "count") {
      ++counts;
      EXPECT_EQ(progress[id], 5) << "progress notifications of count call " << id;
      EXPECT_NE(results[id]->json.find("counted to 5"), std::string::npos);
    }
    if (tool == "fail" || tool == "no_such_tool") {
      EXPECT_TRUE(results[id]->is_error) << tool;
    }
  }
  EXPECT_EQ(counts, 2);
  // The Authorization header went to the server on every request, and nowhere into the store.
  EXPECT_EQ(AllBytes(dir_.path() / "store").find("sekrit"), std::string::npos);
  RunResult exported =
      RunShell(kBin + " export --store " + Quote((dir_.path() / "store").string()) + " " + info.id.ToString());
  ASSERT_EQ(exported.status, 0) << exported.err;
  EXPECT_NE(exported.out.find("counted to 5"), std::string::npos);
  EXPECT_EQ(exported.out.find("sekrit"), std::string::npos);
}

TEST_F(McpHttpCliTest, MalformedUpstreamAnswersArePassedThroughAndRecordedAsErrors) {
  Background bad({"node", (kNodeDir / "http_bad_upstream.mjs").string()}, dir_.path(), "bad");
  std::string bport = bad.WaitFor(kListening, 1);
  ASSERT_FALSE(bport.empty()) << bad.err();
  std::string pport;
  auto proxy = StartProxy("http://127.0.0.1:" + bport + "/", {}, &pport);
  ASSERT_FALSE(pport.empty()) << proxy->err();
  const std::string base = "http://127.0.0.1:" + pport;
  auto post = [&](const std::string& path, int id) {
    return RunShell("curl -sS -m 30 -w '\\n%{http_code}' -X POST -H 'Content-Type: application/json' -d " +
                    Quote("{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"ping\"}") + " " + base +
                    path);
  };
  RunResult badjson = post("/badjson", 1);
  EXPECT_EQ(badjson.out, "{not json\n200");  // passed through unchanged
  RunResult garbage = post("/garbage", 2);
  EXPECT_NE(garbage.out.find("\n502"), std::string::npos) << garbage.out;
  RunResult cut = post("/cut", 3);
  EXPECT_NE(cut.out.find("\"data\":\"one\""), std::string::npos) << cut.out;  // what came before the break
  // Headers: end-to-end ones pass both ways, Host names the upstream, Accept-Encoding stays behind (so
  // the answer comes uncompressed: recordable, and not re-encoded by the proxy either).
  RunResult hdr = RunShell(
      "curl -sS -m 30 -D - -X POST -H 'Accept-Encoding: gzip, br' -H 'X-Trace: t-1' -H "
      "'Authorization: Bearer abc' -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}' " +
      base + "/headers");
  EXPECT_NE(hdr.out.find("\"X-Trace: t-1\""), std::string::npos) << hdr.out;
  EXPECT_NE(hdr.out.find("\"Authorization: Bearer abc\""), std::string::npos) << hdr.out;
  EXPECT_NE(hdr.out.find("\"Host: 127.0.0.1:" + bport + "\""), std::string::npos) << hdr.out;
  EXPECT_EQ(hdr.out.find("Accept-Encoding"), std::string::npos) << hdr.out;
  EXPECT_EQ(hdr.out.find("REMOTE_ADDR"), std::string::npos) << hdr.out;
  EXPECT_NE(hdr.out.find("X-Upstream: yes"), std::string::npos) << hdr.out;  // a response header
  EXPECT_EQ(hdr.out.find("Content-Encoding"), std::string::npos) << hdr.out;
  RunResult fine = post("/ok", 4);
  EXPECT_EQ(fine.out, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"ok\":true}}\n200");  // still serving
  EXPECT_EQ(proxy->Stop(SIGTERM), 0);

  // An upstream that is not there at all.
  bad.Stop(SIGKILL);
  auto proxy2 = StartProxy("http://127.0.0.1:" + bport + "/", {}, &pport);
  ASSERT_FALSE(pport.empty()) << proxy2->err();
  RunResult refused = RunShell("curl -sS -m 30 -w '\\n%{http_code}' -X POST -d '{}' http://127.0.0.1:" + pport + "/");
  EXPECT_NE(refused.out.find("\n502"), std::string::npos) << refused.out;
  EXPECT_EQ(proxy2->Stop(SIGTERM), 0);

  auto store = Store::Open((dir_.path() / "store").string(), StoreOptions{.read_only = true});
  ASSERT_TRUE(store.ok());
  auto sessions = (*store)->ListSessions();
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 2u);
  std::vector<std::string> errors;
  int responses = 0;
  for (const SessionInfo& s : *sessions) {
    EXPECT_EQ(s.state, SessionState::kComplete);
    auto reader = (*store)->OpenSession(s.id);
    ASSERT_TRUE(reader.ok());
    for (;;) {
      auto e = (*reader)->Next();
      ASSERT_TRUE(e.ok());
      if (*e == nullptr) break;
      if ((*e)->kind == EventKind::kProtocolError) errors.push_back((*e)->text + " | " + (*e)->json);
      if ((*e)->kind == EventKind::kMcpResponse && (*e)->request_id == "4") ++responses;
    }
  }
  auto has = [&](const std::string& what) {
    for (const std::string& e : errors) {
      if (e.find(what) != std::string::npos) return true;
    }
    return false;
  };
  std::string all;
  for (const std::string& e : errors) all += e + "\n";
  EXPECT_TRUE(has("invalid JSON | {not json")) << all;
  EXPECT_TRUE(has("http: upstream http://127.0.0.1:" + bport + " unreachable or its answer unreadable")) << all;
  EXPECT_TRUE(has("http: upstream response broken off")) << all;
  EXPECT_TRUE(has("http: event stream ended inside an event")) << all;
  EXPECT_TRUE(has("Connection; answered 502")) << all;
  EXPECT_EQ(responses, 1);
}

TEST_F(McpHttpCliTest, StreamsBeyondTheMaximumGet503AndOversizedRequestsGet413) {
  Background bad({"node", (kNodeDir / "http_bad_upstream.mjs").string()}, dir_.path(), "bad");
  std::string bport = bad.WaitFor(kListening, 1);
  ASSERT_FALSE(bport.empty()) << bad.err();
  std::string pport;
  auto proxy =
      StartProxy("http://127.0.0.1:" + bport + "/", {"--max-streams", "2", "--max-message-bytes", "1K"}, &pport);
  ASSERT_FALSE(pport.empty()) << proxy->err();
  const std::string base = "http://127.0.0.1:" + pport;
  // Two long-lived streams fill the proxy; the third is refused while they last.
  Background hold1({"curl", "-sS", "-N", base + "/hold"}, dir_.path(), "hold1");
  Background hold2({"curl", "-sS", "-N", base + "/hold"}, dir_.path(), "hold2");
  ASSERT_FALSE(hold1.WaitFor(std::regex("(:)"), 1).empty());
  ASSERT_FALSE(hold2.WaitFor(std::regex("(:)"), 1).empty());
  RunResult third = RunShell("curl -sS -m 30 -o /dev/null -w '%{http_code}' " + base + "/hold");
  EXPECT_EQ(third.out, "503");
  hold1.Stop(SIGKILL);
  hold2.Stop(SIGKILL);
  // Slots are given back when the clients go away (the proxy looks every 250 ms; a loaded machine may
  // take seconds, hence a deadline rather than a count of tries).
  std::string code;
  for (auto end = std::chrono::steady_clock::now() + 60s; code != "200" && std::chrono::steady_clock::now() < end;) {
    code = RunShell(
               "curl -sS -m 30 -o /dev/null -w '%{http_code}' -X POST -d '{\"jsonrpc\":\"2.0\",\"id\":1,"
               "\"method\":\"ping\"}' " +
               base + "/ok")
               .out;
    if (code != "200") std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(code, "200");
  // A request body over --max-message-bytes never reaches the server.
  std::string big =
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":{\"pad\":\"" + std::string(2000, 'a') + "\"}}";
  std::ofstream(dir_.path() / "big.json") << big;
  RunResult too_big = RunShell("curl -sS -m 30 -o /dev/null -w '%{http_code}' -X POST --data-binary @" +
                               Quote((dir_.path() / "big.json").string()) + " " + base + "/ok");
  EXPECT_EQ(too_big.out, "413");
  EXPECT_EQ(proxy->Stop(SIGTERM), 0);

  auto ev = SessionEvents((dir_.path() / "store").string(), nullptr);
  int refused_503 = 0, refused_413 = 0, oversized = 0;
  for (const Event& e : ev) {
    if (e.kind != EventKind::kProtocolError) continue;
    if (e.text.find("streams already in flight (--max-streams); answered 503") != std::string::npos) ++refused_503;
    if (e.text.find("refused; answered 413") != std::string::npos) ++refused_413;
    if (e.text.find("exceeds the maximum") != std::string::npos) {
      ++oversized;
      EXPECT_EQ(e.size, static_cast<int64_t>(big.size()));
    }
  }
  EXPECT_GE(refused_503, 1);  // the third stream, and retries before the slots were given back
  EXPECT_EQ(refused_413, 1);
  EXPECT_EQ(oversized, 1);
}

TEST_F(McpHttpCliTest, ReplayServeHttpAnswersLikeTheLiveServerAndAMissIsAnError) {
  // Record a live session through the proxy, then take the server away and serve the cassette.
  const std::string client = "node " + Quote((kNodeDir / "http_client.mjs").string()) + " ";
  const std::string live_out = RecordLiveRun(client, " '' plain", "cassette-http");
  ASSERT_FALSE(live_out.empty());
  const std::string store = (dir_.path() / "store").string();
  std::string port;
  auto serve_ptr = StartServe("cassette-http", &port);
  Background& serve = *serve_ptr;
  ASSERT_FALSE(port.empty()) << serve.err();
  const std::string url = "http://127.0.0.1:" + port + "/mcp";
  RunResult replayed = RunShell(client + url + " '' plain");
  ASSERT_EQ(replayed.status, 0) << replayed.err;
  EXPECT_EQ(replayed.out, live_out);  // the same results, progress notifications included
  EXPECT_NE(replayed.out.find("\"progress\":5"), std::string::npos);

  // A request the cassette does not hold: the documented JSON-RPC error, and exit 1 at the end.
  const fs::path headers = dir_.path() / "headers";
  RunResult init = RunShell(
      "curl -sS -m 30 -D " + Quote(headers.string()) +
      " -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d " +
      Quote("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
            "\"capabilities\":{},\"clientInfo\":{\"name\":\"curl\",\"version\":\"1\"}}}") +
      " " + url);
  ASSERT_EQ(init.status, 0) << init.err;
  std::smatch m;
  std::string h = Slurp(headers);
  ASSERT_TRUE(std::regex_search(h, m, std::regex("[Mm]cp-[Ss]ession-[Ii]d: ([0-9a-f-]+)"))) << h;
  const std::string sid = m[1];
  RunResult miss = RunShell(
      "curl -sS -m 30 -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H " +
      Quote("Mcp-Session-Id: " + sid) + " -d " +
      Quote("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":"
            "{\"text\":\"never recorded\"}}}") +
      " " + url);
  EXPECT_NE(miss.out.find("no recorded answer for tools/call echo"), std::string::npos) << miss.out;
  EXPECT_NE(miss.out.find("\"id\":1"), std::string::npos) << miss.out;
  RunResult no_session = RunShell("curl -sS -m 30 -o /dev/null -w '%{http_code}' -H 'Mcp-Session-Id: nope' -d " +
                                  Quote("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}") + " " + url);
  EXPECT_EQ(no_session.out, "404");
  EXPECT_EQ(serve.Stop(SIGINT), 1) << serve.err();
  EXPECT_NE(serve.err().find("1 without a recorded answer"), std::string::npos) << serve.err();

  // The serving run is itself a session, told apart from live ones by its recorder.
  auto st = Store::Open(store, StoreOptions{.read_only = true});
  ASSERT_TRUE(st.ok());
  auto sessions = (*st)->ListSessions();
  ASSERT_TRUE(sessions.ok());
  std::multiset<std::string> recorders;
  for (const SessionInfo& s : *sessions) recorders.insert(s.recorder);
  EXPECT_EQ(recorders, (std::multiset<std::string>{"mcp-http", "mcp-replay"}));
}

// A served answer with progress goes out as one event stream, notifications and answer together: the
// SDK's Streamable HTTP transport dispatches SSE events one awaited read at a time, so each progress
// handler has run before the answer is dispatched, however the bytes arrive (on stdio, where one read
// is dispatched at once, the server waits until the client has read the progress instead). There used
// to be a fixed 5 ms pause before every such answer; "one_read" counts the answers that came without it.
TEST_F(McpHttpCliTest, ReplayServeHttpSendsProgressWithTheAnswerAndTheSdkSeesAllProgressFirst) {
  const int kCalls = 40, kSteps = 3;
  const std::string client = "node " + Quote((kNodeDir / "http_progress_client.mjs").string()) + " ";
  const std::string args = " " + std::to_string(kCalls) + " " + std::to_string(kSteps);
  const std::string all = "{\"calls\":" + std::to_string(kCalls) + ",\"all_progress\":" + std::to_string(kCalls);
  const std::string live = RecordLiveRun(client, args, "progress-http");
  ASSERT_EQ(live.rfind(all, 0), 0u) << live;
  std::string port;
  auto serve = StartServe("progress-http", &port);
  ASSERT_FALSE(port.empty()) << serve->err();
  RunResult served = RunShell(client + "http://127.0.0.1:" + port + "/mcp" + args);
  ASSERT_EQ(served.status, 0) << served.err;
  EXPECT_EQ(serve->Stop(SIGINT), 0) << serve->err();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(served.out, m,
                                std::regex("\\{\"calls\":([0-9]+),\"all_progress\":([0-9]+),"
                                           "\"one_read\":([0-9]+)\\}")))
      << served.out;
  EXPECT_EQ(std::stoi(m[1]), kCalls);
  EXPECT_EQ(std::stoi(m[2]), kCalls) << "progress reached the SDK after its answer";
  // Written in one piece, every stream arrives in one read here. With the pause only those the client
  // was too busy to read for 5 ms did (2 of 40 on a loaded machine); half leaves room for both.
  EXPECT_GE(std::stoi(m[3]), kCalls / 2) << "answers came apart from their progress";
}

TEST_F(McpHttpCliTest, AClientThatStopsReadingDoesNotHoldUpOtherStreams) {
  Background bad({"node", (kNodeDir / "http_bad_upstream.mjs").string()}, dir_.path(), "bad");
  std::string bport = bad.WaitFor(kListening, 1);
  ASSERT_FALSE(bport.empty()) << bad.err();
  std::string pport;
  auto proxy = StartProxy("http://127.0.0.1:" + bport + "/", {}, &pport);
  ASSERT_FALSE(pport.empty()) << proxy->err();
  // A client that asks for an endless event stream and never reads it: its socket, the proxy's relay
  // buffer for it and the upstream connection fill up and stay full.
  const std::string js = "const s = require('net').connect(" + pport +
                         ", '127.0.0.1', () => { s.write('GET /flood HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); "
                         "s.pause(); console.log('asked'); }); setTimeout(() => {}, 600000);";
  Background stalled({"node", "-e", js}, dir_.path(), "stalled");
  ASSERT_FALSE(stalled.WaitFor(std::regex("(asked)"), 1).empty()) << stalled.err();
  // The upstream says when its writes first stop going through: the flood has reached the proxy and
  // outruns it. A fixed pause alone could end, on a loaded machine, before the request even reached
  // the upstream. The pause after it lets the rest of the chain (relay buffer, the client's socket)
  // fill up; were it too short, the test would be weaker, not wrong.
  ASSERT_FALSE(bad.WaitFor(std::regex("(flood stalled)"), 1).empty()) << bad.err();
  std::this_thread::sleep_for(1s);
  // Meanwhile other clients are served at once.
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    RunResult r = RunShell("curl -sS -m 30 -X POST -d " +
                           Quote("{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(100 + i) + ",\"method\":\"ping\"}") +
                           " http://127.0.0.1:" + pport + "/ok");
    ASSERT_EQ(r.out, "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(100 + i) + ",\"result\":{\"ok\":true}}") << r.err;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 60s);  // some 1 s on a quiet machine
  stalled.Stop(SIGKILL);
  EXPECT_EQ(proxy->Stop(SIGTERM), 0) << proxy->err();
  auto ev = SessionEvents((dir_.path() / "store").string(), nullptr);
  int answered = 0, flood = 0;
  for (const Event& e : ev) {
    if (e.kind == EventKind::kMcpResponse && !e.is_error) ++answered;
    if (e.kind == EventKind::kMcpNotification) ++flood;
  }
  EXPECT_EQ(answered, 20);
  EXPECT_GT(flood, 0);  // what the stalled client was sent is recorded as it passed
}

TEST_F(McpHttpCliTest, HttpsUpstreamIsVerifiedWithOpenSsl) {
  if (RunShell("command -v openssl").status != 0) GTEST_SKIP() << "SKIPPED: no openssl command to make a certificate";
  const fs::path cert = dir_.path() / "cert.pem", key = dir_.path() / "key.pem";
  RunResult gen = RunShell(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
      "subjectAltName=IP:127.0.0.1 -keyout " +
      Quote(key.string()) + " -out " + Quote(cert.string()));
  ASSERT_EQ(gen.status, 0) << gen.err;
  ::setenv("TLS_CERT", cert.c_str(), 1);
  ::setenv("TLS_KEY", key.c_str(), 1);
  Background server({"node", (kNodeDir / "http_server.mjs").string()}, dir_.path(), "server");
  ::unsetenv("TLS_CERT");
  ::unsetenv("TLS_KEY");
  std::string sport = server.WaitFor(kListening, 1);
  ASSERT_FALSE(sport.empty()) << server.err();
  const std::string upstream = "https://127.0.0.1:" + sport + "/mcp";
  const std::string client = "node " + Quote((kNodeDir / "http_client.mjs").string()) + " ";
  RunResult direct = RunShell("NODE_EXTRA_CA_CERTS=" + Quote(cert.string()) + " " + client + upstream + " ''");
  ASSERT_EQ(direct.status, 0) << direct.err;

  std::string pport;
  auto proxy = StartProxy(upstream, {"--ca-file", cert.string()}, &pport);
  ASSERT_FALSE(pport.empty()) << proxy->err();
  RunResult proxied = RunShell(client + "http://127.0.0.1:" + pport + "/mcp ''");
  ASSERT_EQ(proxied.status, 0) << proxied.err;
  EXPECT_EQ(direct.out, proxied.out);
  EXPECT_EQ(proxy->Stop(SIGTERM), 0);

  // Without the CA the upstream's certificate is not trusted: 502, recorded, nothing forwarded.
  auto untrusting = StartProxy(upstream, {}, &pport);
  ASSERT_FALSE(pport.empty()) << untrusting->err();
  RunResult refused =
      RunShell("curl -sS -m 30 -o /dev/null -w '%{http_code}' -X POST -d '{}' http://127.0.0.1:" + pport + "/mcp");
  EXPECT_EQ(refused.out, "502");
  EXPECT_EQ(untrusting->Stop(SIGTERM), 0);
}

TEST_F(McpHttpCliTest, NestedProxySendsEventsToTheEnclosingRecording) {
  Background bad({"node", (kNodeDir / "http_bad_upstream.mjs").string()}, dir_.path(), "bad");
  std::string bport = bad.WaitFor(kListening, 1);
  ASSERT_FALSE(bport.empty()) << bad.err();
  FakeAsyncWriter writer;
  const std::string path = (dir_.path() / "sock").string();
  auto server = EventSocketServer::Start(path, &writer, nullptr);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ::setenv(kEnvSocket, path.c_str(), 1);
  std::string pport;
  auto proxy = StartProxy("http://127.0.0.1:" + bport + "/", {}, &pport);
  ::unsetenv(kEnvSocket);
  ASSERT_FALSE(pport.empty()) << proxy->err();
  RunResult r = RunShell("curl -sS -m 30 -X POST -d " +
                         Quote("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
                               "\"arguments\":{\"k\":\"v\"}}}") +
                         " http://127.0.0.1:" + pport + "/ok");
  EXPECT_EQ(r.out, "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"ok\":true}}") << r.err;
  EXPECT_EQ(proxy->Stop(SIGTERM), 0) << proxy->err();
  (*server)->Stop();
  std::vector<EventKind> kinds;
  for (const Event& e : writer.Events()) {
    kinds.push_back(e.kind);
    EXPECT_GT(e.pid, 0);
  }
  EXPECT_EQ(kinds, (std::vector<EventKind>{EventKind::kToolCall, EventKind::kToolResult}));
  EXPECT_FALSE(fs::exists(dir_.path() / "store"));  // no session of its own
}

TEST_F(McpHttpCliTest, BadOptionsAreUsageErrors) {
  EXPECT_EQ(RunShell(kBin + " record --mcp-http --listen 127.0.0.1:0").status, 2);
  EXPECT_EQ(RunShell(kBin + " record --mcp-http --listen 127.0.0.1:0 --upstream ftp://x/").status, 2);
  EXPECT_EQ(RunShell(kBin + " record --mcp-http --listen nope --upstream http://127.0.0.1:1/").status, 2);
  EXPECT_EQ(RunShell(kBin + " record --mcp-http --listen 127.0.0.1:0 --upstream http://u:p@127.0.0.1:1/").status, 2);
  EXPECT_EQ(RunShell(kBin + " record --mcp-http --listen 127.0.0.1:0 --upstream http://127.0.0.1:1/ -- cat").status, 2);
}

// The HTTP proxy decides with --policy as `record --mcp` does (tests/mcp/mcp_http_enforce_test.cc):
// its decision flags are checked before it listens, with `record --mcp`'s exit codes (it used to
// refuse --policy altogether). A syscall recording given --policy is still refused (only the proxies
// read it).
TEST_F(McpHttpCliTest, ItsDecisionFlagsAreCheckedBeforeItListens) {
  fs::path policy = dir_.path() / "p.yaml";
  std::ofstream(policy) << "version: 1\ndefault: deny\n";
  fs::path bad = dir_.path() / "bad.yaml";
  std::ofstream(bad) << "version: 1\ndefault: perhaps\n";
  const std::string listen = " --listen 127.0.0.1:0 --upstream http://127.0.0.1:1/ ";
  RunResult r = RunShell("timeout 10 " + kBin + " record --mcp-http --policy " + Quote(policy.string()) +
                         " --mode block" + listen);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--mode"), std::string::npos) << r.err;
  r = RunShell("timeout 10 " + kBin + " record --mcp-http --policy " + Quote(policy.string()) + " --ask maybe" +
               listen);
  EXPECT_EQ(r.status, 2) << r.err;
  r = RunShell("timeout 10 " + kBin + " record --mcp-http --policy " + Quote((dir_.path() / "none.yaml").string()) +
               listen);
  EXPECT_EQ(r.status, 2) << r.err;
  r = RunShell("timeout 10 " + kBin + " record --mcp-http --policy " + Quote(bad.string()) + listen);
  EXPECT_EQ(r.status, 4) << r.err;
  r = RunShell("cd " + Quote(dir_.path().string()) + " && timeout 10 " + kBin + " record --policy " +
               Quote(policy.string()) + " -- true");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--policy"), std::string::npos) << r.err;
}

constexpr char kNoCountPolicy[] = R"(version: 1
default: allow
rules:
  - id: no-count
    description: counting is not allowed here
    decision: deny
    class: tool.call
    tools: ["count"]
promotion: {min_sessions: 1}
)";

// The start of an agent script that runs `record --mcp-http` in the background towards the upstream
// on `upstream_port` (stderr in d/proxy.err), with its pid in $P, and waits until it listens, with
// its port in $PORT.
std::string StartProxyScript(const fs::path& d, const std::string& upstream_port) {
  const std::string err = Quote((d / "proxy.err").string());
  return kBin + " record --mcp-http --listen 127.0.0.1:0 --upstream http://127.0.0.1:" + upstream_port + "/mcp 2> " +
         err + " &\nP=$!\nPORT=\nfor i in $(seq 1 1200); do\n" +
         "  PORT=$(sed -n 's/.*listening on http:\\/\\/127\\.0\\.0\\.1:\\([0-9]*\\).*/\\1/p' " + err +
         ")\n  [ -n \"$PORT\" ] && break\n  sleep 0.1\ndone\n";
}

// The outcome lines of http_deny_client.mjs, by tool.
std::map<std::string, nlohmann::json> DenyClientOutcomes(const std::string& out) {
  std::map<std::string, nlohmann::json> by_tool;
  std::istringstream is(out);
  for (std::string l; std::getline(is, l);) {
    nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_object() && j.contains("call")) by_tool[j["call"].get<std::string>()] = j;
  }
  return by_tool;
}

// The official SDK's Streamable HTTP client through `record --mcp-http --policy` to the SDK's server:
// the denied call is raised by the SDK as an McpError with the proxy's code and message, the server
// never receives it (its log), the allowed call works, and the session records the decisions.
TEST_F(McpHttpCliTest, SdkClientGetsAnMcpErrorForADeniedCallTheServerNeverReceives) {
  std::ofstream(dir_.path() / "policy.yaml") << kNoCountPolicy;
  Background server({"node", (kNodeDir / "http_server.mjs").string()}, dir_.path(), "server");
  std::string sport = server.WaitFor(kListening, 1);
  ASSERT_FALSE(sport.empty()) << server.err();
  std::string pport;
  auto proxy = StartProxy("http://127.0.0.1:" + sport + "/mcp",
                          {"--policy", (dir_.path() / "policy.yaml").string(), "--label", "http-deny"}, &pport);
  ASSERT_FALSE(pport.empty()) << proxy->err();
  RunResult r = RunShell("node " + Quote((kNodeDir / "http_deny_client.mjs").string()) + " http://127.0.0.1:" + pport +
                         "/mcp " + Quote(R"([["count",{"n":2}],["echo",{"text":"allowed"}]])"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(proxy->Stop(SIGTERM), 0) << proxy->err();
  auto outcomes = DenyClientOutcomes(r.out);
  ASSERT_EQ(outcomes.size(), 2u) << r.out;
  const nlohmann::json& denied = outcomes["count"];
  ASSERT_TRUE(denied.contains("error")) << denied.dump();
  EXPECT_EQ(denied["error"]["code"], -32050);
  EXPECT_EQ(denied["error"]["mcp"], true);
  std::string msg = denied["error"]["message"];
  EXPECT_NE(msg.find("no-count"), std::string::npos) << msg;
  EXPECT_NE(msg.find("counting is not allowed here"), std::string::npos) << msg;
  ASSERT_TRUE(outcomes["echo"].contains("result")) << outcomes["echo"].dump();
  EXPECT_NE(outcomes["echo"]["result"].dump().find("allowed"), std::string::npos);
  std::string log = server.err();
  EXPECT_NE(log.find("received tools/call echo"), std::string::npos) << log;
  EXPECT_EQ(log.find("received tools/call count"), std::string::npos) << "the denied call reached the server";

  SessionInfo info;
  int denies = 0, allows = 0, count_calls = 0, count_errors = 0, enforcement = 0;
  for (const Event& e : SessionEvents((dir_.path() / "store").string(), &info)) {
    count_calls += e.kind == EventKind::kToolCall && e.tool == "count";
    count_errors += e.kind == EventKind::kToolResult && e.tool == "count" && e.is_error;
    enforcement += e.kind == EventKind::kAnnotation && e.text == kEnforcementText;
    if (!IsDecisionEvent(e)) continue;
    auto d = ParseDecisionEvent(e);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    if (d->decision.verdict == RequestVerdict::kDeny) {
      ++denies;
      EXPECT_EQ(d->decision.rule, "no-count");
      EXPECT_EQ(d->request.tool, "count");
      EXPECT_EQ(d->request.server, "agenttrace-http-test-server");
    } else {
      ++allows;
    }
  }
  EXPECT_EQ(info.recorder, "mcp-http");
  EXPECT_EQ(denies, 1);
  EXPECT_EQ(allows, 1);
  EXPECT_EQ(count_calls, 1);
  EXPECT_EQ(count_errors, 1);
  EXPECT_EQ(enforcement, 1);
}

// Under `agenttrace run --policy P`, a `record --mcp-http` the agent starts decides through the run's
// own decider (event socket), so the run's session holds the calls and decisions, and `replay
// --policy P` of it reports the same decision for every request. It used to refuse to start there.
TEST_F(McpHttpCliTest, UnderRunTheNestedHttpProxyIsDecidedByTheRunAndReplayAgrees) {
  const fs::path d = dir_.path();
  std::ofstream(d / "policy.yaml") << kNoCountPolicy;
  Background server({"node", (kNodeDir / "http_server.mjs").string()}, d, "server");
  std::string sport = server.WaitFor(kListening, 1);
  ASSERT_FALSE(sport.empty()) << server.err();
  // The agent: starts the proxy, waits for its port, runs the SDK client through it, stops the proxy.
  std::ofstream(d / "agent.sh") << StartProxyScript(d, sport)
                                << "node " << Quote((kNodeDir / "http_deny_client.mjs").string())
                                << " http://127.0.0.1:$PORT/mcp "
                                << Quote(R"([["count",{"n":2}],["echo",{"text":"allowed"}]])") << " > "
                                << Quote((d / "client.out").string())
                                << "\nrc=$?\nkill -TERM $P\nwait $P || exit 3\nexit $rc\n";
  const std::string store = (d / "store").string();
  RunResult r = RunShell(kBin + " run --ask deny --store " + Quote(store) + " --label http-run --policy " +
                         Quote((d / "policy.yaml").string()) + " -- /bin/sh " + Quote((d / "agent.sh").string()));
  if (r.status == 125 && r.err.find("ptrace") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: ptrace is not permitted here; `run` was NOT tested: " << r.err;
  }
  ASSERT_EQ(r.status, 0) << r.err << Slurp(d / "proxy.err");
  auto outcomes = DenyClientOutcomes(Slurp(d / "client.out"));
  ASSERT_EQ(outcomes.size(), 2u) << Slurp(d / "client.out");
  ASSERT_TRUE(outcomes["count"].contains("error")) << outcomes["count"].dump();
  EXPECT_EQ(outcomes["count"]["error"]["code"], -32050);
  EXPECT_NE(outcomes["count"]["error"]["message"].get<std::string>().find("no-count"), std::string::npos);
  EXPECT_TRUE(outcomes["echo"].contains("result")) << outcomes["echo"].dump();
  EXPECT_EQ(server.err().find("received tools/call count"), std::string::npos) << server.err();

  // One session (the run's): the proxy's calls and the run's decisions about them.
  int tool_calls = 0, tool_denies = 0;
  for (const Event& e : SessionEvents(store, nullptr)) {
    tool_calls += e.kind == EventKind::kToolCall;
    if (!IsDecisionEvent(e)) continue;
    auto dec = ParseDecisionEvent(e);
    ASSERT_TRUE(dec.ok());
    if (dec->request.kind == EventKind::kToolCall && dec->decision.verdict == RequestVerdict::kDeny) {
      ++tool_denies;
      EXPECT_EQ(dec->decision.rule, "no-count");
    }
  }
  EXPECT_EQ(tool_calls, 2);
  EXPECT_EQ(tool_denies, 1);

  // Replay with the same policy: the same decision for every request, the denial among the findings.
  RunResult rep = RunShell(kBin + " replay --store " + Quote(store) + " --label http-run --policy " +
                           Quote((d / "policy.yaml").string()) + " --json " + Quote((d / "report.json").string()));
  EXPECT_EQ(rep.status, 1) << "a denied call is a violation:\n" << rep.out;
  EXPECT_NE(rep.out.find("rule no-count [tool.call]"), std::string::npos) << rep.out;
  nlohmann::json j = nlohmann::json::parse(Slurp(d / "report.json"));
  ASSERT_EQ(j["sessions"].size(), 1u);
  const nlohmann::json& rd = j["sessions"][0]["request_decisions"];
  EXPECT_GT(rd["recorded"].get<int>(), 2) << rd.dump();  // the tool calls' and the run's syscalls'
  EXPECT_EQ(rd["same"], rd["recorded"]) << rd.dump();
  EXPECT_TRUE(rd["different"].empty()) << rd.dump();
}

// Under `agenttrace run`, a tools/call the run puts to a human (here an `--ask exec:` program that
// takes 12 s) must not hold the nested proxy's stop: SIGTERM answers the SDK client with the
// "stopped" error, the server never receives the call, and the proxy exits 0 within the 2 s it waits
// for the decision. It used to wait for the answer (12 s here, up to the run's ask timeout).
TEST_F(McpHttpCliTest, UnderRunTheProxyStopsWithoutWaitingForAnAskInProgress) {
  const fs::path d = dir_.path();
  std::ofstream(d / "policy.yaml") << R"(version: 1
default: allow
rules:
  - {id: ask-count, description: a human must agree, decision: ask, class: tool.call, tools: ["count"]}
)";
  Background server({"node", (kNodeDir / "http_server.mjs").string()}, d, "server");
  std::string sport = server.WaitFor(kListening, 1);
  ASSERT_FALSE(sport.empty()) << server.err();
  const std::string asked = (d / "asked").string();
  // The agent: starts the proxy and the SDK client, waits until the ask is being answered, stops the
  // proxy and writes its exit status and how long the stop took (ms) to stop.out.
  std::ofstream(d / "agent.sh") << StartProxyScript(d, sport)
                                << "node " << Quote((kNodeDir / "http_deny_client.mjs").string())
                                << " http://127.0.0.1:$PORT/mcp " << Quote(R"([["count",{"n":2}]])") << " > "
                                << Quote((d / "client.out").string()) << " &\nC=$!\n"
                                << "for i in $(seq 1 1200); do [ -e " << Quote(asked)
                                << " ] && break; sleep 0.05; done\n"
                                << "T0=$(date +%s%N)\nkill -TERM $P\nwait $P\nRC=$?\nT1=$(date +%s%N)\n"
                                << "echo \"$RC $(( (T1 - T0) / 1000000 ))\" > " << Quote((d / "stop.out").string())
                                << "\nwait $C\nexit 0\n";
  const std::string store = (d / "store").string();
  RunResult r = RunShell(kBin + " run --ask-timeout 60s --ask " + Quote("exec:touch " + Quote(asked) + "; sleep 12") +
                         " --store " + Quote(store) + " --label http-ask --policy " +
                         Quote((d / "policy.yaml").string()) + " -- /bin/sh " + Quote((d / "agent.sh").string()));
  if (r.status == 125 && r.err.find("ptrace") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: ptrace is not permitted here; `run` was NOT tested: " << r.err;
  }
  ASSERT_TRUE(fs::exists(asked)) << "the ask was never put to the program\n" << r.err << Slurp(d / "proxy.err");
  int rc = -1, ms = -1;
  std::istringstream(Slurp(d / "stop.out")) >> rc >> ms;
  EXPECT_EQ(rc, 0) << Slurp(d / "proxy.err");
  EXPECT_GE(ms, 0);
  EXPECT_LT(ms, 8000) << "the proxy's stop waited for the ask";
  EXPECT_NE(Slurp(d / "proxy.err").find("1 tool call(s) still being decided at the stop"), std::string::npos)
      << Slurp(d / "proxy.err");
  auto outcomes = DenyClientOutcomes(Slurp(d / "client.out"));
  ASSERT_EQ(outcomes.count("count"), 1u) << Slurp(d / "client.out");
  ASSERT_TRUE(outcomes["count"].contains("error")) << outcomes["count"].dump();
  EXPECT_EQ(outcomes["count"]["error"]["code"], -32050);
  EXPECT_NE(outcomes["count"]["error"]["message"].get<std::string>().find("the proxy stopped"), std::string::npos)
      << outcomes["count"].dump();
  EXPECT_EQ(server.err().find("received tools/call count"), std::string::npos) << server.err();
}

}  // namespace
}  // namespace agenttrace
