// The gate on agents whose flakiness comes from their tools: tool-agent writes files named by what the
// oracle MCP server answers (random words). Three live runs are unstable and fail min_stability; three
// runs whose MCP client is behind `agenttrace replay --serve` of one recording, inside `agenttrace
// record`, behave identically and pass; their sessions say they were served from a cassette.
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

const std::string kBin = AGENTTRACE_BIN;
const std::string kAgent = TOOL_AGENT;
const std::string kOracle = ORACLE_SERVER;

using agenttrace::e2e::CmdResult;

class CassetteGateTest : public agenttrace::e2e::GateFixture {
 protected:
  void SetUp() override {
    ::unsetenv("AGENTTRACE_SOCKET");
    ::unsetenv("AGENTTRACE_SESSION");
    MakeDir("agenttrace-cassette-gate",
            "version: 1\ndefault: allow\npromotion: {min_sessions: 3, min_stability: 0.99}\n");
  }
  // One run of the agent in a fresh workspace (the same path every time), recorded under `label`.
  CmdResult Run(const std::string& label, const std::string& server) {
    return Sh("rm -rf ws && mkdir ws && cd ws && '" + kBin + "' record -q --store '" + store_ + "' --label " + label +
              " -- '" + kAgent + "' -- " + server);
  }
  Json Gate(const std::string& label, int* status) {
    CmdResult r = Sh("'" + kBin + "' replay --store '" + store_ + "' --policy '" + policy_ + "' --label " + label +
                     " --json '" + dir_ + "/report.json'");
    *status = r.status;
    std::ifstream in(dir_ + "/report.json");
    return Json::parse(in, nullptr, false);
  }
};

TEST_F(CassetteGateTest, ToolDependentFlakinessDisappearsWhenToolsAreServedFromACassette) {
  const std::string live_server = "'" + kBin + "' record --mcp -- '" + kOracle + "'";
  // The cassette: one recorded run with the live tool.
  ASSERT_EQ(Run("cassette", live_server).status, 0);
  CmdResult ls = Sh("'" + kBin + "' ls --store '" + store_ + "' | awk 'NR==2{printf \"%s\", $1}'");
  std::string cassette = ls.out;
  ASSERT_EQ(cassette.size(), 36u) << ls.out;

  for (int i = 0; i < 3; ++i) ASSERT_EQ(Run("live", live_server).status, 0);
  const std::string served = "'" + kBin + "' replay --serve --store '" + store_ + "' " + cassette;
  for (int i = 0; i < 3; ++i) {
    CmdResult r = Run("replayed", served);
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("2 replayed, 0 live, 0 without a recorded answer"), std::string::npos) << r.out;
  }

  int live_status = -1, replayed_status = -1;
  Json live = Gate("live", &live_status);
  Json replayed = Gate("replayed", &replayed_status);
  ASSERT_TRUE(live.is_object());
  ASSERT_TRUE(replayed.is_object());
  double live_stability = live["labels"][0]["stability"].get<double>();
  double replayed_stability = replayed["labels"][0]["stability"].get<double>();
  EXPECT_EQ(live_status, 1) << live.dump();
  EXPECT_LT(live_stability, 0.99);
  EXPECT_EQ(replayed_status, 0) << replayed.dump();
  EXPECT_EQ(replayed_stability, 1.0);
  // The reports tell served runs from live ones.
  for (const Json& s : replayed["sessions"]) {
    EXPECT_EQ(s["cassette"], (Json{{"served", true}, {"misses", 0}})) << s.dump();
  }
  for (const Json& s : live["sessions"]) EXPECT_FALSE(s.contains("cassette")) << s.dump();

  // Each served session names its cassette: a gate can tell replayed runs from live ones.
  CmdResult exp =
      Sh("for s in $('" + kBin + "' ls --store '" + store_ + "' --label replayed | awk 'NR>1{print $1}'); do '" + kBin +
         "' export --store '" + store_ + "' $s; done");
  size_t marks = 0;
  for (size_t at = 0; (at = exp.out.find("\"cassette.source\"", at)) != std::string::npos; ++at) ++marks;
  EXPECT_EQ(marks, 3u) << exp.out.substr(0, 2000);
  EXPECT_NE(exp.out.find(cassette), std::string::npos);
}

}  // namespace
