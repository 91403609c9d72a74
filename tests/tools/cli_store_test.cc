// End-to-end tests of the store commands (ls, show, export, import, verify, stats): each test runs the
// built agenttrace binary in a temporary store and checks its exit code and output. The input sessions
// are hand-written JSON lines in tests/tools/data/, in the canonical form export writes, so that an
// import followed by an export must reproduce them byte for byte.
#include <fcntl.h>
#include <lmdb.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "format/chunk_codec.h"
#include "format/chunk_codec_testing.h"
#include "format/event.h"
#include "format/event_json.h"
#include "format/session.h"
#include "format/session_record.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

extern char** environ;

#include "tests/tools/cli_run.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSessionId[] = "0190b5c4-8e1a-7abc-9def-0123456789ab";
constexpr char kIncompleteId[] = "0190b5c4-9000-7000-8000-00000000beef";

std::string DataPath(const std::string& name) { return std::string(AGENTTRACE_TEST_DATA) + "/" + name; }

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

using testing::ReadFile;
using testing::RunResult;

class CliStoreTest : public testing::CliTestBase {
 protected:
  CliStoreTest() : CliTestBase("agenttrace-cli") {}

  // Runs agenttrace with `args`, stdin from `stdin_path`; environment without AGENTTRACE_STORE.
  RunResult Run(const std::vector<std::string>& args, const std::string& stdin_path = "/dev/null") {
    return testing::RunCli(AGENTTRACE_BIN, args, dir_, stdin_path);
  }

  // Imports `file` into the test store; returns the new session's id.
  std::string Import(const std::string& file, bool new_id = false) {
    std::vector<std::string> args = {"import", "--store", store_, file};
    if (new_id) args.push_back("--new-id");
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.size(), 37u) << r.out;  // the id and a newline
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }

  nlohmann::json LsJson(const std::string& store) {
    RunResult r = Run({"ls", "--store", store, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r.out;
    return j;
  }
};

std::string Describe(const RunResult& r) { return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err; }

// ---------------------------------------------------------------------------------------------

TEST_F(CliStoreTest, ReadCommandsOnAMissingStoreFailWithoutCreatingIt) {
  std::string missing = dir_ + "/no-such-store";
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"ls"}, {"show", "0190"}, {"export", "0190"}, {"verify"}, {"stats"}}) {
    args.push_back("--store");
    args.push_back(missing);
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << "\n" << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("no trace store at " + missing)) << args[0];
    EXPECT_FALSE(fs::exists(missing)) << args[0] << " created the store";
  }
}

