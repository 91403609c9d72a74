// End-to-end tests of `agenttrace record`: each test program (programs/*.c) performs one family of
// actions and prints every action it made as an "EV key=value ..." line; the test records the program,
// exports the session as JSON lines and checks that every printed action was recorded with those
// field values. Needs ptrace (root or ptrace_scope 0), like the recorder itself.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "format/text_escape.h"

extern char** environ;

namespace agenttrace {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Far beyond what any run takes on a quiet machine, and within ctest's 120 s: a loaded machine
// stretches the store-filling runs to half a minute.
constexpr int kTimeoutSeconds = 100;

struct RunResult {
  int status = -1;  // exit code, or 128 + signal, or -1 on timeout
  std::string out;
  std::string err;
};

// Text that grows while a command runs (its stderr), for another thread to wait for a line of it.
class LiveText {
 public:
  void Append(std::string_view s) {
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(s);
    cv_.notify_all();
  }
  // True once `what` is in the text; false if `deadline` passed first.
  bool WaitFor(const std::string& what, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return text_.find(what) != std::string::npos; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
};

std::string Describe(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs argv (no shell) with extra environment entries, capturing stdout and stderr until both are
// closed (so output of daemonised descendants is included), bounded by kTimeoutSeconds.
// `started`, if given, is called with the child's pid right after it was started; `live_err`, if
// given, gets stderr as it comes.
RunResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
                     const std::function<void(pid_t)>& started = nullptr, LiveText* live_err = nullptr) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << strerror(errno);
    return result;
  }
  // extra_env replaces variables of the same name (the CI may have its own GITHUB_TOKEN).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& x : extra_env) replaced |= x.substr(0, x.find('=')) == name;
    if (!replaced) env_strings.emplace_back(entry);
  }
  for (const auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> cenv, cargv;
  for (auto& e : env_strings) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << strerror(errno);
    return result;
  }
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (started) started(pid);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeoutSeconds);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  bool timed_out = false;
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
        if (i == 1 && live_err != nullptr) live_err->Append(std::string_view(buf, static_cast<size_t>(got)));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  if (timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out) {
    ADD_FAILURE() << "timed out after " << kTimeoutSeconds << " s: " << Describe(argv) << "\nstderr: " << result.err;
    result.status = -1;
  } else if (WIFEXITED(status)) {
    result.status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.status = 128 + WTERMSIG(status);
  }
  return result;
}

// One printed action: field name -> expected value (as printed).
using Expectation = std::map<std::string, std::string>;

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<Expectation> ParseExpectations(const std::string& out) {
  std::vector<Expectation> list;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("EV ", 0) != 0) continue;
    Expectation e;
    std::istringstream words(line.substr(3));
    std::string word;
    while (words >> word) {
      size_t eq = word.find('=');
      if (eq == std::string::npos) continue;
      e[word.substr(0, eq)] = word.substr(eq + 1);
    }
    list.push_back(std::move(e));
  }
  return list;
}

// The exported value of `key` as the program prints it; absent fields read as their default.
std::string FieldText(const Json& event, const std::string& key) {
  auto it = event.find(key);
  if (it == event.end()) {
    static const std::set<std::string> kStrings = {"path", "path2", "resolved", "address", "text", "error", "kind"};
    if (key == "is_thread") return "false";
    if (key == "argv") return "";
    return kStrings.count(key) ? "" : "0";
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  if (it->is_array()) {
    std::string s;
    for (const auto& v : *it) {
      std::string item = v.is_string() ? v.get<std::string>() : v.dump();
      std::string enc;
      for (char c : item) enc += (c == ' ') ? std::string("%20") : std::string(1, c);
      s += (s.empty() ? "" : ",") + enc;
    }
    return s;
  }
  return it->dump();
}

// The recorded bytes of a text field: unescaped when the export lists it under "escaped"
// (docs/format.md, "Escaped text").
std::string RawField(const Json& event, const std::string& key) {
  std::string text = FieldText(event, key);
  auto esc = event.find("escaped");
  if (esc == event.end() || std::find(esc->begin(), esc->end(), Json(key)) == esc->end()) return text;
  auto raw = Unescape(text);
  EXPECT_TRUE(raw.ok()) << key << ": " << text;
  return raw.ok() ? *raw : text;
}

bool Matches(const Json& event, const Expectation& want) {
  for (const auto& [key, value] : want) {
    if (key == "anypath") {
      if (FieldText(event, "path") != value && FieldText(event, "resolved") != value) return false;
    } else if (key == "argv") {
      if (FieldText(event, key) != value) return false;
    } else if (key.rfind("raw", 0) == 0) {  // rawpath=%e9...: the recorded bytes, percent-encoded
      if (RawField(event, key.substr(3)) != PercentDecode(value)) return false;
    } else if (FieldText(event, key) != PercentDecode(value)) {
      return false;
    }
  }
  return true;
}

std::string ToText(const Expectation& e) {
  std::string s;
  for (const auto& [k, v] : e) s += k + "=" + v + " ";
  return s;
}

// A recorded session, exported.
struct Session {
  std::string id;
  Json header;
  std::vector<Json> events;
  std::string export_text;

  std::string EventsOfKind(const std::string& kind) const {
    std::string s;
    for (const auto& e : events) {
      if (e.value("kind", "") == kind) s += e.dump() + "\n";
    }
    return s.empty() ? "(none)" : s;
  }
};

class RecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agenttrace-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = fs::canonical(tmpl).string();
    store_ = root_ + "/store";
    work_ = root_ + "/work";
    fs::create_directories(work_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Records `program args...` into a fresh store; returns the run of `agenttrace record`.
  RunResult Record(const std::vector<std::string>& command, const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {AGENTTRACE_BIN, "record", "--store", store_, "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    RunResult r = RunCommand(argv, env);
    last_record_ = r;
    return r;
  }

  // Finds the (only) session of the store and exports it.
  Session Export() {
    Session s;
    RunResult ls = RunCommand({AGENTTRACE_BIN, "ls", "--json", "--store", store_});
    EXPECT_EQ(ls.status, 0) << "agenttrace ls --json failed: " << ls.err;
    Json sessions = Json::parse(ls.out, nullptr, /*allow_exceptions=*/false);
    if (sessions.is_array() && !sessions.empty() && sessions.back().contains("id")) {
      s.id = sessions.back().value("id", "");
    }
    if (s.id.empty() || sessions.size() != 1) {
      ADD_FAILURE() << "expected one session in `agenttrace ls --json`, got: " << ls.out << ls.err
                    << "\nrecord stderr: " << last_record_.err;
      if (s.id.empty()) return s;
    }
    RunResult ex = RunCommand({AGENTTRACE_BIN, "export", s.id, "--store", store_, "--format", "jsonl"});
    EXPECT_EQ(ex.status, 0) << "agenttrace export failed: " << ex.err;
    s.export_text = ex.out;
    std::istringstream lines(ex.out);
    std::string line;
    bool first = true;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) {
        ADD_FAILURE() << "export line is not JSON: " << line;
        continue;
      }
      if (first) {
        EXPECT_EQ(j.value("format", ""), "agenttrace-jsonl") << line;
        s.header = j.value("session", Json::object());
        first = false;
      } else {
        s.events.push_back(std::move(j));
      }
    }
    return s;
  }

  // Checks that every "EV" line the program printed matches a recorded event; returns the number of
  // expectations (so that callers can assert the program did report its actions).
  size_t ExpectAllRecorded(const RunResult& run, const Session& s) {
    auto wants = ParseExpectations(run.out);
    for (const auto& want : wants) {
      bool found = false;
      for (const auto& e : s.events) {
        if (Matches(e, want)) {
          found = true;
          break;
        }
      }
      auto kind = want.count("kind") ? want.at("kind") : "";
      EXPECT_TRUE(found) << "not recorded: " << ToText(want) << "\nrecorded events of kind " << kind << ":\n"
                         << s.EventsOfKind(kind);
    }
    return wants.size();
  }

  std::string Program(const char* name) { return std::string(E2E_PROGRAM_DIR) + "/" + name; }

  std::string root_, store_, work_;
  RunResult last_record_;
};

