// LiveDecider: the request-time decider over one SessionEvaluator shared by every producer.
#include "replayer/live_decider.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <mutex>
#include <thread>
#include <vector>

#include "format/decision_event.h"
#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Connect;
using testing::MustParse;
using testing::Open;
using testing::TestVars;
using testing::ToolCall;

const char* kPolicy = R"(
version: 1
default: deny
secrets: ["~/.ssh/**"]
lists:
  allowed_hosts: ["127.0.0.1"]
rules:
  - {id: ws, description: the workspace, decision: allow, class: [file.read, file.write], paths: ["${workspace}/**"]}
  - {id: net, decision: allow, class: net.connect}
  - {id: tools, decision: allow, class: tool.call}
  - {id: ask-env, description: env files need a human, decision: ask, class: file.read, paths: ["**/.env"]}
  - id: exfil
    description: a secret, then the network
    decision: deny
    sequence:
      steps:
        - {class: tool.call, tools: ["read_secret"]}
        - {class: net.connect, not_hosts: ["$allowed_hosts"]}
  - {id: write-budget, description: at most 3 writes, decision: deny, class: file.write, budget: {max: 3}}
)";

struct Recorded {
  std::mutex mu;
  std::vector<Event> events;
  LiveDeciderOptions Options(EnforceMode mode = EnforceMode::kEnforce) {
    LiveDeciderOptions o;
    o.mode = mode;
    o.record = [this](const Event& e) {
      std::lock_guard lock(mu);
      events.push_back(e);
    };
    return o;
  }
};

std::unique_ptr<LiveDecider> Make(const char* yaml, LiveDeciderOptions o) {
  auto d = LiveDecider::Create(std::make_shared<const Policy>(MustParse(yaml)), TestVars(), std::move(o));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

TEST(LiveDeciderTest, DecidesWithRuleAndDescriptionAndRecordsEachDecision) {
  Recorded rec;
  auto d = Make(kPolicy, rec.Options(EnforceMode::kAudit));
  RequestDecision a = d->Decide(Open("/home/u/proj/main.c", O_RDONLY, 0));
  EXPECT_EQ(a.verdict, RequestVerdict::kAllow);
  EXPECT_EQ(a.rule, "ws");
  RequestDecision b = d->Decide(Open("/etc/shadow", O_RDONLY, 0));
  EXPECT_EQ(b.verdict, RequestVerdict::kDeny);
  EXPECT_EQ(b.rule, "default");
  RequestDecision c = d->Decide(Open("/home/u/proj/.env", O_RDONLY, 0));
  EXPECT_EQ(c.verdict, RequestVerdict::kAsk);
  EXPECT_EQ(c.rule, "ask-env");
  EXPECT_EQ(c.reason, "env files need a human");
  EXPECT_FALSE(c.error);

  ASSERT_EQ(rec.events.size(), 3u);
  auto r = ParseDecisionEvent(rec.events[1]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->decision.verdict, RequestVerdict::kDeny);
  EXPECT_EQ(r->decision.rule, "default");
  EXPECT_EQ(r->mode, EnforceMode::kAudit);
  EXPECT_EQ(r->request.path, "/etc/shadow");
  EXPECT_EQ(r->request.seq, 1u);  // requests are numbered in decision order
  DecisionCounts n = d->counts();
  EXPECT_EQ(n.allow, 1u);
  EXPECT_EQ(n.deny, 1u);
  EXPECT_EQ(n.ask, 1u);
}

TEST(LiveDeciderTest, RequestOfNoActionClassIsAllowedAndNotRecorded) {
  Recorded rec;
  auto d = Make(kPolicy, rec.Options());
  Event spawn;
  spawn.kind = EventKind::kProcSpawn;
  RequestDecision r = d->Decide(spawn);
  EXPECT_EQ(r.verdict, RequestVerdict::kAllow);
  EXPECT_TRUE(r.rule.empty());
  EXPECT_TRUE(rec.events.empty());
}

// One state for every producer: the tool call (MCP proxy's thread) and the connect (tracer's thread)
// complete one sequence.
TEST(LiveDeciderTest, SequenceSpansProducersOnDifferentThreads) {
  Recorded rec;
  auto d = Make(kPolicy, rec.Options());
  EXPECT_EQ(d->Decide(Connect("93.184.216.34", 443)).verdict, RequestVerdict::kAllow);
  std::thread proxy([&] { EXPECT_EQ(d->Decide(ToolCall("read_secret", "{}")).verdict, RequestVerdict::kAllow); });
  proxy.join();
  std::thread tracer([&] {
    RequestDecision c = d->Decide(Connect("93.184.216.34", 443));
    EXPECT_EQ(c.verdict, RequestVerdict::kDeny);
    EXPECT_EQ(c.rule, "exfil");
  });
  tracer.join();
  EXPECT_EQ(d->Decide(Connect("127.0.0.1", 8080)).verdict, RequestVerdict::kAllow);
}

// Concurrent producers share one budget: exactly max requests pass, whatever the interleaving, and
// the decision events come in the order the evaluator made them.
TEST(LiveDeciderTest, ConcurrentRequestsShareOneBudget) {
  Recorded rec;
  auto d = Make(kPolicy, rec.Options());
  std::atomic<int> allowed{0}, denied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        RequestDecision r = d->Decide(Open("/home/u/proj/out" + std::to_string(t * 100 + i), O_WRONLY | O_CREAT, 0));
        (r.verdict == RequestVerdict::kAllow ? allowed : denied)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 3);
  EXPECT_EQ(denied.load(), 97);
  ASSERT_EQ(rec.events.size(), 100u);
  for (size_t i = 0; i < rec.events.size(); ++i) {
    auto r = ParseDecisionEvent(rec.events[i]);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->request.seq, i);
    EXPECT_EQ(r->decision.verdict, i < 3 ? RequestVerdict::kAllow : RequestVerdict::kDeny) << i;
  }
}

