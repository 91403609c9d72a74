// The tracer's context cache under request-time enforcement (recorder/path_state.h): the root and cwd
// descriptors kept across stops must never outlive a change of the cwd. Each helper (this binary,
// re-executed under the tracer) opens the bare name "f" in directory a (a plain file), changes its
// cwd to b, where "f" is a symlink to ../secret, and opens "f" again; the request the decider sees for
// the second open must name the secret. A stale cwd descriptor would resolve it in a, and a policy
// that denies the secret would allow the read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "recorder/path_state.h"
#include "recorder/seccomp_filter.h"
#include "recorder/tracer.h"
#include "tests/format/vector_sink.h"

extern char** environ;

namespace agenttrace {
namespace {

constexpr char kHelperEnv[] = "AGENTTRACE_CONTEXT_HELPER";
constexpr char kDirEnv[] = "AGENTTRACE_CONTEXT_DIR";

bool OpenF() {
  int fd = open("f", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  close(fd);
  return true;
}

struct ThreadArgs {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  int stage = 0;  // 1: the thread opened f in a; 2: main moved the shared cwd to b
  bool ok = false;
};

void* ThreadOpensTwice(void* p) {
  auto* a = static_cast<ThreadArgs*>(p);
  bool first = OpenF();
  pthread_mutex_lock(&a->mu);
  a->stage = 1;
  pthread_cond_broadcast(&a->cv);
  while (a->stage != 2) pthread_cond_wait(&a->cv, &a->mu);
  pthread_mutex_unlock(&a->mu);
  a->ok = first && OpenF();
  return nullptr;
}

// A thread of its own cwd (cloned without CLONE_FS) that exec's: the process goes on with its cwd
// under the leader's tid.
struct ExecArgs {
  std::string b;
  std::vector<std::string> env;
  std::atomic<int> stage{0};  // 1: the thread opened f in b; 2: the leader opened f in a; -1: failed
};

int ThreadChdirsAndExecs(void* p) {
  auto* s = static_cast<ExecArgs*>(p);
  if (chdir(s->b.c_str()) != 0) {
    s->stage = -1;
    return 0;
  }
  OpenF();
  s->stage = 1;
  while (s->stage != 2) usleep(1000);
  std::vector<char*> envp;
  for (std::string& e : s->env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char* argv[] = {self, nullptr};
  execve(self, argv, envp.data());
  s->stage = -1;
  return 0;
}

int RunHelper(const std::string& name, const std::string& dir) {
  const std::string a = dir + "/a", b = dir + "/b";
  if (name == "open-f") return OpenF() ? 0 : 1;
  if (name == "thread-exec") {
    // The leader's and the thread's kept cwds differ (a, b); after the thread's exec the leader's tid
    // names the process with the thread's cwd, so a kept descriptor of the leader must not be used.
    if (chdir(a.c_str()) != 0) return 1;
    static ExecArgs args;
    args.b = b;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string v = *e;
      if (v.starts_with(std::string(kHelperEnv) + "=")) v = std::string(kHelperEnv) + "=open-f";
      args.env.push_back(v);
    }
    static char stack[256 * 1024];
    if (clone(ThreadChdirsAndExecs, stack + sizeof(stack), CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM,
              &args) < 0) {
      return 1;
    }
    while (args.stage == 0) usleep(1000);
    if (args.stage < 0 || !OpenF()) return 1;
    args.stage = 2;
    while (args.stage != -1) usleep(1000);  // the exec ends this thread
    return 1;
  }
  if (name == "chdir") {
    if (chdir(a.c_str()) != 0 || !OpenF() || chdir(b.c_str()) != 0 || !OpenF()) return 1;
    return 0;
  }
  if (name == "fchdir") {
    int fa = open(a.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fb = open(b.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fa < 0 || fb < 0 || fchdir(fa) != 0 || !OpenF() || fchdir(fb) != 0 || !OpenF()) return 1;
    return 0;
  }
  if (name == "thread-chdir") {
    // The thread's cwd descriptor is cached at its first open; another thread of the process (same
    // fs_struct) moves the cwd; the thread's second open must see it.
    if (chdir(a.c_str()) != 0) return 1;
    ThreadArgs args;
    pthread_t t;
    if (pthread_create(&t, nullptr, ThreadOpensTwice, &args) != 0) return 1;
    pthread_mutex_lock(&args.mu);
    while (args.stage != 1) pthread_cond_wait(&args.cv, &args.mu);
    pthread_mutex_unlock(&args.mu);
    if (chdir(b.c_str()) != 0) return 1;
    pthread_mutex_lock(&args.mu);
    args.stage = 2;
    pthread_cond_broadcast(&args.cv);
    pthread_mutex_unlock(&args.mu);
    pthread_join(t, nullptr);
    return args.ok ? 0 : 1;
  }
  if (name == "fork-chdir" || name == "fork-parent-chdir") {
    // The child starts with its parent's kept descriptors (PathResolver::InheritContexts); a chdir
    // by either one must still be seen by the one that moved, and not by the other.
    if (chdir(a.c_str()) != 0 || !OpenF()) return 1;
    int go[2];
    if (pipe(go) != 0) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    const bool child_moves = name == "fork-chdir";
    if (pid == 0) {
      char c;
      if (!child_moves && read(go[0], &c, 1) != 1) _exit(1);  // after the parent's chdir and open
      if (child_moves && chdir(b.c_str()) != 0) _exit(1);
      _exit(OpenF() ? 0 : 1);
    }
    int status = 0;
    if (!child_moves && (chdir(b.c_str()) != 0 || !OpenF() || write(go[1], "x", 1) != 1)) return 1;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    return 0;
  }
  return 99;
}

[[maybe_unused]] const int kHelperDispatch = [] {
  const char* h = std::getenv(kHelperEnv);
  const char* d = std::getenv(kDirEnv);
  if (h != nullptr && d != nullptr) _exit(RunHelper(h, d));
  return 0;
}();

// Allows everything and keeps each request as the tracer built it at entry.
class KeepingDecider final : public RequestDecider {
 public:
  RequestDecision Decide(const Event& request) override {
    std::lock_guard lock(mu_);
    requests.push_back(request);
    RequestDecision d;
    d.verdict = RequestVerdict::kAllow;
    d.rule = "test";
    return d;
  }
  std::mutex mu_;
  std::vector<Event> requests;
};

class ContextCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agenttrace-context-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    char real[PATH_MAX];
    ASSERT_NE(realpath(tmpl, real), nullptr);
    dir_ = real;
    ASSERT_EQ(mkdir((dir_ + "/a").c_str(), 0700), 0);
    ASSERT_EQ(mkdir((dir_ + "/b").c_str(), 0700), 0);
    for (const std::string& f : {dir_ + "/a/f", dir_ + "/secret"}) {
      int fd = open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      ASSERT_GE(fd, 0);
      close(fd);
    }
    ASSERT_EQ(symlink("../secret", (dir_ + "/b/f").c_str()), 0);
  }
  void TearDown() override {
    unlink((dir_ + "/b/f").c_str());
    unlink((dir_ + "/a/f").c_str());
    unlink((dir_ + "/secret").c_str());
    rmdir((dir_ + "/a").c_str());
    rmdir((dir_ + "/b").c_str());
    rmdir(dir_.c_str());
  }

  // Runs helper `name` under a tracer with `decider`; the filter traps cwd changes when `trap`.
  Result<TraceOutcome> Run(const std::string& name, KeepingDecider* decider, bool trap) {
    SeccompFilterOptions fo;
    fo.trap_cwd_changes = trap;
    AT_ASSIGN_OR_RETURN(SeccompProgram filter, BuildSeccompFilter(fo));
    VectorEventSink sink;
    TracerOptions opts;
    opts.decider = decider;
    Tracer tracer(&sink, opts);
    SpawnSpec spec;
    spec.argv = {"/proc/self/exe"};
    for (char** e = environ; *e != nullptr; ++e) spec.env.emplace_back(*e);
    spec.env.push_back(std::string(kHelperEnv) + "=" + name);
    spec.env.push_back(std::string(kDirEnv) + "=" + dir_);
    AT_RETURN_IF_ERROR(tracer.Start(spec, filter));
    Result<TraceOutcome> out = tracer.Run();
    events_ = sink.TakeEvents();
    return out;
  }

  // The requests to open "f" in a and in b, in order.
  std::vector<const Event*> OpensOfF(const KeepingDecider& d) {
    std::vector<const Event*> out;
    for (const Event& e : d.requests) {
      if (e.kind == EventKind::kFileOpen && (e.path == dir_ + "/a/f" || e.path == dir_ + "/b/f")) out.push_back(&e);
    }
    return out;
  }

  void ExpectSecondOpenNamesTheSecret(const std::string& helper) {
    KeepingDecider decider;
    Result<TraceOutcome> out = Run(helper, &decider, /*trap=*/true);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->exit_code, 0) << helper << " failed in the tracee";
    std::vector<const Event*> opens = OpensOfF(decider);
    ASSERT_EQ(opens.size(), 2u);
    EXPECT_EQ(opens[0]->path, dir_ + "/a/f");
    EXPECT_EQ(opens[0]->resolved, "");  // a plain file: the lexical path is exact
    EXPECT_EQ(opens[1]->path, dir_ + "/b/f");
    EXPECT_EQ(opens[1]->resolved, dir_ + "/secret") << "the cwd change was not seen: a stale cwd descriptor";
    // The cache was in use: far fewer descriptors opened than paths resolved.
    EXPECT_LT(out->path_base_opens, decider.requests.size() / 2);
  }

