// What the MCP command-line tests share: running a shell command with its output captured, quoting a
// word for the shell, a scratch directory, and reading the one session of a store.
#ifndef AGENTTRACE_TESTS_MCP_SHELL_RUN_H_
#define AGENTTRACE_TESTS_MCP_SHELL_RUN_H_

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "format/event.h"
#include "format/session.h"
#include "format/status.h"
#include "format/store.h"

namespace agenttrace::shelltest {

struct ShellResult {
  int status = -1;  // exit code, or 128+signal
  std::string out, err;
};

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `s` in single quotes for /bin/sh.
inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A fresh directory under /tmp, removed with its contents when the object goes.
class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/at-mcp-XXXXXX";
    AT_CHECK(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs `cmd` with /bin/sh, feeding `input` on stdin; stdout and stderr are captured.
inline ShellResult RunShell(const std::string& cmd, const std::string& input = "") {
  ScratchDir io;
  std::ofstream(io.path() / "in", std::ios::binary) << input;
  std::string full =
      "(" + cmd + ") <" + Quote(io.path() / "in") + " >" + Quote(io.path() / "out") + " 2>" + Quote(io.path() / "err");
  int st = std::system(full.c_str());
  ShellResult r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = Slurp(io.path() / "out");
  r.err = Slurp(io.path() / "err");
  return r;
}

// The events of the store's one session (a test failure if it holds another number of sessions);
// its record in `*info_out` when given.
inline std::vector<Event> SessionEvents(const std::string& store_dir, SessionInfo* info_out = nullptr) {
  auto store = Store::Open(store_dir, StoreOptions{.read_only = true});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return {};
  auto sessions = (*store)->ListSessions();
  EXPECT_TRUE(sessions.ok());
  if (!sessions.ok()) return {};
  EXPECT_EQ(sessions->size(), 1u);
  if (sessions->size() != 1) return {};
  if (info_out != nullptr) *info_out = (*sessions)[0];
  auto reader = (*store)->OpenSession((*sessions)[0].id);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return {};
  std::vector<Event> out;
  for (;;) {
    auto e = (*reader)->Next();
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok() || *e == nullptr) break;
    out.push_back(**e);
  }
  return out;
}

}  // namespace agenttrace::shelltest

#endif  // AGENTTRACE_TESTS_MCP_SHELL_RUN_H_