TEST(LiveDeciderTest, ReloadReplacesThePolicyAndRestartsState) {
  Recorded rec;
  auto d = Make(kPolicy, rec.Options());
  for (int i = 0; i < 3; ++i) d->Decide(Open("/home/u/proj/f", O_WRONLY, 0));
  EXPECT_EQ(d->Decide(Open("/home/u/proj/f", O_WRONLY, 0)).verdict, RequestVerdict::kDeny);
  const char* strict = R"(
version: 1
default: deny
rules:
  - {id: read-only, decision: allow, class: file.read, paths: ["${workspace}/**"]}
)";
  ASSERT_TRUE(d->Reload(std::make_shared<const Policy>(MustParse(strict)), "strict.yaml", "abc").ok());
  EXPECT_EQ(d->Decide(Connect("127.0.0.1", 80)).verdict, RequestVerdict::kDeny);  // revoked
  RequestDecision r = d->Decide(Open("/home/u/proj/main.c", O_RDONLY, 0));
  EXPECT_EQ(r.rule, "read-only");
  EXPECT_EQ(d->counts().reloads, 1u);
  auto reload = std::find_if(rec.events.begin(), rec.events.end(), [](const Event& e) { return IsReloadEvent(e); });
  ASSERT_NE(reload, rec.events.end());
  EXPECT_NE(reload->json.find("\"ok\":true"), std::string::npos) << reload->json;
  EXPECT_NE(reload->json.find("strict.yaml"), std::string::npos);

  // Back to the budget policy: its state starts afresh (three writes pass again).
  ASSERT_TRUE(d->Reload(std::make_shared<const Policy>(MustParse(kPolicy)), "p.yaml", "def").ok());
  EXPECT_EQ(d->Decide(Open("/home/u/proj/f", O_WRONLY, 0)).verdict, RequestVerdict::kAllow);
}

TEST(LiveDeciderTest, RefusedReloadIsRecordedAndKeepsThePolicy) {
  Recorded rec;
  auto d = Make(kPolicy, rec.Options());
  d->RecordRefusedReload("bad.yaml", "", "bad.yaml:3:1: unknown key");
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_TRUE(IsReloadEvent(rec.events[0]));
  EXPECT_NE(rec.events[0].json.find("\"ok\":false"), std::string::npos);
  EXPECT_EQ(d->Decide(Open("/home/u/proj/main.c", O_RDONLY, 0)).rule, "ws");
}

