// tool-agent: a scripted agent whose behaviour depends only on what its MCP tool answers. It asks the
// server's `plan` tool what to work on and writes one note per word of the answer
// (notes/<word>.md), then reads them back. With oracle-mcp-server live, every run writes other files
// (the gate finds it unstable); with the tool served from a cassette (`agenttrace replay --serve`),
// every run is the same. Usage: tool-agent -- SERVER_CMD ARGS...
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::json;

class Server {
 public:
  bool Start(char** argv) {
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to[0], 0);
      ::dup2(from[1], 1);
      ::execvp(argv[0], argv);
      ::_exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    out_ = to[1];
    in_ = ::fdopen(from[0], "r");
    return pid_ > 0 && in_ != nullptr;
  }
  Json Request(const std::string& method, const Json& params) {
    Send(Json{{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", params}});
    for (;;) {  // skip notifications
      char* line = nullptr;
      size_t cap = 0;
      if (::getline(&line, &cap, in_) <= 0) {
        std::free(line);
        return Json();
      }
      Json r = Json::parse(line, nullptr, false);
      std::free(line);
      if (r.is_object() && r.contains("id")) return r;
    }
  }
  void Send(const Json& msg) {
    std::string s = msg.dump() + "\n";
    if (::write(out_, s.data(), s.size()) < 0) std::perror("tool-agent: write");
  }
  int Stop() {
    ::close(out_);
    std::fclose(in_);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    return st;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  FILE* in_ = nullptr;
  int next_id_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::strcmp(argv[1], "--") != 0) {
    std::fprintf(stderr, "usage: tool-agent -- SERVER_CMD ARGS...\n");
    return 2;
  }
  Server srv;
  if (!srv.Start(argv + 2)) return 1;
  Json init = srv.Request("initialize", {{"protocolVersion", "2025-06-18"},
                                         {"capabilities", Json::object()},
                                         {"clientInfo", {{"name", "tool-agent"}, {"version", "1.0.0"}}}});
  if (!init.contains("result")) {
    std::fprintf(stderr, "tool-agent: initialize failed: %s\n", init.dump().c_str());
    return 1;
  }
  srv.Send(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  Json plan = srv.Request("tools/call", {{"name", "plan"}, {"arguments", Json::object()}});
  srv.Stop();
  if (!plan.contains("result")) {
    std::fprintf(stderr, "tool-agent: plan failed: %s\n", plan.dump().c_str());
    return 1;
  }
  std::istringstream words(plan["result"]["content"][0].value("text", ""));
  ::mkdir("notes", 0755);
  std::string w;
  std::vector<std::string> written;
  while (words >> w) {
    std::string path = "notes/" + w + ".md";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 1;
    std::string text = "# " + w + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) return 1;
    written.push_back(path);
  }
  for (const std::string& p : written) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
  }
  std::printf("tool-agent: wrote %zu notes\n", written.size());
  return 0;
}
