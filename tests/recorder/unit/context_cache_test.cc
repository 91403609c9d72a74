// The tracer's context cache under request-time enforcement (recorder/path_state.h): the root and cwd
// descriptors kept across stops must never outlive a change of the cwd. Each helper (this binary,
// re-executed under the tracer) opens the bare name "f" in directory a (a plain file), changes its
// cwd to b, where "f" is a symlink to ../secret, and opens "f" again; the request the decider sees for
// the second open must name the secret. A stale cwd descriptor would resolve it in a, and a policy
// that denies the secret would allow the read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int RunHelper(const std::string& name, const std::string& dir) {
  const std::string a = dir + "/a", b = dir + "/b";
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

  r.EnableContextCache(true);
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_EQ(out, dir_ + "/a/f");
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
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
  ASSERT_EQ(chdir((dir_ + "/b").c_str()), 0);
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, "./f", true, &out));
  EXPECT_EQ(out, dir_ + "/a/f");
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