TEST_F(RecordTest, FileOperationsWithRelativeDotDotAndSymlinkPaths) {
  RunResult r = Record({Program("e2e_files"), work_});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 17u) << r.out;
  EXPECT_EQ(s.header.value("state", ""), "complete");
}

TEST_F(RecordTest, ThreadOpensAreRecordedWithTheirTid) {
  RunResult r = Record({Program("e2e_threads"), work_});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 3u) << r.out;
}

TEST_F(RecordTest, VforkExecRecordsArgv) {
  RunResult r = Record({Program("e2e_vfork_exec")});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 3u) << r.out;
}

TEST_F(RecordTest, DaemonisedGrandchildWriteIsRecorded) {
  RunResult r = Record({Program("e2e_daemon"), work_});
  ASSERT_EQ(r.status, 0) << r.err;
  // The grandchild printed its line (stdout stays open until it exits), so it was not killed early.
  ASSERT_THAT(r.out, ::testing::HasSubstr("written-by-daemon.txt")) << r.err;
  EXPECT_TRUE(fs::exists(work_ + "/written-by-daemon.txt"));
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 2u) << r.out;
}

TEST_F(RecordTest, IoUringSetupIsRecordedAsEscape) {
  RunResult r = Record({Program("e2e_io_uring")});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 1u) << r.out;
}

// ptrace, process_vm_*, mount, umount2, unshare, setns, chroot and pivot_root: each attempt is an
// escape, succeeded or not (docs/threat-model.md), and a policy can deny it.
TEST_F(RecordTest, NamespaceAndTamperingCallsAreRecordedAsEscapes) {
  RunResult r = Record({Program("e2e_escapes")});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 9u) << r.out;
  std::string policy = root_ + "/policy.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules:\n"
                           "  - {id: no-escape, decision: deny, class: process.escape}\n";
  RunResult replay = RunCommand({AGENTTRACE_BIN, "replay", "--store", store_, "--policy", policy, "--json",
                                 root_ + "/report.json"});
  EXPECT_EQ(replay.status, 1) << replay.out << replay.err;
  std::ifstream in(root_ + "/report.json");
  Json report = Json::parse(in, nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["sessions"][0]["rule_hits"].value("no-escape", 0), 9) << report["sessions"][0].dump();
}

TEST_F(RecordTest, LoopbackTcpAndUdpWithSendtoSendmsgAndSendmmsg) {
  RunResult r = Record({Program("e2e_net")});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 7u) << r.out;
}

// A non-blocking connect answers EINPROGRESS: it is recorded with that result and, since the kernel
// did start the connection, replay counts the host in the blast radius.
TEST_F(RecordTest, NonBlockingConnectInProgressIsInTheBlastRadius) {
  RunResult r = Record({Program("e2e_net_async")});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  auto wants = ParseExpectations(r.out);
  ASSERT_EQ(ExpectAllRecorded(r, s), 1u) << r.out;
  ASSERT_EQ(wants[0]["result"], "-115") << "connect did not answer EINPROGRESS here; nothing is tested";
  std::string policy = root_ + "/policy.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\n";
  std::string report = root_ + "/report.json";
  RunResult rep = RunCommand({AGENTTRACE_BIN, "replay", "--policy", policy, "--store", store_, "--json", report, s.id});
  ASSERT_TRUE(rep.status == 0 || rep.status == 1) << rep.err;
  std::ifstream in(report);
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << rep.out << rep.err;
  // The profile names high ports "ephemeral" (docs/policy.md).
  Json hosts = j["sessions"][0]["blast_radius"]["hosts"];
  EXPECT_TRUE(hosts == Json::array({"127.0.0.1:" + wants[0]["port"]}) || hosts == Json::array({"127.0.0.1:ephemeral"}))
      << j["sessions"][0].dump();
}

// getaddrinfo(AI_ADDRCONFIG) binds a netlink socket: recorded as a bind of family AF_NETLINK, and
// a policy that denies servers lets it pass.
TEST_F(RecordTest, NetlinkBindOfNameResolutionIsNoServer) {
  RunResult r = Record({Program("e2e_netlink")});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 1u) << r.out;
  size_t netlink_binds = 0;
  for (const auto& e : s.events) netlink_binds += e.value("kind", "") == "net.bind" && e.value("family", 0) == 16;
  EXPECT_GE(netlink_binds, 2u) << "getaddrinfo's own netlink bind was not seen:\n" << s.EventsOfKind("net.bind");
  std::string policy = root_ + "/policy.yaml";
  std::ofstream(policy)
      << "version: 1\ndefault: allow\nrules:\n  - {id: no-servers, decision: deny, class: net.listen}\n";
  std::string report = root_ + "/report.json";
  RunResult rep = RunCommand({AGENTTRACE_BIN, "replay", "--policy", policy, "--store", store_, "--json", report, s.id});
  ASSERT_TRUE(rep.status == 0 || rep.status == 1) << rep.err;
  std::ifstream in(report);
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << rep.out << rep.err;
  EXPECT_EQ(j["sessions"][0]["deny"], 0) << j["sessions"][0]["findings"].dump();
  EXPECT_GE(j["sessions"][0]["evaluated"].get<int>(), 1);
}

