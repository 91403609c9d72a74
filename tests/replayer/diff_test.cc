#include "replayer/diff.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Connect;
using testing::Exec;
using testing::MustParse;
using testing::Open;
using testing::Simple;
using testing::ToolCall;

SessionInfo Info(int n, const std::string& label, const std::string& cwd = "/home/u/proj") {
  SessionInfo info;
  char id[64];
  std::snprintf(id, sizeof id, "0190b5c4-8e1a-7abc-9def-%012d", n);
  info.id = *SessionId::Parse(id);
  info.label = label;
  info.cwd = cwd;
  info.home = "/home/u";
  info.tmp = "/tmp";
  info.state = SessionState::kComplete;
  info.exit_code = 0;
  info.recorder = "ptrace";
  return info;
}

SessionInput Input(int n, std::vector<Event> events, const std::string& label = "t",
                   const std::string& cwd = "/home/u/proj") {
  for (size_t i = 0; i < events.size(); ++i) events[i].seq = i;
  return MemoryInput(Info(n, label, cwd), std::make_shared<const std::vector<Event>>(std::move(events)),
                     "mem" + std::to_string(n));
}

// A run whose temporary file has a random name (created exclusively, then deleted).
std::vector<Event> TaskRun(const std::string& tmp_name) {
  return {Exec("/usr/bin/python3", {"python3", "agent.py"}),
          Open("/home/u/proj/src/a.c"),
          Open("/tmp/" + tmp_name, O_WRONLY | O_CREAT | O_EXCL),
          Simple(EventKind::kFileDelete, "/tmp/" + tmp_name),
          ToolCall("read_file", R"({"path":"/home/u/proj/src/a.c"})", "fs"),
          Connect("10.0.0.1", 443),
          Exec("/usr/bin/git", {"git", "status"})};
}

std::vector<SessionInput> One(SessionInput in) {
  std::vector<SessionInput> v;
  v.push_back(std::move(in));
  return v;
}

DiffReport MustDiff(std::vector<SessionInput> a, std::vector<SessionInput> b, const Policy* policy = nullptr) {
  auto r = RunDiff(std::move(a), "A", std::move(b), "B", policy);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : DiffReport();
}

TEST(DiffTest, SameBehaviourWithRandomTempNamesAndOtherWorkspaceIsEqual) {
  // Same task in another checkout, with other random temporary names and pids: nothing differs.
  std::vector<Event> b = TaskRun("tmpXy9Qa2Lk");
  for (Event& e : b) {
    for (std::string* s : {&e.path, &e.json}) {
      if (s->rfind("/home/u/proj", 0) == 0 || s->find("/home/u/proj") != std::string::npos) {
        s->replace(s->find("/home/u/proj"), 12, "/home/u/work2");
      }
    }
    e.pid = 4242;
  }
  DiffReport r = MustDiff(One(Input(1, TaskRun("tmpA8b3kQ7z"))), One(Input(2, b, "t", "/home/u/work2")));
  EXPECT_TRUE(r.equal()) << RenderDiffText(r);
  EXPECT_TRUE(r.only_a.empty());
  EXPECT_TRUE(r.only_b.empty());
  ASSERT_TRUE(r.steps.has_value());
  EXPECT_EQ(r.steps->steps_a, 3u);
  EXPECT_FALSE(r.steps->divergence.has_value());
  EXPECT_EQ(RenderDiffText(r).substr(0, 24), "agenttrace diff: equal\n ");
  EXPECT_TRUE(nlohmann::json::parse(RenderDiffJson(r))["equal"].get<bool>());
}

TEST(DiffTest, ExtraHostInBIsANewHost) {
  std::vector<Event> b = TaskRun("tmpA8b3kQ7z");
  b.push_back(Connect("203.0.113.9", 443));
  DiffReport r = MustDiff(One(Input(1, TaskRun("tmpA8b3kQ7z"))), One(Input(2, b)));
  EXPECT_FALSE(r.equal());
  EXPECT_TRUE(r.only_a.empty());
  EXPECT_EQ(r.only_b, std::vector<std::string>{"net.connect 203.0.113.9:443"});
  ASSERT_EQ(r.reach.size(), 1u);
  EXPECT_EQ(r.reach[0].kind, "hosts");
  EXPECT_EQ(r.reach[0].added, std::vector<std::string>{"203.0.113.9:443"});
  EXPECT_TRUE(r.reach[0].removed.empty());
  // A connect is not a step: the step sequences stay equal.
  EXPECT_FALSE(r.steps->divergence.has_value());
  EXPECT_NE(RenderDiffText(r).find("new hosts: 203.0.113.9:443"), std::string::npos) << RenderDiffText(r);
  auto j = nlohmann::json::parse(RenderDiffJson(r));
  EXPECT_FALSE(j["equal"].get<bool>());
  EXPECT_EQ(j["reach"]["hosts"]["added"][0], "203.0.113.9:443");
}

