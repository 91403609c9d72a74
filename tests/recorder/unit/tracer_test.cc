// The tracer against real programs, recorded into memory (no store): what a shell does is what we
// see, with absolute paths, results, spawns, execs and exits.
#include "recorder/tracer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "format/request_decider.h"
#include "tests/format/vector_sink.h"

extern char** environ;

namespace agenttrace {
namespace {

// The test binary re-executes itself as a traced "agent" with AGENTTRACE_TRACER_HELPER=<name>; each
// helper performs one tricky action and exits 0 when it saw what the recorder should make it see.
constexpr char kHelperEnv[] = "AGENTTRACE_TRACER_HELPER";

void* ThreadOpen(void*) {
  int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return nullptr;
}

void* ThreadExec(void*) {
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  execve(arg0, argv, environ);
  return nullptr;
}

// Every form of the metadata writes, in DIR (which holds a file f and a symlink l -> f).
int MetadataHelper(const std::string& dir) {
  if (chdir(dir.c_str()) != 0) return 1;
  const timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  const timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
  int fd = open("f", O_RDONLY | O_CLOEXEC);
  int path_fd = open("f", O_PATH | O_CLOEXEC);
  if (fd < 0 || path_fd < 0) return 1;
  struct {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
  } args = {reinterpret_cast<uintptr_t>("v"), 1, 0};
  // Results are recorded whatever they are (a user xattr on a symlink is refused by the kernel).
  syscall(SYS_utimensat, AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW);
  syscall(SYS_utimensat, fd, nullptr, ts, 0);
  syscall(SYS_utimensat, path_fd, "", ts, AT_EMPTY_PATH);
  syscall(SYS_utimes, "l", tv);
  syscall(SYS_utime, "f", nullptr);
  syscall(SYS_futimesat, AT_FDCWD, "f", tv);
  syscall(SYS_setxattr, "l", "user.a", "v", 1, 0);
  syscall(SYS_lsetxattr, "l", "user.b", "v", 1, 0);
  syscall(SYS_fsetxattr, fd, "user.c", "v", 1, 0);
  syscall(SYS_removexattr, "f", "user.a");
  syscall(SYS_lremovexattr, "l", "user.b");
  syscall(SYS_fremovexattr, fd, "user.c");
  syscall(463, AT_FDCWD, "l", 0, "user.d", &args, sizeof args);  // setxattrat (Linux 6.13)
  syscall(466, AT_FDCWD, "f", 0, "user.d");                      // removexattrat
  return 0;
}

int RunHelper(const std::string& name) {
  if (name.starts_with("metadata:")) return MetadataHelper(name.substr(9));
  if (name == "thread-exec") {
    pthread_t t;
    if (pthread_create(&t, nullptr, ThreadExec, nullptr) != 0) return 1;
    sleep(10);  // the exec in the other thread replaces this whole process long before
    return 1;
  }
  if (name == "io_uring") {
    io_uring_params params{};
    long r = syscall(SYS_io_uring_setup, 4, &params);
    return (r == -1 && errno == ENOSYS) ? 0 : 1;  // refused by the recorder: software falls back
  }
  if (name == "listener") {
    sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    sock_fprog prog{1, &allow};
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    return (r == -1 && errno == EPERM) ? 0 : 1;
  }
  if (name == "untraced") {
    long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
      int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);  // must still be recorded
      _exit(fd >= 0 ? 0 : 1);
    }
    int status = 0;
    if (pid < 0 || waitpid(static_cast<pid_t>(pid), &status, 0) != pid) return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  if (name == "vfork") {
    for (int i = 0; i < 5; ++i) {
      pid_t pid = vfork();
      if (pid == 0) {
        char arg0[] = "/bin/true";
        char* argv[] = {arg0, nullptr};
        execve(arg0, argv, environ);
        _exit(127);
      }
      int status = 0;
      if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    }
    return 0;
  }
  if (name == "thread") {
    pthread_t t;
    if (pthread_create(&t, nullptr, ThreadOpen, nullptr) != 0) return 1;
    pthread_join(t, nullptr);
    return 0;
  }
  if (name == "foreign") {
    long ret = 20;  // i386 getpid through int 0x80
    asm volatile("int $0x80" : "+a"(ret) : : "memory");
    return ret == getpid() ? 0 : 1;
  }
  if (name == "net") {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0 || listen(l, 1) != 0) return 1;
    socklen_t len = sizeof(sin);
    getsockname(l, reinterpret_cast<sockaddr*>(&sin), &len);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) return 1;
    if (send(c, "x", 1, 0) != 1) return 1;  // connected: no destination, not recorded
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(9);  // discard
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sendto(u, "hello", 5, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 5) return 1;
    std::printf("%d\n", ntohs(sin.sin_port));
    return 0;
  }
  return 99;
}

