// Overhead of `agenttrace record --mcp`: round-trip latency (p50/p99) and pipelined messages/s of
// MCP tools/call requests, against a small C++ MCP server (tests/mcp/fake_mcp_server), direct versus
// through the recording proxy, and answered from that recording by `agenttrace replay --serve`. Prints
// all three and the proxy's ratios.
//
// Usage: bench_mcp_proxy AGENTTRACE_BIN FAKE_MCP_SERVER [ROUND_TRIPS [PIPELINED]]
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
  int to = -1;    // its stdin
  int from = -1;  // its stdout
  std::string pending;
};

Child Spawn(const std::vector<std::string>& argv) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  return {pid, in[1], out[0], {}};
}

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) std::abort();
    off += static_cast<size_t>(n);
  }
}

// Reads until one more complete line is available and consumes it.
void ReadLine(Child& c) {
  for (;;) {
    size_t nl = c.pending.find('\n');
    if (nl != std::string::npos) {
      c.pending.erase(0, nl + 1);
      return;
    }
    char buf[65536];
    ssize_t n = read(c.from, buf, sizeof buf);
    if (n <= 0) std::abort();
    c.pending.append(buf, static_cast<size_t>(n));
  }
}

std::string Call(int id) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":"echo","arguments":{"path":"/workspace/src/main.cc","text":"a typical small argument"}}})"
         "\n";
}

struct Figures {
  double p50_us = 0, p99_us = 0, msgs_per_s = 0;
};

Figures Measure(const std::vector<std::string>& argv, int round_trips, int pipelined) {
  Child c = Spawn(argv);
  WriteAll(
      c.to,
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})"
      "\n");
  ReadLine(c);
  for (int i = 0; i < 200; ++i) {  // warm-up
    WriteAll(c.to, Call(1 + i));
    ReadLine(c);
  }
  std::vector<double> rtt;
  rtt.reserve(static_cast<size_t>(round_trips));
  int id = 1000;
  for (int i = 0; i < round_trips; ++i) {
    std::string msg = Call(id++);
    auto t0 = Clock::now();
    WriteAll(c.to, msg);
    ReadLine(c);
    rtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(rtt.begin(), rtt.end());
  Figures f;
  f.p50_us = rtt[rtt.size() / 2];
  f.p99_us = rtt[rtt.size() * 99 / 100];

  std::string batch;
  for (int i = 0; i < pipelined; ++i) batch += Call(id++);
  auto t0 = Clock::now();
  std::thread writer([&] { WriteAll(c.to, batch); });
  for (int i = 0; i < pipelined; ++i) ReadLine(c);
  auto secs = std::chrono::duration<double>(Clock::now() - t0).count();
  writer.join();
  f.msgs_per_s = pipelined / secs;

  close(c.to);
  int st;
  waitpid(c.pid, &st, 0);
  close(c.from);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s AGENTTRACE_BIN FAKE_MCP_SERVER [ROUND_TRIPS [PIPELINED]]\n", argv[0]);
    return 2;
  }
  std::string bin = argv[1], server = argv[2];
  int round_trips = argc > 3 ? std::atoi(argv[3]) : 5000;
  int pipelined = argc > 4 ? std::atoi(argv[4]) : 50000;
  char tmpl[] = "/tmp/bench-mcp-store-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  unsetenv("AGENTTRACE_SOCKET");

  Figures direct = Measure({server, "mcp"}, round_trips, pipelined);
  Figures proxied = Measure({bin, "record", "--mcp", "--store", tmpl, "--", server, "mcp"}, round_trips, pipelined);
  // The same calls answered by `replay --serve` from the session just recorded (a cassette).
  Figures served = Measure({bin, "replay", "--serve", "--store", tmpl}, round_trips, pipelined);

  std::printf("MCP tools/call round trips: %d; pipelined: %d\n", round_trips, pipelined);
  std::printf("%-10s %10s %10s %12s\n", "", "p50 us", "p99 us", "msgs/s");
  std::printf("%-10s %10.1f %10.1f %12.0f\n", "direct", direct.p50_us, direct.p99_us, direct.msgs_per_s);
  std::printf("%-10s %10.1f %10.1f %12.0f\n", "proxied", proxied.p50_us, proxied.p99_us, proxied.msgs_per_s);
  std::printf("%-10s %10.1f %10.1f %12.0f\n", "served", served.p50_us, served.p99_us, served.msgs_per_s);
  std::printf("%-10s %9.2fx %9.2fx %11.2fx\n", "ratio", proxied.p50_us / direct.p50_us, proxied.p99_us / direct.p99_us,
              proxied.msgs_per_s / direct.msgs_per_s);
  std::printf("added latency: p50 %+.1f us, p99 %+.1f us\n", proxied.p50_us - direct.p50_us,
              proxied.p99_us - direct.p99_us);
  std::string rm = std::string("rm -rf ") + tmpl;
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}
