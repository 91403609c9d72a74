// `agenttrace replay --serve` end to end with the official npm SDK client (tests/mcp/node): a session
// recorded through `record --mcp` against a real SDK server is served back to the same client with the
// same results (progress included, ids and _meta changed); a miss in `none` mode is the documented
// error and exit status 1; `new_episodes` and `once` record live exchanges into new sessions that later
// runs replay.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "format/store.h"
#include "tests/mcp/shell_run.h"
#include "recorder/cassette.h"
#include "recorder/event_socket.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kBin = AGENTTRACE_BIN;
const fs::path kNodeDir = MCP_NODE_DIR;

// Shared with the other MCP command-line tests (tests/mcp/shell_run.h).
using shelltest::Quote;
using shelltest::Slurp;
struct ShResult {
  int status = -1;
  std::string out, err;
};

class CassetteCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kEnvSocket);
    ::unsetenv(kEnvSession);
    if (!fs::exists(kNodeDir / "node_modules/@modelcontextprotocol/sdk")) {
      GTEST_SKIP() << "SKIPPED: npm packages missing in " << kNodeDir
                   << "/node_modules (run `npm ci` there). The cassette tests did NOT run.";
    }
    if (std::system("command -v node >/dev/null") != 0) GTEST_SKIP() << "SKIPPED: node is not installed.";
    char tmpl[] = "/tmp/at-cassette-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = dir_ / "store";
  }
  void TearDown() override {
    if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
  }

  ShResult Sh(const std::string& cmd) {
    std::string full = "(" + cmd + ") </dev/null >" + Quote(dir_ / "out") + " 2>" + Quote(dir_ / "err");
    int st = std::system(full.c_str());
    ShResult r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = Slurp(dir_ / "out");
    r.err = Slurp(dir_ / "err");
    return r;
  }
  std::string Client(const std::string& flags) {
    return "node " + Quote(kNodeDir / "cassette_client.mjs") + " " + flags + " -- ";
  }
  std::string Server() { return "node " + Quote(kNodeDir / "progress_server.mjs"); }
  // The serve command wrapped so that its exit status lands in dir_/serve.rc.
  std::string Serve(const std::string& args) {
    std::string inner = Quote(kBin) + " replay --serve --store " + Quote(store_) + " " + args + "; echo $? > " +
                        Quote(dir_ / "serve.rc");
    return "sh -c " + Quote(inner);
  }
  int ServeStatus() { return std::atoi(Slurp(dir_ / "serve.rc").c_str()); }
  ShResult RecordLive(const std::string& label, const std::string& flags = "") {
    return Sh(Client(flags) + Quote(kBin) + " record --mcp --store " + Quote(store_) + " --label " + label + " -- " +
              Server());
  }
  std::vector<SessionInfo> Sessions() {
    auto store = Store::Open(store_, StoreOptions{.read_only = true});
    EXPECT_TRUE(store.ok());
    auto s = (*store)->ListSessions();
    EXPECT_TRUE(s.ok());
    return *s;
  }
  std::vector<Event> Events(const SessionId& id) {
    auto store = Store::Open(store_, StoreOptions{.read_only = true});
    auto r = (*store)->OpenSession(id);
    EXPECT_TRUE(r.ok());
    std::vector<Event> out;
    for (;;) {
      auto e = (*r)->Next();
      if (!e.ok() || *e == nullptr) break;
      out.push_back(**e);
    }
    return out;
  }

  fs::path dir_, store_;
};

TEST_F(CassetteCliTest, SdkClientGetsTheRecordedResultsWithOtherIdsAndMeta) {
  ShResult live = RecordLive("cas");
  ASSERT_EQ(live.status, 0) << live.err;
  ASSERT_NE(live.out.find("\"step 3\""), std::string::npos) << live.out;  // progress reached the client
  // --variant: a ping first (every id shifts), _meta on every call, another client name and version.
  ShResult served = Sh(Client("--variant") + Serve("--label cas"));
  ASSERT_EQ(served.status, 0) << served.err;
  EXPECT_EQ(ServeStatus(), 0) << served.err;
  // Same results line for line: progress, the counter's 1 then 2, and the random number of the recording.
  EXPECT_EQ(served.out, live.out);
  // A second live run gives another random number: the cassette is what made the runs equal.
  ShResult live2 = RecordLive("other");
  ASSERT_EQ(live2.status, 0);
  EXPECT_NE(live2.out, live.out);

  // The serving run is recorded, says where its answers came from, and is told apart from live runs.
  std::vector<SessionInfo> s = Sessions();
  ASSERT_EQ(s.size(), 3u);
  const SessionInfo& rec = s[0];
  const SessionInfo& srv = s[1];
  EXPECT_EQ(rec.recorder, "mcp");
  EXPECT_EQ(srv.recorder, "mcp-replay");
  EXPECT_EQ(srv.label, "cas");
  EXPECT_EQ(srv.exit_code, 0);
  std::vector<Event> ev = Events(srv.id);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0].kind, EventKind::kAnnotation);
  EXPECT_EQ(ev[0].text, kSourceAnnotation);
  Json src = Json::parse(ev[0].json);
  EXPECT_EQ(src["sessions"][0], rec.id.ToString());
  int replayed = 0, tool_results = 0;
  for (const Event& e : ev) {
    if (e.kind == EventKind::kAnnotation && e.text == kServedAnnotation &&
        Json::parse(e.json)["served"] == "replayed") {
      ++replayed;
    }
    if (e.kind == EventKind::kToolResult) {
      ++tool_results;
      EXPECT_EQ(e.server, "progress-test-server");
    }
  }
  EXPECT_EQ(replayed, 6);  // initialize, tools/list, 4 calls (the ping is answered locally)
  EXPECT_EQ(tool_results, 4);
}