TEST_F(CliStoreTest, ImportThenLsListsTheSession) {
  EXPECT_EQ(Import(DataPath("session.jsonl")), kSessionId);

  RunResult ls = Run({"ls", "--store", store_});
  ASSERT_EQ(ls.exit_code, 0) << Describe(ls);
  auto lines = SplitLines(ls.out);
  ASSERT_EQ(lines.size(), 2u) << ls.out;
  EXPECT_THAT(lines[0], AllOf(HasSubstr("ID"), HasSubstr("START (UTC)"), HasSubstr("STATE"), HasSubstr("LABEL"),
                              HasSubstr("EVENTS"), HasSubstr("COMMAND")));
  EXPECT_THAT(lines[1], AllOf(HasSubstr(kSessionId), HasSubstr("2026-01-01T00:00:00.000Z"), HasSubstr("complete"),
                              HasSubstr("fix-readme"), HasSubstr("demo-agent 1.2.3"), HasSubstr(" 12 "),
                              HasSubstr("demo-agent --task 'fix the README'")));

  nlohmann::json j = LsJson(store_);
  ASSERT_EQ(j.size(), 1u);
  const auto& s = j[0];
  EXPECT_EQ(s["id"], kSessionId);
  EXPECT_EQ(s["start"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(s["start_ns"], 1767225600000000000LL);
  EXPECT_EQ(s["end_ns"], 1767225602500000000LL);
  EXPECT_EQ(s["state"], "complete");
  EXPECT_EQ(s["label"], "fix-readme");
  EXPECT_EQ(s["agent_name"], "demo-agent");
  EXPECT_EQ(s["events"], 12);
  EXPECT_EQ(s["exit_code"], 0);
  EXPECT_EQ(s["argv"], (std::vector<std::string>{"demo-agent", "--task", "fix the README"}));
  EXPECT_GE(s["chunks"].get<int>(), 1);

  // --label filters; sessions of other labels are not shown.
  RunResult other = Run({"ls", "--store", store_, "--json", "--label", "other"});
  ASSERT_EQ(other.exit_code, 0) << Describe(other);
  EXPECT_EQ(nlohmann::json::parse(other.out), nlohmann::json::array());
  RunResult same = Run({"ls", "--store", store_, "--label", "fix-readme"});
  EXPECT_THAT(same.out, HasSubstr(kSessionId));
}

TEST_F(CliStoreTest, ShowPrintsMetadataAndTimeline) {
  Import(DataPath("session.jsonl"));
  RunResult r = Run({"show", "--store", store_, kSessionId});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, AllOf(HasSubstr("session   " + std::string(kSessionId)), HasSubstr("fix-readme"),
                           HasSubstr("complete"), HasSubstr("secret: OPENAI_API_KEY")));
  auto lines = SplitLines(r.out);
  std::vector<std::string> timeline;
  for (const auto& l : lines) {
    if (!l.empty() && (l[0] == '+' || l[0] == '-')) timeline.push_back(l);
  }
  ASSERT_EQ(timeline.size(), 12u) << r.out;
  // One line per event: relative time, pid, kind, what.
  EXPECT_THAT(timeline[0], AllOf(HasSubstr("+0.000ms"), HasSubstr("4242"), HasSubstr("exec"),
                                 HasSubstr("git commit -m 'fix bug'")));
  EXPECT_THAT(timeline[1], AllOf(HasSubstr("+12.345ms"), HasSubstr("file.open"), HasSubstr("/home/dev/repo/README.md")));
  EXPECT_THAT(timeline[1], Not(HasSubstr("= ")));
  EXPECT_THAT(timeline[2], HasSubstr("/home/dev/repo/missing.txt flags=02000000 = -2 ENOENT"));
  EXPECT_THAT(timeline[3], AllOf(HasSubstr("file.rename"), HasSubstr("/home/dev/repo/a.txt -> /home/dev/repo/b.txt")));
  EXPECT_THAT(timeline[4], AllOf(HasSubstr("proc.spawn"), HasSubstr("child 4250")));
  EXPECT_THAT(timeline[5], AllOf(HasSubstr("4250"), HasSubstr("net.connect"), HasSubstr("93.184.216.34:443")));
  EXPECT_THAT(timeline[6], AllOf(HasSubstr("tool.call"), HasSubstr("fs/read_file {\"path\":\"/home/dev/repo/README.md\"}")));
  EXPECT_THAT(timeline[7], AllOf(HasSubstr("+60.500ms"), HasSubstr("tool.result"), HasSubstr("ok in 1.500ms")));
  EXPECT_THAT(timeline[8], HasSubstr("checkpoint: tests passed"));
  EXPECT_THAT(timeline[9], HasSubstr("/home/dev/repo/b.txt = -13 EACCES"));
  EXPECT_THAT(timeline[10], HasSubstr("exit 1"));
  EXPECT_THAT(timeline[11], AllOf(HasSubstr("+2399.000ms"), HasSubstr("killed by SIGKILL")));

  RunResult limited = Run({"show", "--store", store_, "--limit", "3", "0190b5c4-8e"});
  ASSERT_EQ(limited.exit_code, 0) << Describe(limited);
  size_t n = 0;
  for (const auto& l : SplitLines(limited.out)) n += (!l.empty() && l[0] == '+');
  EXPECT_EQ(n, 3u) << limited.out;
  EXPECT_THAT(limited.out, HasSubstr("... 9 more events"));
}

TEST_F(CliStoreTest, ExportImportExportIsByteIdentical) {
  const std::string input = ReadFile(DataPath("session.jsonl"));
  Import(DataPath("session.jsonl"));

  RunResult e1 = Run({"export", "--store", store_, kSessionId});
  ASSERT_EQ(e1.exit_code, 0) << Describe(e1);
  EXPECT_EQ(e1.out, input);

  std::string file = dir_ + "/export.jsonl";
  RunResult e2 = Run({"export", "--store", store_, "--format", "jsonl", "-o", file, "0190b5c4"});
  ASSERT_EQ(e2.exit_code, 0) << Describe(e2);
  EXPECT_EQ(e2.out, "");
  EXPECT_EQ(ReadFile(file), input);

  // Importing the same id again is refused; --new-id gives a fresh one.
  RunResult again = Run({"import", "--store", store_, file});
  EXPECT_EQ(again.exit_code, 2) << Describe(again);
  EXPECT_THAT(again.err, AllOf(HasSubstr("already exists"), HasSubstr("--new-id")));

  std::string new_id = Import(file, /*new_id=*/true);
  ASSERT_NE(new_id, kSessionId);
  ASSERT_TRUE(SessionId::Parse(new_id).ok()) << new_id;
  RunResult e3 = Run({"export", "--store", store_, new_id});
  ASSERT_EQ(e3.exit_code, 0) << Describe(e3);
  std::string renamed = e3.out;
  size_t at = renamed.find(new_id);
  ASSERT_NE(at, std::string::npos);
  renamed.replace(at, new_id.size(), kSessionId);
  EXPECT_EQ(renamed, input);

  // Standard input works as well.
  std::string from_stdin_store = dir_ + "/store2";
  RunResult in = Run({"import", "--store", from_stdin_store, "-"}, DataPath("session.jsonl"));
  ASSERT_EQ(in.exit_code, 0) << Describe(in);
  RunResult e4 = Run({"export", "--store", from_stdin_store, kSessionId});
  EXPECT_EQ(e4.out, input);
}

// A file name that is not UTF-8 (here Latin-1) must survive export -> import byte for byte: the
// export escapes it (docs/format.md, "Escaped text") instead of writing U+FFFD, and show prints the
// same escapes.
TEST_F(CliStoreTest, NonUtf8NamesRoundTripThroughExportAndImport) {
  const std::string input = ReadFile(DataPath("non_utf8_names.jsonl"));
  const std::string id = Import(DataPath("non_utf8_names.jsonl"));
  RunResult e1 = Run({"export", "--store", store_, id});
  ASSERT_EQ(e1.exit_code, 0) << Describe(e1);
  EXPECT_EQ(e1.out, input);
  EXPECT_EQ(e1.out.find("\xef\xbf\xbd"), std::string::npos);  // no U+FFFD

  // A second store: what it holds must be the raw bytes again, seen through every reader.
  std::string file = dir_ + "/names.jsonl";
  WriteFile(file, e1.out);
  std::string other = dir_ + "/other";
  RunResult imp = Run({"import", "--store", other, file});
  ASSERT_EQ(imp.exit_code, 0) << Describe(imp);
  RunResult e2 = Run({"export", "--store", other, id});
  ASSERT_EQ(e2.exit_code, 0) << Describe(e2);
  EXPECT_EQ(e2.out, input);
  auto lines = SplitLines(e2.out);
  ASSERT_EQ(lines.size(), 5u);
  auto header = SessionHeaderFromJson(lines[0]);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->argv, (std::vector<std::string>{"demo-agent", "--out=r\xe9sum\xe9"}));
  auto open = EventFromJson(lines[1]);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ(open->path, "/home/dev/repo/r\xe9sum\xe9.txt");
  auto link = EventFromJson(lines[2]);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->path, "../\xff\xfe\\x41");  // the link text, with a literal backslash

  RunResult show = Run({"show", "--store", other, id});
  ASSERT_EQ(show.exit_code, 0) << Describe(show);
  EXPECT_THAT(show.out, AllOf(HasSubstr("/home/dev/repo/r\\xe9sum\\xe9.txt flags=01101"),
                              HasSubstr("/home/dev/repo/link -> ../\\xff\\xfe\\\\x41"),
                              HasSubstr("/home/dev/repo/back\\\\slash.txt"),
                              HasSubstr("command   demo-agent '--out=r\\xe9sum\\xe9'")));
  EXPECT_EQ(show.out.find('\xe9'), std::string::npos) << "raw bytes reached the terminal";
}

