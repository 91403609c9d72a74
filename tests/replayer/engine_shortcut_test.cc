// The evaluator's shortcuts (per-path facts and outcome caches, the memo of an event's paths, the
// file.read set pass shared with the secrets check, the per-address net cache, skipping stateful
// rules an event cannot touch) against an evaluator without any (SessionEvaluator(policy, false)):
// random streams over realistic policies must be decided identically, action for action.
#include <gtest/gtest.h>

#include <cerrno>
#include <random>
#include <string>
#include <vector>

#include "replayer/engine.h"
#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::MustParse;
using testing::TestVars;

// Secrets both anchored (~/.ssh/**) and found anywhere (**/.env, **/id_rsa*, **/*key*.pem), rules on
// the same directories, irreversible entries, both kinds of stateful rule.
const char* kPolicy = R"(
version: 1
default: deny
secrets: ["~/.ssh/**", "~/.aws/**", "**/.env", "**/id_rsa*", "**/*key*.pem", "/etc/ssl/private/**"]
lists:
  allowed_hosts: ["127.0.0.1", "10.0.0.0/8:443"]
irreversible:
  - {class: file.delete, not_paths: ["${workspace}/**", "${tmp}/**"]}
  - {class: net.connect, not_hosts: $allowed_hosts}
rules:
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/**", "${tmp}/**"]}
  - {id: sys, decision: allow, class: [file.read, exec], paths: ["/usr/**", "/etc/**"]}
  - {id: home-read, decision: allow, class: file.read, paths: ["${home}/**"], failed: false}
  - {id: no-ssh, decision: deny, class: [file.read, file.write], paths: ["~/.ssh/**"]}
  - {id: env-ask, decision: ask, class: file.read, paths: ["**/.env"]}
  - {id: git-ask, decision: ask, class: file.write, paths: ["${workspace}/.git/**"], not_paths: ["**/objects/**"]}
  - {id: danger, decision: ask, class: exec, paths: ["**/tool*"], argv: ["* --danger*"]}
  - {id: failed-ok, decision: allow, class: file.write, failed: true}
  - {id: secrets, decision: deny, class: secret.read}
  - {id: net, decision: allow, class: net.connect, hosts: $allowed_hosts}
  - id: exfil
    decision: deny
    sequence: {steps: [{class: secret.read}, {class: net.connect, not_hosts: $allowed_hosts}], within: {events: 20}}
  - id: write-run
    decision: deny
    sequence: {steps: [{class: file.write, paths: ["${tmp}/**"]}, {class: exec}], same_resource: true}
  - {id: write-budget, decision: ask, class: file.write, budget: {max: 30, per: {events: 50}}}
)";

// The same with an `unless` exception among the plain rules (which turns the per-path outcome cache
// off) and no file.read path rule (so no set holds the secrets).
const char* kPolicyUnless = R"(
version: 1
default: ask
secrets: ["~/.ssh/**", "**/.env", "**/id_rsa*"]
rules:
  - {id: read-all, decision: allow, class: file.read}
  - {id: ws, decision: allow, class: [file.write, file.delete], paths: ["${workspace}/**"],
     unless: [{class: file.read, paths: ["~/.ssh/**"]}]}
  - {id: secrets, decision: deny, class: secret.read}
  - {id: conn, decision: deny, class: net.connect, not_hosts: ["127.0.0.1"]}
)";

class StreamGen {
 public:
  explicit StreamGen(uint32_t seed) : rng_(seed) {}

  std::string Path() {
    static const char* kRoots[] = {"/home/u/proj/",
                                   "/home/u/proj/.git/",
                                   "/home/u/.ssh/",
                                   "/home/u/.aws/",
                                   "/home/u/",
                                   "/usr/lib/",
                                   "/tmp/",
                                   "/etc/ssl/private/",
                                   "/etc/",
                                   "/srv/",
                                   "/home/u/proj/.git/objects/"};
    static const char* kParts[] = {"a",   ".env",   "id_rsa",     "id_rsa.pub", "mykey.pem", "x.db",
                                   "..",  ".",      "",           "tool2",      ".git",      "objects",
                                   "b.c", "ID_RSA", ".env.local", "key.pem.bak"};
    std::string p = kRoots[rng_() % std::size(kRoots)];
    const int n = static_cast<int>(rng_() % 4);
    for (int i = 0; i < n; ++i) {
      if (i) p += '/';
      p += kParts[rng_() % std::size(kParts)];
    }
    return p;
  }

