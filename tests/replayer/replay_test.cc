#include "replayer/replay.h"

#include <expat.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/event_json.h"
#include "format/mcp_refusal.h"

#include "replayer/report.h"
#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Connect;
using testing::Exec;
using testing::MustParse;
using testing::Open;

const char* kPolicy = R"(
version: 1
default: deny
secrets: ["~/.ssh/**"]
irreversible:
  - {class: file.delete, not_paths: ["${workspace}/**", "${tmp}/**"]}
rules:
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/**", "${tmp}/**"]}
  - {id: libs, decision: allow, class: [file.read, exec], paths: ["/usr/**"]}
  - {id: home-delete, decision: ask, class: file.delete, paths: ["${home}/**"], description: "deletes in home"}
  - {id: net, decision: allow, class: net.connect, hosts: ["10.0.0.0/8"]}
promotion: {min_sessions: 2, max_violations: 0, max_asks: 0, min_stability: 0.5}
)";

SessionInfo Info(int n, const std::string& label, SessionState state = SessionState::kComplete) {
  SessionInfo info;
  char id[64];
  std::snprintf(id, sizeof id, "0190b5c4-8e1a-7abc-9def-%012d", n);
  info.id = *SessionId::Parse(id);
  info.label = label;
  info.cwd = "/home/u/proj";
  info.home = "/home/u";
  info.tmp = "/tmp";
  info.state = state;
  info.exit_code = state == SessionState::kComplete ? 0 : -1;
  info.recorder = "ptrace";
  return info;
}

SessionInput Input(int n, const std::string& label, std::vector<Event> events,
                   SessionState state = SessionState::kComplete) {
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].seq = i;
    events[i].wall_ns = 1700000000000000000 + static_cast<int64_t>(i);
    events[i].mono_ns = static_cast<int64_t>(i + 1) * 1000;
  }
  return MemoryInput(Info(n, label, state), std::make_shared<const std::vector<Event>>(std::move(events)),
                     "mem" + std::to_string(n));
}

std::vector<Event> GoodRun(int variant) {
  std::vector<Event> ev = {Exec("/usr/bin/python3", {"python3", "agent.py"}), Open("/usr/lib/python3/os.py"),
                           Open("/home/u/proj/src/a.py"), Open("/home/u/proj/out.txt", O_WRONLY | O_CREAT),
                           Open("/tmp/tmp.Ab12Cd", O_WRONLY | O_CREAT), Connect("10.0.0.5", 443)};
  if (variant == 1) ev.push_back(Open("/home/u/proj/extra.txt"));
  return ev;
}

std::vector<SessionInput> Mixed() {
  std::vector<SessionInput> in;
  in.push_back(Input(3, "agent-a", GoodRun(0)));
  in.push_back(Input(1, "agent-a", GoodRun(1)));
  std::vector<Event> bad = GoodRun(0);
  bad.push_back(Open("/home/u/.ssh/id_rsa"));
  bad.push_back(Connect("8.8.8.8", 443));
  bad.push_back(testing::Simple(EventKind::kFileDelete, "/home/u/notes.txt"));
  in.push_back(Input(2, "agent-b", bad));
  in.push_back(Input(4, "agent-b", GoodRun(0)));
  return in;
}

ReplayReport DoReplay(const Policy& p, std::vector<SessionInput> in, unsigned threads = 2) {
  ReplayOptions opt;
  opt.threads = threads;
  opt.promotion = p.promotion;
  auto r = RunReplay(p, std::move(in), opt);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(*r);
}

TEST(ReplayTest, CountsFindingsAndVerdictsPerLabel) {
  Policy p = MustParse(kPolicy);
  ReplayReport r = DoReplay(p, Mixed());
  ASSERT_EQ(r.sessions.size(), 4u);
  // Session id order, whatever the input order.
  EXPECT_EQ(r.sessions[0].info.id.ToString(), "0190b5c4-8e1a-7abc-9def-000000000001");
  EXPECT_EQ(r.sessions[3].info.id.ToString(), "0190b5c4-8e1a-7abc-9def-000000000004");
  const SessionResult& bad = r.sessions[1];
  EXPECT_EQ(bad.denies, 2u);  // the ssh key read, the unknown host
  EXPECT_EQ(bad.asks, 1u);    // the delete in home
  EXPECT_EQ(bad.irreversible, 1u);
  EXPECT_EQ(bad.allows, 6u);
  ASSERT_GE(bad.findings.size(), 3u);
  EXPECT_EQ(bad.findings[0].rule_id, "default");
  EXPECT_EQ(bad.findings[0].cls, ActionClass::kFileRead);
  EXPECT_EQ(bad.findings[2].rule_id, "home-delete");
  EXPECT_TRUE(bad.findings[2].irreversible);
  EXPECT_EQ(bad.rule_hits.at("default"), 2u);
  EXPECT_EQ(bad.blast.secrets, (std::set<std::string>{"${home}/.ssh/id_rsa"}));
  EXPECT_EQ(bad.blast.hosts, (std::set<std::string>{"10.0.0.5:443", "8.8.8.8:443"}));
  EXPECT_EQ(bad.blast.written_outside_workspace, (std::set<std::string>{"${home}/notes.txt", "${tmp}/tmp.*"}));
  ASSERT_EQ(r.labels.size(), 2u);
  const LabelResult& a = r.labels[0];
  EXPECT_EQ(a.label, "agent-a");
  EXPECT_TRUE(a.promotable);
  EXPECT_TRUE(a.pass_k);
  // Profiles: 6 shared entries, one more in session 1 -> 6/7.
  EXPECT_NEAR(a.stability, 6.0 / 7.0, 1e-9);
  ASSERT_EQ(a.unique_actions.size(), 1u);
  EXPECT_EQ(a.unique_actions[0], "0190b5c4-8e1a-7abc-9def-000000000001 file.read ${workspace}/extra.txt");
  const LabelResult& b = r.labels[1];
  EXPECT_FALSE(b.promotable);
  EXPECT_FALSE(b.pass_k);
  EXPECT_EQ(b.passed, 1u);
  std::map<std::string, bool> ok;
  for (const Criterion& c : b.criteria) ok[c.name] = c.ok;
  EXPECT_TRUE(ok["min_sessions"]);
  EXPECT_FALSE(ok["max_violations"]);
  EXPECT_FALSE(ok["max_asks"]);
  EXPECT_FALSE(ok["irreversible"]);
  EXPECT_TRUE(ok["complete"]);
  EXPECT_FALSE(r.promotable);
}

// Stability measures behaviour, not the policy: the same sessions replayed under policies that differ
// in `secrets:` and `evaluate_failed` give the same profiles and the same stability.
TEST(ReplayTest, StabilityDoesNotDependOnThePolicy) {
  auto run = [](int variant) {
    std::vector<Event> ev = GoodRun(0);
    ev.push_back(Open("/home/u/.config/tool/settings.json"));
    ev.push_back(Open("/home/u/proj/missing.txt", O_RDONLY, -ENOENT));
    if (variant == 1) ev.push_back(Open("/home/u/proj/extra.txt"));
    return ev;
  };
  auto inputs = [&] {
    std::vector<SessionInput> in;
    for (int i = 0; i < 3; ++i) in.push_back(Input(i + 1, "task", run(i == 2 ? 1 : 0)));
    return in;
  };
  Policy plain = MustParse(kPolicy);
  Policy other = MustParse(std::string(kPolicy) + "evaluate_failed: false\n");
  other.secrets.push_back({"~/.config/tool/**", {}});
  ReplayOptions opt;
  opt.threads = 1;
  auto a = RunReplay(plain, inputs(), opt);
  auto b = RunReplay(other, inputs(), opt);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->labels.size(), 1u);
  EXPECT_LT(a->labels[0].stability, 1.0);  // the extra read in the third run counts
  EXPECT_DOUBLE_EQ(a->labels[0].stability, b->labels[0].stability);
  for (size_t i = 0; i < a->sessions.size(); ++i) EXPECT_EQ(a->sessions[i].profile, b->sessions[i].profile);
  // The policies do see the events differently.
  EXPECT_NE(a->sessions[0].evaluated, b->sessions[0].evaluated);
  EXPECT_EQ(a->sessions[0].profile.count("file.read ${workspace}/missing.txt"), 1u);
}

// Temporary files with random names, pids and time stamps in names do not lower stability.
TEST(ReplayTest, RandomNamesDoNotLowerStability) {
  auto run = [](const std::string& random, const std::string& pid, const std::string& stamp) {
    std::string tmp_obj = "/home/u/proj/.git/objects/0a/tmp_obj_" + random;
    std::string sem = "/dev/shm/sem." + random;
    return std::vector<Event>{Exec("/usr/bin/git", {"git", "gc"}),
                              Open(tmp_obj, O_WRONLY | O_CREAT | O_EXCL),
                              testing::Simple(EventKind::kFileRename, tmp_obj, "/home/u/proj/.git/objects/0a/1b2c"),
                              Open(sem, O_RDWR | O_CREAT | O_EXCL),
                              testing::Simple(EventKind::kFileDelete, sem),
                              Open("/proc/" + pid + "/maps"),
                              Open("/home/u/.npm/_logs/" + stamp + "-debug-0.log", O_WRONLY | O_CREAT)};
  };
  std::vector<SessionInput> in;
  in.push_back(Input(1, "git", run("8lKMUl", "9419", "2026-11-29T22_34_08_673Z")));
  in.push_back(Input(2, "git", run("c1Z8CT", "16452", "2026-11-29T22_35_10_001Z")));
  in.push_back(Input(3, "git", run("yw9nSd", "733", "2026-11-30T01_00_00_999Z")));
  ReplayOptions opt;
  auto r = RunReplay(MustParse(kPolicy), std::move(in), opt);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->labels[0].stability, 1.0) << ::testing::PrintToString(r->labels[0].unique_actions);
  // The blast radius uses the same normalisation: one entry per temporary name shape, not per run.
  EXPECT_EQ(r->labels[0].blast.written_outside_workspace,
            (std::set<std::string>{"/dev/shm/sem.*", "${home}/.npm/_logs/<time>-debug-0.log"}));
}

TEST(ReplayTest, PromotionThresholdsAndOverrides) {
  Policy p = MustParse(kPolicy);
  ReplayReport r = DoReplay(p, Mixed());
  Promotion lax = p.promotion;
  lax.max_violations = 2;
  lax.max_asks = 1;
  lax.allow_irreversible = true;
  Assess(lax, &r);
  EXPECT_TRUE(r.labels[1].promotable);
  EXPECT_TRUE(r.promotable);
  lax.max_violations = 1;  // 2 denies > 1
  Assess(lax, &r);
  EXPECT_FALSE(r.labels[1].promotable);
  Promotion strict = p.promotion;
  strict.min_sessions = 3;
  Assess(strict, &r);
  EXPECT_FALSE(r.labels[0].promotable);
  strict = p.promotion;
  strict.min_stability = 0.9;  // agent-a has 6/7
  Assess(strict, &r);
  EXPECT_FALSE(r.labels[0].promotable);
  strict.min_stability = 6.0 / 7.0;
  Assess(strict, &r);
  EXPECT_TRUE(r.labels[0].promotable);
}

SessionInput WithExit(SessionInput in, int32_t code, int32_t signal = 0) {
  in.info.exit_code = code;
  in.info.exit_signal = signal;
  return in;
}

std::map<std::string, bool> CriteriaOk(const LabelResult& l) {
  std::map<std::string, bool> ok;
  for (const Criterion& c : l.criteria) ok[c.name] = c.ok;
  return ok;
}

// `agenttrace record -- ./no-such-agent` three times: exit 127, no events. Such a label used to be
// promotable with stability 1.0.
TEST(ReplayTest, SessionsWhoseAgentNeverRanBlockPromotion) {
  Policy p = MustParse(kPolicy);
  std::vector<SessionInput> in;
  for (int n = 1; n <= 3; ++n) in.push_back(WithExit(Input(n, "typo", {}), 127));
  ReplayReport r = DoReplay(p, std::move(in));
  for (const SessionResult& s : r.sessions) {
    EXPECT_FALSE(s.agent_ran);
    EXPECT_FALSE(s.passed);
    EXPECT_NE(s.not_run_reason.find("no events"), std::string::npos) << s.not_run_reason;
  }
  const LabelResult& l = r.labels[0];
  EXPECT_EQ(l.not_run, 3u);
  EXPECT_EQ(l.passed, 0u);
  EXPECT_FALSE(l.pass_k);
  EXPECT_FALSE(CriteriaOk(l)["agent_ran"]);
  EXPECT_EQ(l.stability, 0.0);  // empty profiles are no evidence of stable behaviour
  EXPECT_FALSE(l.promotable);
  EXPECT_FALSE(r.promotable);
  // Not requiring task success does not excuse an agent that never ran.
  Promotion lax = p.promotion;
  lax.require_success = false;
  lax.min_stability = 0;
  Assess(lax, &r);
  EXPECT_FALSE(r.labels[0].promotable);
  EXPECT_FALSE(CriteriaOk(r.labels[0])["agent_ran"]);
}

// A syscall recording whose only exec failed (the file exists but is not executable, or the recorder
// failed before the agent ran) has events but no agent behaviour.
TEST(ReplayTest, SyscallSessionWithoutASuccessfulExecNeverRan) {
  Policy p = MustParse(kPolicy);
  Event failed = Exec("/home/u/proj/agent.sh", {"./agent.sh"});
  failed.result = -EACCES;
  std::vector<SessionInput> in;
  in.push_back(WithExit(Input(1, "x", {failed}), 126));
  in.push_back(Input(2, "x", GoodRun(0)));
  ReplayReport r = DoReplay(p, std::move(in));
  EXPECT_FALSE(r.sessions[0].agent_ran);
  EXPECT_NE(r.sessions[0].not_run_reason.find("no exec succeeded"), std::string::npos);
  EXPECT_NE(r.sessions[0].not_run_reason.find("exit 126"), std::string::npos);
  EXPECT_TRUE(r.sessions[1].agent_ran);
  EXPECT_FALSE(r.labels[0].promotable);
  // Tool-only sessions (MCP proxy, imports) have no exec: any event shows the agent ran.
  std::vector<SessionInput> tools;
  SessionInput mcp = Input(3, "y", {testing::ToolCall("read_file", "{}")});
  mcp.info.recorder = "mcp";
  tools.push_back(std::move(mcp));
  ReplayReport r2 = DoReplay(p, std::move(tools));
  EXPECT_TRUE(r2.sessions[0].agent_ran);
}

// An agent that crashes in 2 of 5 runs used to pass: the task outcome is now part of the gate.
TEST(ReplayTest, TaskOutcomeIsJudgedAndCountedInPassK) {
  Policy p = MustParse(kPolicy);
  std::vector<SessionInput> in;
  in.push_back(Input(1, "x", GoodRun(0)));
  in.push_back(WithExit(Input(2, "x", GoodRun(0)), 1));
  in.push_back(Input(3, "x", GoodRun(0)));
  in.push_back(WithExit(Input(4, "x", GoodRun(0)), 0, 11));  // SIGSEGV
  in.push_back(Input(5, "x", GoodRun(0)));
  ReplayReport r = DoReplay(p, std::move(in));
  const LabelResult& l = r.labels[0];
  EXPECT_EQ(l.task_failures, 2u);
  EXPECT_EQ(l.passed, 3u);
  EXPECT_FALSE(l.pass_k);
  EXPECT_FALSE(CriteriaOk(l)["task_outcome"]);
  EXPECT_TRUE(CriteriaOk(l)["max_violations"]);
  EXPECT_FALSE(l.promotable);
  EXPECT_FALSE(r.sessions[1].task_succeeded);
  EXPECT_EQ(OutcomeText(r.sessions[1].info), "exit 1");
  EXPECT_EQ(OutcomeText(r.sessions[3].info), "killed by signal 11 (SIGSEGV)");
  for (const Criterion& c : l.criteria) {
    if (c.name == "task_outcome") {
      EXPECT_NE(c.detail.find("exit 1"), std::string::npos) << c.detail;
    }
  }
  // Widening the success codes admits exit 1, never a signal.
  Promotion wide = p.promotion;
  wide.success_exit_codes = {0, 1};
  Assess(wide, &r);
  EXPECT_EQ(r.labels[0].task_failures, 1u);
  EXPECT_FALSE(r.labels[0].promotable);
  // Not required: reported, not blocking.
  Promotion off = p.promotion;
  off.require_success = false;
  Assess(off, &r);
  EXPECT_EQ(r.labels[0].task_failures, 2u);
  EXPECT_TRUE(CriteriaOk(r.labels[0])["task_outcome"]);
  EXPECT_TRUE(r.labels[0].pass_k);
  EXPECT_TRUE(r.labels[0].promotable);
}

TEST(ReplayTest, TaskOutcomeIsInEveryReport) {
  Policy p = MustParse(kPolicy);
  std::vector<SessionInput> in;
  in.push_back(Input(1, "x", GoodRun(0)));
  in.push_back(WithExit(Input(2, "x", GoodRun(0)), 3));
  in.push_back(WithExit(Input(3, "x", {}), 127));
  ReplayReport r = DoReplay(p, std::move(in));
  auto j = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(j["promotion"]["require_success"], true);
  EXPECT_EQ(j["promotion"]["success_exit_codes"], nlohmann::json::array({0}));
  EXPECT_EQ(j["sessions"][1]["outcome"], "exit 3");
  EXPECT_EQ(j["sessions"][1]["task_succeeded"], false);
  EXPECT_EQ(j["sessions"][2]["agent_ran"], false);
  EXPECT_EQ(j["labels"][0]["task_failures"], 1);
  EXPECT_EQ(j["labels"][0]["not_run"], 1);
  std::string md = RenderMarkdown(r);
  EXPECT_NE(md.find("task failed: exit 3"), std::string::npos) << md;
  EXPECT_NE(md.find("the agent never ran"), std::string::npos) << md;
  std::string junit = RenderJunit(r);
  EXPECT_NE(junit.find("task failed: exit 3"), std::string::npos) << junit;
  EXPECT_NE(junit.find("the agent never ran"), std::string::npos) << junit;
  std::string text = RenderText(r);
  EXPECT_NE(text.find("AGENT NEVER RAN"), std::string::npos) << text;
}

TEST(ReplayTest, IncompleteSessionIsAFinding) {
  Policy p = MustParse(kPolicy);
  std::vector<SessionInput> in;
  in.push_back(Input(1, "x", GoodRun(0)));
  in.push_back(Input(2, "x", GoodRun(0), SessionState::kIncomplete));
  ReplayReport r = DoReplay(p, std::move(in));
  EXPECT_TRUE(r.sessions[1].incomplete);
  EXPECT_FALSE(r.sessions[1].passed);
  EXPECT_FALSE(r.labels[0].promotable);
  EXPECT_EQ(r.labels[0].incomplete, 1u);
  // A gap (events lost) is a finding too.
  std::vector<Event> with_gap = GoodRun(0);
  Event gap;
  gap.kind = EventKind::kGap;
  gap.size = 10;
  with_gap.push_back(gap);
  std::vector<SessionInput> in2;
  in2.push_back(Input(1, "x", GoodRun(0)));
  in2.push_back(Input(2, "x", with_gap));
  ReplayReport r2 = DoReplay(p, std::move(in2));
  EXPECT_EQ(r2.sessions[1].gaps, 1u);
  EXPECT_FALSE(r2.labels[0].promotable);
}

TEST(ReplayTest, ReadFailureIsRecordedWithEverythingBeforeIt) {
  Policy p = MustParse(kPolicy);
  SessionInput in;
  in.info = Info(1, "x");
  in.origin = "broken";
  auto events = std::make_shared<std::vector<Event>>(GoodRun(0));
  in.open = [events]() -> Result<std::unique_ptr<EventSource>> {
    struct Broken final : EventSource {
      std::shared_ptr<std::vector<Event>> ev;
      size_t i = 0;
      Result<const Event*> Next() override {
        if (i == 2) return Status::Corruption("chunk 1: bad checksum");
        return &(*ev)[i++];
      }
    };
    auto b = std::make_unique<Broken>();
    b->ev = events;
    return std::unique_ptr<EventSource>(std::move(b));
  };
  std::vector<SessionInput> v;
  v.push_back(std::move(in));
  ReplayReport r = DoReplay(p, std::move(v));
  EXPECT_EQ(r.sessions[0].events, 2u);
  EXPECT_EQ(r.sessions[0].error.code(), StatusCode::kCorruption);
  EXPECT_EQ(r.first_error.code(), StatusCode::kCorruption);
  EXPECT_NE(r.first_error.message().find("bad checksum"), std::string::npos);
  EXPECT_FALSE(r.promotable);
}

TEST(ReplayTest, ExplainCollectsLinesForTheChosenEvent) {
  Policy p = MustParse(kPolicy);
  std::vector<SessionInput> in;
  in.push_back(Input(1, "x", GoodRun(0)));
  ReplayOptions opt;
  opt.explain_seq = 5;
  auto r = RunReplay(p, std::move(in), opt);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->sessions[0].explain.empty());
  EXPECT_EQ(r->sessions[0].explain[0], "event 5: net.connect 10.0.0.5:443");
  EXPECT_EQ(r->sessions[0].explain.back(), "  decision: allow by rule net (class net.connect)");
}

TEST(ReportTest, JsonIsWellFormedWithStableFields) {
  Policy p = MustParse(kPolicy);
  ReplayReport r = DoReplay(p, Mixed());
  auto j = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(j["format"], "agenttrace-replay");
  EXPECT_EQ(j["promotable"], false);
  EXPECT_EQ(j["totals"]["sessions"], 4);
  EXPECT_EQ(j["totals"]["deny"], 2);
  EXPECT_EQ(j["labels"].size(), 2u);
  EXPECT_EQ(j["labels"][0]["stability"], 0.8571);
  EXPECT_EQ(j["sessions"][1]["findings"][0]["rule"], "default");
  EXPECT_EQ(j["sessions"][1]["findings"][0]["class"], "file.read");
  EXPECT_EQ(j["sessions"][1]["blast_radius"]["secrets"][0], "${home}/.ssh/id_rsa");
}

TEST(ReportTest, SarifHasRequiredFieldsAndStableFingerprints) {
  Policy p = MustParse(kPolicy);
  ReplayReport r = DoReplay(p, Mixed());
  auto j = nlohmann::json::parse(RenderSarif(r));
  EXPECT_EQ(j["version"], "2.1.0");
  ASSERT_EQ(j["runs"].size(), 1u);
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "agenttrace");
  const auto& rules = run["tool"]["driver"]["rules"];
  ASSERT_EQ(rules.size(), 5u);  // 4 policy rules + default
  EXPECT_EQ(rules[2]["id"], "home-delete");
  EXPECT_EQ(rules[2]["shortDescription"]["text"], "deletes in home");
  const auto& results = run["results"];
  ASSERT_EQ(results.size(), 3u);
  std::set<std::string> fps;
  for (const auto& res : results) {
    EXPECT_TRUE(res.contains("ruleId"));
    EXPECT_TRUE(res.contains("message"));
    EXPECT_EQ(rules[res["ruleIndex"].get<size_t>()]["id"], res["ruleId"]);
    EXPECT_TRUE(res["level"] == "error" || res["level"] == "warning");
    EXPECT_EQ(res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].get<std::string>().rfind("session/", 0),
              0u);
    fps.insert(res["partialFingerprints"]["agenttraceFinding/v1"].get<std::string>());
  }
  EXPECT_EQ(fps.size(), 3u);
  EXPECT_EQ(results[2]["level"], "warning");  // the ask
  // The same finding in a later run (different seq and time) keeps its fingerprint.
  std::vector<SessionInput> later;
  std::vector<Event> ev = {Exec("/usr/bin/true", {}), Open("/home/u/.ssh/id_rsa")};
  later.push_back(Input(9, "agent-b", ev));
  auto j2 = nlohmann::json::parse(RenderSarif(DoReplay(p, std::move(later))));
  EXPECT_EQ(j2["runs"][0]["results"][0]["partialFingerprints"], results[0]["partialFingerprints"]);
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

TEST(ReportTest, JunitCountsMatch) {
  Policy p = MustParse(kPolicy);
  std::string x = RenderJunit(DoReplay(p, Mixed()));
  EXPECT_EQ(x.rfind("<?xml", 0), 0u);
  // 2 labels x (2 sessions + 8 criteria) = 20 testcases; failures: 1 session + 3 criteria of agent-b.
  EXPECT_NE(x.find("<testsuites name=\"agenttrace replay\" tests=\"20\" failures=\"4\""), std::string::npos) << x;
  EXPECT_EQ(Count(x, "<testcase "), 20u);
  EXPECT_EQ(Count(x, "</testcase>"), 20u);
  EXPECT_EQ(Count(x, "<failure "), 4u);
  EXPECT_EQ(Count(x, "<testsuite "), 2u);
  EXPECT_EQ(Count(x, "</testsuite>"), 2u);
  EXPECT_NE(x.find("<testsuite name=\"agent-b\" tests=\"10\" failures=\"4\""), std::string::npos);
}

TEST(ReportTest, MarkdownIsCappedAndEscaped) {
  Policy p = MustParse(kPolicy);
  std::vector<Event> many;
  for (int i = 0; i < 500; ++i) many.push_back(Open("/etc/secret|" + std::to_string(i)));
  std::vector<SessionInput> in;
  in.push_back(Input(1, "x|y", many));
  std::string md = RenderMarkdown(DoReplay(p, std::move(in)));
  EXPECT_LT(md.size(), 64u * 1024);
  EXPECT_NE(md.find("... 450 more"), std::string::npos) << md;
  EXPECT_NE(md.find("x\\|y"), std::string::npos);
  EXPECT_EQ(md.find("secret|1"), std::string::npos);  // pipes in cells are escaped
  EXPECT_NE(md.find("NOT promotable"), std::string::npos);
}

// True when `xml` is a well-formed XML document (expat also rejects invalid UTF-8 and forbidden
// characters); `error` says where it is not.
bool ParsesAsXml(const std::string& xml, std::string* error) {
  XML_Parser parser = XML_ParserCreate(nullptr);
  bool ok = XML_Parse(parser, xml.data(), static_cast<int>(xml.size()), /*isFinal=*/1) == XML_STATUS_OK;
  if (!ok) {
    *error = std::string(XML_ErrorString(XML_GetErrorCode(parser))) + " at line " +
             std::to_string(XML_GetCurrentLineNumber(parser));
  }
  XML_ParserFree(parser);
  return ok;
}

