// The MCP stdio proxy against a stand-in server (fake_mcp_server): byte-exact forwarding, recording
// of tool events, and the lifetime rules (who closes, who is signalled, which status is returned).
#include "recorder/mcp_proxy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace agenttrace {
namespace {

#ifndef FAKE_MCP_SERVER
#error "FAKE_MCP_SERVER must be defined by the build"
#endif

// The agent's side of a proxy run in a thread of this process.
class ProxyRun {
 public:
  explicit ProxyRun(std::vector<std::string> command, McpProxyOptions o = {}) {
    int a[2], b[2];
    AT_CHECK(pipe2(a, O_CLOEXEC) == 0);
    AT_CHECK(pipe2(b, O_CLOEXEC) == 0);
    to_proxy_ = a[1];
    from_proxy_ = b[0];
    proxy_in_ = a[0];
    proxy_out_ = b[1];
    o.command = std::move(command);
    o.agent_in_fd = proxy_in_;
    o.agent_out_fd = proxy_out_;
    thread_ = std::thread([this, o] {
      result_ = RunMcpProxy(o, [this](const Event& e) {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(e);
        return Status::Ok();
      });
    });
  }
  ~ProxyRun() {
    CloseAgentStdin();
    if (thread_.joinable()) thread_.join();
    ::close(from_proxy_);
    ::close(proxy_in_);
    ::close(proxy_out_);
  }
  void Write(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::write(to_proxy_, s.data(), s.size());
      ASSERT_GT(n, 0);
      s.remove_prefix(static_cast<size_t>(n));
    }
  }
  void CloseAgentStdin() {
    if (to_proxy_ >= 0) ::close(to_proxy_);
    to_proxy_ = -1;
  }
  // Reads until `n` bytes arrived or EOF.
  std::string Read(size_t n) {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
      ssize_t r = ::read(from_proxy_, buf, std::min(sizeof buf, n - out.size()));
      if (r <= 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }
  std::string ReadLine() {
    std::string out;
    char c;
    while (::read(from_proxy_, &c, 1) == 1 && c != '\n') out.push_back(c);
    return out;
  }
  // Reads until EOF.
  std::string ReadAll() { return Read(SIZE_MAX); }
  Result<McpProxyResult>& Join() {
    thread_.join();
    return result_;
  }
  std::vector<Event> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  int to_proxy_ = -1, from_proxy_ = -1, proxy_in_ = -1, proxy_out_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Event> events_;
  Result<McpProxyResult> result_ = Status::Internal("not run");
};

std::vector<Event> OfKind(const std::vector<Event>& ev, EventKind k) {
  std::vector<Event> out;
  for (const Event& e : ev)
    if (e.kind == k) out.push_back(e);
  return out;
}

TEST(McpProxyTest, ForwardsBytesUnchangedIncludingPartialLinesInvalidJsonAndLargeMessages) {
  ProxyRun run({FAKE_MCP_SERVER, "echo"});
  std::string big = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"w","arguments":{"d":")" +
                    std::string(5u << 20, 'b') + "\"}}}\n";
  std::vector<std::string> pieces = {
      "{\"jsonrpc\":\"2.0\",\"id\":0,\"met", "hod\":\"ping\"}\n",  // split line
      "not json at all\n",
      "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"b\"}\n",  // two in one write
      "{\"s\":\"raw \xe2\x80\xa8 U+2028 and \xff bytes\"}\n",
      big,
  };
  std::string all;
  for (auto& p : pieces) all += p;
  std::string got;
  std::thread reader([&] { got = run.ReadAll(); });
  for (auto& p : pieces) run.Write(p);
  run.CloseAgentStdin();
  reader.join();
  EXPECT_EQ(got.size(), all.size());
  EXPECT_TRUE(got == all) << "forwarded bytes differ";
  auto& r = run.Join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitStatus(), 0);
  EXPECT_EQ(r->bytes_to_server, all.size());
  EXPECT_EQ(r->bytes_to_agent, all.size());
  auto ev = run.Events();
  // Both directions carry the same lines (echo): each invalid line gives a protocol.error per direction.
  auto errs = OfKind(ev, EventKind::kProtocolError);
  EXPECT_EQ(errs.size(), 4u);
  // The echoed request comes back as a "request" travelling to the agent: both are recorded.
  EXPECT_EQ(OfKind(ev, EventKind::kToolCall).size(), 2u);
  auto calls = OfKind(ev, EventKind::kToolCall);
  // Forwarded whole, recorded bounded: arguments over kMaxRecordedArgumentsBytes become the explicit
  // truncation marker with their size.
  EXPECT_EQ(calls[0].size, static_cast<int64_t>((5u << 20) + 8));
  EXPECT_NE(calls[0].json.find("\"truncated\":true"), std::string::npos) << calls[0].json;
}

TEST(McpProxyTest, RecordsAnMcpSession) {
  ProxyRun run({FAKE_MCP_SERVER, "mcp"});
  run.Write(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}})" "\n");
  EXPECT_NE(run.ReadLine().find("fake-mcp"), std::string::npos);
  run.Write(R"({"jsonrpc":"2.0","method":"notifications/initialized"})" "\n");
  run.Write(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})" "\n");
  EXPECT_NE(run.ReadLine().find("\"tools\""), std::string::npos);
  run.Write(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"x":1}}})" "\n");
  run.Write(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"zap","arguments":{}}})" "\n");
  run.Write(R"({"jsonrpc":"2.0","id":4,"method":"resources/list"})" "\n");
  for (int i = 0; i < 3; ++i) run.ReadLine();
  run.CloseAgentStdin();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->server_name, "fake-mcp");
  auto ev = run.Events();
  EXPECT_EQ(r->events, ev.size());
  for (const Event& e : ev) EXPECT_EQ(e.server, "fake-mcp") << EventKindName(e.kind);
  auto defs = OfKind(ev, EventKind::kToolDef);
  ASSERT_EQ(defs.size(), 2u);
  EXPECT_EQ(defs[0].tool, "echo");
  auto calls = OfKind(ev, EventKind::kToolCall);
  auto results = OfKind(ev, EventKind::kToolResult);
  ASSERT_EQ(calls.size(), 2u);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(calls[0].json, R"({"x":1})");
  EXPECT_FALSE(results[0].is_error);
  EXPECT_TRUE(results[1].is_error);
  EXPECT_GT(results[0].duration_ns, 0);
  auto responses = OfKind(ev, EventKind::kMcpResponse);
  ASSERT_EQ(responses.size(), 3u);  // initialize, tools/list, resources/list
  EXPECT_TRUE(responses[2].is_error);
  EXPECT_EQ(OfKind(ev, EventKind::kMcpNotification).size(), 1u);
}

