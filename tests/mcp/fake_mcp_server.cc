// A stand-in MCP stdio server for the proxy tests and the benchmark. Modes (argv[1]):
//   echo        copies stdin to stdout unchanged, read by read (byte-exact transparency tests, benchmark)
//   mcp         a minimal MCP server: initialize, tools/list (tools "echo" and "fail"), tools/call,
//               -32601 for anything else; exits on EOF
//   exit N      exits with status N at once
//   hold        ignores EOF on stdin and keeps running (SIGTERM ends it)
//   stubborn    ignores EOF and SIGTERM (only SIGKILL ends it)
// hold and stubborn write one line (kReadyLine) once they are set up, so that a test can wait for it
// rather than sleep and hope (a loaded machine may start them late).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "tests/mcp/fake_mcp_answer.h"

namespace {

int Echo() {
  char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(1, buf + off, static_cast<size_t>(n - off));
      if (w < 0) return 1;
      off += w;
    }
  }
}

int Mcp() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto r = agenttrace::FakeMcpAnswer(line);
    if (r.has_value()) std::cout << *r << "\n" << std::flush;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string mode = argv[1];
  if (mode == "echo") return Echo();
  if (mode == "mcp") return Mcp();
  if (mode == "exit") return argc > 2 ? std::atoi(argv[2]) : 0;
  if (mode == "hold" || mode == "stubborn") {
    if (mode == "stubborn") signal(SIGTERM, SIG_IGN);
    static const char kReadyLine[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
        "message\",\"params\":{\"level\":\"info\",\"data\":\"ready\"}}\n";
    if (write(1, kReadyLine, sizeof kReadyLine - 1) < 0) return 3;
    for (;;) pause();
  }
  return 2;
}