  std::string dir_;
  std::vector<Event> events_;
};

TEST_F(ContextCacheTest, ChdirBetweenTwoOpensIsSeen) { ExpectSecondOpenNamesTheSecret("chdir"); }

TEST_F(ContextCacheTest, FchdirBetweenTwoOpensIsSeen) { ExpectSecondOpenNamesTheSecret("fchdir"); }

TEST_F(ContextCacheTest, ChdirByAnotherThreadSharingTheCwdIsSeen) { ExpectSecondOpenNamesTheSecret("thread-chdir"); }

// chdir and fchdir are trapped only for the cache: nothing of them reaches the decider or the record.
TEST_F(ContextCacheTest, TrappedChdirIsNeitherDecidedNorRecorded) {
  KeepingDecider decider;
  Result<TraceOutcome> out = Run("fchdir", &decider, /*trap=*/true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->exit_code, 0);
  for (const Event& e : decider.requests) {
    EXPECT_NE(e.syscall_nr, static_cast<uint32_t>(SYS_chdir));
    EXPECT_NE(e.syscall_nr, static_cast<uint32_t>(SYS_fchdir));
  }
  for (const Event& e : events_) {
    EXPECT_NE(e.syscall_nr, static_cast<uint32_t>(SYS_fchdir)) << EventKindName(e.kind);
  }
}

// A child process gets its parent's descriptors at the fork; the child's chdir must still name the
// secret for its open.
TEST_F(ContextCacheTest, ChdirInAForkedChildIsSeen) {
  KeepingDecider decider;
  Result<TraceOutcome> out = Run("fork-chdir", &decider, /*trap=*/true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->exit_code, 0);
  std::vector<const Event*> opens = OpensOfF(decider);
  ASSERT_EQ(opens.size(), 2u);
  EXPECT_EQ(opens[0]->resolved, "");
  EXPECT_EQ(opens[1]->path, dir_ + "/b/f");
  EXPECT_EQ(opens[1]->resolved, dir_ + "/secret");
}

// A non-leader thread with a cwd of its own exec's: its tid becomes the leader's, and the new
// program's open must be resolved in the thread's cwd (b), not in a descriptor kept for the leader's.
TEST_F(ContextCacheTest, ExecByAThreadWithItsOwnCwdIsResolvedInItsCwd) {
  KeepingDecider decider;
  Result<TraceOutcome> out = Run("thread-exec", &decider, /*trap=*/true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->exit_code, 0);
  std::vector<const Event*> opens = OpensOfF(decider);
  ASSERT_EQ(opens.size(), 3u);
  EXPECT_EQ(opens[0]->path, dir_ + "/b/f");  // the thread
  EXPECT_EQ(opens[1]->path, dir_ + "/a/f");  // the leader
  EXPECT_EQ(opens[2]->path, dir_ + "/b/f");  // the new program, under the leader's tid
  EXPECT_EQ(opens[2]->resolved, dir_ + "/secret");
  EXPECT_EQ(opens[2]->tid, opens[1]->tid);
}

// ... and the parent's chdir after the fork moves the parent only: the child's open is still in a.
TEST_F(ContextCacheTest, ChdirOfTheParentAfterAForkIsNotTheChilds) {
  KeepingDecider decider;
  Result<TraceOutcome> out = Run("fork-parent-chdir", &decider, /*trap=*/true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->exit_code, 0);
  std::vector<const Event*> opens = OpensOfF(decider);
  ASSERT_EQ(opens.size(), 3u);
  EXPECT_EQ(opens[1]->path, dir_ + "/b/f");
  EXPECT_EQ(opens[1]->resolved, dir_ + "/secret");
  EXPECT_EQ(opens[2]->path, dir_ + "/a/f");
  EXPECT_EQ(opens[2]->resolved, "");
  EXPECT_NE(opens[2]->pid, opens[1]->pid);
}

// With kept descriptors, a path with no symlink on the way is settled by one openat2
// (RESOLVE_NO_SYMLINKS) whether it exists or not, and says "the lexical path is exact"; nothing is
// carried to the next resolution, so a symlink put in place of a directory, or the cwd moved
// elsewhere, is seen at once.
TEST_F(ContextCacheTest, SymlinkFreeWalksTakeOneLookupAndSeeEverySwap) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  const std::string a = dir_ + "/a", vault = dir_ + "/vault";
  ASSERT_EQ(mkdir((a + "/sw").c_str(), 0700), 0);
  ASSERT_EQ(mkdir(vault.c_str(), 0700), 0);
  ASSERT_EQ(chdir(a.c_str()), 0);
  PathResolver r;
  r.EnableContextCache(true);
  std::string out = "untouched";
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "f", true, &out));  // opens the cwd's descriptor
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "/", true, &out));  // and the root's
  uint64_t n = r.lookups();
  // A missing file under a real directory, relative and absolute; an existing file; a missing
  // parent; a missing leaf not followed (unlink): one lookup each, the lexical path exact.
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "sw/missing", true, &out));
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, a + "/sw/missing", true, &out));
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "nodir/missing", true, &out));
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "sw/missing", false, &out));
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "sw/../sw/.", true, &out));
  EXPECT_EQ(r.lookups(), n + 6);
  EXPECT_EQ(out, "untouched");

  // sw becomes a symlink to the vault: the same names now resolve there, followed or not.
  ASSERT_EQ(rename((a + "/sw").c_str(), (a + "/sw.real").c_str()), 0);
  ASSERT_EQ(symlink(vault.c_str(), (a + "/sw").c_str()), 0);
  r.Invalidate();
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "sw/missing", true, &out));
  EXPECT_EQ(out, vault + "/missing");
  out.clear();
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, a + "/sw/missing", true, &out));
  EXPECT_EQ(out, vault + "/missing");
  out.clear();
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "sw/missing", false, &out));
  EXPECT_EQ(out, vault + "/missing");
  // A missing directory behind the symlink: no parent, nothing to say (as before).
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "sw/nodir/missing", true, &out));

  // And back to a real directory: the answer is the lexical path again.
  ASSERT_EQ(rename((a + "/sw").c_str(), (a + "/sw.link").c_str()), 0);
  ASSERT_EQ(rename((a + "/sw.real").c_str(), (a + "/sw").c_str()), 0);
  r.Invalidate();
  out = "untouched";
  if (r.KernelPath(tid, AT_FDCWD, "sw/missing", true, &out)) {
    EXPECT_EQ(out, a + "/sw/missing");
  }

  // The cwd itself moves into the vault (a rename, no chdir: the kept descriptor follows it). The
  // path read at this stop says where it is; a symlink reached through ".." is still followed.
  const std::string moved = vault + "/moved";
  ASSERT_EQ(rename(a.c_str(), moved.c_str()), 0);
  r.Invalidate();
  std::string lexical;
  r.Resolve(tid, AT_FDCWD, "missing", false, &lexical);
  EXPECT_EQ(lexical, moved + "/missing");
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "missing", true, &out));
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "../../b/f", true, &out));
  EXPECT_EQ(out, dir_ + "/secret");

  ASSERT_EQ(rename(moved.c_str(), a.c_str()), 0);
  ASSERT_EQ(chdir(cwd), 0);
  unlink((a + "/sw.link").c_str());
  rmdir((a + "/sw").c_str());
  rmdir(vault.c_str());
}