TEST_F(CliStoreTest, ExportChromeTraceHasTracksAToolSpanAndPolicyDecisions) {
  ASSERT_EQ(Import(DataPath("session.jsonl")), kSessionId);
  const std::string file = dir_ + "/trace.json";
  RunResult r = Run({"export", "--store", store_, "--format", "chrome-trace", "-o", file, "0190b5c4"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  auto doc = nlohmann::json::parse(ReadFile(file), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << ReadFile(file);
  ASSERT_TRUE(doc["traceEvents"].is_array());
  EXPECT_EQ(doc["metadata"]["agenttrace-session"], kSessionId);

  std::map<int, std::string> process_names;
  std::set<std::pair<int, int>> threads;
  std::vector<nlohmann::json> begins, ends, policy;
  size_t instants = 0;
  for (const auto& e : doc["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e.contains("ts") && e.contains("pid") && e.contains("tid")) << e;
    if (e["ph"] == "M" && e["name"] == "process_name") process_names[e["pid"].get<int>()] = e["args"]["name"];
    if (e["ph"] == "M" && e["name"] == "thread_name") threads.insert({e["pid"].get<int>(), e["tid"].get<int>()});
    if (e["ph"] == "b") begins.push_back(e);
    if (e["ph"] == "e") ends.push_back(e);
    if (e["ph"] == "i" && e["cat"] == "policy") policy.push_back(e);
    if (e["ph"] == "i" && e["cat"] != "policy") ++instants;
  }
  EXPECT_EQ(instants, 10u);     // the 12 events less the tool call and its result
  EXPECT_TRUE(policy.empty());  // no --policy, no decisions
  EXPECT_EQ(process_names[4242], "git commit -m 'fix bug' (pid 4242)");
  EXPECT_EQ(process_names[4250], "git commit -m 'fix bug' (pid 4250)");  // forked from 4242
  EXPECT_TRUE(threads.count({4242, 4243}));
  ASSERT_EQ(begins.size(), 1u);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(begins[0]["name"], "fs/read_file");
  EXPECT_EQ(begins[0]["id"], ends[0]["id"]);
  EXPECT_EQ(begins[0]["args"]["request_id"], "7");
  EXPECT_DOUBLE_EQ(ends[0]["ts"].get<double>() - begins[0]["ts"].get<double>(), 1500.0);  // µs
  EXPECT_EQ(process_names[begins[0]["pid"].get<int>()], "mcp tools");

  // With a policy, each deny and ask is an instant event on the decided event's track.
  const std::string policy_file = dir_ + "/policy.yaml";
  WriteFile(policy_file,
            "version: 1\ndefault: allow\nrules:\n"
            "  - id: no-network\n    decision: deny\n    class: net.connect\n"
            "  - id: ask-b\n    decision: ask\n    class: file.write\n    paths: [\"/home/dev/repo/b.txt\"]\n");
  RunResult with = Run({"export", "--store", store_, "--format", "chrome-trace", "--policy", policy_file, kSessionId});
  ASSERT_EQ(with.exit_code, 0) << Describe(with);
  auto decided = nlohmann::json::parse(with.out, nullptr, false);
  ASSERT_FALSE(decided.is_discarded()) << with.out;
  policy.clear();
  for (const auto& e : decided["traceEvents"]) {
    if (e["ph"] == "i" && e["cat"] == "policy") policy.push_back(e);
  }
  ASSERT_EQ(policy.size(), 2u) << with.out;
  EXPECT_EQ(policy[0]["name"], "ask ask-b");
  EXPECT_EQ(policy[0]["args"]["seq"], 3);
  EXPECT_EQ(policy[1]["name"], "deny no-network");
  EXPECT_EQ(policy[1]["args"]["decision"], "deny");
  EXPECT_EQ(policy[1]["pid"], 4250);
  EXPECT_EQ(policy[1]["tid"], 4250);
  EXPECT_EQ(policy[1]["ts"], 49000.0);

  // --policy belongs to chrome-trace; a policy that cannot be read writes nothing.
  RunResult jsonl = Run({"export", "--store", store_, "--policy", policy_file, kSessionId});
  EXPECT_EQ(jsonl.exit_code, 2) << Describe(jsonl);
  EXPECT_THAT(jsonl.err, HasSubstr("--policy needs --format chrome-trace"));
  const std::string not_written = dir_ + "/none.json";
  RunResult bad = Run({"export", "--store", store_, "--format", "chrome-trace", "--policy", dir_ + "/missing.yaml",
                       "-o", not_written, kSessionId});
  EXPECT_EQ(bad.exit_code, 2) << Describe(bad);
  EXPECT_FALSE(fs::exists(not_written));
}

TEST_F(CliStoreTest, IncompleteStateSurvivesTheRoundTrip) {
  const std::string input = ReadFile(DataPath("incomplete.jsonl"));
  EXPECT_EQ(Import(DataPath("incomplete.jsonl")), kIncompleteId);
  nlohmann::json j = LsJson(store_);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["state"], "incomplete");
  EXPECT_EQ(j[0]["events"], 2);
  RunResult e = Run({"export", "--store", store_, kIncompleteId});
  ASSERT_EQ(e.exit_code, 0) << Describe(e);
  EXPECT_EQ(e.out, input);
}

TEST_F(CliStoreTest, BadInputLinesExitThreeNamingTheLine) {
  const auto good = SplitLines(ReadFile(DataPath("session.jsonl")));
  struct Case {
    std::string name;
    std::vector<std::string> lines;
    std::string expect;
  };
  std::vector<Case> cases;
  {
    auto l = good;
    l[3] = "{\"seq\":2, not json";
    cases.push_back({"invalid_json", l, "line 4: not valid JSON"});
  }
  {
    auto l = good;
    l.erase(l.begin() + 2);  // seq 1 missing: line 3 carries seq 2
    cases.push_back({"seq_gap", l, "line 3: event seq 2, expected 1"});
  }
  {
    auto l = good;
    std::swap(l[5], l[6]);
    cases.push_back({"seq_order", l, "line 6: event seq 5, expected 4"});
  }
  {
    auto l = good;
    l[5] = R"({"seq":4,"ts_ns":1,"kind":"file.teleport"})";
    cases.push_back({"unknown_kind", l, "line 6: unknown kind \"file.teleport\""});
  }
  {
    auto l = good;
    l[2] = R"({"seq":1,"ts_ns":1,"kind":"file.open","pid":"x"})";
    cases.push_back({"wrong_type", l, "line 3: field \"pid\" must be an integer"});
  }
  {
    auto l = good;
    l[0] = R"({"format":"something-else"})";
    cases.push_back({"bad_header", l, "line 1: "});
  }
  {
    auto l = good;
    l.pop_back();
    cases.push_back({"truncated", l, "header declares 12 events but 11 were read"});
  }
  {
    auto l = good;
    l[4] = R"({"seq":3,"ts_ns":1,"kind":"annotation","text":")" + std::string(kMaxJsonLineBytes, 'x') + "\"}";
    cases.push_back({"line_too_long", l, "line 5: line longer than the limit"});
  }
  cases.push_back({"empty", {}, "empty input"});

  for (const Case& c : cases) {
    std::string file = dir_ + "/" + c.name + ".jsonl";
    WriteFile(file, JoinLines(c.lines));
    std::string store = dir_ + "/store-" + c.name;
    RunResult r = Run({"import", "--store", store, file});
    EXPECT_EQ(r.exit_code, 3) << c.name << "\n" << Describe(r);
    EXPECT_THAT(r.err, HasSubstr(c.expect)) << c.name;
    // Nothing half-imported is left looking complete.
    if (fs::exists(store)) {
      for (const auto& s : LsJson(store)) EXPECT_NE(s["state"], "complete") << c.name;
    }
    // Nothing touches the store before the header parsed.
    if (c.name == "bad_header" || c.name == "empty") {
      EXPECT_FALSE(fs::exists(store)) << c.name;
    }
    // An error after the header leaves the events before the bad line in an incomplete session.
    if (c.name == "seq_gap") {
      EXPECT_THAT(r.err, HasSubstr("partial session " + std::string(kSessionId) + " left incomplete"));
      nlohmann::json j = LsJson(store);
      ASSERT_EQ(j.size(), 1u);
      EXPECT_EQ(j[0]["state"], "incomplete");
      EXPECT_EQ(j[0]["events"], 1);
    }
  }
}

// Replay and diff of a .jsonl file read it through the same checks as import (format/jsonl_reader.h):
// a bad line, a seq gap or a truncated file is a corrupt session (exit 3) naming the file and line,
// never a verdict over the events before it. Before, replay loaded the file and checked no seq.
TEST_F(CliStoreTest, ReplayAndDiffOfAJsonlFileCheckEveryLine) {
  const auto good = SplitLines(ReadFile(DataPath("session.jsonl")));
  std::string policy = dir_ + "/allow.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules: []\npromotion: {require_success: false}\n";
  std::string good_file = dir_ + "/good.jsonl";
  WriteFile(good_file, JoinLines(good));
  RunResult ok = Run({"replay", "--policy", policy, good_file});
  EXPECT_LE(ok.exit_code, 1) << Describe(ok);

  struct Case {
    std::string name;
    std::vector<std::string> lines;
    std::string expect;
  };
  std::vector<Case> cases;
  {
    auto l = good;
    l.erase(l.begin() + 2);  // seq 1 missing: line 3 carries seq 2
    cases.push_back({"seq_gap", l, "seq_gap.jsonl: line 3: event seq 2, expected 1"});
  }
  {
    auto l = good;
    std::swap(l[5], l[6]);
    cases.push_back({"seq_order", l, "seq_order.jsonl: line 6: event seq 5, expected 4"});
  }
  {
    auto l = good;
    l[3] = "{\"seq\":2, not json";
    cases.push_back({"invalid_json", l, "invalid_json.jsonl: line 4: not valid JSON"});
  }
  {
    auto l = good;
    l.pop_back();
    cases.push_back({"truncated", l, "header declares 12 events but 11 were read"});
  }
  {
    auto l = good;
    l[0] = R"({"format":"something-else"})";
    cases.push_back({"bad_header", l, "bad_header.jsonl: line 1: "});
  }
  for (const Case& c : cases) {
    std::string file = dir_ + "/" + c.name + ".jsonl";
    WriteFile(file, JoinLines(c.lines));
    RunResult r = Run({"replay", "--policy", policy, file});
    EXPECT_EQ(r.exit_code, 3) << c.name << "\n" << Describe(r);
    EXPECT_THAT(r.err, HasSubstr(c.expect)) << c.name;
    RunResult d = Run({"diff", good_file, file});
    EXPECT_EQ(d.exit_code, 3) << c.name << "\n" << Describe(d);
    EXPECT_THAT(d.err, HasSubstr(c.expect)) << c.name;
  }
}

TEST_F(CliStoreTest, SessionsAreNamedByUniquePrefix) {
  Import(DataPath("session.jsonl"));
  std::string a = Import(DataPath("session.jsonl"), /*new_id=*/true);
  std::string b = Import(DataPath("session.jsonl"), /*new_id=*/true);
  ASSERT_NE(a, b);

  RunResult missing = Run({"show", "--store", store_, "ffffffff"});
  EXPECT_EQ(missing.exit_code, 2) << Describe(missing);
  EXPECT_THAT(missing.err, HasSubstr("no session matches \"ffffffff\""));
  RunResult missing_export = Run({"export", "--store", store_, "ffffffff-0000-7000-8000-000000000000"});
  EXPECT_EQ(missing_export.exit_code, 2) << Describe(missing_export);

  RunResult unique = Run({"export", "--store", store_, "0190B5C4"});  // case-insensitive
  EXPECT_EQ(unique.exit_code, 0) << Describe(unique);
  EXPECT_THAT(unique.out, HasSubstr(kSessionId));

  // "0" matches all three.
  RunResult ambiguous = Run({"show", "--store", store_, "0"});
  EXPECT_EQ(ambiguous.exit_code, 2) << Describe(ambiguous);
  EXPECT_THAT(ambiguous.err, AllOf(HasSubstr("ambiguous"), HasSubstr(kSessionId), HasSubstr(a), HasSubstr(b)));

  RunResult by_full_id = Run({"verify", "--store", store_, a});
  EXPECT_EQ(by_full_id.exit_code, 0) << Describe(by_full_id);
  EXPECT_EQ(SplitLines(by_full_id.out).size(), 1u);
}

TEST_F(CliStoreTest, StatsAgreeWithTheImportedEvents) {
  Import(DataPath("session.jsonl"));
  Import(DataPath("incomplete.jsonl"));
  Import(DataPath("session.jsonl"), /*new_id=*/true);
  RunResult r = Run({"stats", "--store", store_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  auto s = nlohmann::json::parse(r.out);
  EXPECT_EQ(s["sessions"], 3);
  EXPECT_EQ(s["events"], 12 + 2 + 12);
  uint64_t chunks = 0, raw = 0, stored = 0;
  for (const auto& x : LsJson(store_)) {
    chunks += x["chunks"].get<uint64_t>();
    raw += x["raw_bytes"].get<uint64_t>();
    stored += x["stored_bytes"].get<uint64_t>();
  }
  EXPECT_GE(chunks, 3u);
  EXPECT_EQ(s["chunks"], chunks);
  EXPECT_EQ(s["raw_bytes"], raw);
  EXPECT_EQ(s["stored_bytes"], stored);
  EXPECT_GT(raw, 0u);
  EXPECT_GT(stored, 0u);
  EXPECT_GE(s["file_bytes"].get<uint64_t>(), stored);
  EXPECT_DOUBLE_EQ(s["bytes_per_event"].get<double>(), static_cast<double>(stored) / 26.0);
  EXPECT_DOUBLE_EQ(s["compression_ratio"].get<double>(), static_cast<double>(raw) / static_cast<double>(stored));

  RunResult text = Run({"stats", "--store", store_});
  ASSERT_EQ(text.exit_code, 0) << Describe(text);
  EXPECT_THAT(text.out, AllOf(HasSubstr("sessions           3\n"), HasSubstr("events             26\n"),
                              HasSubstr("chunks             " + std::to_string(chunks) + "\n"),
                              HasSubstr("compression ratio")));
}

// Flips one byte in the middle of the largest value of the store's chunk table (LMDB sub-database
// whose name contains "chunk"). Returns a description of what was changed, or an error text.
std::string CorruptLargestChunk(const std::string& store_dir) {
  std::string env_dir;
  for (const auto& entry : fs::recursive_directory_iterator(store_dir)) {
    if (entry.path().filename() == "data.mdb") env_dir = entry.path().parent_path().string();
  }
  if (env_dir.empty()) return "error: no data.mdb under " + store_dir;
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0) return "error: mdb_env_create";
  mdb_env_set_maxdbs(env, 64);
  std::string result;
  MDB_txn* txn = nullptr;
  int rc = mdb_env_open(env, env_dir.c_str(), 0, 0644);
  if (rc == 0) rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc != 0) {
    mdb_env_close(env);
    return std::string("error: open ") + env_dir + ": " + mdb_strerror(rc);
  }
  std::vector<std::string> names;
  MDB_dbi main_dbi;
  MDB_cursor* cur = nullptr;
  if (mdb_dbi_open(txn, nullptr, 0, &main_dbi) == 0 && mdb_cursor_open(txn, main_dbi, &cur) == 0) {
    MDB_val k, v;
    for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, static_cast<MDB_cursor_op>(op)) == 0; op = MDB_NEXT) {
      names.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
    }
    mdb_cursor_close(cur);
  }
  std::string all;
  for (const std::string& name : names) {
    all += " " + name;
    if (name.find("chunk") == std::string::npos) continue;
    MDB_dbi dbi;
    if (mdb_dbi_open(txn, name.c_str(), 0, &dbi) != 0) continue;
    if (mdb_cursor_open(txn, dbi, &cur) != 0) continue;
    MDB_val k, v;
    std::string best_key, best_value;
    for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, static_cast<MDB_cursor_op>(op)) == 0; op = MDB_NEXT) {
      if (v.mv_size > best_value.size()) {
        best_key.assign(static_cast<const char*>(k.mv_data), k.mv_size);
        best_value.assign(static_cast<const char*>(v.mv_data), v.mv_size);
      }
    }
    mdb_cursor_close(cur);
    if (best_value.empty()) continue;
    best_value[best_value.size() / 2] ^= 0x5a;
    MDB_val nk{best_key.size(), best_key.data()}, nv{best_value.size(), best_value.data()};
    rc = mdb_put(txn, dbi, &nk, &nv, 0);
    if (rc != 0) {
      result = std::string("error: mdb_put: ") + mdb_strerror(rc);
      break;
    }
    result = "flipped a byte in a " + std::to_string(best_value.size()) + "-byte value of " + name;
    break;
  }
  if (result.empty()) result = "error: no chunk table among the databases:" + all;
  if (result.rfind("error", 0) == 0) {
    mdb_txn_abort(txn);
  } else if ((rc = mdb_txn_commit(txn)) != 0) {
    result = std::string("error: commit: ") + mdb_strerror(rc);
  }
  mdb_env_close(env);
  return result;
}

