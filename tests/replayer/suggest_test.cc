#include "replayer/suggest.h"

#include <gtest/gtest.h>

#include "replayer/policy.h"
#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Connect;
using testing::Exec;
using testing::Open;
using testing::Simple;
using testing::ToolCall;

SessionInput Session(int n, const std::string& cwd, std::vector<Event> events) {
  SessionInfo info;
  char id[64];
  std::snprintf(id, sizeof id, "0190b5c4-8e1a-7abc-9def-%012d", n);
  info.id = *SessionId::Parse(id);
  info.label = "build";
  info.cwd = cwd;
  info.home = "/home/u";
  info.tmp = "/tmp";
  info.state = SessionState::kComplete;
  for (size_t i = 0; i < events.size(); ++i) events[i].seq = i;
  return MemoryInput(info, std::make_shared<const std::vector<Event>>(std::move(events)), "mem");
}

std::vector<SessionInput> Sessions() {
  std::vector<SessionInput> v;
  Event escape = Simple(EventKind::kEscape, "");
  escape.text = "io_uring_setup";
  Event unix_sock = Connect("", 0, AF_UNIX);
  unix_sock.path = "/run/user/1000/bus";
  Event listen = Connect("0.0.0.0", 8080);
  listen.kind = EventKind::kNetListen;
  v.push_back(Session(1, "/home/u/proj",
                      {Exec("/usr/bin/make", {"make"}), Open("/home/u/proj/Makefile"),
                       Open("/home/u/proj/out/a.o", O_WRONLY | O_CREAT), Open("/tmp/cc8sY2ab.s", O_WRONLY | O_CREAT),
                       Simple(EventKind::kFileDelete, "/tmp/cc8sY2ab.s"), Open("/home/u/.ssh/id_rsa", O_RDONLY, -13),
                       Open("/home/u/proj/link", O_RDONLY, 3, "/srv/data/file[1].txt"),
                       Exec("/usr/bin/git", {"git", "fetch"}, {"GH_TOKEN"}), Connect("140.82.112.3", 443),
                       Connect("10.0.0.1", 41234), ToolCall("write_file", "{}", "fs"), escape, unix_sock, listen,
                       Simple(EventKind::kFileRename, "/home/u/proj/a", "/home/u/proj/b")}));
  // A second run in another checkout directory: the workspace-relative rules still cover it.
  v.push_back(Session(2, "/home/u/proj2",
                      {Exec("/usr/bin/make", {"make"}), Open("/home/u/proj2/Makefile"),
                       Open("/tmp/ccZZ91xy.s", O_WRONLY | O_CREAT)}));
  return v;
}

TEST(SuggestTest, OutputIsValidAndAllowsEverythingObserved) {
  auto yaml = SuggestPolicy(Sessions(), "build");
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto policy = ParsePolicy(*yaml, "suggested.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString() << "\n" << *yaml;
  EXPECT_EQ(policy->default_decision, Decision::kDeny);
  EXPECT_NE(yaml->find("\"${workspace}/Makefile\""), std::string::npos) << *yaml;
  EXPECT_NE(yaml->find("\"${tmp}/**\""), std::string::npos) << *yaml;
  EXPECT_NE(yaml->find("\"/srv/data/file\\\\[1\\\\].txt\""), std::string::npos) << *yaml;  // glob-escaped
  EXPECT_NE(yaml->find("\"10.0.0.1:32768-65535\""), std::string::npos) << *yaml;
  ReplayOptions opt;
  opt.threads = 2;
  opt.promotion = policy->promotion;
  auto report = RunReplay(*policy, Sessions(), opt);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  for (const SessionResult& s : report->sessions) {
    EXPECT_EQ(s.denies, 0u) << s.info.id.ToString() << ": " << (s.findings.empty() ? "" : s.findings[0].what);
  }
  EXPECT_EQ(report->sessions[0].asks, 1u);  // the escape attempt is `ask`, not silently allowed
  // Anything not observed is denied.
  std::vector<SessionInput> other;
  other.push_back(Session(3, "/home/u/proj", {Open("/home/u/proj/unseen"), Connect("1.1.1.1", 443)}));
  auto r2 = RunReplay(*policy, std::move(other), opt);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->sessions[0].denies, 2u);
}