void* WaitForRelease(void* p) {
  auto* a = static_cast<ThreadArgs*>(p);
  pthread_mutex_lock(&a->mu);
  a->stage = static_cast<int>(syscall(SYS_gettid));
  pthread_cond_broadcast(&a->cv);
  while (a->stage != 0) pthread_cond_wait(&a->cv, &a->mu);
  pthread_mutex_unlock(&a->mu);
  return nullptr;
}

// A child gets its parent's kept descriptors: its first resolution opens nothing.
TEST_F(ContextCacheTest, ResolverHandsItsContextsToAChild) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  ThreadArgs args;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, WaitForRelease, &args), 0);
  pthread_mutex_lock(&args.mu);
  while (args.stage == 0) pthread_cond_wait(&args.cv, &args.mu);
  const pid_t child = args.stage;
  pthread_mutex_unlock(&args.mu);
  PathResolver r;
  r.EnableContextCache(true);
  std::string out;
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, dir_ + "/b/f", true, &out));
  EXPECT_EQ(out, dir_ + "/secret");
  EXPECT_EQ(r.base_opens(), 1u);
  r.InheritContexts(tid, child);
  r.ForgetContext(tid);  // the child's copy outlives the parent's
  EXPECT_TRUE(r.KernelPath(child, AT_FDCWD, dir_ + "/b/f", true, &out));
  EXPECT_EQ(out, dir_ + "/secret");
  EXPECT_EQ(r.base_opens(), 1u);
  EXPECT_EQ(r.cached_contexts(), 1u);
  // Nothing is handed on while a change is in flight.
  r.SetContextChangeInFlight(true);
  r.InheritContexts(child, tid);
  EXPECT_EQ(r.cached_contexts(), 0u);
  pthread_mutex_lock(&args.mu);
  args.stage = 0;
  pthread_cond_broadcast(&args.cv);
  pthread_mutex_unlock(&args.mu);
  pthread_join(t, nullptr);
}