// Replay's reports replace their destination whole: a symlink planted at a report's name is replaced,
// never followed (the old writer truncated and wrote through it), and no temporary file is left.
TEST_F(CliStoreTest, ReplayReportsAreWrittenWholeAndNeverThroughASymlink) {
  Import(DataPath("session.jsonl"));
  std::string policy = dir_ + "/allow.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules: []\npromotion: {require_success: false}\n";
  std::string victim = dir_ + "/victim.txt";
  std::ofstream(victim) << "must stay\n";
  std::string junit = dir_ + "/junit.xml";
  ASSERT_EQ(::symlink(victim.c_str(), junit.c_str()), 0);
  RunResult replay = Run({"replay", "--store", store_, "--policy", policy, "--junit", junit, "--json",
                          dir_ + "/report.json", kSessionId});
  EXPECT_LE(replay.exit_code, 1) << replay.err;
  std::ifstream v(victim);
  std::string content((std::istreambuf_iterator<char>(v)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "must stay\n");
  struct stat st {};
  ASSERT_EQ(::lstat(junit.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  std::ifstream j(junit);
  std::string xml((std::istreambuf_iterator<char>(j)), std::istreambuf_iterator<char>());
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u) << xml;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
  // An unwritable destination is an I/O error (exit 2) that names the file.
  RunResult bad = Run({"replay", "--store", store_, "--policy", policy, "--junit", dir_ + "/no/such/dir/j.xml",
                       kSessionId});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("no/such/dir/j.xml"), std::string::npos) << bad.err;
}

TEST_F(CliStoreTest, VerifyDetectsACorruptedChunk) {
  Import(DataPath("session.jsonl"));
  RunResult ok = Run({"verify", "--store", store_});
  ASSERT_EQ(ok.exit_code, 0) << Describe(ok);
  EXPECT_THAT(ok.out, AllOf(HasSubstr(std::string(kSessionId) + " ok"), HasSubstr("12 events")));

  std::string what = CorruptLargestChunk(store_);
  ASSERT_EQ(what.rfind("error", 0), std::string::npos) << what;

  RunResult broken = Run({"verify", "--store", store_});
  EXPECT_EQ(broken.exit_code, 3) << Describe(broken) << "\n" << what;
  EXPECT_THAT(broken.out, AllOf(HasSubstr(kSessionId), HasSubstr("BROKEN at chunk 0"))) << what;
  RunResult named = Run({"verify", "--store", store_, "0190b5c4"});
  EXPECT_EQ(named.exit_code, 3) << Describe(named);
  // Export reads through the same checks: corrupt data is exit 3, and -o leaves no file behind.
  std::string file = dir_ + "/out.jsonl";
  RunResult exp = Run({"export", "--store", store_, kSessionId, "-o", file});
  EXPECT_EQ(exp.exit_code, 3) << Describe(exp);
  EXPECT_FALSE(fs::exists(file));
  // Replay is a CI gate: a corrupt trace is "the tool broke" (3), never "the agent failed" (1) or a pass.
  std::string policy = dir_ + "/allow.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules: []\n";
  RunResult replay = Run({"replay", "--store", store_, "--policy", policy, kSessionId});
  EXPECT_EQ(replay.exit_code, 3) << Describe(replay);
}

// Makes `chunk` (one event, chained to nothing) the whole of session `id` (store closed) through a raw
// LMDB write: chunk 0 and a session record whose head hash and counts agree with it, as a forger who
// can write the store would. Returns "" or an error text.
std::string ReplaceSessionChunks(const std::string& store_dir, const std::string& id, const std::string& value) {
  std::string env_dir;
  for (const auto& entry : fs::recursive_directory_iterator(store_dir)) {
    if (entry.path().filename() == "data.mdb") env_dir = entry.path().parent_path().string();
  }
  auto sid = SessionId::Parse(id);
  if (env_dir.empty() || !sid.ok()) return "error: no store or bad id";
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0) return "error: mdb_env_create";
  mdb_env_set_maxdbs(env, 64);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi, sessions;
  std::string key = ChunkKey(*sid, 0);
  MDB_val k{key.size(), key.data()};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  std::string skey = SessionKey(*sid), record;
  MDB_val sk{skey.size(), skey.data()}, sv;
  int rc = mdb_env_open(env, env_dir.c_str(), 0, 0644);
  if (rc == 0) rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, "chunks", 0, &dbi);
  if (rc == 0) rc = mdb_put(txn, dbi, &k, &v, 0);
  if (rc == 0) rc = mdb_dbi_open(txn, "sessions", 0, &sessions);
  if (rc == 0) rc = mdb_get(txn, sessions, &sk, &sv);
  if (rc == 0) {
    auto info = DecodeSessionInfo(std::string_view(static_cast<const char*>(sv.mv_data), sv.mv_size));
    if (!info.ok()) {
      mdb_txn_abort(txn);
      mdb_env_close(env);
      return "error: " + info.status().ToString();
    }
    info->chunk_count = 1;
    info->event_count = 1;
    info->head_hash = ChunkHash(value);
    record = EncodeSessionInfo(*info);
    MDB_val nv{record.size(), record.data()};
    rc = mdb_put(txn, sessions, &sk, &nv, 0);
  }
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
  } else if (txn != nullptr) {
    mdb_txn_abort(txn);
  }
  mdb_env_close(env);
  return rc == 0 ? "" : std::string("error: ") + mdb_strerror(rc);
}