// One run of a deterministic task whose tools pick random temporary names, pids and inode numbers:
// git's tmp_obj_XXXXXX (after a failed first try in a missing directory) in an object directory that
// depends on the commit's time, Python's /dev/shm semaphores, make reading /proc/PID/maps, bash
// reading a pipe through /proc/self/fd.
std::vector<Event> TaskRun(const std::string& ws, const std::string& random, const std::string& pid,
                           const std::string& python, const std::string& inode, const std::string& fanout = "0a") {
  std::string obj_dir = ws + "/.git/objects/" + fanout;
  std::string tmp_obj = obj_dir + "/tmp_obj_" + random;
  std::string sem = "/dev/shm/sem." + random;
  std::string sem_final = "/dev/shm/sem.mp-" + python;
  return {Exec("/usr/bin/git", {"git", "gc"}),
          Open(obj_dir + "/tmp_obj_" + python.substr(0, 6), O_RDWR | O_CREAT | O_EXCL, -ENOENT),
          Simple(EventKind::kFileMkdir, obj_dir),
          Open(tmp_obj, O_RDWR | O_CREAT | O_EXCL),
          Simple(EventKind::kFileLink, tmp_obj, obj_dir + "/1b2c3d"),
          Simple(EventKind::kFileDelete, tmp_obj),
          Open(sem, O_RDWR | O_CREAT | O_EXCL),
          Simple(EventKind::kFileLink, sem, sem_final),
          Simple(EventKind::kFileDelete, sem),
          Open(sem_final, O_RDWR),
          Simple(EventKind::kFileDelete, sem_final),
          Open("/proc/" + pid + "/maps"),
          Open("/proc/self/fd/0", O_RDONLY, 3, "pipe:[" + inode + "]"),
          Open(ws + "/out/result.txt", O_WRONLY | O_CREAT | O_TRUNC)};
}

// The policy suggested from k runs passes a (k+1)-th fresh run of the same task: no deny, and
// deleting the task's own temporary files is not irreversible.
TEST(SuggestTest, FreshRunOfTheSameTaskPasses) {
  std::vector<SessionInput> k;
  k.push_back(Session(1, "/home/u/proj", TaskRun("/home/u/proj", "8lKMUl", "9419", "awo_wt4v", "246751", "0a")));
  k.push_back(Session(2, "/home/u/proj", TaskRun("/home/u/proj", "c1Z8CT", "16452", "2lpu3j4u", "246799", "7f")));
  auto yaml = SuggestPolicy(k, "task");
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto policy = ParsePolicy(*yaml, "suggested.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString() << "\n" << *yaml;
  EXPECT_NE(yaml->find("\"/proc/*/maps\""), std::string::npos) << *yaml;
  EXPECT_NE(yaml->find("\"${workspace}/.git/objects/[0-9a-f][0-9a-f]/tmp_obj_*\""), std::string::npos) << *yaml;
  EXPECT_EQ(yaml->find("objects/0a"), std::string::npos) << *yaml;  // no literal fan-out directory
  EXPECT_NE(yaml->find("\"pipe:\\\\[*\\\\]\""), std::string::npos) << *yaml;
  EXPECT_EQ(yaml->find("8lKMUl"), std::string::npos) << *yaml;  // no literal random name
  ReplayOptions opt;
  opt.threads = 1;
  opt.promotion = policy->promotion;
  auto own = RunReplay(*policy, k, opt);
  ASSERT_TRUE(own.ok());
  for (const SessionResult& s : own->sessions) {
    EXPECT_EQ(s.denies, 0u);
    EXPECT_EQ(s.irreversible, 0u) << (s.findings.empty() ? "" : s.findings[0].what);
  }
  std::vector<SessionInput> fresh;
  fresh.push_back(Session(3, "/home/u/proj2", TaskRun("/home/u/proj2", "yw9nSd", "733", "h5mfl4e_", "9", "e3")));
  auto r = RunReplay(*policy, std::move(fresh), opt);
  ASSERT_TRUE(r.ok());
  const SessionResult& s = r->sessions[0];
  EXPECT_EQ(s.denies, 0u) << (s.findings.empty() ? "" : s.findings[0].what);
  EXPECT_EQ(s.irreversible, 0u) << (s.findings.empty() ? "" : s.findings[0].what);
  // What the task did not do stays denied, and deleting a file it did not create stays irreversible.
  std::vector<SessionInput> other;
  other.push_back(
      Session(4, "/home/u/proj", {Open("/proc/1/environ"), Simple(EventKind::kFileDelete, "/dev/shm/keep")}));
  auto r2 = RunReplay(*policy, std::move(other), opt);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->sessions[0].denies, 2u);
}

