// A scripted stand-in for a recording's event socket, for tests of its clients: accepts connections
// one after another, keeps every line received, and answers each as a script says (answer, answer
// late, close the connection, never answer).
#ifndef AGENTTRACE_TESTS_MCP_SCRIPTED_SOCKET_H_
#define AGENTTRACE_TESTS_MCP_SCRIPTED_SOCKET_H_

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "format/status.h"
#include "format/unique_fd.h"

namespace agenttrace {

// What the stand-in does with line `index` (counted over all connections) of connection `conn`.
enum class Reply { kOk, kClose, kNever };
struct Step {
  Reply reply = Reply::kOk;
  int delay_ms = 0;
};
using Script = std::function<Step(int conn, int index)>;

// Accepts connections one after another and answers each line as the script says.
class ScriptedRecording {
 public:
  explicit ScriptedRecording(Script script) : script_(std::move(script)) {
    char tmpl[] = "/tmp/at-nested-XXXXXX";
    AT_CHECK(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/events.sock";
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    AT_CHECK(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    AT_CHECK(::listen(listener_.get(), 8) == 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedRecording() {
    stop_ = true;
    thread_.join();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  std::vector<std::string> Lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  int connections() const { return connections_; }

 private:
  // Waits until `fd` is readable or the test ends.
  bool WaitReadable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }
  void Serve() {
    int conn = 0, index = 0;
    while (WaitReadable(listener_.get())) {
      UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c.valid()) continue;
      ++connections_;
      std::string buf;
      bool open = true;
      while (open && WaitReadable(c.get())) {
        char tmp[4096];
        ssize_t n = ::read(c.get(), tmp, sizeof tmp);
        if (n <= 0) break;
        buf.append(tmp, static_cast<size_t>(n));
        size_t nl;
        while (open && (nl = buf.find('\n')) != std::string::npos) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            lines_.push_back(buf.substr(0, nl));
          }
          buf.erase(0, nl + 1);
          Step step = script_(conn, index++);
          std::this_thread::sleep_for(std::chrono::milliseconds(step.delay_ms));
          if (step.reply == Reply::kClose) {
            open = false;
          } else if (step.reply == Reply::kNever) {
            while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            open = false;
          } else {
            AT_CHECK(::write(c.get(), "{\"ok\":true}\n", 12) == 12);
          }
        }
      }
      ++conn;
    }
  }

  Script script_;
  std::string dir_, path_;
  UniqueFd listener_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_MCP_SCRIPTED_SOCKET_H_