// A chunk of a few KB whose one exec event references a 1 MiB string 65,535 times: without a bound on
// decoded bytes the replay worker dies of bad_alloc; with it the session is corrupt (exit 3).
TEST_F(CliStoreTest, DecompressionBombChunkIsReportedCorruptNotACrash) {
  Import(DataPath("session.jsonl"));
  std::string bomb = FrameChunk(testing::ArgvBombColumnsMessage(1u << 20, 65535), 0, 1, {}, 19, kCodecColumnsZstd);
  ASSERT_LT(bomb.size(), 8192u);
  ASSERT_EQ(ReplaceSessionChunks(store_, kSessionId, bomb), "");

  RunResult verify = Run({"verify", "--store", store_});
  EXPECT_EQ(verify.exit_code, 3) << Describe(verify);
  EXPECT_THAT(verify.out, AllOf(HasSubstr("BROKEN at chunk 0"), HasSubstr("per-event bound"))) << Describe(verify);
  std::string policy = dir_ + "/allow.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules: []\n";
  RunResult replay = Run({"replay", "--store", store_, "--policy", policy, kSessionId});
  EXPECT_EQ(replay.exit_code, 3) << Describe(replay);
  EXPECT_THAT(replay.out + replay.err, AllOf(HasSubstr(kSessionId), HasSubstr("chunk 0"), HasSubstr("per-event bound")))
      << Describe(replay);
  RunResult exp = Run({"export", "--store", store_, kSessionId});
  EXPECT_EQ(exp.exit_code, 3) << Describe(exp);
}