bool IsValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && c < 0xC2) || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// Denied paths carry whatever bytes the agent used: invalid UTF-8, control characters, U+FFFF.
std::vector<Event> HostileNames() {
  std::vector<Event> events;
  events.push_back(Open(std::string("/etc/bad-\xff\xfe-utf8")));
  events.push_back(Open(std::string("/etc/ctl-\x01\x1b[31m-\x7f")));
  events.push_back(Open(std::string("/etc/cut-\xe2\x82")));  // a truncated euro sign
  events.push_back(Open(std::string("/etc/nonchar-\xef\xbf\xbf-<&>\"'")));
  events.push_back(Open(std::string("/etc/overlong-\xc0\xaf")));
  return events;
}

TEST(ReportTest, JunitIsWellFormedXmlWhateverTheRecordedBytes) {
  Policy p = MustParse(kPolicy);
  std::vector<SessionInput> in;
  in.push_back(Input(1, std::string("label-\xff"), HostileNames()));
  std::string x = RenderJunit(DoReplay(p, std::move(in)));
  std::string error;
  EXPECT_TRUE(ParsesAsXml(x, &error)) << error << "\n" << x;
  EXPECT_TRUE(IsValidUtf8(x));
  // Finding texts name invalid bytes with the reversible escape (format/text_escape.h); the label, a
  // raw recorded string, gets U+FFFD from the XML writer.
  EXPECT_NE(x.find("/etc/bad-\\xff\\xfe-utf8"), std::string::npos) << x;
  EXPECT_NE(x.find("label-\xEF\xBF\xBD"), std::string::npos) << x;
  EXPECT_NE(x.find("&lt;&amp;&gt;&quot;&apos;"), std::string::npos) << x;
}