// `agenttrace run` records decisions as their parts (DecisionRecorder::decision) so that the writer
// thread builds their events: the parts must build exactly the events a plain callback gets, and
// everything else (reloads) still arrives built.
TEST(LiveDeciderTest, DecisionCallbackGetsThePartsOfTheEventsAPlainCallbackGets) {
  Recorded plain;
  auto a = Make(kPolicy, plain.Options(EnforceMode::kAudit));
  std::vector<Event> built;
  int parts = 0;
  LiveDeciderOptions o;
  o.mode = EnforceMode::kAudit;
  o.record = DecisionRecorder([&](const Event& e) { built.push_back(e); },
                              [&](const Event& request, const RequestDecision& d, EnforceMode mode) {
                                ++parts;
                                built.push_back(MakeDecisionEvent(request, d, mode));
                              });
  auto b = Make(kPolicy, std::move(o));
  Event spawn;
  spawn.kind = EventKind::kProcSpawn;
  std::vector<Event> requests = {Open("/home/u/proj/main.c", O_RDONLY, 0),
                                 Open("/etc/shadow", O_RDONLY, 0),
                                 spawn,
                                 ToolCall("read_secret", "{}"),
                                 Connect("93.184.216.34", 443),
                                 Open("/home/u/proj/.env", O_RDONLY, 0)};
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].mono_ns = requests[i].wall_ns = static_cast<int64_t>(i) + 1;  // not stamped when decided
  }
  for (const Event& r : requests) {
    EXPECT_EQ(a->Decide(r).verdict, b->Decide(r).verdict);
  }
  ASSERT_TRUE(b->Reload(std::make_shared<const Policy>(MustParse(kPolicy)), "p.yaml", "d").ok());
  ASSERT_TRUE(a->Reload(std::make_shared<const Policy>(MustParse(kPolicy)), "p.yaml", "d").ok());
  EXPECT_EQ(parts, 5);  // the spawn maps to no action class: not recorded
  ASSERT_EQ(built.size(), plain.events.size());
  for (size_t i = 0; i < built.size(); ++i) {
    Event want = plain.events[i], got = built[i];
    if (IsReloadEvent(want)) {  // stamped with the time of the reload
      EXPECT_TRUE(IsReloadEvent(got));
      EXPECT_EQ(got.json, want.json);
      continue;
    }
    EXPECT_EQ(got, want) << i;
  }
}

// DecideInto overwrites every field of the caller's reused decision: nothing of an earlier decision
// (a deny's rule and reason, an error) survives into the next one.
TEST(LiveDeciderTest, DecideIntoOverwritesEveryFieldOfTheReusedDecision) {
  Recorded ra, rb;
  auto a = Make(kPolicy, ra.Options());
  auto b = Make(kPolicy, rb.Options());
  Event spawn;
  spawn.kind = EventKind::kProcSpawn;
  RequestDecision reused{RequestVerdict::kDeny, "stale-rule", "stale reason", true};
  std::vector<Event> requests = {Open("/etc/shadow", O_RDONLY, 0), spawn, Open("/home/u/proj/.env", O_RDONLY, 0),
                                 Open("/home/u/proj/main.c", O_RDONLY, 0), spawn};
  for (Event& r : requests) r.mono_ns = r.wall_ns = 1;
  for (const Event& r : requests) {
    RequestDecision fresh = a->Decide(r);
    b->DecideInto(r, &reused);
    EXPECT_EQ(reused.verdict, fresh.verdict);
    EXPECT_EQ(reused.rule, fresh.rule);
    EXPECT_EQ(reused.reason, fresh.reason);
    EXPECT_EQ(reused.error, fresh.error);
  }
  EXPECT_EQ(ra.events, rb.events);
}

TEST(DecisionEventTest, MalformedDecisionIsCorruption) {
  Event e;
  e.kind = EventKind::kAnnotation;
  e.text = std::string(kDecisionText);
  e.json = R"({"decision":"perhaps","rule":"x","mode":"enforce","request":{"kind":"file.open"}})";
  EXPECT_EQ(ParseDecisionEvent(e).status().code(), StatusCode::kCorruption);
  e.json = R"({"decision":"deny","rule":"x","mode":"enforce"})";
  EXPECT_EQ(ParseDecisionEvent(e).status().code(), StatusCode::kCorruption);
  e.json = "not json";
  EXPECT_EQ(ParseDecisionEvent(e).status().code(), StatusCode::kCorruption);
}

