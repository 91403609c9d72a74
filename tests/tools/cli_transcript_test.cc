// `agenttrace import --format claude-code|codex [--join SESSION]` end to end, on transcript files
// written for these tests from the documented shapes (tests/tools/data/claude_code_transcript.jsonl,
// codex_rollout.jsonl; recorder/transcript.h lists the fields read), plus the parser's time handling.
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "recorder/transcript.h"
#include "tests/tools/cli_run.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFile;
using testing::RunCli;
using testing::RunResult;

constexpr char kRecordedId[] = "0190b5c4-bbbb-7abc-9def-00000000101e";

std::string DataPath(const std::string& name) { return std::string(AGENTTRACE_TEST_DATA) + "/" + name; }
std::string Describe(const RunResult& r) { return "exit " + std::to_string(r.exit_code) + "\nstderr: " + r.err; }

struct Exported {
  nlohmann::json header;
  std::vector<nlohmann::json> events;
};

class CliTranscriptTest : public testing::CliTestBase {
 protected:
  CliTranscriptTest() : CliTestBase("agenttrace-transcript") {}
  RunResult Run(const std::vector<std::string>& args) { return RunCli(AGENTTRACE_BIN, args, dir_); }
  // Imports and returns the new session's id ("" on failure, with the failure recorded).
  std::string Import(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"import", "--store", store_};
    all.insert(all.end(), args.begin(), args.end());
    RunResult r = Run(all);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    last_err_ = r.err;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  Exported Export(const std::string& id) {
    RunResult r = Run({"export", "--store", store_, id});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    Exported e;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      if (e.header.is_null()) {
        e.header = nlohmann::json::parse(line);
      } else {
        e.events.push_back(nlohmann::json::parse(line));
      }
    }
    return e;
  }
  std::string last_err_;
};

TEST_F(CliTranscriptTest, ClaudeCodeToolUseAndResultsBecomeToolEvents) {
  const std::string id = Import({"--format", "claude-code", DataPath("claude_code_transcript.jsonl")});
  ASSERT_EQ(id.size(), 36u);
  EXPECT_THAT(last_err_, HasSubstr("imported 4 tool calls and 4 results"));
  Exported x = Export(id);
  const auto& s = x.header["session"];
  EXPECT_EQ(s["agent_name"], "claude-code");
  EXPECT_EQ(s["agent_version"], "2.0.14");
  EXPECT_EQ(s["recorder"], "transcript");
  EXPECT_EQ(s["cwd"], "/home/dev/repo");
  EXPECT_EQ(s["exit_code"], -1);  // a transcript does not say how the agent exited
  EXPECT_EQ(s["start_ns"], 1767225600100000000);
  EXPECT_EQ(s["end_ns"], 1767225607000000000);
  ASSERT_EQ(x.events.size(), 8u) << x.header;
  // tool_use (assistant) -> tool.call, tool_result (user) -> tool.result, matched by id.
  EXPECT_EQ(x.events[0]["kind"], "tool.call");
  EXPECT_EQ(x.events[0]["server"], "claude-code");
  EXPECT_EQ(x.events[0]["tool"], "Bash");
  EXPECT_EQ(x.events[0]["request_id"], "\"toolu_01A\"");
  EXPECT_EQ(x.events[0]["method"], "transcript");
  EXPECT_EQ(x.events[0]["json"], R"({"command":"make test","description":"Run tests"})");
  EXPECT_EQ(x.events[0]["ts_ns"], 1767225601000000000);
  EXPECT_EQ(x.events[1]["kind"], "tool.result");
  EXPECT_EQ(x.events[1]["tool"], "Bash");
  EXPECT_EQ(x.events[1]["is_error"], true);
  EXPECT_EQ(x.events[1]["duration_ns"], 2500000000);
  EXPECT_EQ(x.events[1]["json"], "\"FAIL: test_parse (1 failed)\"");
  // Two tool_use blocks in one message, answered in two later lines.
  EXPECT_EQ(x.events[2]["tool"], "Read");
  EXPECT_EQ(x.events[3]["tool"], "Bash");
  EXPECT_EQ(x.events[4]["request_id"], "\"toolu_01B\"");
  EXPECT_FALSE(x.events[4].contains("is_error"));
  EXPECT_EQ(x.events[6]["tool"], "mcp__fs__write_file");
  // The API key in the curl command is redacted as in a recorded tool call.
  const std::string all = Run({"export", "--store", store_, id}).out;
  EXPECT_THAT(all, Not(HasSubstr("sk-ant-api03")));
  EXPECT_THAT(x.events[3]["json"].get<std::string>(), HasSubstr("<secret:fp:"));
}