TEST(ReportTest, MarkdownCellsAreValidUtf8AndNeverEndInsideACharacter) {
  Policy p = MustParse(kPolicy);
  std::vector<Event> events = HostileNames();
  // Long paths of three-byte characters: the 160-byte cell limit falls inside one at every offset.
  for (int shift = 0; shift < 3; ++shift) {
    std::string path = "/etc/" + std::string(shift, 'a');
    for (int i = 0; i < 100; ++i) path += "\xE2\x82\xAC";  // U+20AC
    events.push_back(Open(path));
  }
  std::vector<SessionInput> in;
  in.push_back(Input(1, "md", events));
  std::string md = RenderMarkdown(DoReplay(p, std::move(in)));
  EXPECT_TRUE(IsValidUtf8(md)) << md;
  EXPECT_NE(md.find("\xE2\x82\xAC..."), std::string::npos) << md;  // cut after a whole character
}

TEST(DeterminismTest, SameReportForAnyThreadCountAndRun) {
  Policy p = MustParse(kPolicy);
  std::vector<SessionInput> base = Mixed();
  for (int i = 10; i < 40; ++i) base.push_back(Input(i, "bulk-" + std::to_string(i % 3), GoodRun(i % 2)));
  auto render_all = [](const ReplayReport& r) {
    return RenderText(r) + RenderJson(r) + RenderMarkdown(r) + RenderJunit(r) + RenderSarif(r);
  };
  std::string one = render_all(DoReplay(p, base, 1));
  std::string four = render_all(DoReplay(p, base, 4));
  std::vector<SessionInput> reversed(base.rbegin(), base.rend());
  std::string again = render_all(DoReplay(p, reversed, 4));
  EXPECT_EQ(one, four);
  EXPECT_EQ(one, again);
}

