// End-to-end tests of `agenttrace diff`: the built binary on the golden diff sessions
// (tests/golden/diff-agent-v2), checking exit codes (0 equal, 1 different, 2 usage, 3 corrupt,
// 4 bad policy) and that the outputs are the reports the golden test pins.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern char** environ;

#include "tests/tools/cli_run.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;

std::string Golden(const std::string& name) { return std::string(AGENTTRACE_DIFF_DATA) + "/" + name; }

using testing::ReadFile;
using testing::RunResult;

class CliDiffTest : public testing::CliTestBase {
 protected:
  CliDiffTest() : CliTestBase("agenttrace-diff") {}

  // Runs agenttrace with `args` (environment without AGENTTRACE_STORE).
  RunResult Run(const std::vector<std::string>& args) {
    return testing::RunCli(AGENTTRACE_BIN, args, dir_);
  }
};

TEST_F(CliDiffTest, SameSessionIsEqualExitZero) {
  RunResult r = Run({"diff", Golden("a.jsonl"), Golden("a.jsonl")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("agenttrace diff: equal\n", 0), 0u) << r.out;
}

TEST_F(CliDiffTest, DifferentSessionsExitOneWithTheGoldenReports) {
  std::string json = dir_ + "/diff.json", md = dir_ + "/diff.md";
  RunResult r = Run({"diff", "--policy", Golden("diff-policy.yaml"), "--json", json, "--markdown", md,
                     Golden("a.jsonl"), Golden("b.jsonl")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("new hosts: 203.0.113.9:443"), std::string::npos) << r.out;
  // The golden reports name the sides "a.jsonl" and "b.jsonl"; here they are full paths.
  auto j = nlohmann::json::parse(ReadFile(json));
  auto golden = nlohmann::json::parse(ReadFile(Golden("expected.json")));
  EXPECT_EQ(j["a"]["name"], Golden("a.jsonl"));
  j["a"]["name"] = "a.jsonl";
  j["b"]["name"] = "b.jsonl";
  j["policy"] = "diff-policy.yaml";
  EXPECT_EQ(j, golden);
  EXPECT_NE(ReadFile(md).find("| `net.connect 203.0.113.9:443` | - | deny |"), std::string::npos);
}

TEST_F(CliDiffTest, JsonToStandardOutput) {
  RunResult r = Run({"diff", "--json", "-", Golden("a.jsonl"), Golden("b.jsonl")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["equal"].get<bool>());
  EXPECT_TRUE(j["policy"].is_null());
  EXPECT_EQ(j["steps"]["divergence"]["kind"], "only_in_b");
}

TEST_F(CliDiffTest, LabelsFromFilesAndFromTheStore) {
  RunResult files = Run({"diff", "--label", "agent-v1", "--label", "agent-v2", Golden("a.jsonl"), Golden("b.jsonl")});
  EXPECT_EQ(files.exit_code, 1) << files.err;
  EXPECT_NE(files.out.find("A = label agent-v1 (1 session"), std::string::npos) << files.out;
  RunResult same = Run({"diff", "--label", "agent-v1", "--label", "agent-v1", Golden("a.jsonl"), Golden("b.jsonl")});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  for (const char* f : {"a.jsonl", "b.jsonl"}) {
    RunResult imp = Run({"import", "--store", store_, Golden(f)});
    ASSERT_EQ(imp.exit_code, 0) << imp.err;
  }
  RunResult store = Run({"diff", "--store", store_, "--label", "agent-v1", "--label", "agent-v2"});
  EXPECT_EQ(store.exit_code, 1) << store.err;
  EXPECT_NE(store.out.find("only in B (3):"), std::string::npos) << store.out;
  RunResult by_id =
      Run({"diff", "--store", store_, "0190b5c4-8e1a-7abc-9def-000000000001", "0190b5c4-8e1a-7abc-9def-000000000001"});
  EXPECT_EQ(by_id.exit_code, 0) << by_id.err;
}

// replay, report and policy suggest need a session: selecting none is a usage error that names the label.
TEST_F(CliDiffTest, ReplayReportAndSuggestWithNoSessionSelectedAreUsageErrors) {
  const std::string policy = Golden("diff-policy.yaml");
  const std::string html = dir_ + "/none.html";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"replay", "--policy", policy, "--label", "nope", Golden("a.jsonl")},
        std::vector<std::string>{"report", "--policy", policy, "--label", "nope", "-o", html, Golden("a.jsonl")},
        std::vector<std::string>{"policy", "suggest", "--label", "nope", Golden("a.jsonl")}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("agenttrace: no sessions selected with label nope\n"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(html));
}

TEST_F(CliDiffTest, UsageCorruptAndBadPolicyExitCodes) {
  EXPECT_EQ(Run({"diff", Golden("a.jsonl")}).exit_code, 2);
  EXPECT_EQ(Run({"diff", "--label", "agent-v1", Golden("a.jsonl")}).exit_code, 2);
  RunResult none = Run({"diff", "--label", "agent-v1", "--label", "nope", Golden("a.jsonl")});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no sessions selected for label nope"), std::string::npos) << none.err;
  std::string corrupt = dir_ + "/corrupt.jsonl";
  std::ofstream(corrupt) << ReadFile(Golden("a.jsonl")) << "{not json\n";
  EXPECT_EQ(Run({"diff", Golden("a.jsonl"), corrupt}).exit_code, 3);
  std::string bad = dir_ + "/bad.yaml";
  std::ofstream(bad) << "version: 1\nrules: [{id: x, decision: perhaps}]\n";
  EXPECT_EQ(Run({"diff", "--policy", bad, Golden("a.jsonl"), Golden("b.jsonl")}).exit_code, 4);
}

}  // namespace
}  // namespace agenttrace