TEST_F(CliTranscriptTest, CodexFunctionCallsAndMcpCallsBecomeToolEvents) {
  const std::string id = Import({"--format", "codex", "--label", "codex-run", DataPath("codex_rollout.jsonl")});
  ASSERT_EQ(id.size(), 36u);
  Exported x = Export(id);
  EXPECT_EQ(x.header["session"]["agent_name"], "codex");
  EXPECT_EQ(x.header["session"]["agent_version"], "0.46.0");
  EXPECT_EQ(x.header["session"]["label"], "codex-run");
  ASSERT_EQ(x.events.size(), 8u);
  // function_call: the arguments string is parsed back into the object.
  EXPECT_EQ(x.events[0]["tool"], "shell");
  EXPECT_EQ(x.events[0]["request_id"], "\"call_A1\"");
  EXPECT_EQ(x.events[0]["json"], R"({"command":["bash","-lc","make test"],"workdir":"/home/dev/repo"})");
  // function_call_output with a non-zero exit code in its metadata is a failure.
  EXPECT_EQ(x.events[1]["kind"], "tool.result");
  EXPECT_EQ(x.events[1]["is_error"], true);
  EXPECT_EQ(x.events[2]["tool"], "apply_patch");
  EXPECT_FALSE(x.events[3].contains("is_error"));
  // mcp_tool_call_end: one call (begin is not a second one) and its result, timed by its duration.
  EXPECT_EQ(x.events[4]["tool"], "mcp__fs__read_file");
  EXPECT_EQ(x.events[4]["ts_ns"], 1767344405000000000);
  EXPECT_EQ(x.events[5]["duration_ns"], 250000000);
  EXPECT_EQ(x.events[6]["tool"], "mcp__gh__create_issue");
  EXPECT_EQ(x.events[7]["is_error"], true);
  EXPECT_EQ(x.events[7]["json"], "\"tool call failed: unauthorized\"");
  EXPECT_THAT(x.events[6]["json"].get<std::string>(), Not(HasSubstr("ghp_")));

  // A gate evaluates the imported run: a policy that denies the shell tool fails it.
  const std::string policy = dir_ + "/policy.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules:\n"
                           "  - id: no-shell\n    decision: deny\n    class: tool.call\n    tools: [\"shell\"]\n";
  RunResult gate = Run({"replay", "--store", store_, "--policy", policy, "--no-require-success", id});
  EXPECT_EQ(gate.exit_code, 1) << Describe(gate) << gate.out;
  EXPECT_THAT(gate.out, HasSubstr("no-shell"));
}