[[maybe_unused]] const int kHelperDispatch = [] {
  const char* h = std::getenv(kHelperEnv);
  if (h != nullptr) _exit(RunHelper(h));
  return 0;
}();

struct Recording {
  Result<TraceOutcome> outcome = Status::Internal("not run");
  std::vector<Event> events;
};

Recording Record(std::vector<std::string> argv, TracerOptions opts = {}, std::string extra_env = "") {
  Recording rec;
  auto filter = BuildSeccompFilter();
  if (!filter.ok()) {
    rec.outcome = filter.status();
    return rec;
  }
  VectorEventSink sink;
  Tracer tracer(&sink, opts);
  SpawnSpec spec;
  spec.argv = std::move(argv);
  for (char** e = environ; *e != nullptr; ++e) spec.env.emplace_back(*e);
  if (!extra_env.empty()) spec.env.push_back(extra_env);
  Status s = tracer.Start(spec, *filter);
  if (!s.ok()) {
    rec.outcome = s;
    return rec;
  }
  rec.outcome = tracer.Run();
  rec.events = sink.TakeEvents();
  return rec;
}

std::vector<const Event*> OfKind(const std::vector<Event>& evs, EventKind k) {
  std::vector<const Event*> out;
  for (const Event& e : evs) {
    if (e.kind == k) out.push_back(&e);
  }
  return out;
}

const Event* FindOpen(const std::vector<Event>& evs, const std::string& path) {
  for (const Event& e : evs) {
    if (e.kind == EventKind::kFileOpen && e.path == path) return &e;
  }
  return nullptr;
}

// The session's "decision.failed" annotations: a denial or refusal that could not be applied.
std::vector<const Event*> DecisionFailures(const std::vector<Event>& evs) {
  std::vector<const Event*> out;
  for (const Event& e : evs) {
    if (e.kind == EventKind::kAnnotation && e.text == "decision.failed") out.push_back(&e);
  }
  return out;
}

TEST(TracerTest, RecordsShellCommand) {
  char tmpl[] = "/tmp/agenttrace-tracer-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string script = "cd " + dir + " && cat /etc/hostname > out.txt; mkdir sub; mv out.txt sub/moved; "
                       "rm sub/moved; rmdir sub; cat /nonexistent 2>/dev/null; exit 3";
  Recording rec = Record({"/bin/sh", "-c", script});
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 3);
  EXPECT_EQ(rec.outcome->signal, 0);
  EXPECT_EQ(rec.outcome->events, rec.events.size());

  auto execs = OfKind(rec.events, EventKind::kExec);
  ASSERT_GE(execs.size(), 2u);  // sh, then cat (mv/rm/... may be builtins or not)
  EXPECT_EQ(execs[0]->path, "/bin/sh");
  EXPECT_EQ(execs[0]->result, 0);
  ASSERT_EQ(execs[0]->argv.size(), 3u);
  EXPECT_EQ(execs[0]->argv[2], script);
  EXPECT_FALSE(execs[0]->env_names.empty());
  for (const std::string& n : execs[0]->env_names) EXPECT_EQ(n.find('='), std::string::npos);

  const Event* host = FindOpen(rec.events, "/etc/hostname");
  ASSERT_NE(host, nullptr);
  EXPECT_GE(host->result, 0);
  const Event* out = FindOpen(rec.events, dir + "/out.txt");  // relative, resolved against the new cwd
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(out->flags & O_CREAT);
  const Event* missing = FindOpen(rec.events, "/nonexistent");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->result, -ENOENT);

  auto mkdirs = OfKind(rec.events, EventKind::kFileMkdir);
  ASSERT_EQ(mkdirs.size(), 1u);
  EXPECT_EQ(mkdirs[0]->path, dir + "/sub");
  auto renames = OfKind(rec.events, EventKind::kFileRename);
  ASSERT_EQ(renames.size(), 1u);
  EXPECT_EQ(renames[0]->path, dir + "/out.txt");
  EXPECT_EQ(renames[0]->path2, dir + "/sub/moved");
  auto deletes = OfKind(rec.events, EventKind::kFileDelete);
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0]->path, dir + "/sub/moved");
  auto rmdirs = OfKind(rec.events, EventKind::kFileRmdir);
  ASSERT_EQ(rmdirs.size(), 1u);
  EXPECT_EQ(rmdirs[0]->result, 0);

  // Every child the shell spawned was recorded, and every process's exit.
  auto spawns = OfKind(rec.events, EventKind::kProcSpawn);
  auto exits = OfKind(rec.events, EventKind::kProcExit);
  ASSERT_GE(spawns.size(), 2u);
  EXPECT_EQ(exits.size(), spawns.size() + 1);
  // Each once, also when a child's first stop is seen before its parent's fork event.
  EXPECT_EQ(rec.outcome->processes, spawns.size() + 1);
  for (const Event* s : spawns) {
    EXPECT_GT(s->child_pid, 0);
    EXPECT_EQ(s->result, s->child_pid);  // completed at the fork event stop, not the exit stop
    EXPECT_FALSE(s->is_thread);
    EXPECT_TRUE(std::any_of(exits.begin(), exits.end(), [&](const Event* e) { return e->pid == s->child_pid; }));
  }
  EXPECT_EQ(exits.back()->exit_code, 3);  // the shell is the last to exit
  EXPECT_EQ(exits.back()->pid, execs[0]->pid);
  rmdir(tmpl);
}

