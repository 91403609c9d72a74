// The kernel part of a policy: globs cut to their literal prefixes, ${vars} expanded, rights per class,
// carve-outs and default-allow policies reported as the tracer's, and the invariant that makes the
// backstop safe to turn on: the plan never refuses what the engine allows.
#include "replayer/landlock_plan.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

namespace agenttrace {
namespace {

using testing::MustParse;
using testing::TestVars;
namespace sb = sandbox;

GlobPrefix Prefix(const std::string& glob) {
  auto p = LiteralGlobPrefix(glob, TestVars());
  EXPECT_TRUE(p.ok()) << glob << ": " << p.status().ToString();
  return p.ok() ? *p : GlobPrefix{};
}

TEST(LandlockPlanTest, GlobPrefixIsTheLiteralDirectory) {
  EXPECT_EQ(Prefix("/usr/lib/**").path, "/usr/lib");
  EXPECT_FALSE(Prefix("/usr/lib/**").exact);
  EXPECT_EQ(Prefix("${workspace}/src/*.c").path, "/home/u/proj/src");
  EXPECT_EQ(Prefix("${tmp}/cc*").path, "/tmp");  // the wildcard completes the last component
  EXPECT_EQ(Prefix("/usr/{lib,share}/x").path, "/usr");
  EXPECT_EQ(Prefix("/a/**/b").path, "/a");
  EXPECT_EQ(Prefix("/usr/bin/gcc?").path, "/usr/bin");
  EXPECT_EQ(Prefix("/srv/[ab]/x").path, "/srv");
  GlobPrefix key = Prefix("~/.ssh/id_rsa");
  EXPECT_EQ(key.path, "/home/u/.ssh/id_rsa");
  EXPECT_TRUE(key.exact);
  EXPECT_EQ(Prefix("${workspace}").path, "/home/u/proj");
  EXPECT_EQ(Prefix("/odd\\*name/x").path, "/odd*name/x");  // an escaped wildcard is literal
  EXPECT_EQ(Prefix("/a/../b/./c/**").path, "/b/c");
  EXPECT_EQ(Prefix("**/id_rsa*").path, "/");
  EXPECT_TRUE(Prefix("relative/*.txt").relative);
}

TEST(LandlockPlanTest, PerProcessProcNamesWidenToProc) {
  EXPECT_EQ(Prefix("/proc/self/maps").path, "/proc");
  EXPECT_FALSE(Prefix("/proc/self/maps").exact);
  EXPECT_EQ(Prefix("/proc/thread-self/**").path, "/proc");
  EXPECT_EQ(Prefix("/proc/1234/status").path, "/proc");
  EXPECT_EQ(Prefix("/proc/*/maps").path, "/proc");
  EXPECT_EQ(Prefix("/proc/sys/kernel/**").path, "/proc/sys/kernel");
}

TEST(LandlockPlanTest, UnknownVariableIsAnError) {
  EXPECT_FALSE(LiteralGlobPrefix("${nope}/x", TestVars()).ok());
  EXPECT_FALSE(LiteralGlobPrefix("${workspace/x", TestVars()).ok());
}

uint64_t AccessAt(const SandboxPlan& plan, const std::string& path) {
  for (const SandboxPathRule& r : plan.paths) {
    if (r.path == path) return r.access;
  }
  return 0;
}

const RuleEnforcement& RuleOf(const LandlockPlan& lp, const Policy& p, const std::string& id) {
  for (const RuleEnforcement& e : lp.rules) {
    if (p.rules[e.rule].id == id) return e;
  }
  static RuleEnforcement none;
  ADD_FAILURE() << "no rule " << id;
  return none;
}

LandlockPlan Plan(const Policy& p) {
  auto lp = PlanLandlock(p, TestVars());
  EXPECT_TRUE(lp.ok()) << lp.status().ToString();
  return lp.ok() ? std::move(*lp) : LandlockPlan{};
}

constexpr char kWorkspacePolicy[] = R"(
version: 1
default: deny
rules:
  - {id: read-system, decision: allow, class: [file.read], paths: ["/usr/**", "/etc/ld.so.cache"]}
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/**"]}
  - {id: cc-temp, decision: allow, class: [file.write, file.delete], paths: ["${tmp}/cc*"]}
  - {id: run, decision: allow, class: exec, paths: ["/usr/bin/**"]}
  - {id: no-keys, decision: deny, class: file.read, paths: ["~/.ssh/**"]}
  - {id: no-env, decision: deny, class: file.read, paths: ["${workspace}/.env"]}
  - {id: no-hosts, decision: deny, class: net.connect}
  - {id: budget, decision: deny, class: exec, budget: {max: 3}}
  - {id: mcp, decision: allow, class: tool.call, tools: ["read_file"]}
)";

TEST(LandlockPlanTest, RightsPerClassBeneathThePrefixes) {
  Policy p = MustParse(kWorkspacePolicy);
  LandlockPlan lp = Plan(p);
  EXPECT_TRUE(lp.no_kernel_part.empty());
  EXPECT_EQ(lp.plan.handled_fs, sb::kAllRights);
  // Reading is enough to run a file (scripts, the loader), so readable means executable.
  EXPECT_EQ(AccessAt(lp.plan, "/usr"), sb::kReadFile | sb::kReadDir | sb::kExecute);
  EXPECT_EQ(AccessAt(lp.plan, "/etc/ld.so.cache"), sb::kReadFile | sb::kReadDir | sb::kExecute);
  // /usr/bin is beneath /usr with every right it needs: merged away.
  EXPECT_EQ(AccessAt(lp.plan, "/usr/bin"), 0u);
  uint64_t ws = AccessAt(lp.plan, "/home/u/proj");
  EXPECT_EQ(ws & (sb::kWriteFile | sb::kTruncate | sb::kMakeReg | sb::kMakeDir | sb::kRemoveFile | sb::kRefer),
            sb::kWriteFile | sb::kTruncate | sb::kMakeReg | sb::kMakeDir | sb::kRemoveFile | sb::kRefer);
  uint64_t tmp = AccessAt(lp.plan, "/tmp");
  EXPECT_NE(tmp & sb::kMakeReg, 0u);
  EXPECT_NE(tmp & sb::kRemoveFile, 0u);
  EXPECT_EQ(tmp & sb::kReadFile, 0u);  // cc-temp does not read
  EXPECT_FALSE(AccessAt(lp.plan, "/home/u") != 0);
  // No allow for TCP at all: every TCP connect and bind is refused by the kernel, as by the policy.
  EXPECT_TRUE(lp.plan.restrict_connect);
  EXPECT_TRUE(lp.plan.connect_ports.empty());
  EXPECT_TRUE(lp.plan.restrict_bind);
}

TEST(LandlockPlanTest, ExactPathGrantsMakeAndRemoveOnItsParent) {
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: notes, decision: allow, class: file.write, paths: ["${workspace}/notes.txt"]}
  - {id: log, decision: allow, class: file.delete, paths: ["${workspace}/old.log"]}
)");
  LandlockPlan lp = Plan(p);
  EXPECT_EQ(AccessAt(lp.plan, "/home/u/proj/notes.txt") & (sb::kWriteFile | sb::kMakeReg),
            sb::kWriteFile);  // make rights are checked on the directory that gets the entry
  uint64_t parent = AccessAt(lp.plan, "/home/u/proj");
  EXPECT_NE(parent & sb::kMakeReg, 0u);
  EXPECT_NE(parent & sb::kRemoveFile, 0u);
  EXPECT_EQ(parent & sb::kWriteFile, 0u);
  EXPECT_TRUE(lp.widenings.empty());  // neither file can be both removed and made again
}

// Writing a file in place of another (`sed -i`, an editor's save: a new file renamed over the old)
// gives it a new inode, which the rule bound to the old one does not cover.
TEST(LandlockPlanTest, AFileThePolicyLetsTheAgentReplaceGetsItsRightsFromItsDirectory) {
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: notes, decision: allow, class: [file.write, file.delete], paths: ["${workspace}/notes.txt"]}
)");
  LandlockPlan lp = Plan(p);
  uint64_t parent = AccessAt(lp.plan, "/home/u/proj");
  EXPECT_NE(parent & sb::kWriteFile, 0u);
  EXPECT_NE(parent & sb::kMakeReg, 0u);
  EXPECT_EQ(AccessAt(lp.plan, "/home/u/proj/notes.txt"), 0u);  // covered by its directory
  ASSERT_EQ(lp.widenings.size(), 1u);
  const LandlockWidening& w = lp.widenings[0];
  EXPECT_EQ(w.path, "/home/u/proj/notes.txt");
  EXPECT_EQ(w.replaced, "/home/u/proj/notes.txt");
  EXPECT_EQ(w.to, "/home/u/proj");
  EXPECT_EQ(w.access, sb::kWriteFile | sb::kTruncate);
  EXPECT_EQ(w.rules, std::vector<size_t>{0});
  EXPECT_FALSE(w.capped);
}

TEST(LandlockPlanTest, DenyOutsideAllowedTreesIsKernelCarveOutIsTracer) {
  Policy p = MustParse(kWorkspacePolicy);
  LandlockPlan lp = Plan(p);
  ASSERT_EQ(lp.rules.size(), p.rules.size());
  EXPECT_EQ(RuleOf(lp, p, "no-keys").where, Enforcement::kKernel);
  const RuleEnforcement& env = RuleOf(lp, p, "no-env");
  EXPECT_EQ(env.where, Enforcement::kTracer);
  EXPECT_NE(env.why.find("carve-out"), std::string::npos) << env.why;
  EXPECT_NE(env.why.find("/home/u/proj"), std::string::npos) << env.why;
  EXPECT_EQ(RuleOf(lp, p, "ws").where, Enforcement::kKernelBounds);
  EXPECT_EQ(RuleOf(lp, p, "run").where, Enforcement::kKernelBounds);
  EXPECT_EQ(RuleOf(lp, p, "no-hosts").where, Enforcement::kTracer);  // hosts, UDP: not Landlock's
  EXPECT_EQ(RuleOf(lp, p, "budget").where, Enforcement::kTracer);
  EXPECT_EQ(RuleOf(lp, p, "mcp").where, Enforcement::kTracer);
}

TEST(LandlockPlanTest, DefaultAllowHasNoKernelPart) {
  for (const char* def : {"allow", "ask"}) {
    Policy p = MustParse(std::string("version: 1\ndefault: ") + def +
                         "\nrules:\n  - {id: no-keys, decision: deny, class: file.read, paths: [\"~/.ssh/**\"]}\n");
    LandlockPlan lp = Plan(p);
    EXPECT_TRUE(lp.plan.empty()) << def;
    EXPECT_NE(lp.no_kernel_part.find(def), std::string::npos) << lp.no_kernel_part;
    ASSERT_EQ(lp.rules.size(), 1u);
    EXPECT_EQ(lp.rules[0].where, Enforcement::kTracer);
  }
}

TEST(LandlockPlanTest, AllowWithoutPathLeavesTheRightUnrestricted) {
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: read-all, decision: allow, class: file.read}
  - {id: ws, decision: allow, class: file.write, paths: ["${workspace}/**"]}
  - {id: no-keys, decision: deny, class: file.read, paths: ["~/.ssh/**"]}
)");
  LandlockPlan lp = Plan(p);
  EXPECT_EQ(lp.plan.handled_fs & (sb::kReadFile | sb::kReadDir | sb::kExecute), 0u);
  EXPECT_NE(lp.plan.handled_fs & sb::kWriteFile, 0u);
  EXPECT_EQ(RuleOf(lp, p, "read-all").where, Enforcement::kTracer);
  EXPECT_EQ(RuleOf(lp, p, "no-keys").where, Enforcement::kTracer);
  EXPECT_NE(RuleOf(lp, p, "no-keys").why.find("does not restrict"), std::string::npos);
  ASSERT_FALSE(lp.notes.empty());
}

TEST(LandlockPlanTest, ConditionsOfOtherClassesGrantNothingToFiles) {
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: tools, decision: allow, tools: ["read_file"]}
  - {id: hosts, decision: allow, hosts: ["10.0.0.1:443"]}
  - {id: git, decision: allow, class: exec, paths: ["/usr/bin/git"], argv: ["git status*"]}
  - {id: misses, decision: allow, class: exec, failed: true, paths: ["/usr/local/bin/*"]}
)");
  LandlockPlan lp = Plan(p);
  // Only git's path was granted; argv is the tracer's refinement inside it.
  ASSERT_EQ(lp.plan.paths.size(), 1u);
  EXPECT_EQ(lp.plan.paths[0].path, "/usr/bin/git");
  EXPECT_EQ(lp.plan.handled_fs, sb::kAllRights);
  EXPECT_EQ(RuleOf(lp, p, "git").where, Enforcement::kKernelBounds);
  EXPECT_EQ(RuleOf(lp, p, "misses").where, Enforcement::kTracer);
  EXPECT_NE(RuleOf(lp, p, "misses").why.find("failed"), std::string::npos);
  EXPECT_TRUE(lp.plan.restrict_connect);
  EXPECT_EQ(lp.plan.connect_ports, std::vector<uint16_t>{443});
}

TEST(LandlockPlanTest, TcpPortsFromHostsAndPorts) {
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: internal, decision: allow, class: net.connect, hosts: ["10.0.0.0/8:443", "[::1]:8000-8002"]}
  - {id: dns, decision: allow, class: net.connect, ports: ["53"]}
  - {id: serve, decision: ask, class: net.listen, ports: ["8080"]}
  - {id: sock, decision: allow, class: net.listen, paths: ["${tmp}/app.sock"]}
)");
  LandlockPlan lp = Plan(p);
  EXPECT_TRUE(lp.plan.restrict_connect);
  EXPECT_EQ(lp.plan.connect_ports, (std::vector<uint16_t>{53, 443, 8000, 8001, 8002}));
  EXPECT_TRUE(lp.plan.restrict_bind);
  EXPECT_EQ(lp.plan.bind_ports, std::vector<uint16_t>{8080});
  EXPECT_EQ(AccessAt(lp.plan, "/tmp"), sb::kMakeSock);
  EXPECT_EQ(RuleOf(lp, p, "serve").where, Enforcement::kKernelBounds);

  Policy any = MustParse(R"(
version: 1
rules:
  - {id: local, decision: allow, class: net.connect, hosts: ["127.0.0.1"]}
  - {id: wide, decision: allow, class: net.listen, ports: ["1024-65535"]}
)");
  LandlockPlan la = Plan(any);
  EXPECT_FALSE(la.plan.restrict_connect);  // a host without a port: any port
  EXPECT_FALSE(la.plan.restrict_bind);     // beyond kMaxLandlockPorts
  EXPECT_EQ(la.notes.size(), 2u);
}

TEST(LandlockPlanTest, MissingHierarchiesWidenAndTheReportFollows) {
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: data, decision: allow, class: file.read, paths: ["/srv/data/**"]}
  - {id: keys, decision: deny, class: file.read, paths: ["/srv/keys/**"]}
)");
  // Without a look at the file system the deny lies outside the only allowed tree.
  EXPECT_EQ(RuleOf(Plan(p), p, "keys").where, Enforcement::kKernel);
  // Where /srv/data does not exist (yet), Landlock can only allow beneath /srv, which holds the keys.
  auto lp = PlanLandlock(p, TestVars(), [](const std::string& path) {
    return path.compare(0, 9, "/srv/data") == 0 ? std::string("/srv") : path;
  });
  ASSERT_TRUE(lp.ok()) << lp.status().ToString();
  EXPECT_NE(AccessAt(lp->plan, "/srv") & sb::kReadFile, 0u);
  EXPECT_EQ(AccessAt(lp->plan, "/srv/data"), 0u);
  EXPECT_EQ(RuleOf(*lp, p, "keys").where, Enforcement::kTracer);
  ASSERT_EQ(lp->notes.size(), 1u);
  EXPECT_EQ(lp->notes[0], "/srv/data does not exist: allowed beneath /srv instead");
}

// Globs sharing a prefix ask the file system once per distinct path (a 200-rule policy stat'ed the same
// few directories hundreds of times at every `run`), and the plan is the one asking every time gives.
TEST(LandlockPlanTest, EachDistinctPrefixIsLookedUpOnce) {
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: a, decision: allow, class: file.read, paths: ["/srv/data/**", "/srv/data/x/**"]}
  - {id: b, decision: allow, class: file.write, paths: ["/srv/data/**"]}
  - {id: c, decision: allow, class: file.read, paths: ["/srv/data/**", "/opt/tools/**"]}
)");
  std::map<std::string, int> asked;
  auto lp = PlanLandlock(p, TestVars(), [&asked](const std::string& path) {
    ++asked[path];
    return path.compare(0, 9, "/srv/data") == 0 ? std::string("/srv") : path;
  });
  ASSERT_TRUE(lp.ok()) << lp.status().ToString();
  std::map<std::string, int> once{{"/srv/data", 1}, {"/srv/data/x", 1}, {"/opt/tools", 1}};
  EXPECT_EQ(asked, once);
  EXPECT_NE(AccessAt(lp->plan, "/srv") & sb::kReadFile, 0u);
  EXPECT_NE(AccessAt(lp->plan, "/srv") & sb::kWriteFile, 0u);
  EXPECT_NE(AccessAt(lp->plan, "/opt/tools") & sb::kReadFile, 0u);
}

bool KernelAllows(const SandboxPlan& plan, const std::string& path, uint64_t right);

// --- hierarchies the agent may replace (issue #12) ---

const LandlockWidening* WideningOf(const LandlockPlan& lp, const std::string& path) {
  for (const LandlockWidening& w : lp.widenings) {
    if (w.path == path) return &w;
  }
  return nullptr;
}

// The shape `policy suggest` gives a task that runs `rm -rf ws && mkdir ws && cd ws && git init`.
constexpr char kRecreatePolicy[] = R"(
version: 1
default: deny
rules:
  - {id: system, decision: allow, class: [file.read, exec], paths: ["/usr/**"]}
  - {id: ws-files, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/ws", "${workspace}/ws/**"]}
  - {id: git-objects, decision: allow, class: [file.read, file.write], paths: ["${workspace}/ws/.git/objects/44/**"]}
  - {id: no-secret, decision: deny, class: file.read, paths: ["${workspace}/secret.txt"]}
  - {id: no-keys, decision: deny, class: file.read, paths: ["~/.ssh/**"]}
)";

TEST(LandlockPlanTest, ARemovableDirectoryGivesItsRightsToTheAncestorThatStays) {
  Policy p = MustParse(kRecreatePolicy);
  // At start ws exists, its .git does not.
  auto lp = PlanLandlock(p, TestVars(), [](const std::string& path) {
    return path.compare(0, 18, "/home/u/proj/ws/.g") == 0 ? std::string("/home/u/proj/ws") : path;
  });
  ASSERT_TRUE(lp.ok()) << lp.status().ToString();
  uint64_t ws_rights = sb::kReadFile | sb::kReadDir | sb::kWriteFile | sb::kTruncate | sb::kMakeDir | sb::kMakeReg |
                       sb::kRemoveDir | sb::kRemoveFile | sb::kRefer;
  EXPECT_EQ(AccessAt(lp->plan, "/home/u/proj") & ws_rights, ws_rights);
  EXPECT_EQ(AccessAt(lp->plan, "/home/u/proj/ws"), 0u);  // covered by the workspace now
  EXPECT_EQ(AccessAt(lp->plan, "/home/u"), 0u);
  ASSERT_EQ(lp->widenings.size(), 1u);  // the missing .git/objects/44 was widened to ws first
  const LandlockWidening* w = WideningOf(*lp, "/home/u/proj/ws");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->replaced, "/home/u/proj/ws");
  EXPECT_EQ(w->to, "/home/u/proj");
  EXPECT_FALSE(w->capped);
  EXPECT_EQ(w->rules, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(w->access & ws_rights, ws_rights & ~(sb::kMakeDir | sb::kMakeReg | sb::kRemoveDir | sb::kRemoveFile |
                                                 sb::kRefer));  // the workspace had those for ws itself
  EXPECT_NE(RuleOf(*lp, p, "ws-files").why.find("widened to /home/u/proj (the agent may replace /home/u/proj/ws)"),
            std::string::npos)
      << RuleOf(*lp, p, "ws-files").why;
  // The deny next to ws is now inside a hierarchy the kernel allows: the tracer's alone, and it still
  // denies there. Outside the start directory the kernel still refuses.
  EXPECT_EQ(RuleOf(*lp, p, "no-secret").where, Enforcement::kTracer);
  EXPECT_TRUE(KernelAllows(lp->plan, "/home/u/proj/secret.txt", sb::kReadFile));
  auto compiled = CompiledPolicy::Compile(p, TestVars());
  ASSERT_TRUE(compiled.ok());
  SessionEvaluator ev(*compiled);
  EXPECT_EQ(ev.Evaluate(testing::Open("/home/u/proj/secret.txt")).decision, Decision::kDeny);
  EXPECT_EQ(ev.Evaluate(testing::Open("/home/u/proj/other.txt")).decision, Decision::kDeny);  // the default
  EXPECT_EQ(ev.Evaluate(testing::Open("/home/u/proj/ws/.git/HEAD")).decision, Decision::kAllow);
  EXPECT_EQ(RuleOf(*lp, p, "no-keys").where, Enforcement::kKernel);
  EXPECT_FALSE(KernelAllows(lp->plan, "/home/u/.ssh/id_rsa", sb::kReadFile));
}

TEST(LandlockPlanTest, ADirectoryThePolicyDoesNotLetTheAgentReplaceKeepsItsRule) {
  // `ws/**` does not match ws itself: the agent may empty ws, not remove it.
  Policy contents = MustParse(R"(
version: 1
rules:
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/ws/**"]}
)");
  LandlockPlan a = Plan(contents);
  EXPECT_TRUE(a.widenings.empty());
  EXPECT_NE(AccessAt(a.plan, "/home/u/proj/ws") & sb::kReadFile, 0u);
  EXPECT_EQ(AccessAt(a.plan, "/home/u/proj") & sb::kReadFile, 0u);
  // A deny of removing ws itself wins over the allow: removable but never made again is not replaced.
  Policy denied = MustParse(R"(
version: 1
rules:
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/ws", "${workspace}/ws/**"]}
  - {id: keep-ws, decision: deny, class: file.delete, paths: ["${workspace}/ws"]}
)");
  LandlockPlan b = Plan(denied);
  EXPECT_TRUE(b.widenings.empty());
  EXPECT_EQ(AccessAt(b.plan, "/home/u/proj") & sb::kReadFile, 0u);
  // Removable but not made again: renaming it away keeps its inode, rules and all.
  Policy no_make = MustParse(R"(
version: 1
rules:
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/ws/**"]}
  - {id: drop-ws, decision: allow, class: file.delete, paths: ["${workspace}/ws"]}
)");
  EXPECT_TRUE(Plan(no_make).widenings.empty());
}

TEST(LandlockPlanTest, AReplaceableAncestorTakesTheRightsAboveIt) {
  // `mv a a.old && mkdir -p a/b` leaves a/b without the rule bound to the old a/b.
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: b, decision: allow, class: file.read, paths: ["${workspace}/a/b/**"]}
  - {id: a, decision: allow, class: [file.write, file.delete], paths: ["${workspace}/a"]}
)");
  LandlockPlan lp = Plan(p);
  const LandlockWidening* w = WideningOf(lp, "/home/u/proj/a/b");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->replaced, "/home/u/proj/a");
  EXPECT_EQ(w->to, "/home/u/proj");
  EXPECT_EQ(w->rules, std::vector<size_t>{0});
  EXPECT_NE(AccessAt(lp.plan, "/home/u/proj") & sb::kReadFile, 0u);
}

TEST(LandlockPlanTest, NoWideningAboveTheStartDirectory) {
  // The agent may remove and re-create its start directory. Its parent holds the user's keys: the
  // kernel keeps the rights on the start directory and refuses them inside a re-created one.
  Policy p = MustParse(R"(
version: 1
rules:
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}", "${workspace}/**"]}
  - {id: no-keys, decision: deny, class: file.read, paths: ["~/.ssh/**"]}
)");
  LandlockPlan lp = Plan(p);
  EXPECT_EQ(AccessAt(lp.plan, "/home/u") & (sb::kReadFile | sb::kWriteFile), 0u);
  EXPECT_NE(AccessAt(lp.plan, "/home/u/proj") & sb::kReadFile, 0u);
  const LandlockWidening* w = WideningOf(lp, "/home/u/proj");
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->capped);
  EXPECT_EQ(w->replaced, "/home/u/proj");
  EXPECT_EQ(w->to, "/home/u/proj");
  EXPECT_NE(w->access & sb::kReadFile, 0u);
  EXPECT_EQ(RuleOf(lp, p, "no-keys").where, Enforcement::kKernel);
  EXPECT_NE(RuleOf(lp, p, "ws").why.find("a re-created /home/u/proj gets none of its rights from the kernel"),
            std::string::npos)
      << RuleOf(lp, p, "ws").why;

  // Outside the start directory the widening stops below the first of its ancestors as well: here
  // below "/", at the replaceable /srv.
  Policy srv = MustParse(R"(
version: 1
rules:
  - {id: srv, decision: allow, class: [file.read, file.write, file.delete], paths: ["/srv", "/srv/**"]}
  - {id: app, decision: allow, class: [file.read, file.write, file.delete], paths: ["/opt/app", "/opt/app/**"]}
)");
  LandlockPlan ls = Plan(srv);
  const LandlockWidening* ws = WideningOf(ls, "/srv");
  ASSERT_NE(ws, nullptr);
  EXPECT_TRUE(ws->capped);
  EXPECT_EQ(ws->to, "/srv");
  EXPECT_EQ(AccessAt(ls.plan, "/") & sb::kReadFile, 0u);
  const LandlockWidening* wa = WideningOf(ls, "/opt/app");
  ASSERT_NE(wa, nullptr);
  EXPECT_FALSE(wa->capped);
  EXPECT_EQ(wa->to, "/opt");
}

// --- the invariant: the kernel never refuses what the engine allows ---

bool Beneath(const std::string& path, const std::string& dir) {
  return dir == "/" || path == dir ||
         (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// What Landlock would decide for `right` on `path` under `plan`, by path text (no symlinks). With
// `replaced`, after the agent removed that directory (or file) and made a new one under its name: the
// rules bound to it and to everything beneath it are gone.
bool KernelAllows(const SandboxPlan& plan, const std::string& path, uint64_t right, const std::string& replaced) {
  if ((plan.handled_fs & right) == 0) return true;
  for (const SandboxPathRule& r : plan.paths) {
    if (!replaced.empty() && Beneath(r.path, replaced)) continue;
    if ((r.access & right) && Beneath(path, r.path)) return true;
  }
  return false;
}
bool KernelAllows(const SandboxPlan& plan, const std::string& path, uint64_t right) {
  return KernelAllows(plan, path, right, "");
}

std::string ParentOf(const std::string& p) { return p.substr(0, std::max<size_t>(1, p.rfind('/'))); }

// The engine allows both removing `dir` and making it again (a first request of each).
bool EngineLetsReplace(const std::shared_ptr<const CompiledPolicy>& compiled, const std::string& dir) {
  for (EventKind k : {EventKind::kFileRmdir, EventKind::kFileMkdir}) {
    SessionEvaluator ev(compiled);
    const EventVerdict& v = ev.Evaluate(testing::Simple(k, dir));
    if (!v.evaluated || v.decision == Decision::kDeny) return false;
  }
  return true;
}

// For every path, and again after each replacement of one of its ancestors (or itself) the engine
// allows: whatever the engine allows there, the kernel allows. Replacements whose parent is a proper
// ancestor of the start directory are the documented exception (no widening above it).
void ExpectNeverStricter(const Policy& policy, const std::vector<std::string>& paths) {
  auto compiled = CompiledPolicy::Compile(policy, TestVars());
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  LandlockPlan lp = Plan(policy);
  const std::string start = TestVars().workspace;
  for (const std::string& path : paths) {
    std::vector<std::string> replaced = {""};
    for (std::string d = path; d != "/"; d = ParentOf(d)) {
      bool above_start = ParentOf(d) != start && Beneath(start, ParentOf(d));  // "/" too
      if (!above_start && EngineLetsReplace(*compiled, d)) replaced.push_back(d);
    }
    struct Case {
      Event ev;
      std::vector<std::pair<std::string, uint64_t>> needs;  // (where, right) the kernel checks
    };
    std::vector<Case> cases = {
        {testing::Open(path, O_RDONLY), {{path, sb::kReadFile}}},
        {testing::Open(path, O_WRONLY), {{path, sb::kWriteFile}}},
        {testing::Open(path, O_WRONLY | O_CREAT | O_TRUNC), {{path, sb::kWriteFile}, {ParentOf(path), sb::kMakeReg}}},
        {testing::Simple(EventKind::kFileMkdir, path), {{ParentOf(path), sb::kMakeDir}}},
        {testing::Simple(EventKind::kFileDelete, path), {{ParentOf(path), sb::kRemoveFile}}},
        {testing::Exec(path, {"x"}), {{path, sb::kExecute}, {path, sb::kReadFile}}},
    };
    for (Case& c : cases) {
      SessionEvaluator ev(*compiled);
      const EventVerdict& v = ev.Evaluate(c.ev);
      if (!v.evaluated || v.decision == Decision::kDeny) continue;
      for (const std::string& gone : replaced) {
        for (const auto& [where, right] : c.needs) {
          EXPECT_TRUE(KernelAllows(lp.plan, where, right, gone))
              << "the engine says " << DecisionName(v.decision) << " to " << DescribeEvent(c.ev) << " but the kernel "
              << "would refuse " << sb::AccessNames(right) << " on " << where
              << (gone.empty() ? std::string() : " once the agent has replaced " + gone);
        }
      }
    }
  }
}

const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> kPaths = {"/usr/lib/x86_64-linux-gnu/libc.so.6",
                                                  "/usr/bin/gcc",
                                                  "/usr/bin/gcc-12",
                                                  "/usr/local/bin/gcc",
                                                  "/bin/sh",
                                                  "/etc/ld.so.cache",
                                                  "/etc/passwd",
                                                  "/etc/shadow",
                                                  "/home/u/proj",
                                                  "/home/u/proj/src/a.c",
                                                  "/home/u/proj/.env",
                                                  "/home/u/proj/notes.txt",
                                                  "/home/u/proj/ws",
                                                  "/home/u/proj/ws/.git/HEAD",
                                                  "/home/u/proj/ws/.git/objects/44/abcd",
                                                  "/home/u/proj/a/b/c",
                                                  "/home/u/proj/secret.txt",
                                                  "/srv/app/x",
                                                  "/opt/app/bin/tool",
                                                  "/home/u/proj/build/out",
                                                  "/home/u/proj/run_tests.sh",
                                                  "/home/u/.ssh/id_rsa",
                                                  "/home/u/.bashrc",
                                                  "/tmp/ccAbc123.s",
                                                  "/tmp/other",
                                                  "/tmp/agenttrace-1/events.sock",
                                                  "/proc/self/maps",
                                                  "/proc/42/maps",
                                                  "/dev/null",
                                                  "/dev/urandom",
                                                  "/opt/tool/bin/tool",
                                                  "/home/u/sample-agent",
                                                  "/usr/include/stdio.h",
                                                  "/lib/x86_64-linux-gnu/libm.so.6"};
  return kPaths;
}

TEST(LandlockPlanTest, NeverStricterThanTheEngine) {
  ExpectNeverStricter(MustParse(kWorkspacePolicy), Corpus());
  ExpectNeverStricter(MustParse(R"(
version: 1
rules:
  - {id: notes, decision: ask, class: [file.write, file.delete], paths: ["${workspace}/notes.txt", "/opt/*/bin/**"]}
  - {id: read, decision: allow, class: [file.read, exec], paths: ["/usr/**", "/lib/**", "/proc/self/**"]}
  - {id: b, decision: allow, class: file.delete, budget: {max: 2}, paths: ["${tmp}/**"]}
  - {id: s, decision: allow, sequence: {steps: [{class: file.read}, {class: file.write, paths: ["/home/u/.bashrc"]}]}}
)"),
                      Corpus());
}

TEST(LandlockPlanTest, NeverStricterThanTheEngineAfterTheAgentReplacesADirectory) {
  ExpectNeverStricter(MustParse(kRecreatePolicy), Corpus());
  ExpectNeverStricter(MustParse(R"(
version: 1
rules:
  - {id: notes, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/notes.txt"]}
  - {id: b, decision: allow, class: [file.read, exec], paths: ["${workspace}/a/b/**"]}
  - {id: a, decision: ask, class: [file.write, file.delete], paths: ["${workspace}/a", "${workspace}/a/b"]}
  - {id: opt, decision: allow, class: [file.read, file.write, file.delete, exec], paths: ["/opt/app", "/opt/app/**"]}
  - {id: tmp, decision: allow, class: [file.read, file.write, file.delete], paths: ["${tmp}/**"]}
)"),
                      Corpus());
}

TEST(LandlockPlanTest, SamplePolicyNeverStricterAndReported) {
  std::ifstream in(std::string(AGENTTRACE_DOCS_DIR) + "/../samples/policies/production-candidate.yaml");
  ASSERT_TRUE(in) << "sample policy not found";
  std::stringstream ss;
  ss << in.rdbuf();
  Policy p = MustParse(ss.str());
  ExpectNeverStricter(p, Corpus());
  LandlockPlan lp = Plan(p);
  // "**/sample-agent" can be anywhere: the kernel cannot bound exec, nor reading files (execve needs
  // both rights); listing directories, writes, creations and removals it can.
  EXPECT_EQ(lp.plan.handled_fs & (sb::kExecute | sb::kReadFile), 0u);
  EXPECT_NE(lp.plan.handled_fs & sb::kReadDir, 0u);
  EXPECT_NE(lp.plan.handled_fs & sb::kWriteFile, 0u);
  EXPECT_NE(lp.plan.handled_fs & sb::kRemoveFile, 0u);
  EXPECT_EQ(RuleOf(lp, p, "read-system").where, Enforcement::kKernelBounds);
  EXPECT_EQ(RuleOf(lp, p, "exec-agent-and-helpers").where, Enforcement::kTracer);
  EXPECT_EQ(RuleOf(lp, p, "no-escape").where, Enforcement::kTracer);
}

}  // namespace
}  // namespace agenttrace
