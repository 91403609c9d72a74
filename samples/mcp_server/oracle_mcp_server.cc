// oracle-mcp-server: an MCP stdio server whose answers change from run to run, like a search index, a
// ticket queue or a model behind a tool. One tool, `plan`, answers four random words (from
// getrandom(2)); tool-agent turns them into files. For the cassette demo and tests: the agent is flaky
// because of its tool, and becomes stable when the tool is served from a recording
// (`agenttrace replay --serve`, docs/cli.md). Usage: oracle-mcp-server
#include <sys/random.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using Json = nlohmann::json;

constexpr const char* kWords[] = {"alpha", "bravo",  "charlie", "delta", "echo", "foxtrot",  "golf",  "hotel",
                                  "india", "juliet", "kilo",    "lima",  "mike", "november", "oscar", "papa"};

std::string Plan() {
  unsigned char r[4] = {};
  if (::getrandom(r, sizeof r, 0) != sizeof r) return "alpha bravo charlie delta";
  std::string out;
  for (unsigned char b : r) out += std::string(out.empty() ? "" : " ") + kWords[b % 16];
  return out;
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    Json msg = Json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.is_object() || !msg.contains("id")) continue;
    std::string method = msg.value("method", "");
    Json reply = {{"jsonrpc", "2.0"}, {"id", msg["id"]}};
    if (method == "initialize") {
      reply["result"] = {{"protocolVersion", "2025-06-18"},
                         {"capabilities", {{"tools", Json::object()}}},
                         {"serverInfo", {{"name", "oracle"}, {"version", "1.0.0"}}}};
    } else if (method == "tools/list") {
      reply["result"] = {{"tools", Json::array({Json{{"name", "plan"},
                                                     {"description", "What to work on next (four words)"},
                                                     {"inputSchema", {{"type", "object"}}}}})}};
    } else if (method == "tools/call" && msg["params"].value("name", "") == "plan") {
      reply["result"] = {{"content", Json::array({Json{{"type", "text"}, {"text", Plan()}}})}};
    } else if (method == "ping") {
      reply["result"] = Json::object();
    } else {
      reply["error"] = {{"code", -32601}, {"message", "Method not found: " + method}};
    }
    std::string out = reply.dump() + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }
  return 0;
}
