// What CompiledPolicy::Compile builds (replayer/engine.h): one RE2 per distinct pattern, shared by
// the matchers that use it; plain rules' path globs only in the per-class RE2::Set, which also answers
// explanations; the compiled policy handed from the Landlock plan to the decider through PolicyCache.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "replayer/engine.h"
#include "replayer/landlock_plan.h"
#include "replayer/live_decider.h"
#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Exec;
using testing::MustParse;
using testing::Open;
using testing::TestVars;

size_t RegexCount(const std::string& yaml) {
  Policy p = MustParse(yaml);
  auto cp = CompiledPolicy::Compile(p, TestVars());
  EXPECT_TRUE(cp.ok()) << cp.status().ToString();
  return cp.ok() ? (*cp)->regex_count() : 0;
}

TEST(EngineCompileTest, IdenticalPatternsCompileOnce) {
  // 40 rules with the same exclusion and the same command-line glob, and 40 budget rules with the
  // same path glob: three distinct patterns, plus the set of file.read (the exec rules name their
  // programs without a wildcard: looked up by hash, no set for exec).
  std::string y = "version: 1\ndefault: deny\nrules:\n";
  for (int i = 0; i < 40; ++i) {
    std::string n = std::to_string(i);
    y += "  - {id: r" + n + ", decision: allow, class: file.read, paths: [\"/d" + n +
         "/**\"], not_paths: [\"**/.git/**\"]}\n";
    y += "  - {id: x" + n + ", decision: ask, class: exec, paths: [\"/bin/t" + n + "\"], argv: [\"* --force*\"]}\n";
    y += "  - {id: b" + n + ", decision: ask, class: file.read, paths: [\"${workspace}/big/**\"], budget: {max: " +
         std::to_string(100 + i) + "}}\n";
  }
  EXPECT_EQ(RegexCount(y), 3u + 1u);
}

TEST(EngineCompileTest, DistinctPatternsAreNotMerged) {
  // The ${workspace} of the session makes the two globs differ although their text is the same.
  std::string y = R"(
version: 1
default: deny
rules:
  - {id: a, decision: allow, class: file.read, paths: ["/x/**"], not_paths: ["${workspace}/a"]}
  - {id: b, decision: allow, class: file.read, paths: ["/y/**"], not_paths: ["${home}/a"]}
  - {id: c, decision: allow, class: file.read, paths: ["/z/**"], not_paths: ["/home/u/proj/a"]}
)";
  // "${workspace}/a" and the literal "/home/u/proj/a" expand to the same pattern here: shared.
  EXPECT_EQ(RegexCount(y), 2u + 1u);
}

TEST(EngineCompileTest, PlainRulePathsLiveOnlyInTheSets) {
  // 50 plain path rules over two classes: two sets, no RE2 per rule.
  std::string y = "version: 1\ndefault: deny\nrules:\n";
  for (int i = 0; i < 50; ++i) {
    y += "  - {id: r" + std::to_string(i) + ", decision: " + (i % 2 ? "deny" : "allow") +
         ", class: [file.read, file.write], paths: [\"/d" + std::to_string(i) + "/**\", \"/e/" + std::to_string(i) +
         ".txt\"]}\n";
  }
  EXPECT_EQ(RegexCount(y), 2u);
}

// Globs without a wildcard are looked up by hash, the others through the set: one rule may have both,
// several rules the same literal, and the strongest decision still wins, as explanations say.
TEST(EngineCompileTest, LiteralPathsAndPatternsDecideTogether) {
  testing::Harness h(R"(
version: 1
default: deny
rules:
  - {id: lit-and-glob, decision: allow, class: [file.read, file.write], paths: ["/a/b.txt", "/c/**"]}
  - {id: lit-deny, decision: deny, class: file.read, paths: ["/a/b.txt"]}
  - {id: escaped, decision: ask, class: file.read, paths: ["~/notes", "${workspace}/x\\*y", "/d/{e,f}"]}
  - {id: all-literal, decision: allow, class: exec, paths: ["/usr/bin/make", "${tmp}/tool"]}
)");
  EXPECT_EQ(h.Decide(Open("/a/b.txt")), "deny:lit-deny");
  EXPECT_EQ(h.Decide(Open("/a/b.txt", O_WRONLY)), "allow:lit-and-glob");
  EXPECT_EQ(h.Decide(Open("/a/b.txtx")), "deny:default");
  EXPECT_EQ(h.Decide(Open("/a/b.tx")), "deny:default");
  EXPECT_EQ(h.Decide(Open("/c/d/e")), "allow:lit-and-glob");
  EXPECT_EQ(h.Decide(Open("/home/u/notes")), "ask:escaped");
  EXPECT_EQ(h.Decide(Open("/home/u/proj/x*y")), "ask:escaped");
  EXPECT_EQ(h.Decide(Open("/home/u/proj/xzy")), "deny:default");
  EXPECT_EQ(h.Decide(Open("/d/f")), "ask:escaped");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/make", {"make"})), "allow:all-literal");
  EXPECT_EQ(h.Decide(Exec("/tmp/tool", {"tool"})), "allow:all-literal");
  EXPECT_EQ(h.Decide(Exec("/tmp/tool2", {"tool2"})), "deny:default");
  std::vector<std::string> lines;
  Event e = Open("/a/b.txt");
  e.seq = 100;
  h.evaluator().Evaluate(e, &lines);
  std::string all;
  for (const std::string& l : lines) all += l + "\n";
  EXPECT_NE(all.find("rule lit-and-glob (allow, line 5:5): MATCH"), std::string::npos) << all;
  EXPECT_NE(all.find("rule lit-deny (deny, line 6:5): MATCH"), std::string::npos) << all;
}