Recording RecordHelper(const std::string& name, TracerOptions opts = {}) {
  return Record({"/proc/self/exe"}, opts, std::string(kHelperEnv) + "=" + name);
}

std::vector<const Event*> Escapes(const std::vector<Event>& evs, const std::string& text) {
  std::vector<const Event*> out;
  for (const Event& e : evs) {
    if (e.kind == EventKind::kEscape && e.text == text) out.push_back(&e);
  }
  return out;
}

// Polling for the next stop (TracerOptions::spin_ns, recorder/adaptive_spin.h) changes when the
// tracer notices a stop, never what it records: one process's calls come out the same either way.
TEST(TracerTest, PollingForStopsRecordsWhatSleepingRecords) {
  char tmpl[] = "/tmp/agenttrace-tracer-spin-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  // One shell process, builtins only: its calls have one order.
  std::string script = "cd " + dir + " && i=0; while [ $i -lt 200 ]; do echo $i > f$i; read x < f$i; i=$((i+1)); done";
  auto shape = [](const std::vector<Event>& evs) {
    std::vector<std::string> out;
    for (const Event& e : evs) {
      if (e.kind == EventKind::kProcExit) continue;  // its timing fields aside, compared below
      out.push_back(std::string(EventKindName(e.kind)) + " " + e.path + " " + std::to_string(e.flags) + " " +
                    std::to_string(e.result));
    }
    return out;
  };
  TracerOptions sleeping;
  sleeping.spin_ns = 0;
  TracerOptions polling;
  polling.spin_ns = 60'000;
  Recording a = Record({"/bin/sh", "-c", script}, sleeping);
  Recording b = Record({"/bin/sh", "-c", script}, polling);
  ASSERT_TRUE(a.outcome.ok()) << a.outcome.status().ToString();
  ASSERT_TRUE(b.outcome.ok()) << b.outcome.status().ToString();
  EXPECT_EQ(a.outcome->exit_code, 0);
  EXPECT_EQ(b.outcome->exit_code, 0);
  std::vector<std::string> sa = shape(a.events), sb = shape(b.events);
  EXPECT_EQ(sa, sb);
  int opens = 0;
  for (const Event& e : b.events) opens += e.kind == EventKind::kFileOpen && e.path.starts_with(dir + "/f");
  EXPECT_EQ(opens, 400);
  EXPECT_EQ(OfKind(a.events, EventKind::kProcExit).size(), OfKind(b.events, EventKind::kProcExit).size());
  std::filesystem::remove_all(dir);
}