// npm rotates its logs in ~/.npm/_logs: a delete outside the workspace that the gate flags as
// irreversible. The suggestion says so, in the policy and to its caller, instead of handing over a
// policy that refuses the very sessions it came from without a word.
TEST(SuggestTest, DeletesOutsideTheWorkspaceAreNamedAsIrreversible) {
  std::vector<SessionInput> v;
  v.push_back(Session(1, "/home/u/proj",
                      {Simple(EventKind::kFileDelete, "/home/u/.npm/_logs/old-debug-0.log"),
                       Simple(EventKind::kFileDelete, "/home/u/proj/build.log"),
                       Simple(EventKind::kFileDelete, "/tmp/scratch.txt")}));
  std::vector<std::string> irreversible;
  auto yaml = SuggestPolicy(v, "npm", &irreversible);
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  ASSERT_TRUE(ParsePolicy(*yaml, "suggested.yaml").ok()) << *yaml;
  EXPECT_EQ(irreversible, (std::vector<std::string>{"${home}/.npm/_logs/old-debug-0.log"})) << *yaml;
  size_t note = yaml->find("# These sessions deleted files outside");
  ASSERT_NE(note, std::string::npos) << *yaml;
  EXPECT_LT(note, yaml->find("irreversible:\n")) << *yaml;
  EXPECT_NE(yaml->find("#   \"${home}/.npm/_logs/old-debug-0.log\""), std::string::npos) << *yaml;

  // Only workspace and ${tmp} deletes: nothing to say.
  v.clear();
  v.push_back(Session(2, "/home/u/proj", {Simple(EventKind::kFileDelete, "/home/u/proj/build.log")}));
  yaml = SuggestPolicy(v, "npm", &irreversible);
  ASSERT_TRUE(yaml.ok());
  EXPECT_TRUE(irreversible.empty());
  EXPECT_EQ(yaml->find("# These sessions deleted"), std::string::npos) << *yaml;
}