// File names that are not UTF-8 reach the export escaped, and unescape to the bytes the program used.
TEST_F(RecordTest, NonUtf8FileNamesAreExportedReversibly) {
  RunResult r = Record({Program("e2e_names"), work_});
  ASSERT_EQ(r.status, 0) << r.err;
  Session s = Export();
  EXPECT_EQ(ExpectAllRecorded(r, s), 3u) << r.out;
  EXPECT_EQ(s.export_text.find("\xef\xbf\xbd"), std::string::npos) << "U+FFFD in the export";
  // The export imports into another store and exports again to the same bytes.
  std::string file = root_ + "/names.jsonl";
  std::ofstream(file, std::ios::binary) << s.export_text;
  std::string other = root_ + "/other";
  RunResult imp = RunCommand({AGENTTRACE_BIN, "import", "--store", other, file});
  ASSERT_EQ(imp.status, 0) << imp.err;
  RunResult again = RunCommand({AGENTTRACE_BIN, "export", s.id, "--store", other});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, s.export_text);
}

// By default only the tracer thread stays on one CPU: the agent keeps every CPU the recorder may use.
// With --cpu-pin the agent runs on the tracer's one CPU; with --no-pin-tracer nothing is pinned.
TEST_F(RecordTest, TracerPinnedAgentKeepsItsCpusUnlessCpuPin) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
  const bool several = CPU_COUNT(&mine) > 1;
  // Line 1: the agent's CPUs; line 2: those of its parent, the recorder's main (tracer) thread.
  const std::vector<std::string> show = {
      "/bin/sh", "-c", "sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status /proc/$PPID/status"};
  auto cpus = [&](const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {AGENTTRACE_BIN, "record"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--store", store_ + "-" + std::to_string(flags.size()), "--"});
    argv.insert(argv.end(), show.begin(), show.end());
    RunResult r = RunCommand(argv);
    EXPECT_EQ(r.status, 0) << r.err;
    std::istringstream in(r.out);
    std::pair<std::string, std::string> agent_tracer;
    std::getline(in, agent_tracer.first);
    std::getline(in, agent_tracer.second);
    return agent_tracer;
  };
  auto one_cpu = [](const std::string& list) { return !list.empty() && list.find_first_of(",-") == std::string::npos; };
  RunResult direct = RunCommand(show);
  std::string all = direct.out.substr(0, direct.out.find('\n'));
  ASSERT_FALSE(all.empty()) << direct.out << direct.err;

  auto [agent, tracer] = cpus({});
  EXPECT_EQ(agent, all);  // the same mask as a process started without the recorder
  if (several) {
    EXPECT_TRUE(one_cpu(tracer)) << tracer;
  }
  std::tie(agent, tracer) = cpus({"--no-pin-tracer"});
  EXPECT_EQ(agent, all);
  EXPECT_EQ(tracer, all);
  std::tie(agent, tracer) = cpus({"--cpu-pin", "-q"});
  EXPECT_TRUE(one_cpu(agent)) << agent;
  EXPECT_EQ(agent, tracer);
}

TEST_F(RecordTest, ExitCodeIsPropagated) {
  RunResult r = Record({Program("e2e_exit"), "code", "3"});
  EXPECT_EQ(r.status, 3) << r.err;
  Session s = Export();
  EXPECT_EQ(s.header.value("exit_code", -1), 3) << s.header.dump();
  EXPECT_EQ(s.header.value("exit_signal", -1), 0) << s.header.dump();
}

TEST_F(RecordTest, DeathBySigtermGives143) {
  RunResult r = Record({Program("e2e_exit"), "signal", std::to_string(SIGTERM)});
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
  Session s = Export();
  EXPECT_EQ(s.header.value("exit_signal", 0), SIGTERM) << s.header.dump();
}

TEST_F(RecordTest, SecretInArgvNeverReachesTheStore) {
  // A GitHub token shape (ghp_ + 36 alphanumerics), assembled so the source holds no complete token.
  const std::string token = std::string("ghp_") + "E2eTestToken0123456789abcdefGHIJKLMN";
  ASSERT_EQ(token.size(), 40u);
  RunResult r = Record({Program("e2e_secret")}, {"GITHUB_TOKEN=" + token});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_THAT(r.out, ::testing::HasSubstr("token=" + token));  // echo itself saw the real value
  Session s = Export();
  ASSERT_FALSE(s.events.empty());

  EXPECT_EQ(s.export_text.find(token), std::string::npos) << "token found in the export";
  // Also no long fragment of it (e.g. the token minus a prefix).
  EXPECT_EQ(s.export_text.find(token.substr(4, 20)), std::string::npos);
  // Nor anywhere in the store's files (data.mdb holds compressed chunks and plain session records).
  for (const auto& entry : fs::recursive_directory_iterator(store_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(token), std::string::npos) << "token found in " << entry.path();
    EXPECT_EQ(bytes.find(token.substr(4, 20)), std::string::npos) << "token fragment found in " << entry.path();
  }

  auto names = s.header.value("secret_env_names", std::vector<std::string>{});
  EXPECT_THAT(names, ::testing::Contains("GITHUB_TOKEN")) << s.header.dump();

  bool exec_seen = false;
  static const std::regex kFingerprint("token=<secret:fp:[0-9a-f]{64}>");
  for (const auto& e : s.events) {
    if (e.value("kind", "") != "exec") continue;
    auto argv = e.value("argv", std::vector<std::string>{});
    if (argv.size() == 2 && argv[0] == "echo") {
      exec_seen = true;
      EXPECT_TRUE(std::regex_match(argv[1], kFingerprint)) << e.dump();
    }
  }
  EXPECT_TRUE(exec_seen) << "no exec of echo recorded:\n" << s.EventsOfKind("exec");
}

// Issue #10: the session record kept the agent's command line as given, so a token typed in it showed
// in `ls`, `show` and the export header. The token is not in the environment: only its shape tells.
TEST_F(RecordTest, CommandLineTokenNeverReachesLsShowOrExportRegression) {
  const std::string token = std::string("ghp_") + "CmdLineToken0123456789abcdefGHIJKLMN";
  ASSERT_EQ(token.size(), 40u);
  RunResult r = Record({"sh", "-c", "echo " + token});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_THAT(r.out, ::testing::HasSubstr(token));  // the agent itself saw the real value
  Session s = Export();
  ASSERT_FALSE(s.id.empty());
  const std::string fragment = token.substr(4, 20);
  RunResult ls = RunCommand({AGENTTRACE_BIN, "ls", "--store", store_});
  RunResult ls_json = RunCommand({AGENTTRACE_BIN, "ls", "--json", "--store", store_});
  RunResult show = RunCommand({AGENTTRACE_BIN, "show", s.id, "--store", store_});
  for (const RunResult* out : {&ls, &ls_json, &show}) {
    EXPECT_EQ(out->status, 0) << out->err;
    EXPECT_EQ(out->out.find(fragment), std::string::npos) << out->out;
  }
  EXPECT_EQ(s.export_text.find(fragment), std::string::npos) << s.export_text;
  for (const auto& entry : fs::recursive_directory_iterator(store_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(fragment), std::string::npos) << "token fragment found in " << entry.path();
  }
  // What is kept instead: the command line with a fingerprint in place of the token.
  auto argv = s.header.value("argv", std::vector<std::string>{});
  ASSERT_EQ(argv.size(), 3u) << s.header.dump();
  EXPECT_TRUE(std::regex_match(argv[2], std::regex("echo <secret:fp:[0-9a-f]{64}>"))) << argv[2];
  EXPECT_THAT(show.out, ::testing::HasSubstr("<secret:fp:")) << show.out;
}