TEST(TracerTest, IoUringSetupIsRefusedAndRecorded) {
  Recording rec = RecordHelper("io_uring");
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0) << "io_uring_setup was not refused with ENOSYS";
  auto esc = Escapes(rec.events, "io_uring_setup");
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0]->result, -ENOSYS);
  EXPECT_EQ(esc[0]->syscall_nr, static_cast<uint32_t>(SYS_io_uring_setup));
}

// A decoder's refusal takes the checked path of a denial: the event is completed at the exit stop,
// which confirms the result, and counts as a refusal, not as a policy denial.
class AllowAll final : public RequestDecider {
 public:
  RequestDecision Decide(const Event&) override { return {RequestVerdict::kAllow, "default", "", false}; }
};

// Denies every open of one path (rule "no-hostname"), allows the rest.
class DenyHostname final : public RequestDecider {
 public:
  RequestDecision Decide(const Event& e) override {
    if (e.kind == EventKind::kFileOpen && e.path == "/etc/hostname") {
      return {RequestVerdict::kDeny, "no-hostname", "", false};
    }
    return {RequestVerdict::kAllow, "default", "", false};
  }
};

TEST(TracerTest, IoUringRefusalUnderRunIsARefusalNotADenial) {
  AllowAll decider;
  TracerOptions opts;
  opts.decider = &decider;
  Recording rec = RecordHelper("io_uring", opts);
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0) << "io_uring_setup was not refused with ENOSYS";
  EXPECT_EQ(rec.outcome->refused, 1u);
  EXPECT_EQ(rec.outcome->denied, 0u);
  EXPECT_FALSE(rec.outcome->enforcement_failed);
  auto esc = Escapes(rec.events, "io_uring_setup");
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0]->result, -ENOSYS);
}

// The register writes of a refusal fail (test-only fault injection): the agent must be killed in its
// stop, never let through to a ring; the session says why. `record` then exits 125 (tools/).
TEST(TracerTest, IoUringRefusalThatCannotBeAppliedKillsTheAgentUnderRecord) {
  TracerOptions opts;
  opts.test_fail_skip_writes = true;
  Recording rec = RecordHelper("io_uring", opts);
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->signal, SIGKILL)
      << "the agent ran on after an unapplied refusal (exit " << rec.outcome->exit_code << ")";
  EXPECT_TRUE(rec.outcome->enforcement_failed);
  EXPECT_NE(rec.outcome->enforcement_failure.find("cannot skip"), std::string::npos)
      << rec.outcome->enforcement_failure;
  EXPECT_EQ(rec.outcome->refused, 0u);
  ASSERT_EQ(rec.outcome->killed.size(), 1u);
  const Event* failed = nullptr;
  const Event* kill_note = nullptr;
  for (const Event& e : rec.events) {
    if (e.kind == EventKind::kAnnotation && e.text == "decision.failed") failed = &e;
    if (e.kind == EventKind::kAnnotation && e.text == "recorder: kill") kill_note = &e;
  }
  ASSERT_NE(failed, nullptr);
  EXPECT_NE(failed->json.find("refused by the recorder: io_uring_setup"), std::string::npos) << failed->json;
  EXPECT_NE(failed->json.find("\"rule\":\"\""), std::string::npos) << failed->json;
  ASSERT_NE(kill_note, nullptr);
  EXPECT_NE(kill_note->json.find("a refusal could not be applied"), std::string::npos) << kill_note->json;
  // The call itself is on record, closed at the thread's death: it never ran.
  auto esc = Escapes(rec.events, "io_uring_setup");
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0]->result, -EINTR);
}

TEST(TracerTest, SeccompListenerRefusalThatCannotBeAppliedKillsTheAgentUnderRun) {
  AllowAll decider;
  TracerOptions opts;
  opts.decider = &decider;
  opts.test_fail_skip_writes = true;
  Recording rec = RecordHelper("listener", opts);
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->signal, SIGKILL);
  EXPECT_TRUE(rec.outcome->enforcement_failed);
  EXPECT_EQ(DecisionFailures(rec.events).size(), 1u);
}