// export -o writes a temporary file next to the target first. A link planted at that name (here at
// the name the first attempt uses, `<file>.tmp-<pid>`) must not be followed.
TEST_F(CliStoreTest, ExportDoesNotFollowASymlinkPlantedAtItsTemporaryName) {
  Import(DataPath("session.jsonl"));
  std::string victim = dir_ + "/victim";
  std::ofstream(victim) << "precious\n";
  std::string file = dir_ + "/out.jsonl";
  std::string err_path = dir_ + "/stderr";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child keeps its pid across exec: plant the link at the name the export will try first.
    std::string tmp = file + ".tmp-" + std::to_string(::getpid());
    if (::symlink(victim.c_str(), tmp.c_str()) != 0) ::_exit(100);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) ::dup2(err, 2);
    std::string bin = AGENTTRACE_BIN;
    std::vector<std::string> args = {bin, "export", "--store", store_, kSessionId, "-o", file};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(101);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(err_path);
  EXPECT_EQ(ReadFile(victim), "precious\n");
  EXPECT_FALSE(fs::is_symlink(file));
  EXPECT_THAT(ReadFile(file), HasSubstr(kSessionId));
  std::string tmp = file + ".tmp-" + std::to_string(pid);
  EXPECT_TRUE(fs::is_symlink(tmp)) << "the planted link is not ours to remove";
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().string().find(file + ".tmp-" + std::to_string(pid) + "-"), std::string::npos)
        << "left behind: " << entry.path();
  }
}