TEST_F(RecordTest, AgentInheritsNoDescriptorOfTheStore) {
  RunResult r = Record({Program("e2e_fds")});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_THAT(r.out, ::testing::HasSubstr("FD 0 ")) << r.out;
  // An inherited descriptor of data.mdb or a lock file would let the agent rewrite its own record.
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_EQ(line.find(store_), std::string::npos) << "descriptor of the store leaked into the agent: " << line;
  }
}

// Calls that return no descriptor are judged on the path the kernel walks, not on the lexical one:
// `ln -s ~/.ssh w/keys; rm w/keys/id_rsa` deletes the key outside the workspace, and `..` after a
// symlinked directory climbs from the symlink's target.
TEST_F(RecordTest, PathCallsThroughSymlinkedDirectoriesRecordTheKernelPath) {
  std::string home = root_ + "/home";
  fs::create_directories(home + "/.ssh");
  std::ofstream(home + "/.ssh/id_rsa") << "key\n";
  std::ofstream(home + "/notes.txt") << "notes\n";
  std::ofstream(home + "/.ssh/config") << "config\n";
  fs::create_directory_symlink(home + "/.ssh", work_ + "/keys");
  std::string script = "cd '" + work_ +
                       "' && rm keys/id_rsa && rm keys/../notes.txt && mkdir keys/made && chmod 600 keys/config && "
                       "ln -s /etc/hostname keys/planted && mv keys/config keys/made/moved && rm plain 2>/dev/null; "
                       "touch plain && rm plain";
  RunResult r = Record({"/bin/sh", "-c", script});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(home + "/.ssh/id_rsa"));
  Session s = Export();
  auto find = [&](const std::string& kind, const std::string& path) -> Json {
    for (const Json& e : s.events) {
      if (e.value("kind", "") == kind && (e.value("path", "") == path || e.value("path2", "") == path)) return e;
    }
    ADD_FAILURE() << "no " << kind << " of " << path << "; recorded:\n" << s.EventsOfKind(kind);
    return Json::object();
  };
  EXPECT_EQ(find("file.delete", work_ + "/keys/id_rsa").value("resolved", ""), home + "/.ssh/id_rsa");
  // Lexically w/keys/../notes.txt is w/notes.txt; the kernel climbs from .ssh to home.
  EXPECT_EQ(find("file.delete", work_ + "/notes.txt").value("resolved", ""), home + "/notes.txt");
  EXPECT_EQ(find("file.mkdir", work_ + "/keys/made").value("resolved", ""), home + "/.ssh/made");
  EXPECT_EQ(find("file.chmod", work_ + "/keys/config").value("resolved", ""), home + "/.ssh/config");
  EXPECT_EQ(find("file.symlink", work_ + "/keys/planted").value("resolved", ""), home + "/.ssh/planted");
  Json moved = find("file.rename", work_ + "/keys/config");
  EXPECT_EQ(moved.value("resolved", ""), home + "/.ssh/config");
  EXPECT_EQ(moved.value("resolved2", ""), home + "/.ssh/made/moved");
  // A bare name in the cwd is exact already: nothing more is recorded.
  Json plain = find("file.delete", work_ + "/plain");
  EXPECT_FALSE(plain.contains("resolved")) << plain.dump();

  // The gate decides on the kernel's path: a delete outside the workspace is denied.
  std::string policy = root_ + "/policy.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules:\n"
                           "  - {id: no-delete-outside, decision: deny, class: file.delete, not_paths: ['"
                        << work_ << "/**']}\n";
  RunResult replay = RunCommand({AGENTTRACE_BIN, "replay", "--store", store_, "--policy", policy});
  EXPECT_EQ(replay.status, 1) << replay.out << replay.err;
  EXPECT_NE(replay.out.find("no-delete-outside"), std::string::npos) << replay.out;
  EXPECT_NE(replay.out.find(home + "/.ssh/id_rsa"), std::string::npos) << replay.out;
  EXPECT_NE(replay.out.find(home + "/notes.txt"), std::string::npos) << replay.out;
  // A move into the symlinked directory writes outside the workspace.
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules:\n"
                           "  - {id: no-write-outside, decision: deny, class: file.write, not_paths: ['"
                        << work_ << "/**', '/dev/**']}\n";
  replay = RunCommand({AGENTTRACE_BIN, "replay", "--store", store_, "--policy", policy});
  EXPECT_EQ(replay.status, 1) << replay.out << replay.err;
  EXPECT_NE(replay.out.find("destination resolved " + home + "/.ssh/made/moved"), std::string::npos) << replay.out;
}

// The kernel's own rewrites are no TOCTOU: a script started through "#!" (argv[0] replaced by the
// interpreter's entries, also via `env -S` and a relative path from another directory), loopback
// connects, one of them still in progress, record no "toctou" escape.
TEST_F(RecordTest, ScriptsAndOrdinaryConnectsRaiseNoToctouEscape) {
  std::ofstream(work_ + "/plain.sh") << "#!/bin/sh\necho plain \"$@\"\n";
  std::ofstream(work_ + "/split.sh") << "#!/usr/bin/env -S sh -e\necho split \"$@\"\n";
  fs::permissions(work_ + "/plain.sh", fs::perms::owner_all);
  fs::permissions(work_ + "/split.sh", fs::perms::owner_all);
  fs::create_directories(work_ + "/sub");
  RunResult r = Record({"/bin/sh", "-c",
                        "cd '" + work_ + "' && ./plain.sh a b && cd sub && ../split.sh c && " + Program("e2e_net") + " && " +
                            Program("e2e_net_async")});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_THAT(r.out, ::testing::HasSubstr("plain a b"));
  ASSERT_THAT(r.out, ::testing::HasSubstr("split c"));
  Session s = Export();
  EXPECT_EQ(s.EventsOfKind("process.escape"), "(none)");
  size_t connects = 0;
  for (const auto& e : s.events) connects += e.value("kind", "") == "net.connect";
  EXPECT_GE(connects, 2u) << s.EventsOfKind("net.connect");
}

// Connects the kernel itself rewrites (0.0.0.0 goes to loopback; an IPv4 destination on an IPv6 UDP
// socket reads back v4-mapped) keep the address the program gave and raise no toctou escape.
TEST_F(RecordTest, ConnectsTheKernelRewritesRaiseNoToctouEscape) {
  RunResult r = Record({Program("e2e_connect_rewrites")});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_THAT(r.out, ::testing::HasSubstr("PEER address=127.0.0.1")) << r.out;  // 0.0.0.0 went to loopback
  Session s = Export();
  EXPECT_GE(ExpectAllRecorded(r, s), 1u) << r.out;
  EXPECT_EQ(s.EventsOfKind("process.escape"), "(none)");
}

