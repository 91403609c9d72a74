// How the stand-in MCP server answers one request, whatever carries it: fake_mcp_server's "mcp" mode
// over stdio, and the upstream of the Streamable HTTP proxy's tests. initialize (serverInfo.name
// "fake-mcp"), tools/list (tools "echo" and "fail"), tools/call (echo returns its arguments as text,
// any other tool an isError result "unknown tool NAME"), -32601 for anything else.
#ifndef AGENTTRACE_TESTS_MCP_FAKE_MCP_ANSWER_H_
#define AGENTTRACE_TESTS_MCP_FAKE_MCP_ANSWER_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace agenttrace {

// The answer (compact JSON) to `message`; nullopt for anything that is not a request.
inline std::optional<std::string> FakeMcpAnswer(std::string_view message) {
  using Json = nlohmann::ordered_json;
  Json m = Json::parse(message, nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m.contains("id") || !m.contains("method")) return std::nullopt;
  Json r = {{"jsonrpc", "2.0"}, {"id", m["id"]}};
  std::string method = m["method"].is_string() ? m["method"].get<std::string>() : "";
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
  return r.dump();
}

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_MCP_FAKE_MCP_ANSWER_H_