// Streams a large session through import and export: bounded memory, byte-identical output.
TEST_F(CliStoreTest, LargeSessionRoundTrip) {
  constexpr uint64_t kEvents = 200000;
  SessionInfo info;
  info.id = SessionId::NewV7();
  info.label = "large";
  info.start_wall_ns = 1767225600000000000;
  info.end_wall_ns = info.start_wall_ns + 1000000000;
  info.exit_code = 0;
  info.state = SessionState::kComplete;
  info.event_count = kEvents;
  info.recorder = "synthetic";
  std::string data = SessionHeaderToJson(info) + "\n";
  Event e;
  for (uint64_t i = 0; i < kEvents; ++i) {
    e.Clear();
    e.seq = i;
    e.wall_ns = info.start_wall_ns + static_cast<int64_t>(i) * 1000;
    e.mono_ns = 1000000 + static_cast<int64_t>(i) * 1000;
    e.pid = e.tid = 100 + static_cast<int32_t>(i % 7);
    e.kind = EventKind::kFileOpen;
    e.path = "/home/dev/repo/src/file" + std::to_string(i % 500) + ".cc";
    e.flags = 524288;
    e.result = i % 11 == 0 ? -2 : 3;
    AppendEventJson(e, &data);
    data.push_back('\n');
  }
  std::string file = dir_ + "/large.jsonl";
  WriteFile(file, data);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Import(file), info.id.ToString());
  auto t1 = std::chrono::steady_clock::now();
  std::string out = dir_ + "/large-out.jsonl";
  RunResult r = Run({"export", "--store", store_, info.id.ToString(), "-o", out});
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(ReadFile(out) == data) << "export differs from the imported file";
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::printf("%llu events: import %lld ms, export %lld ms\n", static_cast<unsigned long long>(kEvents),
              static_cast<long long>(ms(t1 - t0)), static_cast<long long>(ms(t2 - t1)));
}