// An exec with an empty argv: the new image gets one empty entry from Linux, which is no TOCTOU.
TEST_F(RecordTest, ExecWithAnEmptyArgvRaisesNoToctouEscape) {
  RunResult r = Record({Program("e2e_race_exec"), "empty"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_THAT(r.out, ::testing::HasSubstr("EMPTY argc=1 arg0=[]"));
  Session s = Export();
  EXPECT_EQ(s.EventsOfKind("process.escape"), "(none)");
  bool seen = false;
  for (const auto& e : s.events) {
    if (e.value("kind", "") == "exec" && e.value("path", "") == "/proc/self/exe") {
      seen = true;
      EXPECT_EQ(e.value("argv", std::vector<std::string>{}), std::vector<std::string>{}) << e.dump();
    }
  }
  EXPECT_TRUE(seen) << s.EventsOfKind("exec");
}

// Lines "WORD key=value ..." the program printed, as maps.
std::vector<Expectation> ReportLines(const std::string& out, const std::string& word) {
  std::string as_ev;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(word + " ", 0) == 0) as_ev += "EV " + line.substr(word.size() + 1) + "\n";
  }
  return ParseExpectations(as_ev);
}

// The race programs below lose most races on a busy machine (the racing thread must run exactly while
// the tracer works), so each test records its program again until at least one disagreement between
// the tracer's entry-time reading and the kernel's copy has been caught, within a time budget. Every
// run must satisfy the invariant; the catch makes sure the invariant was tested against a race won.
// The loop ends at the first catch (about 2 s even beside CPU hogs); the budget is a margin for a CI
// machine running other tests at once.
constexpr auto kRaceBudget = std::chrono::seconds(20);

// A second thread flips connect's destination port between two listening loopback ports while the
// main thread connects. Whatever the tracer read at the seccomp stop, the stored net.connect carries
// the port the kernel really connected to (the program asks getpeername), and each disagreement is a
// "toctou" process.escape right after its connect, naming both.
TEST_F(RecordTest, ConnectAddressRewrittenByAnotherThreadRecordsThePeerAndAnEscape) {
  constexpr size_t kTries = 200;
  size_t caught = 0, runs = 0;
  const auto deadline = std::chrono::steady_clock::now() + kRaceBudget;
  while (caught == 0 && std::chrono::steady_clock::now() < deadline) {
    ++runs;
    fs::remove_all(store_);
    RunResult r = Record({Program("e2e_race_connect"), std::to_string(kTries)});
    ASSERT_EQ(r.status, 0) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("PORTS ([0-9]+) ([0-9]+)"))) << r.out;
    const std::set<std::string> ports = {m[1].str(), m[2].str()};
    std::vector<Expectation> peers = ReportLines(r.out, "PEER");
    ASSERT_EQ(peers.size(), kTries) << r.out;
    Session s = Export();
    std::vector<std::string> stored;
    for (size_t i = 0; i < s.events.size(); ++i) {
      const Json& e = s.events[i];
      const std::string kind = e.value("kind", "");
      if (kind == "net.connect" && e.value("address", "") == "127.0.0.1" && ports.count(FieldText(e, "port"))) {
        stored.push_back(FieldText(e, "port"));
      }
      if (kind != "process.escape" || e.value("text", "").rfind("toctou: connect", 0) != 0) continue;
      ++caught;
      ASSERT_GT(i, 0u);
      const Json& call = s.events[i - 1];
      EXPECT_EQ(call.value("kind", ""), "net.connect") << e.dump();
      EXPECT_EQ(call.value("tid", 0), e.value("tid", -1)) << e.dump();
      const std::string to = FieldText(call, "port");
      const std::string from = *ports.begin() == to ? *ports.rbegin() : *ports.begin();
      EXPECT_EQ(e.value("text", ""), "toctou: connect address changed from 127.0.0.1:" + from + " to 127.0.0.1:" + to);
    }
    ASSERT_EQ(stored.size(), kTries) << s.EventsOfKind("net.connect");
    for (size_t k = 0; k < kTries; ++k) {
      ASSERT_EQ(stored[k], peers[k]["port"])
          << "run " << runs << ", try " << k << ": the stored destination is not the real peer";
    }
  }
  EXPECT_GE(caught, 1u) << "no race won in " << runs << " runs of " << kTries << " connects";
}

// A second thread swaps the socket behind listen's descriptor (dup2) between two bound loopback
// sockets while the main thread listens on it. Every stored net.listen names one of the two, and
// each disagreement between the tracer's reading at entry (what `run` decides on) and after the call
// is a "toctou" process.escape right after its listen, naming both, the stored one last.
TEST_F(RecordTest, ListenSocketSwappedByAnotherThreadRecordsAnEscape) {
  constexpr size_t kTries = 200;
  size_t caught = 0, runs = 0;
  const auto deadline = std::chrono::steady_clock::now() + kRaceBudget;
  while (caught == 0 && std::chrono::steady_clock::now() < deadline) {
    ++runs;
    fs::remove_all(store_);
    RunResult r = Record({Program("e2e_race_listen"), std::to_string(kTries)});
    ASSERT_EQ(r.status, 0) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("PORTS ([0-9]+) ([0-9]+)"))) << r.out;
    const std::set<std::string> ports = {m[1].str(), m[2].str()};
    ASSERT_NE(r.out.find("LISTENED " + std::to_string(kTries)), std::string::npos) << r.out;
    Session s = Export();
    size_t listens = 0;
    for (size_t i = 0; i < s.events.size(); ++i) {
      const Json& e = s.events[i];
      const std::string kind = e.value("kind", "");
      if (kind == "net.listen") {
        ++listens;
        EXPECT_EQ(e.value("address", ""), "127.0.0.1") << e.dump();
        EXPECT_EQ(ports.count(FieldText(e, "port")), 1u) << e.dump();
      }
      if (kind != "process.escape" || e.value("text", "").rfind("toctou: listen", 0) != 0) continue;
      ++caught;
      ASSERT_GT(i, 0u);
      const Json& call = s.events[i - 1];
      EXPECT_EQ(call.value("kind", ""), "net.listen") << e.dump();
      EXPECT_EQ(call.value("tid", 0), e.value("tid", -1)) << e.dump();
      const std::string to = FieldText(call, "port");
      const std::string from = *ports.begin() == to ? *ports.rbegin() : *ports.begin();
      EXPECT_EQ(e.value("text", ""), "toctou: listen socket changed from 127.0.0.1:" + from + " to 127.0.0.1:" + to);
    }
    EXPECT_EQ(listens, kTries) << s.EventsOfKind("net.listen");
  }
  EXPECT_GE(caught, 1u) << "no race won in " << runs << " runs of " << kTries << " listens";
}

