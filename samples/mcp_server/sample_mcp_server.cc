// sample-mcp-server: a small MCP server over stdio for the demo (newline-delimited JSON-RPC 2.0,
// protocol 2025-06-18). It serves files below one root directory:
//   read_file {path}, write_file {path, content}, list_directory {path}, delete_file {path}
// Paths are relative to the root; anything that escapes it is refused with isError (a normal tool
// failure, not a JSON-RPC error, as MCP servers do). Usage: sample-mcp-server ROOT
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

fs::path g_root;

void Send(const Json& msg) {
  std::string line = msg.dump();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

Json TextResult(const std::string& text, bool is_error) {
  return Json{{"content", Json::array({Json{{"type", "text"}, {"text", text}}})}, {"isError", is_error}};
}

// Resolves `rel` below the root; false if it escapes.
bool Resolve(const std::string& rel, fs::path* out) {
  fs::path p = (g_root / rel).lexically_normal();
  auto root = g_root.lexically_normal().string();
  auto s = p.string();
  if (s.compare(0, root.size(), root) != 0) return false;
  *out = p;
  return true;
}

Json ToolList() {
  auto path_schema = [](bool with_content) {
    Json props = {{"path", {{"type", "string"}, {"description", "path relative to the root"}}}};
    Json req = Json::array({"path"});
    if (with_content) {
      props["content"] = {{"type", "string"}};
      req.push_back("content");
    }
    return Json{{"type", "object"}, {"properties", props}, {"required", req}};
  };
  return Json::array({
      Json{{"name", "read_file"}, {"description", "Read a text file"}, {"inputSchema", path_schema(false)}},
      Json{{"name", "write_file"}, {"description", "Write a text file"}, {"inputSchema", path_schema(true)}},
      Json{{"name", "list_directory"}, {"description", "List a directory"}, {"inputSchema", path_schema(false)}},
      Json{{"name", "delete_file"},
           {"description", "Delete a file"},
           {"inputSchema", path_schema(false)},
           {"annotations", {{"destructiveHint", true}}}},
  });
}

Json CallTool(const std::string& name, const Json& args) {
  if (!args.is_object() || !args.contains("path") || !args["path"].is_string()) {
    return TextResult("missing string argument 'path'", true);
  }
  fs::path p;
  if (!Resolve(args["path"].get<std::string>(), &p)) return TextResult("path escapes the root", true);
  std::error_code ec;
  if (name == "read_file") {
    std::ifstream in(p);
    if (!in) return TextResult("cannot read " + args["path"].get<std::string>(), true);
    std::stringstream ss;
    ss << in.rdbuf();
    return TextResult(ss.str(), false);
  }
  if (name == "write_file") {
    if (!args.contains("content") || !args["content"].is_string()) return TextResult("missing 'content'", true);
    std::ofstream out(p, std::ios::trunc);
    out << args["content"].get<std::string>();
    if (!out) return TextResult("cannot write " + args["path"].get<std::string>(), true);
    return TextResult("wrote " + args["path"].get<std::string>(), false);
  }
  if (name == "list_directory") {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(p, ec)) {
      names.push_back((e.is_directory() ? "[DIR] " : "[FILE] ") + e.path().filename().string());
    }
    if (ec) return TextResult("cannot list: " + ec.message(), true);
    std::sort(names.begin(), names.end());
    std::string text;
    for (const auto& n : names) text += n + "\n";
    return TextResult(text, false);
  }
  if (name == "delete_file") {
    if (!fs::remove(p, ec)) return TextResult("cannot delete: " + ec.message(), true);
    return TextResult("deleted", false);
  }
  return TextResult("unknown tool: " + name, true);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sample-mcp-server ROOT\n");
    return 2;
  }
  g_root = fs::absolute(argv[1]);
  std::string line;
  while (std::getline(std::cin, line)) {
    Json msg = Json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()) {
      Send(Json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", {{"code", -32700}, {"message", "Parse error"}}}});
      continue;
    }
    if (!msg.contains("id")) continue;  // notifications need no answer
    Json id = msg["id"];
    std::string method = msg.value("method", "");
    Json reply = {{"jsonrpc", "2.0"}, {"id", id}};
    if (method == "initialize") {
      reply["result"] = {{"protocolVersion", "2025-06-18"},
                         {"capabilities", {{"tools", Json::object()}}},
                         {"serverInfo", {{"name", "sample-fs"}, {"version", "1.0.0"}}}};
    } else if (method == "tools/list") {
      reply["result"] = {{"tools", ToolList()}};
    } else if (method == "tools/call") {
      const Json& params = msg["params"];
      reply["result"] = CallTool(params.value("name", ""), params.value("arguments", Json::object()));
    } else if (method == "ping") {
      reply["result"] = Json::object();
    } else {
      reply["error"] = {{"code", -32601}, {"message", "Method not found: " + method}};
    }
    Send(reply);
  }
  return 0;
}