TEST(SuggestTest, EmptySessionsGiveAValidDenyAllPolicy) {
  std::vector<SessionInput> v;
  v.push_back(Session(1, "/w", {}));
  auto yaml = SuggestPolicy(v, "x");
  ASSERT_TRUE(yaml.ok());
  auto policy = ParsePolicy(*yaml, "s.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString() << "\n" << *yaml;
  EXPECT_TRUE(policy->rules.empty());
}

// A secret read is allowed by its exact path, whatever its name looks like: under ${tmp} (not all of
// ${tmp}/**), with a number or a time stamp in it, in a directory the session made with a random
// name. Generalised, each would let another secret be read under the suggested policy.
TEST(SuggestTest, SecretPathsAreNeverWidened) {
  const std::string home_tmp = "/home/u/tmpq8x7kz";  // the session's own directory, random name
  auto secrets = [&](const std::string& ws) {
    return std::vector<Event>{Open("/tmp/deploy.key"),
                              Open(ws + "/.env.20261130"),
                              Open("/home/u/.ssh/id_rsa_2024"),
                              Simple(EventKind::kFileMkdir, home_tmp),
                              Open(home_tmp + "/id_rsa", O_WRONLY | O_CREAT | O_EXCL),
                              Open(home_tmp + "/id_rsa"),
                              Simple(EventKind::kFileDelete, home_tmp + "/id_rsa"),
                              Simple(EventKind::kFileRmdir, home_tmp),
                              Open(ws + "/out/report.txt", O_WRONLY | O_CREAT)};
  };
  std::vector<SessionInput> k;
  k.push_back(Session(1, "/home/u/proj", secrets("/home/u/proj")));
  auto yaml = SuggestPolicy(k, "task");
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto policy = ParsePolicy(*yaml, "suggested.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString() << "\n" << *yaml;
  for (const char* literal : {"\"${tmp}/deploy.key\"", "\"${workspace}/.env.20261130\"", "\"${home}/.ssh/id_rsa_2024\"",
                              "\"${home}/tmpq8x7kz/id_rsa\""}) {
    EXPECT_NE(yaml->find(literal), std::string::npos) << literal << "\n" << *yaml;
  }
  ReplayOptions opt;
  opt.threads = 1;
  opt.promotion = policy->promotion;
  auto own = RunReplay(*policy, k, opt);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->sessions[0].denies, 0u) << (own->sessions[0].findings.empty() ? ""
                                                                               : own->sessions[0].findings[0].what);
  // Other secrets next to them stay denied, one deny each.
  std::vector<SessionInput> other;
  other.push_back(
      Session(2, "/home/u/proj",
              {Open("/tmp/prod.key"), Open("/home/u/proj/.env.production"), Open("/home/u/.ssh/id_rsa_2025"),
               Open("/home/u/.ssh/id_rsa"), Open("/home/u/tmpq8x7kz/server.key")}));
  auto r = RunReplay(*policy, std::move(other), opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sessions[0].denies, 5u);
  for (const Finding& f : r->sessions[0].findings) EXPECT_EQ(f.decision, Decision::kDeny) << f.what;
}

// More than 32 paths of one class in one directory are allowed as DIR/*: the list stays reviewable
// and `run` does not parse thousands of entries at start-up. Secrets are never collapsed.
TEST(SuggestTest, ManyFilesOfOneDirectoryBecomeOneGlobButSecretsStayExact) {
  std::vector<Event> events;
  for (int i = 0; i < 40; ++i) {
    events.push_back(Open("/home/u/proj/out/f" + std::to_string(i) + ".txt", O_WRONLY | O_CREAT));
    events.push_back(Open("/home/u/.ssh/k" + std::to_string(i)));
  }
  for (int i = 0; i < 3; ++i) events.push_back(Open("/home/u/proj/few/g" + std::to_string(i), O_WRONLY | O_CREAT));
  std::vector<SessionInput> k;
  k.push_back(Session(1, "/home/u/proj", events));
  auto yaml = SuggestPolicy(k, "task");
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto policy = ParsePolicy(*yaml, "suggested.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString() << "\n" << *yaml;
  EXPECT_NE(yaml->find("\"${workspace}/out/*\""), std::string::npos) << *yaml;
  EXPECT_EQ(yaml->find("\"${workspace}/out/f1.txt\""), std::string::npos) << *yaml;
  EXPECT_NE(yaml->find("\"${workspace}/few/g0\""), std::string::npos) << *yaml;  // 3: below the limit
  EXPECT_NE(yaml->find("\"${home}/.ssh/k39\""), std::string::npos) << *yaml;

  ReplayOptions opt;
  opt.threads = 1;
  opt.promotion = policy->promotion;
  auto own = RunReplay(*policy, k, opt);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->sessions[0].denies, 0u);
  // Another file of out/ is allowed; deeper ones, another file of few/ and another key are not.
  std::vector<SessionInput> other;
  other.push_back(Session(2, "/home/u/proj",
                          {Open("/home/u/proj/out/new.txt", O_WRONLY | O_CREAT),
                           Open("/home/u/proj/out/sub/deep.txt", O_WRONLY | O_CREAT),
                           Open("/home/u/proj/few/other", O_WRONLY | O_CREAT), Open("/home/u/.ssh/k40")}));
  auto r = RunReplay(*policy, std::move(other), opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sessions[0].denies, 3u);
}

// Issue #10: `**/*.pem` among the suggested secrets made every read of a public CA bundle a secret.read.
TEST(SuggestTest, PublicCertificatesAreNotSecretsRegression) {
  std::string yaml = "version: 1\ndefault: allow\nsecrets:\n";
  for (const std::string& g : DefaultSecretGlobs()) yaml += "  - \"" + g + "\"\n";
  yaml += "rules:\n  - {id: no-secrets, decision: deny, class: secret.read}\n";
  testing::Harness h(yaml);
  EXPECT_EQ(h.Decide(Open("/etc/ssl/certs/ca-certificates.pem")), "allow:default");
  EXPECT_EQ(h.Decide(Open("/etc/ssl/certs/ISRG_Root_X1.pem")), "allow:default");
  EXPECT_EQ(h.Decide(Open("/home/u/proj/.venv/lib/python3.12/site-packages/certifi/cacert.pem")), "allow:default");
  EXPECT_EQ(h.Decide(Open("/etc/letsencrypt/live/example.com/privkey.pem")), "deny:no-secrets");
  EXPECT_EQ(h.Decide(Open("/home/u/proj/certs/server-key.pem")), "deny:no-secrets");
  EXPECT_EQ(h.Decide(Open("/etc/ssl/private/ssl-cert-snakeoil.key")), "deny:no-secrets");
  EXPECT_EQ(h.Decide(Open("/home/u/.ssh/id_ed25519")), "deny:no-secrets");
  auto suggested = SuggestPolicy(Sessions(), "build");
  ASSERT_TRUE(suggested.ok());
  EXPECT_EQ(suggested->find("\"**/*.pem\""), std::string::npos) << *suggested;
}

}  // namespace
}  // namespace agenttrace