// The request is stored compact (no identity, times, raw syscall fields or environment names: the
// annotation carries the first two, no policy reads the rest) and parses back whole.
TEST(DecisionEventTest, RequestIsStoredCompactAndParsesBackWhole) {
  Event req;
  req.seq = 7;
  req.kind = EventKind::kExec;
  req.pid = 41;
  req.tid = 42;
  req.mono_ns = 1000;
  req.wall_ns = 2000;
  req.path = "/usr/bin/curl";
  req.argv = {"curl", "https://example.invalid/\"q\""};
  req.env_names = {"PATH", "HOME"};
  req.secret_env_names = {"GITHUB_TOKEN"};
  req.syscall_nr = 59;
  req.arch = 0xc000003e;
  req.args = {1, 2, 3, 4, 5, 6};
  RequestDecision d;
  d.verdict = RequestVerdict::kDeny;
  d.rule = "no-curl";
  d.reason = "network tools need review\n(\xe2\x9c\x93)";
  Event e = MakeDecisionEvent(req, d, EnforceMode::kAudit);
  EXPECT_EQ(e.pid, 41);
  EXPECT_EQ(e.tid, 42);
  EXPECT_EQ(e.mono_ns, 1000);
  EXPECT_EQ(e.wall_ns, 2000);
  for (const char* gone : {"\"ts_ns\"", "\"mono_ns\"", "\"pid\"", "\"tid\"", "\"env_names\"", "\"syscall_nr\"",
                           "\"arch\"", "\"args\""}) {
    EXPECT_EQ(e.json.find(gone), std::string::npos) << gone << " in " << e.json;
  }
  // The header's bytes are those nlohmann's dump() wrote before it was built by hand.
  nlohmann::json header;
  header["decision"] = "deny";
  header["rule"] = d.rule;
  header["mode"] = "audit";
  header["reason"] = d.reason;
  std::string dumped = header.dump();
  dumped.pop_back();
  EXPECT_EQ(e.json.substr(0, dumped.size()), dumped);

  auto r = ParseDecisionEvent(e);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->decision.verdict, RequestVerdict::kDeny);
  EXPECT_EQ(r->decision.rule, "no-curl");
  EXPECT_EQ(r->decision.reason, d.reason);
  EXPECT_EQ(r->mode, EnforceMode::kAudit);
  EXPECT_EQ(r->request.seq, 7u);
  EXPECT_EQ(r->request.kind, EventKind::kExec);
  EXPECT_EQ(r->request.pid, 41);
  EXPECT_EQ(r->request.tid, 42);
  EXPECT_EQ(r->request.mono_ns, 1000);
  EXPECT_EQ(r->request.wall_ns, 2000);
  EXPECT_EQ(r->request.path, "/usr/bin/curl");
  EXPECT_EQ(r->request.argv, req.argv);
  EXPECT_EQ(r->request.secret_env_names, req.secret_env_names);  // secret.read actions come from these
}

// Sessions recorded before the compact form carry the whole request: its own fields win.
TEST(DecisionEventTest, FullRequestOfOlderSessionsStillParses) {
  Event e;
  e.kind = EventKind::kAnnotation;
  e.text = std::string(kDecisionText);
  e.pid = 1;
  e.tid = 1;
  e.mono_ns = 5;
  e.wall_ns = 6;
  e.json = R"({"decision":"allow","mode":"enforce","rule":"sys","request":{"seq":3,"ts_ns":1796012136690272770,)"
           R"("mono_ns":21028140627908,"pid":14073,"tid":14074,"kind":"file.open","result":0,"path":"/etc/ld.so.cache",)"
           R"("flags":524288,"syscall_nr":257,"arch":3221225534,"args":[4294967196,139683768307889,524288,0,0,1]}})";
  auto r = ParseDecisionEvent(e);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->decision.rule, "sys");
  EXPECT_EQ(r->request.seq, 3u);
  EXPECT_EQ(r->request.pid, 14073);
  EXPECT_EQ(r->request.tid, 14074);
  EXPECT_EQ(r->request.mono_ns, 21028140627908);
  EXPECT_EQ(r->request.wall_ns, 1796012136690272770);
  EXPECT_EQ(r->request.path, "/etc/ld.so.cache");
  EXPECT_EQ(r->request.syscall_nr, 257u);
}

// The decider numbers requests itself, whatever number a producer left in the request and whether or
// not decisions are recorded: `within: {events: N}` counts decided requests.
TEST(LiveDeciderTest, WithinEventsCountsDecidedRequestsEvenUnrecorded) {
  const char* yaml = R"(
version: 1
default: allow
rules:
  - id: exfil
    decision: deny
    sequence:
      steps: [{class: tool.call, tools: ["read_secret"]}, {class: net.connect}]
      within: {events: 2}
)";
  for (int gap : {1, 3}) {
    auto d = LiveDecider::Create(std::make_shared<const Policy>(MustParse(yaml)), TestVars(), LiveDeciderOptions{});
    ASSERT_TRUE(d.ok());
    Event secret = ToolCall("read_secret", "{}");
    Event other = Open("/home/u/proj/a");
    Event connect = Connect("10.0.0.1", 443);
    secret.seq = other.seq = connect.seq = 7;  // stale numbers, all alike
    (*d)->Decide(secret);
    for (int i = 1; i < gap; ++i) (*d)->Decide(other);
    RequestDecision r = (*d)->Decide(connect);
    EXPECT_EQ(r.verdict, gap <= 2 ? RequestVerdict::kDeny : RequestVerdict::kAllow) << "gap " << gap;
  }
}

}  // namespace
}  // namespace agenttrace