  Event Next() {
    Event e;
    e.pid = e.tid = 100;
    switch (rng_() % 10) {
      case 0:
        e.kind = EventKind::kExec;
        e.path = rng_() % 2 ? "/usr/bin/tool" + std::to_string(rng_() % 3) : Path();
        e.argv = {"tool", rng_() % 3 ? "--safe" : "--danger-zone", Path()};
        break;
      case 1:
        e.kind = EventKind::kNetConnect;
        e.family = AF_INET;
        e.address = rng_() % 2 ? "127.0.0.1" : (rng_() % 2 ? "10.1.2.3" : "93.184.216.34");
        e.port = rng_() % 2 ? 443 : 80;
        break;
      case 2:
        e.kind = EventKind::kFileDelete;
        e.path = Path();
        break;
      case 3:
        e.kind = EventKind::kFileRename;
        e.path = Path();
        e.path2 = Path();
        break;
      default:
        e.kind = EventKind::kFileOpen;
        e.path = Path();
        e.flags = rng_() % 3 ? O_RDONLY : (O_WRONLY | O_CREAT);
        if (rng_() % 4 == 0) e.resolved = Path();  // a symlink
        break;
    }
    if (rng_() % 6 == 0) e.result = -ENOENT;
    return e;
  }

 private:
  std::mt19937 rng_;
};

std::string Describe(const EventVerdict& v) {
  if (!v.evaluated) return "not evaluated";
  return std::string(DecisionName(v.decision)) + " rule " + std::to_string(v.rule) + " class " +
         std::string(ActionClassName(v.cls)) + (v.irreversible ? " irreversible" : "");
}

std::string Classes(const std::vector<Action>& actions) {
  std::string s;
  for (const Action& a : actions) s += std::string(ActionClassName(a.cls)) + " ";
  return s;
}

// Decides `events` in order with and without shortcuts; every verdict and action list must agree.
// `cached`: the policy lets outcomes be cached (no plain rule with `unless`).
void ExpectSameDecisions(const char* yaml, const std::vector<Event>& events, bool cached) {
  Policy policy = MustParse(yaml);
  auto cp = CompiledPolicy::Compile(policy, TestVars());
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  SessionEvaluator fast(*cp);
  SessionEvaluator reference(*cp, /*shortcuts=*/false);
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const std::string want = Describe(reference.EvaluateNumbered(e, i));
    const std::string want_actions = Classes(reference.actions());
    const std::string got = Describe(fast.EvaluateNumbered(e, i));
    ASSERT_EQ(got, want) << "event " << i << ": " << DescribeEvent(e);
    ASSERT_EQ(Classes(fast.actions()), want_actions) << "event " << i << ": " << DescribeEvent(e);
  }
  // The caches were used: fewer plain-rule checks than from scratch.
  if (cached) {
    EXPECT_LT(fast.plain_rule_checks(), reference.plain_rule_checks());
  }
}

TEST(EngineShortcutTest, RandomStreamsAreDecidedAsWithoutShortcuts) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    StreamGen gen(seed);
    std::vector<Event> events;
    for (int i = 0; i < 4000; ++i) events.push_back(gen.Next());
    SCOPED_TRACE("seed " + std::to_string(seed));
    ExpectSameDecisions(kPolicy, events, true);
    ExpectSameDecisions(kPolicyUnless, events, false);
  }
}

// More distinct paths than the per-path cache holds: it is cleared mid-stream, and must forget what it
// memoised. Every read below adds two new paths (as written, then resolved); the first event adds one,
// so the clear falls between a path and its resolved target, inside one event.
TEST(EngineShortcutTest, DecisionsSurviveThePathCacheBeingClearedMidEvent) {
  std::vector<Event> events;
  events.push_back(testing::Open("/home/u/proj/first"));
  for (int i = 0; i < 33000; ++i) {
    const std::string n = std::to_string(i);
    events.push_back(testing::Open("/home/u/proj/f" + n, O_RDONLY, 3, (i % 5 ? "/home/u/r" : "/home/u/.ssh/r") + n));
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 3000; ++i) events.push_back(events[rng() % events.size()]);  // some seen before
  ExpectSameDecisions(kPolicy, events, true);
}

// The decider numbers requests itself: `within: {events: N}` counts the number given beside the event,
// not event.seq.
TEST(EngineShortcutTest, EvaluateCountsTheSequenceNumberGivenBesideTheEvent) {
  Policy policy = MustParse(kPolicy);
  auto cp = CompiledPolicy::Compile(policy, TestVars());
  ASSERT_TRUE(cp.ok());
  Event secret = testing::Open("/home/u/.ssh/id_ed25519");
  Event connect = testing::Connect("93.184.216.34", 443);
  secret.seq = connect.seq = 7;  // the same stale number on both, as a producer might leave it
  {
    SessionEvaluator ev(*cp);
    ev.EvaluateNumbered(secret, 0);
    const EventVerdict& v = ev.EvaluateNumbered(connect, 30);  // 30 requests later: outside `within: 20`
    EXPECT_EQ(v.rule, -1) << "the default, not the sequence";
  }
  {
    SessionEvaluator ev(*cp);
    ev.EvaluateNumbered(secret, 0);
    const EventVerdict& v = ev.EvaluateNumbered(connect, 20);
    ASSERT_GE(v.rule, 0);
    EXPECT_EQ(policy.rules[v.rule].id, "exfil");
  }
}

}  // namespace
}  // namespace agenttrace
