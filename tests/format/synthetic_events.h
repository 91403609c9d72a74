// Synthetic events for the store's tests, fuzz seeds and benchmark.
//
// FullEvent(kind, i) sets every field the codec stores for that kind (format/event.h lists them), with
// values that exercise zigzag and delta encoding (negative, large, zero). AgentMix(n, seed) is a
// deterministic stream shaped like a coding agent's recording: mostly file opens of a repository with
// long shared path prefixes, some execs with argv, connects, MCP tool calls and results with JSON.
#ifndef AGENTTRACE_TESTS_FORMAT_SYNTHETIC_EVENTS_H_
#define AGENTTRACE_TESTS_FORMAT_SYNTHETIC_EVENTS_H_

#include <fcntl.h>
#include <sys/socket.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "format/event.h"

namespace agenttrace::testing {

inline Event FullEvent(EventKind kind, uint64_t i) {
  Event e;
  e.kind = kind;
  e.seq = i;
  e.mono_ns = 1'000'000'000 + static_cast<int64_t>(i) * 1234 - (i % 3 == 0 ? 5000 : 0);
  e.wall_ns = 1'760'000'000'000'000'000 + static_cast<int64_t>(i) * 1250;
  e.pid = 4000 + static_cast<int32_t>(i % 5);
  e.tid = e.pid + static_cast<int32_t>(i % 2);
  e.result = (i % 4 == 0) ? -2 : static_cast<int64_t>(i);
  std::string n = std::to_string(i);
  uint16_t k = static_cast<uint16_t>(kind);
  if (k <= static_cast<uint16_t>(EventKind::kFileRmdir)) {
    e.path = "/home/agent/src/repo/src/module_" + n + "/file.cc";
    e.path2 = "/home/agent/src/repo/build/out_" + n;
    e.resolved = "/mnt/data/repo/src/module_" + n + "/file.cc";
    if (kind == EventKind::kFileRename) e.resolved2 = "/mnt/data/repo/build/out_" + n;
    e.flags = O_RDWR | O_CREAT | O_CLOEXEC;
    e.mode = 0644;
    e.uid = 1000;
    e.gid = 100 + static_cast<uint32_t>(i);
    e.size = -static_cast<int64_t>(i) - 1;
    return e;
  }
  switch (kind) {
    case EventKind::kExec:
      e.path = "/usr/bin/python3.11";
      e.resolved = "/usr/bin/python3";
      e.argv = {"python3", "-m", "pytest", "-k", "test_" + n, ""};
      e.env_names = {"PATH", "HOME", "OPENAI_API_KEY", "LANG"};
      e.secret_env_names = {"OPENAI_API_KEY"};
      e.flags = 0x100;
      break;
    case EventKind::kProcSpawn:
    case EventKind::kProcExit:
      e.child_pid = e.pid + 17;
      e.is_thread = i % 2 == 1;
      e.flags = 0x3d0f00;
      e.exit_code = -1 - static_cast<int32_t>(i % 7);
      e.signal = 9;
      break;
    case EventKind::kNetConnect:
    case EventKind::kNetBind:
    case EventKind::kNetListen:
    case EventKind::kNetSend:
      e.family = AF_INET6;
      e.address = "2001:db8::" + n;
      e.port = 443;
      e.path = "/run/agent/" + n + ".sock";
      e.size = 1400 + static_cast<int64_t>(i);
      e.flags = 0x40;
      break;
    case EventKind::kEscape:
    case EventKind::kRaw:
      e.text = "io_uring_setup";
      e.syscall_nr = 425;
      e.arch = 0xC000003E;
      e.args = {1, 2, 0xFFFFFFFFFFFFFFFFull, 0, 1ull << 40, i};
      break;
    default:  // tool.*, mcp.*, annotation, protocol.error, gap
      e.server = "filesystem";
      e.tool = "read_file";
      e.method = "tools/call";
      e.request_id = n;
      e.json = "{\"path\":\"/home/agent/src/repo/README.md\",\"n\":" + n + "}";
      e.text = "note " + n;
      e.is_error = i % 2 == 0;
      e.direction = i % 2 == 0 ? Direction::kToServer : Direction::kToAgent;
      e.duration_ns = 1'500'000 + static_cast<int64_t>(i);
      e.size = 77;
      break;
  }
  return e;
}

// A deterministic stream that looks like a coding agent at work (see the header comment). Sequence
// numbers are 0..n-1.
class AgentMix {
 public:
  explicit AgentMix(uint64_t seed = 42) : rng_(seed) {
    const char* dirs[] = {"src/core", "src/core/detail", "src/api/handlers", "src/api/models", "tests/unit",
                          "tests/integration", "docs", "scripts", "src/util", "src/storage/lmdb"};
    const char* exts[] = {".py", ".ts", ".json", ".md", ".cc", ".h"};
    for (int d = 0; d < 10; ++d) {
      for (int f = 0; f < 60; ++f) {
        files_.push_back(std::string("/home/agent/src/acme-service/") + dirs[d] + "/component_" +
                         std::to_string(f) + "_" + std::to_string(d * 7 + f % 5) + exts[(d + f) % 6]);
      }
    }
    const char* sys[] = {"/etc/ld.so.cache", "/lib/x86_64-linux-gnu/libc.so.6", "/etc/passwd",
                         "/usr/lib/python3.11/os.py", "/usr/lib/python3.11/encodings/__init__.py",
                         "/proc/self/status", "/etc/localtime", "/usr/lib/locale/locale-archive"};
    for (const char* s : sys) sys_files_.push_back(s);
    for (int p = 0; p < 40; ++p) {
      sys_files_.push_back("/usr/lib/python3.11/site-packages/pkg_" + std::to_string(p) + "/__init__.py");
    }
  }