TEST_F(CassetteCliTest, NoneModeMissIsTheDocumentedErrorAndExitStatusOne) {
  ASSERT_EQ(RecordLive("cas").status, 0);
  ShResult r = Sh(Client("--extra") + Serve("--label cas"));
  ASSERT_EQ(r.status, 0) << r.err;  // the client carries on after an error answer
  EXPECT_NE(r.out.find("MCP error -32010: no recorded answer for tools/call roll with these arguments"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(ServeStatus(), 1) << r.err;
  EXPECT_NE(r.err.find("1 without a recorded answer"), std::string::npos) << r.err;
  // The miss is in the serving run's recording.
  std::vector<SessionInfo> s = Sessions();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].exit_code, 1);
  bool miss = false;
  for (const Event& e : Events(s[1].id)) {
    if (e.kind == EventKind::kAnnotation && e.text == kServedAnnotation) {
      Json a = Json::parse(e.json);
      if (a["served"] == "miss" && a["tool"] == "roll") miss = true;
    }
  }
  EXPECT_TRUE(miss);
}

TEST_F(CassetteCliTest, NewEpisodesAppendsTheLiveExchangeAndLaterRunsReplayIt) {
  ASSERT_EQ(RecordLive("cas").status, 0);
  ShResult grow = Sh(Client("--extra") + Serve("--label cas --record-mode new_episodes -- " + Server()));
  ASSERT_EQ(grow.status, 0) << grow.err;
  EXPECT_EQ(ServeStatus(), 0) << grow.err;
  EXPECT_EQ(grow.out.find("-32010"), std::string::npos) << grow.out;
  EXPECT_NE(grow.err.find("1 live"), std::string::npos) << grow.err;
  std::vector<SessionInfo> s = Sessions();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].label, "cas");
  bool live_roll = false;
  for (const Event& e : Events(s[1].id)) {
    if (e.kind == EventKind::kAnnotation && e.text == kServedAnnotation) {
      Json a = Json::parse(e.json);
      if (a["served"] == "live") live_roll = a["tool"] == "roll";
    }
  }
  EXPECT_TRUE(live_roll);
  // The grown cassette answers the extra call now, with what the live server said.
  ShResult again = Sh(Client("--extra") + Serve("--label cas"));
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(ServeStatus(), 0) << again.err;
  EXPECT_EQ(again.out, grow.out);
}

TEST_F(CassetteCliTest, OnceRecordsWhenThereIsNoCassetteThenReplays) {
  ShResult first = Sh(Client("") + Serve("--label fresh --record-mode once -- " + Server()));
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(ServeStatus(), 0) << first.err;
  EXPECT_NE(first.err.find("all mode"), std::string::npos) << first.err;
  ShResult second = Sh(Client("--variant") + Serve("--label fresh --record-mode once -- false"));
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(ServeStatus(), 0) << second.err;
  EXPECT_NE(second.err.find("none mode"), std::string::npos) << second.err;
  EXPECT_EQ(second.out, first.out);
}

TEST_F(CassetteCliTest, UsageErrors) {
  EXPECT_EQ(Sh(Quote(kBin) + " replay --serve --store " + Quote(store_) + " --label none").status, 2);
  ShResult bad = Sh(Quote(kBin) + " replay --serve --match fuzzy --store " + Quote(store_));
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--match 'fuzzy'"), std::string::npos) << bad.err;
  ShResult nolive = Sh(Quote(kBin) + " replay --serve --record-mode new_episodes --store " + Quote(store_));
  EXPECT_EQ(nolive.status, 2);
  EXPECT_NE(nolive.err.find("needs the live server"), std::string::npos) << nolive.err;
  ShResult nopolicy = Sh(Quote(kBin) + " replay --store " + Quote(store_));
  EXPECT_EQ(nopolicy.status, 2);
  EXPECT_NE(nopolicy.err.find("--policy is required"), std::string::npos) << nopolicy.err;
}

}  // namespace
}  // namespace agenttrace
