// recorder/http_listener.h: how the HTTP servers of `record --mcp-http` and `replay --serve --http`
// bind, report their port and stop; and the bind failure as both servers report it.
#include "recorder/http_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "format/unique_fd.h"
#include "recorder/cassette_http.h"
#include "recorder/mcp_http_proxy.h"
#include "tests/format/vector_sink.h"

namespace agenttrace {
namespace {

// A TCP socket listening on 127.0.0.1 at a port the kernel chose: that port is taken.
struct TakenPort {
  UniqueFd fd;
  int port = 0;
  TakenPort() : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), n) != 0 || ::listen(fd.get(), 1) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &n) != 0) {
      return;
    }
    port = ntohs(a.sin_port);
  }
};

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      r = UniqueFd(p[0]);
      w = UniqueFd(p[1]);
    }
  }
};

TEST(HttpListenerTest, ServesUntilStopFdAndRunsBeforeStopFirst) {
  ServerSignals signals;
  ASSERT_TRUE(signals.status().ok());
  Pipe stop;
  ASSERT_TRUE(stop.w.valid());
  httplib::Server server;
  server.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.set_content("pong", "text/plain"); });
  HttpListenOptions o;
  o.host = "127.0.0.1";
  std::string answer;
  int listened = 0;
  o.on_listening = [&](int port) {
    listened = port;
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/ping");
    if (res) answer = res->body;
    ASSERT_EQ(::write(stop.w.get(), "x", 1), 1);
  };
  o.stop_fd = stop.r.get();
  bool running_at_before_stop = false;
  o.before_stop = [&] { running_at_before_stop = server.is_running(); };
  Result<int32_t> r = ServeHttpUntilStopped(&server, o, signals);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 0);  // stop_fd, not a signal
  EXPECT_GT(listened, 0);
  EXPECT_EQ(answer, "pong");
  EXPECT_TRUE(running_at_before_stop);  // before_stop runs while the server still serves
  EXPECT_FALSE(server.is_running());
}

// A stop that is already there when serving starts (a signal during start-up) must still stop the
// server: stopping before its thread is accepting would otherwise be lost and the join never return.
TEST(HttpListenerTest, StopAlreadyRequestedBeforeTheServerRunsStillStopsIt) {
  ServerSignals signals;
  ASSERT_TRUE(signals.status().ok());
  for (int i = 0; i < 20; ++i) {
    Pipe stop;
    ASSERT_EQ(::write(stop.w.get(), "x", 1), 1);
    httplib::Server server;
    HttpListenOptions o;
    o.host = "127.0.0.1";
    o.stop_fd = stop.r.get();
    Result<int32_t> r = ServeHttpUntilStopped(&server, o, signals);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, 0);
  }
}

TEST(HttpListenerTest, AStopSignalIsReturnedAndConsumed) {
  ServerSignals signals;
  ASSERT_TRUE(signals.status().ok());
  httplib::Server server;
  HttpListenOptions o;
  o.host = "127.0.0.1";
  o.on_listening = [](int) { ASSERT_EQ(::kill(::getpid(), SIGHUP), 0); };
  Result<int32_t> r = ServeHttpUntilStopped(&server, o, signals);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, SIGHUP);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGHUP));  // read from the signalfd, not left to kill us later
}

TEST(HttpListenerTest, APortInUseIsAnIOErrorNamingTheAddressAndStartsNothing) {
  TakenPort taken;
  ASSERT_GT(taken.port, 0);
  ServerSignals signals;
  ASSERT_TRUE(signals.status().ok());
  httplib::Server server;
  HttpListenOptions o;
  o.host = "127.0.0.1";
  o.port = taken.port;
  bool called = false;
  o.on_listening = [&](int) { called = true; };
  o.before_stop = [&] { called = true; };
  Result<int32_t> r = ServeHttpUntilStopped(&server, o, signals);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find("cannot listen on 127.0.0.1:" + std::to_string(taken.port)), std::string::npos)
      << r.status().ToString();
  EXPECT_FALSE(called);
  EXPECT_FALSE(server.is_running());
}

// Both servers report the bind failure the same way; the proxy also ends its recorder thread.
TEST(HttpListenerTest, BothServersReportAPortInUse) {
  TakenPort taken;
  ASSERT_GT(taken.port, 0);
  const std::string want = "cannot listen on 127.0.0.1:" + std::to_string(taken.port);

  HttpServeOptions serve;
  serve.listen_port = taken.port;
  bool listened = false;
  serve.on_listening = [&](int) { listened = true; };
  auto served = RunHttpServe(
      serve, [] { return std::unique_ptr<CassettePlayer>(); }, nullptr);
  ASSERT_FALSE(served.ok());
  EXPECT_EQ(served.status().code(), StatusCode::kIOError);
  EXPECT_NE(served.status().message().find(want), std::string::npos) << served.status().ToString();

  McpHttpProxyOptions proxy;
  proxy.listen_port = taken.port;
  proxy.upstream = "http://127.0.0.1:9/mcp";  // never contacted
  proxy.on_listening = [&](int) { listened = true; };
  VectorEventSink sink;
  auto proxied = RunMcpHttpProxy(proxy, sink);
  ASSERT_FALSE(proxied.ok());
  EXPECT_EQ(proxied.status().code(), StatusCode::kIOError);
  EXPECT_NE(proxied.status().message().find(want), std::string::npos) << proxied.status().ToString();
  EXPECT_TRUE(sink.Events().empty());
  EXPECT_FALSE(listened);
}

}  // namespace
}  // namespace agenttrace