// Without a filter that traps cwd changes the tracer keeps no context (each resolution opens its
// base), and still sees the change.
TEST_F(ContextCacheTest, WithoutTrappedCwdChangesNothingIsCached) {
  KeepingDecider decider;
  Result<TraceOutcome> out = Run("chdir", &decider, /*trap=*/false);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->exit_code, 0);
  std::vector<const Event*> opens = OpensOfF(decider);
  ASSERT_EQ(opens.size(), 2u);
  EXPECT_EQ(opens[1]->resolved, dir_ + "/secret");
  EXPECT_GT(out->path_base_opens, decider.requests.size() / 2);
}

// The resolver alone: what it keeps, and when it lets go.
TEST_F(ContextCacheTest, ResolverKeepsContextsUntilTold) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  PathResolver r;
  std::string out;
  ASSERT_EQ(chdir((dir_ + "/a").c_str()), 0);

  // Off (the default): every resolution opens its base.
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_EQ(r.base_opens(), 2u);
  EXPECT_EQ(r.cached_contexts(), 0u);

  // On: a plain file reached without a symlink from a kept cwd is its lexical path (false: nothing
  // to add; SymlinkFreeWalksTakeOneLookupAndSeeEverySwap).
  r.EnableContextCache(true);
  out = "untouched";
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_EQ(out, "untouched");
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, dir_ + "/b/f", true, &out));  // the root, once
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, dir_ + "/b/f", true, &out));
  EXPECT_EQ(out, dir_ + "/secret");
  EXPECT_EQ(r.base_opens(), 4u);
  EXPECT_EQ(r.cached_contexts(), 1u);

  // A dirfd is the fd table's, which changes without a stop: never kept.
  int fb = open((dir_ + "/b").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fb, 0);
  EXPECT_TRUE(r.KernelPath(tid, fb, "./f", true, &out));
  EXPECT_TRUE(r.KernelPath(tid, fb, "./f", true, &out));
  EXPECT_EQ(r.base_opens(), 6u);
  close(fb);

  // The cwd moves: the tracer forgets at the chdir's stops; until then the kept descriptor is what
  // the cache answers (why chdir must be trapped).
  // Here the walk from the stale descriptor finds a's plain file and calls b's symlink exact.
  ASSERT_EQ(chdir((dir_ + "/b").c_str()), 0);
  EXPECT_FALSE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  r.ForgetContexts();
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_EQ(out, dir_ + "/secret");

  // While a change is in flight nothing is kept or used.
  r.SetContextChangeInFlight(true);
  EXPECT_EQ(r.cached_contexts(), 0u);
  uint64_t before = r.base_opens();
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_EQ(r.base_opens(), before + 2);
  EXPECT_EQ(r.cached_contexts(), 0u);
  r.SetContextChangeInFlight(false);
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_EQ(r.cached_contexts(), 1u);
  r.ForgetContext(tid);
  EXPECT_EQ(r.cached_contexts(), 0u);
  ASSERT_EQ(chdir(cwd), 0);
}

}  // namespace
}  // namespace agenttrace