TEST(TracerTest, PolicyDenialThatCannotBeAppliedKillsTheAgent) {
  DenyHostname decider;
  TracerOptions opts;
  opts.decider = &decider;
  opts.test_fail_skip_writes = true;
  Recording rec = Record({"/bin/sh", "-c", "cat /etc/hostname; exit 0"}, opts);
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->signal, SIGKILL) << "exit " << rec.outcome->exit_code;
  EXPECT_TRUE(rec.outcome->enforcement_failed);
  auto failures = DecisionFailures(rec.events);
  ASSERT_FALSE(failures.empty());
  const Event* failed = failures.back();
  EXPECT_NE(failed->json.find("\"rule\":\"no-hostname\""), std::string::npos) << failed->json;
  const Event* open = FindOpen(rec.events, "/etc/hostname");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->result, -EINTR);  // never ran
}

// The skip was written and read back, yet the call ran (test-only fault: a kernel that ignored it).
// The exit stop sees a result that is not the denial's: the agent is killed there, before it can use
// what the call gave it, and the session says so.
TEST(TracerTest, DenialWhoseSkipDidNotHoldKillsTheAgentAtTheExitStop) {
  DenyHostname decider;
  TracerOptions opts;
  opts.decider = &decider;
  opts.test_skip_not_held = true;
  Recording rec = Record({"/bin/sh", "-c", "cat /etc/hostname; /bin/true; exit 0"}, opts);
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->signal, SIGKILL) << "exit " << rec.outcome->exit_code;
  EXPECT_TRUE(rec.outcome->enforcement_failed);
  EXPECT_NE(rec.outcome->enforcement_failure.find("the denied call was not skipped (result "), std::string::npos)
      << rec.outcome->enforcement_failure;
  const Event* failed = nullptr;
  for (const Event& e : rec.events) {
    if (e.kind == EventKind::kAnnotation && e.text == "decision.failed") failed = &e;
    // Nothing after the open: the shell never went on to its next command.
    EXPECT_FALSE(e.kind == EventKind::kExec && e.path == "/bin/true") << "the agent ran on after the failed denial";
  }
  ASSERT_NE(failed, nullptr);
  EXPECT_NE(failed->json.find("\"rule\":\"no-hostname\""), std::string::npos) << failed->json;
  const Event* open = FindOpen(rec.events, "/etc/hostname");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->result, -EACCES);  // what the agent was to see
}

// Timestamps and extended attributes are file.chmod events with a kMeta* flag (and the attribute's
// name in path2), on the path the call acts on: NULL and "" (AT_EMPTY_PATH) mean the descriptor's
// file, the l* forms and AT_SYMLINK_NOFOLLOW do not follow the link, the others record where it leads.
TEST(TracerTest, TimestampAndXattrWritesAreRecordedAsMetadataWrites) {
  char tmpl[] = "/tmp/agenttrace-tracer-meta-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, f = dir + "/f", l = dir + "/l";
  std::FILE* fp = std::fopen(f.c_str(), "w");
  ASSERT_NE(fp, nullptr);
  std::fclose(fp);
  ASSERT_EQ(symlink("f", l.c_str()), 0);
  Recording rec = RecordHelper("metadata:" + dir);
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0);
  constexpr uint64_t kNoFollow = AT_SYMLINK_NOFOLLOW;
  struct Want {
    const char* call;
    uint64_t flags;
    std::string path, resolved, name;
    bool ok;  // the kernel accepted it (a user xattr on a symlink is refused)
  };
  const std::vector<Want> want = {
      {"utimensat l NOFOLLOW", kMetaTimes | kNoFollow, l, "", "", true},
      {"utimensat fd NULL", kMetaTimes, f, "", "", true},
      {"utimensat fd AT_EMPTY_PATH", kMetaTimes | AT_EMPTY_PATH, f, "", "", true},
      {"utimes l", kMetaTimes, l, f, "", true},
      {"utime f", kMetaTimes, f, "", "", true},
      {"futimesat f", kMetaTimes, f, "", "", true},
      {"setxattr l", kMetaXattrSet, l, f, "user.a", true},
      {"lsetxattr l", kMetaXattrSet | kNoFollow, l, "", "user.b", false},
      {"fsetxattr fd", kMetaXattrSet, f, "", "user.c", true},
      {"removexattr f", kMetaXattrRemove, f, "", "user.a", true},
      {"lremovexattr l", kMetaXattrRemove | kNoFollow, l, "", "user.b", false},
      {"fremovexattr fd", kMetaXattrRemove, f, "", "user.c", true},
      {"setxattrat l", kMetaXattrSet, l, f, "user.d", true},
      {"removexattrat f", kMetaXattrRemove, f, "", "user.d", true},
  };
  auto got = OfKind(rec.events, EventKind::kFileChmod);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].call);
    EXPECT_EQ(got[i]->flags, want[i].flags);
    EXPECT_EQ(got[i]->path, want[i].path);
    EXPECT_EQ(got[i]->resolved, want[i].resolved);
    EXPECT_EQ(got[i]->path2, want[i].name);
    EXPECT_EQ(got[i]->mode, 0u);
    if (want[i].ok) {
      EXPECT_EQ(got[i]->result, 0);
    } else {
      EXPECT_LT(got[i]->result, 0);
    }
  }
  unlink(l.c_str());
  unlink(f.c_str());
  rmdir(tmpl);
}

