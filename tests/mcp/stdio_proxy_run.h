// ProxyRun: the MCP stdio proxy (recorder/mcp_proxy.h) run in a thread of the test, with pipes as
// the agent's stdin and stdout and a VectorEventSink as its store; for the proxies' tests.
#ifndef AGENTTRACE_TESTS_MCP_STDIO_PROXY_RUN_H_
#define AGENTTRACE_TESTS_MCP_STDIO_PROXY_RUN_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "format/status.h"
#include "recorder/mcp_proxy.h"
#include "tests/format/vector_sink.h"

namespace agenttrace {

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
    thread_ = std::thread([this, o] { result_ = RunMcpProxy(o, sink_); });
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
  std::vector<Event> Events() { return sink_.Events(); }

 private:
  int to_proxy_ = -1, from_proxy_ = -1, proxy_in_ = -1, proxy_out_ = -1;
  std::thread thread_;
  VectorEventSink sink_;
  Result<McpProxyResult> result_ = Status::Internal("not run");
};

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_MCP_STDIO_PROXY_RUN_H_