  // Fills `e` (reusing its capacity) with the next event.
  void Next(Event* e) {
    e->Clear();
    e->seq = seq_++;
    mono_ += 2000 + static_cast<int64_t>(rng_() % 40000);  // 2..42 us apart
    e->mono_ns = mono_;
    e->wall_ns = mono_ + 1'760'000'000'000'000'000;
    if (rng_() % 50 == 0) pid_ = 3000 + static_cast<int32_t>(rng_() % 6);
    e->pid = pid_;
    e->tid = rng_() % 10 == 0 ? pid_ + 1 : pid_;
    uint32_t r = static_cast<uint32_t>(rng_() % 100);
    if (r < 72) {
      e->kind = EventKind::kFileOpen;
      e->path = rng_() % 5 == 0 ? sys_files_[Skewed(sys_files_.size())] : files_[Skewed(files_.size())];
      bool write = rng_() % 10 == 0;
      e->flags = write ? (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
      e->mode = write ? 0644 : 0;
      e->result = rng_() % 6 == 0 ? -2 : 3 + static_cast<int64_t>(rng_() % 12);
    } else if (r < 80) {
      static const EventKind kinds[] = {EventKind::kFileMkdir, EventKind::kFileRename, EventKind::kFileDelete,
                                        EventKind::kFileChmod};
      e->kind = kinds[rng_() % 4];
      e->path = files_[Skewed(files_.size())];
      if (e->kind == EventKind::kFileRename) e->path2 = e->path + ".tmp";
      e->mode = e->kind == EventKind::kFileMkdir ? 0755 : 0;
      e->result = 0;
    } else if (r < 85) {
      e->kind = EventKind::kExec;
      static const std::vector<std::vector<std::string>> cmds = {
          {"/usr/bin/git", "git", "status", "--porcelain"},
          {"/usr/bin/python3", "python3", "-m", "pytest", "-q", "tests/unit"},
          {"/usr/bin/rg", "rg", "-n", "TODO", "src"},
          {"/bin/sh", "sh", "-c", "ls -la src/core"},
          {"/usr/bin/npm", "npm", "run", "lint"}};
      const auto& c = cmds[rng_() % cmds.size()];
      e->path = c[0];
      e->argv.assign(c.begin() + 1, c.end());
      e->env_names = {"PATH", "HOME", "LANG", "TERM", "ANTHROPIC_API_KEY"};
      e->secret_env_names = {"ANTHROPIC_API_KEY"};
      e->result = 0;
    } else if (r < 87) {
      e->kind = EventKind::kProcSpawn;
      e->child_pid = pid_ + 1 + static_cast<int32_t>(rng_() % 50);
      e->flags = 0x1200011;
      e->result = e->child_pid;
    } else if (r < 89) {
      e->kind = EventKind::kProcExit;
      e->exit_code = rng_() % 4 == 0 ? 1 : 0;
    } else if (r < 93) {
      e->kind = EventKind::kNetConnect;
      e->family = AF_INET;
      static const char* addrs[] = {"140.82.112.3", "104.16.0.35", "127.0.0.1", "151.101.1.69"};
      e->address = addrs[rng_() % 4];
      e->port = rng_() % 2 ? 443 : 8080;
      e->result = rng_() % 8 == 0 ? -111 : 0;
    } else if (r < 97) {
      e->kind = EventKind::kToolCall;
      e->server = "filesystem";
      e->tool = rng_() % 2 ? "read_file" : "search_files";
      e->direction = Direction::kToServer;
      e->request_id = std::to_string(++request_);
      e->json = "{\"path\":\"" + files_[Skewed(files_.size())] + "\"}";
    } else {
      e->kind = EventKind::kToolResult;
      e->server = "filesystem";
      e->tool = "read_file";
      e->direction = Direction::kToAgent;
      e->request_id = std::to_string(request_);
      e->duration_ns = 200'000 + static_cast<int64_t>(rng_() % 5'000'000);
      e->size = 100 + static_cast<int64_t>(rng_() % 4000);
      char hex[17];
      snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng_()));
      e->json = std::string("{\"content\":[{\"type\":\"text\",\"text\":\"sha ") + hex + "\"}],\"isError\":false}";
    }
  }

  std::vector<Event> Take(size_t n) {
    std::vector<Event> out(n);
    for (auto& e : out) Next(&e);
    return out;
  }

 private:
  // Few hot entries, a long tail: what an agent re-reading its working set looks like.
  size_t Skewed(size_t n) {
    double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return static_cast<size_t>(u * u * u * static_cast<double>(n)) % n;
  }

  std::mt19937_64 rng_;
  std::vector<std::string> files_, sys_files_;
  uint64_t seq_ = 0;
  int64_t mono_ = 5'000'000'000;
  int32_t pid_ = 3000;
  uint64_t request_ = 0;
};

}  // namespace agenttrace::testing

#endif  // AGENTTRACE_TESTS_FORMAT_SYNTHETIC_EVENTS_H_