TEST(TracerTest, SeccompListenerIsRefusedAndRecorded) {
  Recording rec = RecordHelper("listener");
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0) << "seccomp(NEW_LISTENER) was not refused with EPERM";
  auto esc = Escapes(rec.events, "seccomp");
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0]->result, -EPERM);
  EXPECT_TRUE(esc[0]->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

TEST(TracerTest, CloneUntracedIsRecordedAndTheChildStaysTraced) {
  Recording rec = RecordHelper("untraced");
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0);
  ASSERT_EQ(Escapes(rec.events, "clone-untraced").size(), 1u);
  auto spawns = OfKind(rec.events, EventKind::kProcSpawn);
  ASSERT_EQ(spawns.size(), 1u);
  EXPECT_TRUE(spawns[0]->flags & CLONE_UNTRACED);
  const Event* open_in_child = FindOpen(rec.events, "/etc/passwd");
  ASSERT_NE(open_in_child, nullptr) << "the CLONE_UNTRACED child escaped the tracer";
  EXPECT_EQ(open_in_child->pid, spawns[0]->child_pid);
}

TEST(TracerTest, ThreadEventsCarryTheirTid) {
  Recording rec = RecordHelper("thread");
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0);
  auto spawns = OfKind(rec.events, EventKind::kProcSpawn);
  ASSERT_EQ(spawns.size(), 1u);
  EXPECT_TRUE(spawns[0]->is_thread);
  const Event* open_in_thread = FindOpen(rec.events, "/etc/hostname");
  ASSERT_NE(open_in_thread, nullptr);
  EXPECT_EQ(open_in_thread->tid, spawns[0]->child_pid);
  EXPECT_EQ(open_in_thread->pid, spawns[0]->pid);
  EXPECT_EQ(OfKind(rec.events, EventKind::kProcExit).size(), 1u);  // one process
  EXPECT_EQ(rec.outcome->processes, 1u);
}

TEST(TracerTest, VforkedChildrenAreCountedOnce) {
  // A child's first stop can be seen before or after its parent's vfork event (a race); it must be
  // counted once either way.
  Recording rec = RecordHelper("vfork");
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0);
  auto spawns = OfKind(rec.events, EventKind::kProcSpawn);
  ASSERT_EQ(spawns.size(), 5u);
  for (const Event* s : spawns) EXPECT_EQ(s->result, s->child_pid);
  EXPECT_EQ(OfKind(rec.events, EventKind::kProcExit).size(), 6u);
  EXPECT_EQ(rec.outcome->processes, 6u);
}

TEST(TracerTest, ForeignArchSyscallIsRecorded) {
  Recording rec = RecordHelper("foreign");
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  if (rec.outcome->signal == SIGSEGV) GTEST_SKIP() << "no i386 emulation in this kernel";
  EXPECT_EQ(rec.outcome->exit_code, 0) << "the i386 getpid did not run";
  auto esc = Escapes(rec.events, "foreign-arch");
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0]->syscall_nr, 20u);
  EXPECT_EQ(esc[0]->arch, 0x40000003u);  // AUDIT_ARCH_I386
  EXPECT_EQ(esc[0]->result, esc[0]->pid);
}