TEST(McpProxyTest, ServerExitEndsTheSessionAndClosesTheAgentsStdout) {
  ProxyRun run({FAKE_MCP_SERVER, "exit", "3"});
  EXPECT_EQ(run.ReadAll(), "");  // EOF although the agent's stdin is still open
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->ExitStatus(), 3);
}

TEST(McpProxyTest, ServerThatIgnoresEofGetsSigterm) {
  McpProxyOptions o;
  o.term_after_ms = 100;
  o.kill_after_ms = 2000;
  ProxyRun run({FAKE_MCP_SERVER, "hold"}, o);
  auto start = std::chrono::steady_clock::now();
  run.CloseAgentStdin();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_signal, SIGTERM);
  EXPECT_EQ(r->ExitStatus(), 128 + SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
}

TEST(McpProxyTest, ServerThatIgnoresSigtermGetsSigkill) {
  McpProxyOptions o;
  o.term_after_ms = 50;
  o.kill_after_ms = 300;
  ProxyRun run({FAKE_MCP_SERVER, "stubborn"}, o);
  run.CloseAgentStdin();
  auto& r = run.Join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_signal, SIGKILL);
  EXPECT_EQ(r->ExitStatus(), 137);
}

TEST(McpProxyTest, MissingCommandIsNotFound) {
  McpProxyOptions o;
  o.command = {"/nonexistent/mcp-server"};
  auto r = RunMcpProxy(o, [](const Event&) { return Status::Ok(); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/mcp-server"), std::string::npos);
}

TEST(McpProxyTest, FailingSinkStopsRecordingButNotForwarding) {
  McpProxyOptions o;
  o.command = {FAKE_MCP_SERVER, "echo"};
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
  o.agent_in_fd = a[0];
  o.agent_out_fd = b[1];
  std::string msg = "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n";
  std::string all;
  for (int i = 0; i < 10; ++i) all += msg;
  ASSERT_EQ(::write(a[1], all.data(), all.size()), static_cast<ssize_t>(all.size()));
  ::close(a[1]);
  auto r = RunMcpProxy(o, [](const Event&) { return Status::IOError("disk full"); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->events, 0u);
  EXPECT_EQ(r->sink_status.code(), StatusCode::kIOError);
  std::string got(all.size() + 10, '\0');
  EXPECT_EQ(::read(b[0], got.data(), got.size()), static_cast<ssize_t>(all.size()));
  ::close(a[0]);
  ::close(b[0]);
  ::close(b[1]);
}


// An agent that stops reading (and never closes its read end) while the server writes more than the
// pipes hold: the agent-bound write used to block for ever, so the proxy's shutdown, which joins that
// thread, hung after the server was terminated. Now the proxy returns 1 s after the server's end,
// having read (and recorded) what the server wrote though it could not deliver it.
void AgentStopsReading(bool agent_reads_a_socket) {
  McpProxyOptions o;
  o.command = {"head", "-c", "2000000", "/dev/zero"};  // blocks once the pipes are full
  o.term_after_ms = 100;
  o.kill_after_ms = 500;
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
  if (agent_reads_a_socket) {  // node's stdio pipes are socket pairs
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
  } else {
    ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
  }
  o.agent_in_fd = a[0];
  o.agent_out_fd = b[1];
  std::atomic<bool> done{false};
  Result<McpProxyResult> r = Status::Internal("not run");
  std::thread proxy([&] {
    r = RunMcpProxy(o, [](const Event&) { return Status::Ok(); });
    done = true;
  });
  ::close(a[1]);  // the agent is done talking, and never reads b[0] (until the end of the test)
  auto start = std::chrono::steady_clock::now();
  while (!done && std::chrono::steady_clock::now() - start < std::chrono::seconds(8)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  const bool finished = done;
  // Unblock whatever is stuck, so that the threads can be joined either way.
  std::thread drain([&] {
    char buf[65536];
    while (::read(b[0], buf, sizeof buf) > 0) {
    }
  });
  proxy.join();
  ::close(b[1]);
  drain.join();
  ::close(a[0]);
  ::close(b[0]);
  ASSERT_TRUE(finished) << "the proxy's shutdown hung on an agent that stopped reading";
  EXPECT_LT(took, std::chrono::seconds(4));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_signal, SIGTERM);  // it was blocked writing
  EXPECT_GT(r->bytes_to_agent, 64u << 10);
}

TEST(McpProxyTest, AgentThatStopsReadingAPipeDoesNotHoldTheShutdown) { AgentStopsReading(false); }
TEST(McpProxyTest, AgentThatStopsReadingASocketDoesNotHoldTheShutdown) { AgentStopsReading(true); }

}  // namespace
}  // namespace agenttrace