TEST(DiffTest, NewPathsSecretsAndToolsAreNewReach) {
  std::vector<Event> b = TaskRun("x");
  b.push_back(Open("/etc/cron.d/job", O_WRONLY | O_CREAT));
  b.push_back(Exec("/usr/bin/curl", {"curl", "x"}, {"GH_TOKEN"}));
  b.push_back(ToolCall("delete_file", R"({"path":"a"})", "fs"));
  DiffReport r = MustDiff(One(Input(1, TaskRun("x"))), One(Input(2, b)));
  std::map<std::string, std::vector<std::string>> added;
  for (const ReachChange& c : r.reach) added[c.kind] = c.added;
  EXPECT_EQ(added["written_outside_workspace"], std::vector<std::string>{"/etc/cron.d/job"});
  EXPECT_EQ(added["secrets"], std::vector<std::string>{"env:GH_TOKEN"});
  EXPECT_EQ(added["side_effect_tools"], std::vector<std::string>{"fs/delete_file"});
}

TEST(DiffTest, AlignmentFindsInsertedStep) {
  std::vector<DiffStep> a = {{"exec a", 1, "a"}, {"exec b", 2, "b"}, {"exec c", 3, "c"}, {"exec d", 4, "d"}};
  std::vector<DiffStep> b = {
      {"exec a", 10, "a"}, {"exec b", 11, "b"}, {"exec x", 12, "x"}, {"exec c", 13, "c"}, {"exec d", 14, "d"}};
  StepAlignment s = AlignSteps(a, b, false);
  EXPECT_EQ(s.common_prefix, 2u);
  EXPECT_EQ(s.edit_distance, 1u);
  ASSERT_TRUE(s.divergence.has_value());
  EXPECT_EQ(s.divergence->kind, "only_in_b");
  EXPECT_EQ(s.divergence->index_b, 2u);
  ASSERT_TRUE(s.divergence->b.has_value());
  EXPECT_EQ(s.divergence->b->seq, 12u);
  EXPECT_FALSE(s.divergence->a.has_value());
}

TEST(DiffTest, AlignmentFindsMissingAndChangedSteps) {
  std::vector<DiffStep> a = {{"k1", 1, ""}, {"k2", 2, ""}, {"k3", 3, ""}};
  std::vector<DiffStep> b = {{"k1", 5, ""}, {"k3", 6, ""}};
  StepAlignment s = AlignSteps(a, b, false);
  ASSERT_TRUE(s.divergence.has_value());
  EXPECT_EQ(s.divergence->kind, "only_in_a");
  EXPECT_EQ(s.divergence->a->seq, 2u);
  EXPECT_EQ(s.edit_distance, 1u);

  std::vector<DiffStep> c = {{"k1", 5, ""}, {"kX", 6, ""}, {"k3", 7, ""}};
  s = AlignSteps(a, c, false);
  EXPECT_EQ(s.divergence->kind, "changed");
  EXPECT_EQ(s.divergence->a->seq, 2u);
  EXPECT_EQ(s.divergence->b->seq, 6u);

  std::vector<DiffStep> d = {{"k1", 5, ""}, {"k2", 6, ""}};
  s = AlignSteps(a, d, false);
  EXPECT_EQ(s.divergence->kind, "only_in_a");
  EXPECT_EQ(s.divergence->index_a, 2u);
  EXPECT_EQ(s.edit_distance, 1u);

  s = AlignSteps(a, a, false);
  EXPECT_FALSE(s.divergence.has_value());
  EXPECT_EQ(s.common_prefix, 3u);
}

TEST(DiffTest, FirstDivergenceOfSessionsIsTheChangedToolArgument) {
  std::vector<Event> b = TaskRun("x");
  b[4].json = R"({"path":"/home/u/proj/src/b.c"})";
  DiffReport r = MustDiff(One(Input(1, TaskRun("x"))), One(Input(2, b)));
  ASSERT_TRUE(r.steps && r.steps->divergence);
  const Divergence& d = *r.steps->divergence;
  EXPECT_EQ(d.kind, "changed");
  EXPECT_EQ(r.steps->common_prefix, 1u);
  EXPECT_EQ(d.a->seq, 4u);
  EXPECT_EQ(d.b->seq, 4u);
  EXPECT_EQ(d.a->key, R"(tool.call fs/read_file {"path":"${workspace}/src/a.c"})");
  EXPECT_NE(d.b->what.find("b.c"), std::string::npos);
  EXPECT_FALSE(r.equal());
}

TEST(DiffTest, AlignmentOfTwoFullLengthDisjointSequences) {
  // The worst case of the quadratic alignment: kMaxDiffSteps steps per side, nothing in common.
  std::vector<DiffStep> a, b;
  for (size_t i = 0; i < kMaxDiffSteps; ++i) {
    a.push_back({"a" + std::to_string(i), i, ""});
    b.push_back({"b" + std::to_string(i), i, ""});
  }
  b.push_back({"b-extra", kMaxDiffSteps, ""});
  StepAlignment s = AlignSteps(a, b, false);
  EXPECT_EQ(s.edit_distance, kMaxDiffSteps + 1);
  EXPECT_EQ(s.common_prefix, 0u);
  EXPECT_EQ(s.divergence->kind, "changed");
}