// ---------------------------------------------------------------------------------------------
// Signed session heads (docs/threat-model.md, "Signed session heads").

// One-event chunk 0 of a session, encoded as the writer would (chained to nothing).
std::string OneEventChunk(const std::string& path) {
  ChunkEncoder enc{WriterOptions{}};
  Event e;
  e.kind = EventKind::kFileOpen;
  e.path = path;
  enc.Add(e);
  std::string chunk;
  Status st = enc.Seal(0, Hash256{}, &chunk);
  AT_CHECK_MSG(st.ok(), st.ToString());
  return chunk;
}

TEST_F(CliStoreTest, RecomputedChainPassesVerifyButFailsVerifyPubkey) {
  const std::string keys = dir_ + "/keys";
  RunResult gen = Run({"key", "generate", "--out", keys});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  const std::string sk = keys + "/session-sign.key", pk = keys + "/session-sign.pub";
  EXPECT_EQ(gen.out, sk + "\n" + pk + "\n");
  ASSERT_EQ(Run({"key", "generate", "--out", keys, "--name", "other"}).exit_code, 0);

  // The key from the environment; the agent does not see where it is.
  ASSERT_EQ(::setenv("AGENTTRACE_SIGN_KEY", sk.c_str(), 1), 0);
  RunResult rec =
      Run({"record", "--store", store_, "-q", "--", "/bin/sh", "-c", "echo sign-key=${AGENTTRACE_SIGN_KEY:-unset}"});
  ::unsetenv("AGENTTRACE_SIGN_KEY");
  ASSERT_EQ(rec.exit_code, 0) << Describe(rec);
  EXPECT_EQ(rec.out, "sign-key=unset\n");
  nlohmann::json ls = LsJson(store_);
  ASSERT_EQ(ls.size(), 1u);
  const std::string id = ls[0]["id"].get<std::string>();
  ASSERT_EQ(ls[0]["chunks"].get<uint64_t>(), 1u);  // ReplaceSessionChunks rewrites chunk 0 only
  const std::string pub_line = ReadFile(pk);
  EXPECT_EQ(pub_line, "agenttrace-ed25519-public-v1 " + ls[0].value("signer_key", std::string("?")) + "\n");

  RunResult ok = Run({"verify", "--store", store_, "--pubkey", pk});
  EXPECT_EQ(ok.exit_code, 0) << Describe(ok);
  EXPECT_THAT(ok.out, HasSubstr(id + " ok ("));
  EXPECT_THAT(ok.out, HasSubstr("signed)"));
  RunResult other = Run({"verify", "--store", store_, "--pubkey", keys + "/other.pub"});
  EXPECT_EQ(other.exit_code, 3) << Describe(other);
  EXPECT_THAT(other.out, HasSubstr(id + " BAD SIGNATURE: session head is signed by another key"));

  // The forger rewrites chunk 0 and the record's head hash and counts: the chain is consistent again.
  ASSERT_EQ(ReplaceSessionChunks(store_, id, OneEventChunk("/tmp/harmless")), "");
  RunResult plain = Run({"verify", "--store", store_});
  EXPECT_EQ(plain.exit_code, 0) << Describe(plain);
  RunResult forged = Run({"verify", "--store", store_, "--pubkey", pk});
  EXPECT_EQ(forged.exit_code, 3) << Describe(forged);
  EXPECT_THAT(forged.out, HasSubstr(id + " BAD SIGNATURE: session head signature does not match the head"));

  // Unsigned sessions (here an import) fail too; a private key given as the public one is refused.
  std::string imported = Import(DataPath("session.jsonl"));
  RunResult unsigned_run = Run({"verify", "--store", store_, "--pubkey", pk, imported});
  EXPECT_EQ(unsigned_run.exit_code, 3) << Describe(unsigned_run);
  EXPECT_THAT(unsigned_run.out, HasSubstr("session head is not signed"));
  RunResult swapped = Run({"verify", "--store", store_, "--pubkey", sk});
  EXPECT_EQ(swapped.exit_code, 2) << Describe(swapped);
  EXPECT_THAT(swapped.err, HasSubstr("is a private key"));
}

TEST_F(CliStoreTest, RecordRefusesASigningKeyOthersCanRead) {
  const std::string keys = dir_ + "/keys";
  ASSERT_EQ(Run({"key", "generate", "--out", keys}).exit_code, 0);
  const std::string sk = keys + "/session-sign.key";
  ASSERT_EQ(::chmod(sk.c_str(), 0644), 0);
  RunResult rec = Run({"record", "--store", store_, "--sign-key", sk, "--", "/bin/true"});
  EXPECT_EQ(rec.exit_code, 125) << Describe(rec);
  EXPECT_THAT(rec.err, HasSubstr("mode 0644"));
  // Nothing was recorded unsigned in its place.
  EXPECT_FALSE(fs::exists(store_ + "/data.mdb"));
}

}  // namespace
}  // namespace agenttrace