TEST_F(CliTranscriptTest, JoinMergesToolEventsIntoACopyOfTheRecordedSession) {
  ASSERT_EQ(Import({DataPath("join_recorded.jsonl")}), kRecordedId);
  const std::string before = Run({"export", "--store", store_, kRecordedId}).out;
  const std::string id =
      Import({"--format", "claude-code", "--join", "0190b5c4-bbbb", DataPath("claude_code_transcript.jsonl")});
  ASSERT_EQ(id.size(), 36u);
  EXPECT_NE(id, kRecordedId);
  EXPECT_THAT(last_err_, HasSubstr("joined 6 tool events"));
  EXPECT_THAT(last_err_, HasSubstr("(2 already recorded)"));
  // The recorded session is untouched and still verifies.
  EXPECT_EQ(Run({"export", "--store", store_, kRecordedId}).out, before);
  RunResult v = Run({"verify", "--store", store_});
  EXPECT_EQ(v.exit_code, 0) << v.out;

  Exported x = Export(id);
  const auto& s = x.header["session"];
  EXPECT_EQ(s["label"], "fix-test+transcript");
  EXPECT_EQ(s["recorder"], "ptrace");
  EXPECT_EQ(s["exit_code"], 0);
  EXPECT_EQ(s["state"], "complete");
  ASSERT_EQ(x.events.size(), 1u + 9u + 6u);
  // First, the link to the recorded session.
  EXPECT_EQ(x.events[0]["kind"], "annotation");
  auto note = nlohmann::json::parse(x.events[0]["json"].get<std::string>());
  EXPECT_EQ(note["joined_session"], kRecordedId);
  EXPECT_EQ(note["tool_events_already_recorded"], 2);
  // Then everything in wall-clock order; the hook-recorded Bash call is there once.
  int64_t last = 0;
  int bash_a = 0;
  std::vector<std::string> order;
  for (size_t i = 1; i < x.events.size(); ++i) {
    const auto& e = x.events[i];
    EXPECT_GE(e["ts_ns"].get<int64_t>(), last) << e;
    last = e["ts_ns"].get<int64_t>();
    if (e.value("request_id", "") == "\"toolu_01A\"") ++bash_a;
    order.push_back(e["kind"].get<std::string>() + (e.contains("tool") ? " " + e["tool"].get<std::string>() : ""));
  }
  EXPECT_EQ(bash_a, 2);                   // its call and its result, from the hook
  EXPECT_EQ(order[6], "tool.call Read");  // 4.000 s, before the file.open at 4.100 s
  EXPECT_EQ(order[8], "file.open");
  EXPECT_EQ(order.back(), "proc.exit");
  // Merged events get the recorded clock's monotonic time, so `show` lines them up.
  EXPECT_EQ(x.events[7]["mono_ns"], 13000000000);

  // --join needs a session that exists; --join and --label are for transcripts.
  RunResult missing =
      Run({"import", "--store", store_, "--format", "codex", "--join", "ffffffff", DataPath("codex_rollout.jsonl")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no session matches"));
  RunResult jsonl = Run({"import", "--store", store_, "--join", kRecordedId, DataPath("join_recorded.jsonl")});
  EXPECT_EQ(jsonl.exit_code, 2);
  EXPECT_THAT(jsonl.err, HasSubstr("--join and --label are for --format claude-code or codex"));
}

TEST_F(CliTranscriptTest, AMalformedLineIsExitThreeAndLeavesTheSessionIncomplete) {
  const std::string file = dir_ + "/bad.jsonl";
  std::string good = ReadFile(DataPath("claude_code_transcript.jsonl"));
  std::ofstream(file) << good.substr(0, good.find('\n', good.find("toolu_01A") + 1) + 1) << "{not json\n";
  RunResult r = Run({"import", "--store", store_, "--format", "claude-code", file});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr(file + ": line 4: not valid JSON"));
  EXPECT_THAT(r.err, HasSubstr("left incomplete"));
  RunResult ls = Run({"ls", "--store", store_, "--json"});
  auto sessions = nlohmann::json::parse(ls.out);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["state"], "incomplete");

  const std::string deep = dir_ + "/deep.jsonl";
  std::ofstream(deep) << std::string(300, '[') << std::string(300, ']') << "\n";
  RunResult d = Run({"import", "--store", store_, "--format", "codex", deep});
  EXPECT_EQ(d.exit_code, 3) << Describe(d);
  EXPECT_THAT(d.err, HasSubstr("line 1: transcript line nests"));
}

TEST(TranscriptTimeTest, IsoTimesWithFractionsAndOffsets) {
  EXPECT_EQ(ParseIsoTime("2026-01-01T00:00:00Z"), 1767225600000000000);
  EXPECT_EQ(ParseIsoTime("2026-01-01T00:00:00.5Z"), 1767225600500000000);
  EXPECT_EQ(ParseIsoTime("2026-01-01T00:00:00.123456789Z"), 1767225600123456789);
  EXPECT_EQ(ParseIsoTime("2026-01-01T01:30:00+01:30"), 1767225600000000000);
  EXPECT_EQ(ParseIsoTime("2025-12-31T23:00:00-01:00"), 1767225600000000000);
  EXPECT_EQ(ParseIsoTime("2026-01-01"), std::nullopt);
  EXPECT_EQ(ParseIsoTime("2026-13-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseIsoTime("2026-01-01T00:00:00.Z"), std::nullopt);
  EXPECT_EQ(ParseIsoTime("2026-01-01T00:00:00"), std::nullopt);
}

}  // namespace
}  // namespace agenttrace