TEST(DiffTest, StepsAreCapped) {
  std::vector<Event> ev;
  for (size_t i = 0; i < kMaxDiffSteps + 5; ++i) ev.push_back(ToolCall("t", "{}"));
  bool truncated = false;
  auto steps = SessionSteps(Input(1, ev), &truncated);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->size(), kMaxDiffSteps);
  EXPECT_TRUE(truncated);
}

TEST(DiffTest, LongToolArgumentsAreBoundedButStillCompared) {
  std::string big(100000, 'q');  // not hex: the normaliser would fold a hex run
  std::string other = big;
  other.back() = 'z';  // differs only past the kept prefix
  auto steps_a = SessionSteps(Input(1, {ToolCall("t", "\"" + big + "\"")}), nullptr);
  auto steps_b = SessionSteps(Input(2, {ToolCall("t", "\"" + other + "\"")}), nullptr);
  ASSERT_TRUE(steps_a.ok() && steps_b.ok());
  EXPECT_LT((*steps_a)[0].key.size(), 5000u);
  EXPECT_NE((*steps_a)[0].key, (*steps_b)[0].key);
  EXPECT_EQ(AlignSteps(*steps_a, *steps_b, false).divergence->kind, "changed");
}

TEST(DiffTest, RecordedNamesAreEscapedInEveryOutput) {
  std::vector<Event> b = TaskRun("x");
  b.push_back(Open("/home/u/proj/evil\x1b[2J|`\xff"));
  DiffReport r = MustDiff(One(Input(1, TaskRun("x"))), One(Input(2, b)));
  ASSERT_EQ(r.only_b.size(), 1u);
  std::string text = RenderDiffText(r), md = RenderDiffMarkdown(r), json = RenderDiffJson(r);
  EXPECT_NE(text.find("file.read ${workspace}/evil\\x1b[2J|`\\xff"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(md.find("`` file.read ${workspace}/evil\\x1b[2J\\|`\\xff ``"), std::string::npos) << md;
  EXPECT_EQ(md.find('\x1b'), std::string::npos);
  auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["only_in_b"][0], "file.read ${workspace}/evil\\x1b[2J|`\\xff");
}

TEST(DiffTest, LabelSetsUseTheUnionAndSkipAlignment) {
  // A has the README read in one session only, B in the other: the union is the same.
  std::vector<Event> extra = TaskRun("tmpQ3x9Lk2a");
  extra.push_back(Open("/home/u/proj/README"));
  std::vector<SessionInput> a, b;
  a.push_back(Input(1, TaskRun("tmpZ8w1Pm4b"), "v1"));
  a.push_back(Input(2, extra, "v1"));
  b.push_back(Input(3, extra, "v2"));
  b.push_back(Input(4, TaskRun("tmpK0r7Vn3c"), "v2"));
  DiffReport r = MustDiff(std::move(a), std::move(b));
  EXPECT_TRUE(r.equal()) << RenderDiffText(r);
  EXPECT_FALSE(r.steps.has_value());
  EXPECT_EQ(r.a.sessions.size(), 2u);
}

TEST(DiffTest, PolicyDecisionThatChangedIsListed) {
  Policy p = MustParse(R"(
version: 1
default: deny
rules:
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/**", "${tmp}/**"]}
  - {id: usr, decision: allow, class: exec, paths: ["/usr/**"]}
  - {id: net, decision: allow, class: net.connect, hosts: ["10.0.0.0/8"]}
  - {id: tools, decision: allow, class: tool.call}
  - {id: budget, decision: deny, class: file.read, paths: ["${workspace}/**"], budget: {max: 1}}
)");
  std::vector<Event> b = TaskRun("x");
  b.push_back(Open("/home/u/proj/src/a.c"));  // a second read of the same file exceeds the budget
  DiffReport r = MustDiff(One(Input(1, TaskRun("x"))), One(Input(2, b)), &p);
  EXPECT_TRUE(r.policy_used);
  ASSERT_EQ(r.decisions.size(), 1u) << RenderDiffText(r);
  EXPECT_EQ(r.decisions[0].resource, "file.read ${workspace}/src/a.c");
  EXPECT_EQ(r.decisions[0].a, "allow");
  EXPECT_EQ(r.decisions[0].b, "allow,deny");
  EXPECT_TRUE(r.only_a.empty() && r.only_b.empty());
  EXPECT_FALSE(r.equal());
  EXPECT_NE(RenderDiffMarkdown(r).find("| `file.read ${workspace}/src/a.c` | allow | allow,deny |"), std::string::npos)
      << RenderDiffMarkdown(r);
}

}  // namespace
}  // namespace agenttrace