// A second thread flips a byte of an argv entry while the main thread execs. The stored exec carries
// the argv the new image really received (it prints it), and each disagreement is a "toctou"
// process.escape right after its exec, naming the entry (not its values, which may be secrets).
TEST_F(RecordTest, ExecArgvRewrittenByAnotherThreadRecordsTheKernelsCopyAndAnEscape) {
  constexpr size_t kTries = 48;
  size_t caught = 0, runs = 0;
  const auto deadline = std::chrono::steady_clock::now() + kRaceBudget;
  while (caught == 0 && std::chrono::steady_clock::now() < deadline) {
    ++runs;
    fs::remove_all(store_);
    RunResult r = Record({Program("e2e_race_exec"), std::to_string(kTries)});
    ASSERT_EQ(r.status, 0) << r.err;
    std::map<std::string, std::string> shown;  // pid -> argv[2] the new image received
    for (Expectation& e : ReportLines(r.out, "SHOWN")) shown[e["pid"]] = e["arg"];
    ASSERT_EQ(shown.size(), kTries) << r.out;
    Session s = Export();
    size_t checked = 0;
    for (size_t i = 0; i < s.events.size(); ++i) {
      const Json& e = s.events[i];
      const std::string kind = e.value("kind", "");
      if (kind == "exec") {
        auto argv = e.value("argv", std::vector<std::string>{});
        if (argv.size() != 3 || argv[1] != "show") continue;
        ++checked;
        ASSERT_EQ(argv[2], shown[FieldText(e, "pid")])
            << "run " << runs << ": the stored argv is not what the new image received: " << e.dump();
      }
      if (kind != "process.escape" || e.value("text", "").rfind("toctou: exec", 0) != 0) continue;
      ++caught;
      ASSERT_GT(i, 0u);
      const Json& call = s.events[i - 1];
      ASSERT_EQ(call.value("kind", ""), "exec") << e.dump();
      EXPECT_EQ(call.value("pid", 0), e.value("pid", -1)) << e.dump();
      EXPECT_EQ(e.value("text", ""), "toctou: exec argv[2] changed");
    }
    ASSERT_EQ(checked, kTries) << s.EventsOfKind("exec");
  }
  EXPECT_GE(caught, 1u) << "no race won in " << runs << " runs of " << kTries << " execs";
}

// ------------------------------------------------------------------------------ stopping a recording

// True while /proc has `pid`, even as a zombie.
bool ProcessExists(pid_t pid) { return fs::exists("/proc/" + std::to_string(pid)); }

