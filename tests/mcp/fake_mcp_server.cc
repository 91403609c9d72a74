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
#include <nlohmann/json.hpp>
#include <string>

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
  using Json = nlohmann::ordered_json;
  std::string line;
  while (std::getline(std::cin, line)) {
    Json m = Json::parse(line, nullptr, false);
    if (m.is_discarded() || !m.contains("id") || !m.contains("method")) continue;
    Json r = {{"jsonrpc", "2.0"}, {"id", m["id"]}};
    std::string method = m["method"];
    if (method == "initialize") {
      r["result"] = {{"protocolVersion", "2025-11-25"},
                     {"capabilities", {{"tools", Json::object()}}},
                     {"serverInfo", {{"name", "fake-mcp"}, {"version", "1.0"}}}};
    } else if (method == "tools/list") {
      r["result"] = {{"tools",
                      {{{"name", "echo"}, {"description", "echoes"}, {"inputSchema", {{"type", "object"}}}},
                       {{"name", "fail"}, {"description", "fails"}, {"inputSchema", {{"type", "object"}}}}}}};
    } else if (method == "tools/call") {
      std::string name = m["params"].value("name", "");
      Json args = m["params"].value("arguments", Json::object());
      bool fail = name != "echo";
      r["result"] = {{"content", {{{"type", "text"}, {"text", fail ? "unknown tool " + name : args.dump()}}}},
                     {"isError", fail}};
    } else {
      r["error"] = {{"code", -32601}, {"message", "Method not found"}};
    }
    std::cout << r.dump() << "\n" << std::flush;
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
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"ready\"}}\n";
    if (write(1, kReadyLine, sizeof kReadyLine - 1) < 0) return 3;
    for (;;) pause();
  }
  return 2;
}