TEST(EngineCompileTest, ExplanationsOfPlainRulesMatchPathsThroughTheSet) {
  testing::Harness h(R"(
version: 1
default: deny
rules:
  - {id: ws, decision: allow, class: [file.read, file.write], paths: ["${workspace}/**", "/opt/*.conf"]}
  - {id: git, decision: ask, class: file.write, paths: ["${workspace}/.git/**"]}
  - {id: tools, decision: ask, class: exec, paths: ["**/tool{1,2}"]}
)");
  auto explain = [&](Event e) {
    std::vector<std::string> lines;
    e.seq = 1;
    h.evaluator().Evaluate(e, &lines);
    std::string all;
    for (const std::string& l : lines) all += l + "\n";
    return all;
  };
  std::string w = explain(Open("/home/u/proj/.git/config", O_WRONLY));
  EXPECT_NE(w.find("rule ws (allow, line 5:5): MATCH"), std::string::npos) << w;
  EXPECT_NE(w.find("rule git (ask, line 6:5): MATCH"), std::string::npos) << w;
  EXPECT_NE(w.find("rule tools (ask, line 7:5): no match: class file.write not listed"), std::string::npos) << w;
  std::string r = explain(Open("/opt/a/b.conf"));
  EXPECT_NE(r.find("rule ws (allow, line 5:5): no match: paths: no glob matches /opt/a/b.conf"), std::string::npos)
      << r;
  std::string x = explain(Exec("/usr/bin/tool2", {"tool2"}));
  EXPECT_NE(x.find("rule tools (ask, line 7:5): MATCH"), std::string::npos) << x;
  std::string y = explain(Exec("/usr/bin/tool3", {"tool3"}));
  EXPECT_NE(y.find("rule tools (ask, line 7:5): no match: paths: no glob matches /usr/bin/tool3"), std::string::npos)
      << y;
}

const char* kLandlockPolicy = R"(
version: 1
default: deny
rules:
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/**"]}
  - {id: usr, decision: allow, class: file.read, paths: ["/usr/**"]}
)";

TEST(EngineCompileTest, LandlockPlanAndDeciderShareOneCompilation) {
  auto policy = std::make_shared<const Policy>(MustParse(kLandlockPolicy));
  PolicyCache cache(policy.get());
  auto plan = PlanLandlock(*policy, TestVars(), nullptr, &cache);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // The plan asked whether the workspace's directories can be replaced: it compiled through the cache.
  EXPECT_EQ(cache.size(), 1u);
  auto cp = cache.Get(TestVars());
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cache.size(), 1u);
  auto uncached = PlanLandlock(*policy, TestVars());
  ASSERT_TRUE(uncached.ok());
  EXPECT_EQ(plan->plan.handled_fs, uncached->plan.handled_fs);
  EXPECT_EQ(plan->widenings.size(), uncached->widenings.size());

  auto shared = LiveDecider::Create(policy, *cp, LiveDeciderOptions());
  auto own = LiveDecider::Create(policy, TestVars(), LiveDeciderOptions());
  ASSERT_TRUE(shared.ok() && own.ok());
  for (const char* path : {"/home/u/proj/a.c", "/usr/lib/x", "/etc/passwd"}) {
    RequestDecision a = (*shared)->Decide(Open(path));
    RequestDecision b = (*own)->Decide(Open(path));
    EXPECT_EQ(a.verdict, b.verdict) << path;
    EXPECT_EQ(a.rule, b.rule) << path;
  }
  EXPECT_EQ((*shared)->Decide(Open("/etc/passwd")).verdict, RequestVerdict::kDeny);
}

TEST(EngineCompileTest, DeciderRefusesACompilationOfAnotherPolicy) {
  auto policy = std::make_shared<const Policy>(MustParse(kLandlockPolicy));
  auto other = std::make_shared<const Policy>(MustParse(kLandlockPolicy));
  auto cp = CompiledPolicy::Compile(*other, TestVars());
  ASSERT_TRUE(cp.ok());
  auto d = LiveDecider::Create(policy, *cp, LiveDeciderOptions());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agenttrace