// True when `pid` has exited (gone, or a zombie nobody reaped).
bool ProcessGone(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (stat.empty()) return true;
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

std::vector<pid_t> ReadPids(const std::string& path) {
  std::vector<pid_t> pids;
  std::ifstream in(path);
  long p;
  while (in >> p) pids.push_back(static_cast<pid_t>(p));
  return pids;
}

// The pids of the processes listed by the recorder's "recorder: <action>" annotation.
std::set<pid_t> AnnotatedPids(const Session& s, const std::string& action) {
  std::set<pid_t> pids;
  for (const auto& e : s.events) {
    if (e.value("kind", "") != "annotation" || e.value("text", "") != "recorder: " + action) continue;
    Json j = Json::parse(e.value("json", ""), nullptr, false);
    if (!j.is_object()) continue;
    for (const auto& p : j.value("processes", Json::array())) pids.insert(p.value("pid", 0));
  }
  return pids;
}

class StopTest : public RecordTest {
 protected:
  struct StopRun {
    RunResult run;
    double seconds_after_first_signal = -1;  // how long the recorder took to end after it
    std::vector<pid_t> descendants;          // pids the agent wrote to work_/pids
  };

  // Records `bash -c script` with extra record flags. Once the agent wrote work_/ready, sends the
  // recorder each of `signals` (200 ms apart), after the pid in work_/main (if written) has exited.
  // The script writes its long-lived descendants' pids to work_/pids before touching work_/ready.
  StopRun RecordAndSignal(const std::vector<std::string>& flags, const std::string& script,
                          const std::vector<int>& signals) {
    StopRun r;
    std::vector<std::string> argv = {AGENTTRACE_BIN, "record", "--store", store_};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--", "/bin/bash", "-c", "cd " + work_ + " || exit 99; " + script});
    std::thread actor;
    std::chrono::steady_clock::time_point signalled{};
    r.run = RunCommand(argv, {}, [&](pid_t recorder) {
      if (signals.empty()) return;
      actor = std::thread([&, recorder] {
        auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!fs::exists(work_ + "/ready") && std::chrono::steady_clock::now() < give_up) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        // A script that wrote work_/main wants its main process gone (exited, reaped) first. Reaped,
        // not only a zombie: until the recorder has waited for it, it is still a traced process that
        // a stop request reaches (a loaded machine leaves the recorder that long behind).
        for (pid_t main : ReadPids(work_ + "/main")) {
          while (ProcessExists(main) && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        }
        signalled = std::chrono::steady_clock::now();
        for (size_t i = 0; i < signals.size(); ++i) {
          if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
          // Not once it has exited: RunCommand reaps it, and its pid may then be someone else's.
          siginfo_t si{};
          if (waitid(P_PID, recorder, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != 0) break;
          kill(recorder, signals[i]);
        }
      });
    });
    if (actor.joinable()) actor.join();
    if (!signals.empty()) {
      r.seconds_after_first_signal =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
    }
    r.descendants = ReadPids(work_ + "/pids");
    last_record_ = r.run;
    return r;
  }
};

// The main command exits at once and leaves two descendants, one in its own session: SIGTERM to the
// recorder used to go to the (already reaped) main pid only, and the recording never ended.
TEST_F(StopTest, SigtermReachesSetsidDescendantsAfterTheMainCommandExited) {
  StopRun r = RecordAndSignal({},
                              "echo $$ > main; setsid sleep infinity & echo $! > pids; "
                              "sleep infinity & echo $! >> pids; touch ready; exit 7",
                              {SIGTERM});
  EXPECT_EQ(r.run.status, 7) << r.run.err;  // the main command's own status
  // Promptly: the descendants would sleep for ever. Seconds, not less: a loaded machine is slow.
  EXPECT_LT(r.seconds_after_first_signal, 15.0) << "SIGTERM did not stop the recording promptly";
  ASSERT_EQ(r.descendants.size(), 2u);
  for (pid_t p : r.descendants) EXPECT_TRUE(ProcessGone(p)) << "traced process " << p << " survived";
  Session s = Export();
  EXPECT_EQ(s.header.value("state", ""), "complete") << s.header.dump();
  std::set<pid_t> signalled = AnnotatedPids(s, "signal");
  for (pid_t p : r.descendants) EXPECT_EQ(signalled.count(p), 1u) << "no signal recorded for " << p;
  // Never the main command's pid: it was reaped, so the number may belong to someone else by now.
  std::vector<pid_t> main = ReadPids(work_ + "/main");
  ASSERT_EQ(main.size(), 1u);
  EXPECT_EQ(signalled.count(main[0]), 0u);
  EXPECT_THAT(r.run.err, ::testing::HasSubstr("SIGTERM: sent to every traced process"));
}

TEST_F(StopTest, DescendantIgnoringSigtermIsKilledAfterTheGracePeriod) {
  StopRun r = RecordAndSignal({"--kill-after", "1s"},
                              "trap '' TERM; setsid sleep infinity & echo $! > pids; touch ready; wait", {SIGTERM});
  EXPECT_EQ(r.run.status, 128 + SIGKILL) << r.run.err;  // bash ignored SIGTERM too and was killed
  EXPECT_GT(r.seconds_after_first_signal, 0.9);
  EXPECT_LT(r.seconds_after_first_signal, 15.0);  // the grace period, not the sleep's infinity
  ASSERT_EQ(r.descendants.size(), 1u);
  EXPECT_TRUE(ProcessGone(r.descendants[0]));
  Session s = Export();
  EXPECT_EQ(s.header.value("state", ""), "complete") << s.header.dump();
  EXPECT_EQ(AnnotatedPids(s, "kill").count(r.descendants[0]), 1u) << s.EventsOfKind("annotation");
  EXPECT_THAT(r.run.err, ::testing::HasSubstr("killed 2 traced process(es) still running: "));
  EXPECT_THAT(r.run.err, ::testing::HasSubstr(std::to_string(r.descendants[0]) + " (sleep)"));
}

TEST_F(StopTest, SecondSignalKillsAtOnce) {
  StopRun r =
      RecordAndSignal({"--kill-after", "60s"},
                      "trap '' TERM INT; setsid sleep infinity & echo $! > pids; touch ready; wait", {SIGTERM, SIGINT});
  EXPECT_EQ(r.run.status, 128 + SIGKILL) << r.run.err;
  EXPECT_LT(r.seconds_after_first_signal, 15.0);  // not the 60 s grace period
  ASSERT_EQ(r.descendants.size(), 1u);
  EXPECT_TRUE(ProcessGone(r.descendants[0]));
  Session s = Export();
  EXPECT_EQ(s.header.value("state", ""), "complete");
  EXPECT_EQ(AnnotatedPids(s, "kill").count(r.descendants[0]), 1u) << s.EventsOfKind("annotation");
}

TEST_F(StopTest, TimeoutStopsTheTreeAndExits124) {
  auto start = std::chrono::steady_clock::now();
  // Long enough for bash to start its descendant under the tracer on a loaded machine.
  StopRun r = RecordAndSignal({"--timeout", "5s", "--kill-after", "2s"},
                              "setsid sleep infinity & echo $! > pids; touch ready; sleep infinity", {});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.run.status, 124) << r.run.err;
  EXPECT_GT(seconds, 4.9);
  EXPECT_LT(seconds, 30.0);  // the timeout, not the sleeps' infinity; seconds of margin for a loaded machine
  ASSERT_EQ(r.descendants.size(), 1u) << "the agent did not start its descendant within the timeout";
  EXPECT_TRUE(ProcessGone(r.descendants[0]));
  Session s = Export();
  EXPECT_EQ(s.header.value("state", ""), "complete");
  EXPECT_EQ(s.header.value("exit_signal", 0), SIGTERM) << s.header.dump();
  EXPECT_EQ(AnnotatedPids(s, "signal").count(r.descendants[0]), 1u);
  EXPECT_THAT(r.run.err, ::testing::HasSubstr("timeout of 5 s reached"));
}

TEST_F(StopTest, BadDurationIsAUsageError) {
  RunResult r = RunCommand({AGENTTRACE_BIN, "record", "--store", store_, "--timeout", "10x", "--", "/bin/true"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("invalid duration '10x'"));
  EXPECT_FALSE(fs::exists(store_)) << "nothing should have been recorded";
}

// ------------------------------------------------------------------------------ store failures

// The state letter of /proc/PID/stat ('T' stopped, 'Z' zombie ...), or 0 if gone.
char ProcessState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : 0;
}

// Stopped: 'T', or 't' under a tracer (a group-stop held with PTRACE_LISTEN). A ptrace stop at a
// syscall also shows 't' but lasts microseconds, so it must last over several samples.
bool StaysStopped(pid_t pid) {
  for (int i = 0; i < 10; ++i) {
    char st = ProcessState(pid);
    if (st != 'T' && st != 't') return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::vector<Json> GapEvents(const Session& s) {
  std::vector<Json> gaps;
  for (const auto& e : s.events) {
    if (e.value("kind", "") == "gap") gaps.push_back(e);
  }
  return gaps;
}

// An agent that would run for ever, recording many thousand events a second: it opens names that
// do not exist (random, so that the events do not compress away) in bash itself, which fills a store
// in seconds even on a loaded machine (forking a program per event took the better part of a minute).
constexpr char kEndlessAgent[] = "echo $$ > pids; touch ready; while :; do : < /none-$RANDOM$RANDOM; done 2>/dev/null";

class StoreFailureTest : public StopTest {
 protected:
  void TearDown() override {
    if (mounted_) umount2(tiny_.c_str(), MNT_DETACH);
    StopTest::TearDown();
  }

  // Puts the store on a tmpfs of `size` (we run as root in CI). If mounting is not permitted, bounds
  // the store's LMDB map instead (same failure path, MDB_MAP_FULL instead of ENOSPC) and says so.
  // Returns the record flags to use.
  std::vector<std::string> TinyStore(const std::string& size) {
    tiny_ = root_ + "/tiny";
    fs::create_directories(tiny_);
    if (mount("tmpfs", tiny_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0) {
      mounted_ = true;
      store_ = tiny_ + "/store";
      RecordProperty("store", "tmpfs of " + size);
      std::cout << "[ store    ] on a tmpfs of " << size << "\n";
      return {};
    }
    std::string why = strerror(errno);
    RecordProperty("store", "bounded LMDB map of " + size + " (mount: " + why + ")");
    std::cout << "[ store    ] mount not permitted (" << why << "): bounded LMDB map of " << size << " instead\n";
    return {"--max-store-bytes", size};
  }

  std::string tiny_;
  bool mounted_ = false;
};

// A full store used to print "Input/output error" and let the agent run on, unrecorded, for minutes.
TEST_F(StoreFailureTest, FullStoreStopsTheAgentRecordsAGapAndExits125) {
  std::vector<std::string> flags = TinyStore("256k");
  auto start = std::chrono::steady_clock::now();
  StopRun r = RecordAndSignal(flags, kEndlessAgent, {});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.run.status, 125) << r.run.err;
  EXPECT_LT(seconds, 50.0);
  EXPECT_THAT(r.run.err, ::testing::HasSubstr(mounted_ ? "no space left on device (ENOSPC" : "MDB_MAP_FULL"));
  EXPECT_THAT(r.run.err, ::testing::HasSubstr("killing every traced process (--on-store-failure stop)"));
  EXPECT_THAT(r.run.err, ::testing::HasSubstr("is incomplete: the store failed"));
  ASSERT_EQ(r.descendants.size(), 1u);
  EXPECT_TRUE(ProcessGone(r.descendants[0]));
  Session s = Export();
  EXPECT_EQ(s.header.value("state", ""), "incomplete") << s.header.dump();
  std::vector<Json> gaps = GapEvents(s);
  ASSERT_EQ(gaps.size(), 1u) << "the loss was not recorded";
  EXPECT_GT(gaps[0].value("size", 0), 0);
  EXPECT_THAT(gaps[0].value("text", ""), ::testing::HasSubstr(mounted_ ? "ENOSPC" : "MDB_MAP_FULL"));
  EXPECT_THAT(r.run.err, ::testing::HasSubstr("a gap event records " + std::to_string(gaps[0].value("size", 0))));
  RunResult verify = RunCommand({AGENTTRACE_BIN, "verify", "--store", store_, s.id});
  EXPECT_EQ(verify.status, 0) << verify.out << verify.err;
}

TEST_F(StoreFailureTest, ContinueLetsTheAgentFinishAndRecordsTheLoss) {
  // About 5000 events fill a 128 KiB map; the agent makes some 18000. It forks a program for each
  // few dozen events, which the writer keeps up with: the failure is seen while the agent runs. (An
  // agent that makes them faster than the writer takes them can end before the writer reaches the
  // failure; it is then found storing the last events and handled alike: EndOfRunTest.*.)
  std::vector<std::string> flags = {"--on-store-failure", "continue", "--max-store-bytes", "128K"};
  StopRun r = RecordAndSignal(
      flags, "for i in $(seq 1 500); do cat /etc/hostname /none-$RANDOM$RANDOM 2>/dev/null >&2; done; exit 3", {});
  EXPECT_EQ(r.run.status, 3) << r.run.err;  // the agent's own status: it was let run
  EXPECT_THAT(r.run.err, ::testing::HasSubstr("MDB_MAP_FULL"));
  EXPECT_THAT(r.run.err, ::testing::HasSubstr("the agent runs on unrecorded"));
  Session s = Export();
  EXPECT_EQ(s.header.value("state", ""), "incomplete") << s.header.dump();
  std::vector<Json> gaps = GapEvents(s);
  ASSERT_EQ(gaps.size(), 1u);
  // Every event after the failure is counted (the tracer keeps offering them), not only the last
  // commit interval's worth: more than were recorded before the map filled.
  EXPECT_GT(gaps[0].value("size", 0), s.header.value("event_count", 0)) << gaps[0].dump() << s.header.dump();
  EXPECT_EQ(s.header.value("exit_code", -1), 3);
}

// --on-store-failure pause: the tree is stopped; once space is freed the store takes writes again,
// the loss is recorded and the agent continues. Without tmpfs (no space to free), the operator's
// SIGTERM ends the pause instead, which kills the stopped tree.
TEST_F(StoreFailureTest, PauseStopsTheTreeUntilTheStoreTakesWritesAgain) {
  // A paused recording resumes once the store has 1 MiB of room: the ballast, once deleted, gives it.
  std::vector<std::string> flags = TinyStore("2m");
  flags.insert(flags.end(), {"--on-store-failure", "pause"});
  const std::string ballast = tiny_ + "/ballast";
  if (mounted_) {
    std::ofstream(ballast) << std::string(1600 << 10, 'x');
  } else {
    flags[1] = "256K";
  }
  std::thread actor;
  // The agent opens names that do not exist (random, so that the events do not compress away) in
  // bash itself: the store fills in seconds even on a loaded machine, where forking a program per
  // event took the better part of a minute.
  std::string script = "cd " + work_ +
                       " || exit 99; echo $$ > pids; "
                       "while [ ! -e done ]; do : < /none-$RANDOM$RANDOM; done 2>/dev/null; exit 4";
  std::vector<std::string> argv = {AGENTTRACE_BIN, "record", "--store", store_};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"--", "/bin/bash", "-c", script});
  bool saw_stopped = false, saw_resumed = false;
  LiveText err;
  RunResult run = RunCommand(
      argv, {},
      [&](pid_t recorder) {
        actor = std::thread([&, recorder] {
          // Each step waits for what the recorder says (not for a guessed moment, nor for a 't' state
          // that a ptrace stop of a starved tracer shows too). A step that never comes ends the run.
          const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(80);
          auto fail = [&] { kill(-recorder, SIGKILL); };
          if (!err.WaitFor("every traced process is stopped (SIGSTOP)", give_up)) return fail();
          std::vector<pid_t> p = ReadPids(work_ + "/pids");
          if (p.empty()) return fail();
          const pid_t agent = p[0];
          // The stop takes effect once the tracer has taken up the request.
          while (!StaysStopped(agent) && std::chrono::steady_clock::now() < give_up) {
          }
          if (!StaysStopped(agent)) return fail();
          saw_stopped = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          if (!StaysStopped(agent)) return fail();  // it must stay stopped while the store is full
          if (!mounted_) {
            kill(recorder, SIGTERM);
            return;
          }
          fs::remove(ballast);
          if (!err.WaitFor("the store takes writes again", give_up)) return fail();
          // Running again: seen out of its stop at least once.
          while (!saw_resumed && std::chrono::steady_clock::now() < give_up) {
            char st = ProcessState(agent);
            saw_resumed = st != 'T' && st != 't';
            if (!saw_resumed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          std::ofstream(work_ + "/done") << "";
        });
      },
      &err);
  if (actor.joinable()) actor.join();
  last_record_ = run;
  ASSERT_TRUE(saw_stopped) << "the agent was never stopped\n" << run.err;
  EXPECT_THAT(run.err, ::testing::HasSubstr("every traced process is stopped (SIGSTOP)"));
  Session s = Export();
  EXPECT_EQ(s.header.value("state", ""), "incomplete") << s.header.dump();
  std::vector<Json> gaps = GapEvents(s);
  ASSERT_GE(gaps.size(), 1u) << run.err;
  EXPECT_GT(gaps[0].value("size", 0), 0);
  if (mounted_) {
    EXPECT_TRUE(saw_resumed);
    EXPECT_THAT(run.err, ::testing::HasSubstr("the store takes writes again"));
    EXPECT_EQ(run.status, 4) << run.err;  // the agent finished on its own
    bool cont_after_gap = false;
    for (const auto& e : s.events) {
      cont_after_gap |= e.value("kind", "") == "annotation" && e.value("seq", 0) > gaps[0].value("seq", 0) &&
                        e.value("json", "").find("\"SIGCONT\"") != std::string::npos;
    }
    EXPECT_TRUE(cont_after_gap) << "the SIGCONT is not recorded after the gap:\n" << s.EventsOfKind("annotation");
  } else {
    EXPECT_EQ(run.status, 125) << run.err;
    EXPECT_THAT(run.err, ::testing::HasSubstr("killed 1 traced process(es)"));
  }
}

}  // namespace
}  // namespace agenttrace
