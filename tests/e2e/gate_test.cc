// The gate fails closed on real recordings: agents that never ran and agents whose task failed are
// findings that block promotion, through the CLI, on sessions recorded by `agenttrace record`.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/e2e/gate_fixture.h"

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

using agenttrace::e2e::CmdResult;

class GateTest : public agenttrace::e2e::GateFixture {
 protected:
  void SetUp() override {
    MakeDir("agenttrace-gate-test", "version: 1\ndefault: allow\npromotion: {min_sessions: 3}\n");
  }

  CmdResult Record(const std::string& label, const std::string& command) {
    return Sh(std::string("'") + AGENTTRACE_BIN + "' record -q --store '" + store_ + "' --label " + label + " -- " +
              command);
  }
  CmdResult Replay(const std::string& label, const std::string& extra = "") {
    return Sh(std::string("'") + AGENTTRACE_BIN + "' replay --store '" + store_ + "' --policy '" + policy_ +
              "' --label " + label + " --json '" + dir_ + "/report.json' " + extra);
  }
  Json Report() {
    std::ifstream in(dir_ + "/report.json");
    return Json::parse(in, nullptr, false);
  }
  static std::string FailedCriteria(const Json& report) {
    std::string out;
    for (const Json& c : report["labels"][0]["criteria"]) {
      if (!c["ok"].get<bool>()) out += c["name"].get<std::string>() + " ";
    }
    return out;
  }
};

TEST_F(GateTest, AgentThatWasNeverFoundIsNotPromotable) {
  for (int i = 0; i < 3; ++i) {
    CmdResult r = Record("typo", "./no-such-agent");
    EXPECT_EQ(r.status, 127) << r.out;
  }
  CmdResult r = Replay("typo");
  EXPECT_EQ(r.status, 1) << r.out;  // not promotable: never a pass
  EXPECT_NE(r.out.find("AGENT NEVER RAN"), std::string::npos) << r.out;
  Json j = Report();
  EXPECT_EQ(j["promotable"], false);
  EXPECT_EQ(j["labels"][0]["not_run"], 3);
  EXPECT_EQ(j["labels"][0]["stability"], 0.0);
  EXPECT_NE(FailedCriteria(j).find("agent_ran"), std::string::npos) << FailedCriteria(j);
  // Turning task success off does not turn an agent that never ran into a pass.
  EXPECT_EQ(Replay("typo", "--no-require-success --min-stability 0").status, 1);
}

TEST_F(GateTest, AgentThatIsNotExecutableIsNotPromotable) {
  std::ofstream(dir_ + "/agent.sh") << "#!/bin/sh\necho hi\n";
  fs::permissions(dir_ + "/agent.sh", fs::perms::owner_read | fs::perms::owner_write);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Record("noexec", "./agent.sh").status, 126);
  CmdResult r = Replay("noexec");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(FailedCriteria(Report()).find("agent_ran"), std::string::npos);
}

TEST_F(GateTest, AgentThatFailsSomeRunsIsNotPromotableUnlessSuccessIsNotRequired) {
  // Runs 2 and 4 of 5 crash (exit 1); the behaviour is otherwise identical.
  for (int i = 1; i <= 5; ++i) {
    int code = (i == 2 || i == 4) ? 1 : 0;
    CmdResult r = Record("crashy", "sh -c 'echo working > out.txt; exit " + std::to_string(code) + "'");
    EXPECT_EQ(r.status, code) << r.out;
  }
  CmdResult r = Replay("crashy");
  EXPECT_EQ(r.status, 1) << r.out;
  Json j = Report();
  EXPECT_EQ(j["labels"][0]["task_failures"], 2);
  EXPECT_EQ(j["labels"][0]["passed"], 3);
  EXPECT_EQ(j["labels"][0]["pass_k"], false);
  EXPECT_EQ(FailedCriteria(j), "task_outcome ");
  int failed = 0;
  for (const Json& s : j["sessions"]) {
    if (s["outcome"] == "exit 1") {
      ++failed;
      EXPECT_EQ(s["task_succeeded"], false);
      EXPECT_EQ(s["passed"], false);
    }
  }
  EXPECT_EQ(failed, 2);
  // The same sessions with exit 1 accepted, or with the outcome not judged, pass.
  EXPECT_EQ(Replay("crashy", "--success-exit-codes 0,1").status, 0) << Sh("cat report.json").out;
  EXPECT_EQ(Replay("crashy", "--no-require-success").status, 0);
  // A policy may say the same.
  std::ofstream(policy_) << "version: 1\ndefault: allow\npromotion: {min_sessions: 3, success_exit_codes: [0, 1]}\n";
  EXPECT_EQ(Replay("crashy").status, 0);
}

TEST_F(GateTest, AgentThatSucceedsEveryRunIsPromotable) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Record("ok", "sh -c 'echo working > out.txt'").status, 0);
  CmdResult r = Replay("ok");
  EXPECT_EQ(r.status, 0) << r.out;
  Json j = Report();
  EXPECT_EQ(j["labels"][0]["passed"], 3);
  EXPECT_EQ(j["labels"][0]["not_run"], 0);
}

}  // namespace
