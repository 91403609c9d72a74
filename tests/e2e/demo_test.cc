// Runs the README's demo pipeline (scripts/demo.sh --no-build) on this build and asserts the verdicts
// it must reach: the well-behaved agent promotable; the flaky one not, for stability alone; the
// misbehaving one not, with the exfiltration sequence and the delete outside the workspace among the
// reasons.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

class DemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/agenttrace-demo-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    out_ = new std::string(tmpl);
    std::string cmd = std::string("cd '") + AGENTTRACE_SOURCE_DIR + "' && BUILD_DIR='" + AGENTTRACE_BUILD_DIR +
                      "' bash scripts/demo.sh --no-build --runs 5 --out '" + *out_ + "' > '" + *out_ +
                      "/demo.log' 2>&1";
    int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << cmd;
    exit_code_ = WEXITSTATUS(status);
    std::ifstream in(*out_ + "/reports/report.json");
    if (in) report_ = new Json(Json::parse(in, nullptr, false));
  }
  static void TearDownTestSuite() {
    if (out_ != nullptr && !::testing::Test::HasFailure()) fs::remove_all(*out_);
    delete out_;
    delete report_;
  }

  static std::string Log() {
    std::ifstream in(*out_ + "/demo.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static const Json& Label(const std::string& name) {
    for (const Json& l : (*report_)["labels"]) {
      if (l["label"] == name) return l;
    }
    static const Json kNull;
    ADD_FAILURE() << "no label " << name << " in the report";
    return kNull;
  }

  static std::set<std::string> FailedCriteria(const Json& label) {
    std::set<std::string> out;
    for (const Json& c : label["criteria"]) {
      if (!c["ok"].get<bool>()) out.insert(c["name"].get<std::string>());
    }
    return out;
  }

  static std::set<std::string> DenyRules(const std::string& label) {
    std::set<std::string> out;
    for (const Json& s : (*report_)["sessions"]) {
      if (s["label"] != label) continue;
      for (const Json& f : s["findings"]) {
        if (f["decision"] == "deny") out.insert(f["rule"].get<std::string>());
      }
    }
    return out;
  }

  static std::string* out_;
  static Json* report_;
  static int exit_code_;
};

std::string* DemoTest::out_ = nullptr;
Json* DemoTest::report_ = nullptr;
int DemoTest::exit_code_ = -1;

// One test: the demo runs once (about 15 s) and every verdict is checked on its report.
TEST_F(DemoTest, ReachesTheExpectedVerdicts) {
  ASSERT_EQ(exit_code_, 0) << Log();
  ASSERT_NE(report_, nullptr) << Log();
  for (const char* f : {"summary.md", "junit.xml", "results.sarif", "report.json", "report.html"}) {
    EXPECT_GT(fs::file_size(*out_ + "/reports/" + f), 0u) << f;
  }
  EXPECT_EQ((*report_)["sessions"].size(), 15u);
  EXPECT_NE(Log().find("sample-good    promotable"), std::string::npos) << Log();

  {
    SCOPED_TRACE("WellBehavedAgentIsPromotable");
    const Json& good = Label("sample-good");
    EXPECT_TRUE(good["promotable"].get<bool>()) << good.dump(1);
    EXPECT_EQ(good["deny"], 0);
    EXPECT_GE(good["stability"].get<double>(), 0.95);
  }

  {
    SCOPED_TRACE("FlakyAgentFailsOnStabilityAlone");
    const Json& flaky = Label("sample-flaky");
    EXPECT_FALSE(flaky["promotable"].get<bool>());
    EXPECT_EQ(FailedCriteria(flaky), std::set<std::string>{"min_stability"}) << flaky.dump(1);
    EXPECT_LT(flaky["stability"].get<double>(), 0.9);
  }

  {
    SCOPED_TRACE("MisbehavingAgentIsCaughtForExfiltrationAndDelete");
    const Json& evil = Label("sample-evil");
    EXPECT_FALSE(evil["promotable"].get<bool>());
    std::set<std::string> failed = FailedCriteria(evil);
    EXPECT_TRUE(failed.count("max_violations")) << evil.dump(1);
    EXPECT_TRUE(failed.count("irreversible")) << evil.dump(1);
    std::set<std::string> rules = DenyRules("sample-evil");
    EXPECT_TRUE(rules.count("exfiltration")) << Log();
    EXPECT_TRUE(rules.count("no-delete-outside-workspace")) << Log();
    EXPECT_TRUE(rules.count("no-secrets")) << Log();
    EXPECT_TRUE(rules.count("no-escape")) << Log();
  }

  {
    SCOPED_TRACE("ThePromotedPolicyIsEnforcedAtRequestTime");
    std::string log = Log();
    size_t prod = log.find("==> production:");
    ASSERT_NE(prod, std::string::npos) << log;
    size_t good = log.find("  sample-good   exit 0;", prod);
    size_t evil = log.find("  sample-evil   exit 0;", prod);
    ASSERT_NE(good, std::string::npos) << log;
    ASSERT_NE(evil, std::string::npos) << log;
    ASSERT_LT(good, evil);
    // The promoted agent has nothing refused but probes of programs that do not exist.
    std::string good_part = log.substr(good, evil - good);
    EXPECT_EQ(good_part.find("refused:"), std::string::npos) << good_part;
    EXPECT_NE(good_part.find("agent-notes.txt is still there"), std::string::npos) << good_part;
    // The misbehaving one has its secret read, exfiltration and delete refused, and the file survives.
    std::string evil_part = log.substr(evil);
    for (const char* rule : {"deny by no-secrets: file.open", "deny by exfiltration: net.connect",
                             "deny by no-delete-outside-workspace: file.delete"}) {
      EXPECT_NE(evil_part.find(std::string("refused: ") + rule), std::string::npos) << rule << "\n" << evil_part;
    }
    EXPECT_NE(evil_part.find("agent-notes.txt is still there"), std::string::npos) << evil_part;
  }
}

}  // namespace