// A .jsonl file is selected by its header alone; its events are streamed through JsonlReader when the
// session is replayed, so a seq gap there is the session's read error (Corruption, exit 3), not a
// verdict over the events before it.
TEST(ReplayTest, JsonlFileInputReadsTheHeaderThenStreamsAndChecksOnOpen) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("agenttrace-replay-" + std::to_string(::getpid()) + ".jsonl"))
                         .string();
  SessionInfo info;
  info.label = "agent-v1";
  info.state = SessionState::kComplete;
  auto line = [](uint64_t seq) {
    Event e;
    e.seq = seq;
    e.kind = EventKind::kAnnotation;
    e.text = "step";
    return EventToJson(e) + "\n";
  };
  std::ofstream(path, std::ios::binary) << SessionHeaderToJson(info) << "\n" << line(0) << line(1);
  auto in = JsonlFileInput(path, "file");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->info.label, "agent-v1");
  // Rewritten after selection: what replay reads is what the file holds when the session is opened.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << SessionHeaderToJson(info) << "\n"
                                                          << line(0) << line(2);
  ReplayOptions opt;
  opt.threads = 1;
  std::vector<SessionInput> inputs;
  inputs.push_back(std::move(*in));
  auto r = RunReplay(MustParse("version: 1\ndefault: allow\nrules: []\n"), std::move(inputs), opt);
  std::filesystem::remove(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->sessions.size(), 1u);
  const SessionResult& s = r->sessions[0];
  EXPECT_EQ(s.error.code(), StatusCode::kCorruption) << s.error.ToString();
  EXPECT_NE(s.error.message().find(": line 3: event seq 2, expected 1"), std::string::npos) << s.error.ToString();
  EXPECT_EQ(s.events, 1u);  // the event before the bad line was read
  EXPECT_FALSE(s.passed);
  EXPECT_EQ(r->first_error.code(), StatusCode::kCorruption);
  EXPECT_FALSE(r->promotable);

  // A file without a valid header is refused at selection.
  std::ofstream(path, std::ios::binary) << "{\"format\":\"other\"}\n";
  auto bad = JsonlFileInput(path, "file");
  std::filesystem::remove(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace agenttrace

namespace agenttrace {
namespace {

Event Note(const std::string& text, const std::string& json) {
  Event e;
  e.kind = EventKind::kAnnotation;
  e.text = text;
  e.json = json;
  return e;
}

// Runs whose tools came from `replay --serve` say so in the reports, with the requests the cassette
// could not answer; live runs say nothing.
TEST(ReplayTest, SessionsServedFromACassetteAreToldApart) {
  Policy p = MustParse(kPolicy);
  std::vector<Event> served = GoodRun(0);
  served.push_back(Note("cassette.source", R"({"sessions":["s1"]})"));
  served.push_back(Note("cassette.served", R"({"method":"tools/call","request_id":1,"served":"replayed"})"));
  served.push_back(Note("cassette.served", R"({"method":"tools/call","request_id":2,"served":"miss"})"));
  served.push_back(Note("cassette.served", R"({"method":"tools/call","request_id":3,"served":"unusable"})"));
  std::vector<SessionInput> in;
  in.push_back(Input(1, "a", served));
  in.push_back(Input(2, "a", GoodRun(0)));
  ReplayReport r = DoReplay(p, std::move(in));
  ASSERT_EQ(r.sessions.size(), 2u);
  EXPECT_TRUE(r.sessions[0].cassette);
  EXPECT_EQ(r.sessions[0].cassette_misses, 2u);
  EXPECT_FALSE(r.sessions[1].cassette);
  std::string text = RenderText(r);
  EXPECT_NE(text.find("tools served from a cassette (2 request(s) without a recorded answer)"), std::string::npos)
      << text;
  nlohmann::json j = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(j["sessions"][0]["cassette"]["misses"], 2);
  EXPECT_FALSE(j["sessions"][1].contains("cassette"));
}

}  // namespace
}  // namespace agenttrace

namespace agenttrace {
namespace {

// A protocol.error as the deciding MCP proxy records a message it refused (recorder/mcp_relay.cc).
Event Refusal(std::string_view reason, std::string_view suffix) {
  Event e;
  e.kind = EventKind::kProtocolError;
  e.direction = Direction::kToServer;
  e.server = "fake-mcp";
  e.text = std::string(reason) + std::string(suffix);
  e.json = R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","name":"zap"}})";
  return e;
}

// Regression: a tools/call the proxy refused under `run` (duplicate keys, a batch, ...) left a
// protocol.error and no decision event, and replay ignored it: with `default: allow` the session
// passed as if the agent had sent nothing undecidable. Replay now reports each refusal as the proxy
// decided it: a deny by "refused" whatever the policy, a finding, and a request-time decision that
// replays the same; other protocol errors (a server's bad line) stay out of the verdict.
TEST(ReplayTest, ToolRequestsTheProxyRefusedAreDenialsWhateverThePolicy) {
  std::vector<Event> ev = {testing::ToolCall("echo", "{}", "fake-mcp"),
                           Refusal("duplicate key \"name\" (parsers disagree on which one counts)",
                                   kRefusedUndecidableSuffix),
                           Refusal("JSON-RPC batch with a tools/call in it", kWouldRefuseUndecidableSuffix),
                           Refusal("message of 20000000 bytes exceeds the maximum", kRefusedOversizedSuffix)};
  Event server_error;
  server_error.kind = EventKind::kProtocolError;
  server_error.direction = Direction::kToAgent;
  server_error.text = "invalid JSON";
  ev.push_back(server_error);
  Event agent_error = server_error;  // the recorder's parser, not a refusal
  agent_error.direction = Direction::kToServer;
  ev.push_back(agent_error);
  Policy p = MustParse("version: 1\ndefault: allow\npromotion: {min_sessions: 1}\n");
  ReplayReport r = DoReplay(p, {Input(1, "mcp", ev)});
  ASSERT_EQ(r.sessions.size(), 1u);
  const SessionResult& s = r.sessions[0];
  EXPECT_EQ(s.denies, 3u);
  EXPECT_EQ(s.allows, 1u);  // the plain call
  EXPECT_EQ(s.refused, 3u);
  EXPECT_EQ(s.request_decisions, 3u);
  EXPECT_EQ(s.request_same, 3u);
  EXPECT_TRUE(s.request_mismatches.empty());
  ASSERT_EQ(s.findings.size(), 3u);
  for (const Finding& f : s.findings) {
    EXPECT_EQ(f.decision, Decision::kDeny);
    EXPECT_EQ(f.rule_id, "refused");
    EXPECT_EQ(f.cls, ActionClass::kToolCall);
    EXPECT_EQ(f.resource, "tool.call fake-mcp/(refused message)");
  }
  EXPECT_NE(s.findings[0].what.find("duplicate key"), std::string::npos) << s.findings[0].what;
  EXPECT_EQ(s.rule_hits.at("refused"), 3u);
  EXPECT_FALSE(s.passed);
  ASSERT_EQ(r.labels.size(), 1u);
  EXPECT_FALSE(r.labels[0].promotable);
  EXPECT_FALSE(r.promotable);
  // The reports name them.
  std::string text = RenderText(r);
  EXPECT_NE(text.find("rule refused [tool.call]"), std::string::npos) << text;
  EXPECT_NE(text.find("of which refused by the MCP proxy"), std::string::npos) << text;
  nlohmann::json j = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(j["sessions"][0]["request_decisions"]["refused"], 3);
  nlohmann::json sarif = nlohmann::json::parse(RenderSarif(r));
  bool rule_listed = false;
  for (const auto& rule : sarif["runs"][0]["tool"]["driver"]["rules"]) rule_listed |= rule["id"] == "refused";
  EXPECT_TRUE(rule_listed);
  // --explain on a refusal says why.
  ReplayOptions opt;
  opt.promotion = p.promotion;
  opt.explain_seq = 1;
  auto ex = RunReplay(p, {Input(1, "mcp", ev)}, opt);
  ASSERT_TRUE(ex.ok());
  ASSERT_FALSE(ex->sessions[0].explain.empty());
  EXPECT_NE(ex->sessions[0].explain[0].find("refused by the MCP proxy"), std::string::npos);
  // No policy rule can take the reserved id.
  EXPECT_FALSE(ParsePolicy("version: 1\nrules:\n  - {id: refused, decision: allow}\n", "p.yaml").ok());
}

}  // namespace
}  // namespace agenttrace