TEST(TracerTest, NetworkConnectBindListenAndUdpSend) {
  Recording rec = RecordHelper("net");
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0);
  auto binds = OfKind(rec.events, EventKind::kNetBind);
  auto listens = OfKind(rec.events, EventKind::kNetListen);
  auto connects = OfKind(rec.events, EventKind::kNetConnect);
  auto sends = OfKind(rec.events, EventKind::kNetSend);
  ASSERT_EQ(binds.size(), 1u);
  EXPECT_EQ(binds[0]->address, "127.0.0.1");
  EXPECT_EQ(binds[0]->port, 0);
  ASSERT_EQ(listens.size(), 1u);
  EXPECT_EQ(listens[0]->address, "127.0.0.1");
  EXPECT_NE(listens[0]->port, 0);  // the port the kernel picked, from the socket itself
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0]->port, listens[0]->port);
  EXPECT_EQ(connects[0]->result, 0);
  ASSERT_EQ(sends.size(), 1u);  // the connected send() is not a net.send
  EXPECT_EQ(sends[0]->family, AF_INET);
  EXPECT_EQ(sends[0]->port, 9);
  EXPECT_EQ(sends[0]->size, 5);
}

TEST(TracerTest, CommandNotFound) {
  auto filter = BuildSeccompFilter();
  ASSERT_TRUE(filter.ok());
  VectorEventSink sink;
  Tracer tracer(&sink, {});
  SpawnSpec spec;
  spec.argv = {"agenttrace-no-such-command-xyz"};
  spec.env = {"PATH=/usr/bin:/bin"};
  Status s = tracer.Start(spec, *filter);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
}

TEST(TracerTest, CannotExecuteIsReported) {
  char path[] = "/tmp/agenttrace-noexec-XXXXXX";
  int fd = mkstemp(path);  // mode 0600: no execute bit, so execve fails with EACCES (even for root)
  ASSERT_GE(fd, 0);
  close(fd);
  Recording rec = Record({path});
  unlink(path);
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exec_errno, EACCES);
  EXPECT_EQ(rec.outcome->exit_code, 126);
  auto execs = OfKind(rec.events, EventKind::kExec);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0]->result, -EACCES);
  EXPECT_EQ(execs[0]->path, path);
}

TEST(TracerTest, KillingSignalIsReported) {
  Recording rec = Record({"/bin/sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->signal, SIGTERM);
  auto exits = OfKind(rec.events, EventKind::kProcExit);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0]->signal, SIGTERM);
}

TEST(TracerTest, DaemonisedGrandchildKeepsTheRecordingOpen) {
  char tmpl[] = "/tmp/agenttrace-tracer-daemon-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string marker = std::string(tmpl) + "/late";
  // The shell exits at once; the setsid'd grandchild writes a file 300 ms later.
  Recording rec = Record({"/bin/sh", "-c", "(setsid sh -c 'sleep 0.3; echo x > " + marker + "' &) ; exit 0"});
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0);
  const Event* late = FindOpen(rec.events, marker);
  ASSERT_NE(late, nullptr) << "the daemon's write was not recorded";
  EXPECT_GE(late->result, 0);
  unlink(marker.c_str());
  rmdir(tmpl);
}

// Stop requests from another thread while Run() sits in waitpid: the signal reaches the setsid'd
// grandchild (not the reaped main pid), the kill ends one that ignores it, and both are recorded.
TEST(TracerTest, RequestSignalAndKillReachTheWholeTreeFromAnotherThread) {
  auto filter = BuildSeccompFilter();
  ASSERT_TRUE(filter.ok());
  VectorEventSink sink;
  Tracer tracer(&sink, {});
  SpawnSpec spec;
  spec.argv = {"/bin/sh", "-c", "setsid sleep 1000 & (trap '' TERM; exec setsid sleep 1000) & exit 0"};
  for (char** e = environ; *e != nullptr; ++e) spec.env.emplace_back(*e);
  ASSERT_TRUE(tracer.Start(spec, *filter).ok());
  const pid_t main_pid = tracer.main_pid();
  // Each request is posted once the tree is in the state it is meant for, as the recording shows it
  // (a fixed delay was a guess that a loaded machine could miss: a SIGTERM that came before the trap
  // or before the shell's exit reached the wrong processes).
  auto wait_until = [&](auto seen) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!seen(sink.Events()) && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  auto both_sleeps_run_and_the_shell_is_gone = [&](const std::vector<Event>& events) {
    int sleeps = 0;
    bool shell_gone = false;
    for (const Event& e : events) {
      sleeps += e.kind == EventKind::kExec && e.result == 0 && e.path.ends_with("/sleep");
      shell_gone |= e.kind == EventKind::kProcExit && e.pid == main_pid;
    }
    return sleeps == 2 && shell_gone;  // the trap is set: it comes before the exec of setsid
  };
  auto the_termed_sleep_is_gone = [&](const std::vector<Event>& events) {
    return std::any_of(events.begin(), events.end(),
                       [](const Event& e) { return e.kind == EventKind::kProcExit && e.signal == SIGTERM; });
  };
  std::thread control([&] {
    auto post = [&](auto request) {
      request();
      while (tracer.RequestsPending()) {
        tracer.Wake();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    };
    wait_until(both_sleeps_run_and_the_shell_is_gone);
    post([&] { tracer.RequestSignal(SIGTERM, 0, "test term"); });
    wait_until(the_termed_sleep_is_gone);
    post([&] { tracer.RequestKill("test kill"); });
  });
  auto start = std::chrono::steady_clock::now();
  Result<TraceOutcome> out = tracer.Run();
  control.join();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(50));  // not the sleeps' 1000 s
  EXPECT_EQ(out->exit_code, 0);
  ASSERT_EQ(out->signalled.size(), 2u);  // both sleeps; never the reaped shell
  for (const StoppedProcess& p : out->signalled) {
    EXPECT_NE(p.pid, main_pid);
    EXPECT_EQ(p.comm, "sleep");
  }
  ASSERT_EQ(out->killed.size(), 1u);  // only the one that ignored SIGTERM was left
  EXPECT_EQ(out->killed[0].comm, "sleep");
  const std::vector<Event> events = sink.Events();
  auto notes = OfKind(events, EventKind::kAnnotation);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0]->text, "recorder: signal");
  EXPECT_NE(notes[0]->json.find("\"signal\":\"SIGTERM\""), std::string::npos) << notes[0]->json;
  EXPECT_NE(notes[0]->json.find("test term"), std::string::npos) << notes[0]->json;
  EXPECT_EQ(notes[1]->text, "recorder: kill");
  EXPECT_NE(notes[1]->json.find("\"pid\":" + std::to_string(out->killed[0].pid)), std::string::npos) << notes[1]->json;
  int killed_exits = 0;
  for (const Event* e : OfKind(events, EventKind::kProcExit)) killed_exits += e->signal == SIGKILL;
  EXPECT_EQ(killed_exits, 1);
}

TEST(TracerTest, ExecFromANonLeaderThread) {
  Recording rec = RecordHelper("thread-exec");
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 0) << "/bin/true should have replaced the helper";
  auto execs = OfKind(rec.events, EventKind::kExec);
  ASSERT_EQ(execs.size(), 2u);
  const Event* e = execs[1];
  EXPECT_EQ(e->path, "/bin/true");
  EXPECT_EQ(e->result, 0);
  EXPECT_EQ(e->pid, execs[0]->pid);
  EXPECT_EQ(e->tid, e->pid);  // the exec'ing thread took the leader's tid
  auto exits = OfKind(rec.events, EventKind::kProcExit);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0]->exit_code, 0);
}

TEST(TracerTest, PtraceNotPermittedIsExplained) {
  auto filter = BuildSeccompFilter();
  ASSERT_TRUE(filter.ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Like a container profile that forbids ptrace.
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == nullptr || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ptrace), 0) != 0 ||
        seccomp_load(ctx) != 0) {
      _exit(2);
    }
    VectorEventSink sink;
    Tracer tracer(&sink, {});
    SpawnSpec spec{{"/bin/true"}, {"PATH=/usr/bin:/bin"}, std::nullopt};
    Status s = tracer.Start(spec, *filter);
    bool explained = s.code() == StatusCode::kPermissionDenied &&
                     s.message().find("ptrace is not permitted") != std::string::npos &&
                     s.message().find("SYS_PTRACE") != std::string::npos;
    if (!explained) std::fprintf(stderr, "got: %s\n", s.ToString().c_str());
    _exit(explained ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace agenttrace
