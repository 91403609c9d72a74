// ChromeTraceWriter on synthetic sessions: the document must be JSON that Perfetto and chrome://tracing
// accept (every event has ph, ts, pid, tid; async b/e pairs balance; nothing goes back in time on a
// track), with tracks named and recorded bytes escaped.
#include "format/chrome_trace.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "format/event.h"
#include "format/session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agenttrace {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;

Event Ev(uint64_t seq, int64_t mono_ns, int32_t pid, int32_t tid, EventKind kind) {
  Event e;
  e.seq = seq;
  e.mono_ns = mono_ns;
  e.wall_ns = 1767225600000000000 + mono_ns;
  e.pid = pid;
  e.tid = tid;
  e.kind = kind;
  return e;
}

Event Tool(uint64_t seq, int64_t mono_ns, EventKind kind, const std::string& server, const std::string& tool,
           const std::string& request_id) {
  Event e = Ev(seq, mono_ns, 0, 0, kind);
  e.server = server;
  e.tool = tool;
  e.request_id = request_id;
  e.direction = kind == EventKind::kToolCall ? Direction::kToServer : Direction::kToAgent;
  return e;
}

struct Decision {
  uint64_t seq;
  std::string decision, rule;
};

// Renders `events` (with decisions after the events they decide); the document must parse.
Json Render(const std::vector<Event>& events, const std::vector<Decision>& decisions = {},
            std::string* text = nullptr) {
  SessionInfo info;
  info.label = "lab\xff";
  info.argv = {"agent", "--x"};
  std::string out;
  ChromeTraceWriter w(info, &out);
  for (const Event& e : events) {
    w.AddEvent(e);
    for (const Decision& d : decisions) {
      if (d.seq == e.seq) w.AddDecision(e, d.decision, d.rule);
    }
  }
  w.Finish();
  if (text != nullptr) *text = out;
  Json j = Json::parse(out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << out;
  return j;
}

std::vector<Json> OfPhase(const Json& doc, const std::string& ph) {
  std::vector<Json> r;
  for (const Json& e : doc["traceEvents"]) {
    if (e["ph"] == ph) r.push_back(e);
  }
  return r;
}

// The structural rules the viewers rely on.
void CheckWellFormed(const Json& doc) {
  ASSERT_TRUE(doc.contains("traceEvents"));
  ASSERT_TRUE(doc["traceEvents"].is_array());
  std::map<std::pair<int64_t, int64_t>, double> last_ts;              // per track, in file order
  std::map<std::pair<int64_t, int64_t>, std::vector<double>> x_ends;  // open X events per track
  std::map<std::string, std::pair<int, int>> async;                   // cat/id -> b count, e count
  std::map<std::string, double> async_begin;
  for (const Json& e : doc["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e["ph"].is_string()) << e;
    ASSERT_TRUE(e.contains("ts") && e["ts"].is_number()) << e;
    ASSERT_TRUE(e.contains("pid") && e["pid"].is_number_integer()) << e;
    ASSERT_TRUE(e.contains("tid") && e["tid"].is_number_integer()) << e;
    ASSERT_TRUE(e.contains("name") && e["name"].is_string()) << e;
    const std::string ph = e["ph"];
    const double ts = e["ts"];
    EXPECT_GE(ts, 0.0) << e;
    if (ph == "M") continue;
    auto track = std::make_pair(e["pid"].get<int64_t>(), e["tid"].get<int64_t>());
    if (ph == "b" || ph == "e") {
      ASSERT_TRUE(e.contains("id")) << e;
      ASSERT_TRUE(e.contains("cat")) << e;
      std::string key = e["cat"].get<std::string>() + "/" + e["id"].dump();
      if (ph == "b") {
        EXPECT_EQ(async[key].first, 0) << "id reused: " << e;
        ++async[key].first;
        async_begin[key] = ts;
      } else {
        EXPECT_EQ(async[key].first, 1) << "end without begin: " << e;
        ++async[key].second;
        EXPECT_GE(ts, async_begin[key]) << e;
      }
      continue;
    }
    auto [it, fresh] = last_ts.try_emplace(track, ts);
    if (!fresh) {
      EXPECT_GE(ts, it->second) << "time went back on track " << track.first << "/" << track.second << ": " << e;
      it->second = ts;
    }
    if (ph == "X") {
      ASSERT_TRUE(e.contains("dur")) << e;
      auto& stack = x_ends[track];
      while (!stack.empty() && stack.back() <= ts) stack.pop_back();
      double end = ts + e["dur"].get<double>();
      if (!stack.empty()) {
        EXPECT_LE(end, stack.back()) << "X events overlap without nesting: " << e;
      }
      stack.push_back(end);
    }
  }
  for (const auto& [key, n] : async) EXPECT_EQ(n.first, n.second) << "unbalanced async " << key;
}

TEST(ChromeTraceTest, SyscallsAreInstantsOnTheirThreadTracksNamedByTheExec) {
  Event exec = Ev(0, 5'000'000'000, 100, 100, EventKind::kExec);
  exec.path = "/usr/bin/git";
  exec.argv = {"git", "status"};
  Event open = Ev(1, 5'000'001'500, 100, 101, EventKind::kFileOpen);
  open.path = "/repo/README.md";
  open.result = 3;
  Event late = Ev(2, 4'999'000'000, 100, 100, EventKind::kFileMkdir);  // stamped before the first event
  late.path = "/repo/d";
  Event exit = Ev(3, 5'002'000'000, 100, 100, EventKind::kProcExit);
  Event spawn = Ev(4, 5'002'000'000, 100, 100, EventKind::kProcSpawn);
  spawn.result = spawn.child_pid = 200;
  Event child = Ev(5, 5'003'000'000, 200, 200, EventKind::kFileOpen);
  child.path = "/x";
  Json doc = Render({exec, open, late, exit, spawn, child});
  CheckWellFormed(doc);

  auto instants = OfPhase(doc, "i");
  ASSERT_EQ(instants.size(), 6u);
  EXPECT_EQ(instants[0]["ts"], 0.0);
  EXPECT_EQ(instants[1]["tid"], 101);
  EXPECT_DOUBLE_EQ(instants[1]["ts"].get<double>(), 1.5);  // microseconds, ns precision
  EXPECT_EQ(instants[1]["name"], "file.open /repo/README.md flags=00");
  EXPECT_EQ(instants[1]["cat"], "file.open");
  EXPECT_EQ(instants[1]["args"]["seq"], 1);
  EXPECT_EQ(instants[1]["args"]["result"], 3);
  EXPECT_EQ(instants[1]["s"], "t");
  EXPECT_EQ(instants[2]["ts"], 0.0);  // clamped to its track's previous time, never negative

  std::map<std::string, std::string> names;  // "process_name 100" -> name
  for (const Json& m : OfPhase(doc, "M")) {
    names[m["name"].get<std::string>() + " " + std::to_string(m["tid"].get<int>())] = m["args"]["name"];
  }
  EXPECT_EQ(names["process_name 100"], "git status (pid 100)");
  EXPECT_EQ(names["process_name 200"], "git status (pid 200)");  // forked, not yet exec'd
  EXPECT_EQ(names["thread_name 101"], "tid 101");
  EXPECT_EQ(names["thread_name 100"], "tid 100");
  EXPECT_FALSE(doc.contains("displayTimeUnit"));  // Perfetto once took "ns" there as the unit of ts
  EXPECT_EQ(doc["metadata"]["label"], "lab\\xff");
  EXPECT_EQ(doc["metadata"]["command"], "agent --x");
}

TEST(ChromeTraceTest, OverlappingToolCallsAreBalancedAsyncSpans) {
  std::vector<Event> events = {
      Tool(0, 1000, EventKind::kToolCall, "fs", "read_file", "1"),
      Tool(1, 2000, EventKind::kToolCall, "fs", "list_dir", "2"),
      Tool(2, 3000, EventKind::kToolCall, "web", "fetch", "1"),  // same id, other server
      Tool(3, 4000, EventKind::kToolResult, "fs", "read_file", "1"),
      Tool(4, 5000, EventKind::kToolResult, "web", "fetch", "1"),
      Tool(5, 6000, EventKind::kToolResult, "fs", "list_dir", "9"),  // no such call
      Tool(6, 9000, EventKind::kToolCall, "fs", "slow", "3"),        // never answered
  };
  events[4].is_error = true;
  Json doc = Render(events);
  CheckWellFormed(doc);

  auto begins = OfPhase(doc, "b"), ends = OfPhase(doc, "e");
  ASSERT_EQ(begins.size(), 4u);
  ASSERT_EQ(ends.size(), 4u);
  std::map<std::string, Json> end_by_id;
  for (const Json& e : ends) end_by_id[e["id"].dump()] = e;
  std::set<std::string> ids;
  for (const Json& b : begins) {
    ids.insert(b["id"].dump());
    EXPECT_EQ(b["cat"], "tool");
    EXPECT_EQ(b["pid"], kChromeToolPid);
    const Json& e = end_by_id[b["id"].dump()];
    EXPECT_EQ(e["name"], b["name"]);
    EXPECT_EQ(e["pid"], b["pid"]);
    EXPECT_EQ(e["tid"], b["tid"]);
  }
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(begins[0]["name"], "fs/read_file");
  EXPECT_EQ(begins[0]["args"]["request_id"], "1");
  EXPECT_EQ(begins[2]["name"], "web/fetch");
  EXPECT_NE(begins[2]["tid"], begins[0]["tid"]);  // a thread per server
  const Json& read_end = end_by_id[begins[0]["id"].dump()];
  EXPECT_DOUBLE_EQ(read_end["ts"].get<double>(), 3.0);
  EXPECT_EQ(read_end["args"]["seq"], 3);
  EXPECT_EQ(end_by_id[begins[2]["id"].dump()]["args"]["is_error"], true);
  const Json& slow_end = end_by_id[begins[3]["id"].dump()];
  EXPECT_DOUBLE_EQ(slow_end["ts"].get<double>(), 8.0);  // the session's end
  EXPECT_THAT(slow_end["args"]["unmatched"].get<std::string>(), HasSubstr("no tool.result"));

  auto instants = OfPhase(doc, "i");
  ASSERT_EQ(instants.size(), 1u);  // the orphan result
  EXPECT_EQ(instants[0]["args"]["seq"], 5);
  EXPECT_THAT(instants[0]["args"]["unmatched"].get<std::string>(), HasSubstr("no tool.call"));

  std::set<std::string> thread_names;
  for (const Json& m : OfPhase(doc, "M")) thread_names.insert(m["args"]["name"]);
  EXPECT_TRUE(thread_names.count("mcp tools"));
  EXPECT_TRUE(thread_names.count("mcp: fs"));
  EXPECT_TRUE(thread_names.count("mcp: web"));
}

TEST(ChromeTraceTest, AReusedRequestIdClosesTheEarlierCall) {
  Json doc =
      Render({Tool(0, 0, EventKind::kToolCall, "fs", "a", "1"), Tool(1, 1000, EventKind::kToolCall, "fs", "b", "1"),
              Tool(2, 2000, EventKind::kToolResult, "fs", "b", "1")});
  CheckWellFormed(doc);
  auto ends = OfPhase(doc, "e");
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends[0]["name"], "fs/a");
  EXPECT_THAT(ends[0]["args"]["unmatched"].get<std::string>(), HasSubstr("reused by event 1"));
  EXPECT_EQ(ends[1]["name"], "fs/b");
  EXPECT_FALSE(ends[1]["args"].contains("unmatched"));
}

TEST(ChromeTraceTest, DecisionsAreInstantsOnTheDecidedEventsTrack) {
  Event connect = Ev(0, 0, 7, 8, EventKind::kNetConnect);
  connect.family = 2;
  connect.address = "203.0.113.9";
  connect.port = 443;
  Event call = Tool(1, 500, EventKind::kToolCall, "shell", "run", "4");
  Json doc = Render({connect, call}, {{0, "deny", "no-network"}, {1, "ask", "ask-shell"}});
  CheckWellFormed(doc);
  std::vector<Json> policy;
  for (const Json& e : OfPhase(doc, "i")) {
    if (e["cat"] == "policy") policy.push_back(e);
  }
  ASSERT_EQ(policy.size(), 2u);
  EXPECT_EQ(policy[0]["name"], "deny no-network");
  EXPECT_EQ(policy[0]["pid"], 7);
  EXPECT_EQ(policy[0]["tid"], 8);
  EXPECT_EQ(policy[0]["args"]["rule"], "no-network");
  EXPECT_EQ(policy[0]["args"]["seq"], 0);
  EXPECT_THAT(policy[0]["args"]["what"].get<std::string>(), HasSubstr("203.0.113.9:443"));
  EXPECT_EQ(policy[1]["name"], "ask ask-shell");
  EXPECT_EQ(policy[1]["pid"], kChromeToolPid);
  EXPECT_EQ(policy[1]["tid"], OfPhase(doc, "b")[0]["tid"]);
}

TEST(ChromeTraceTest, RecordedBytesAreEscapedIntoValidJson) {
  Event exec = Ev(0, 0, 5, 5, EventKind::kExec);
  exec.path = "/bin/\xff\"q\"\n";
  exec.argv = {"x\x01y", "back\\slash"};
  Event bare = Ev(3, 30, 6, 6, EventKind::kExec);  // no argv: named by its path
  bare.path = "/bin/\xff\"q\"\n";
  Event open = Ev(1, 10, 5, 5, EventKind::kFileOpen);
  open.path = "/tmp/\xc3\x28\x1b[2J";
  Event call = Tool(2, 20, EventKind::kToolCall, "s\xfe", "t\"", "\"id\xff\"");
  std::string text;
  Json doc = Render({exec, open, call, bare}, {}, &text);
  CheckWellFormed(doc);
  // The raw bytes never reach the output; their escapes do.
  EXPECT_EQ(text.find('\xff'), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  auto instants = OfPhase(doc, "i");
  ASSERT_EQ(instants.size(), 3u);
  EXPECT_THAT(instants[1]["name"].get<std::string>(), HasSubstr("/tmp/\\xc3(\\x1b[2J"));
  EXPECT_EQ(OfPhase(doc, "b")[0]["name"], "s\\xfe/t\"");
  EXPECT_EQ(OfPhase(doc, "b")[0]["args"]["request_id"], "\"id\\xff\"");
  std::map<int, std::string> names;
  for (const Json& m : OfPhase(doc, "M")) {
    if (m["name"] == "process_name") names[m["pid"]] = m["args"]["name"];
  }
  EXPECT_EQ(names[5], "'x\\x01y' 'back\\\\slash' (pid 5)");
  EXPECT_EQ(names[6], "/bin/\\xff\"q\"\\x0a (pid 6)");
}

TEST(ChromeTraceTest, EventsWithoutAProcessGoOnTheSyntheticProcess) {
  Event note = Ev(0, 0, 0, 0, EventKind::kAnnotation);
  note.text = "hello";
  Json doc = Render({note});
  CheckWellFormed(doc);
  auto instants = OfPhase(doc, "i");
  ASSERT_EQ(instants.size(), 1u);
  EXPECT_EQ(instants[0]["pid"], kChromeToolPid);  // never pid 0, which viewers treat as the idle task
  std::set<std::string> names;
  for (const Json& m : OfPhase(doc, "M")) names.insert(m["args"]["name"]);
  EXPECT_TRUE(names.count("mcp: (no server)"));
}

TEST(ChromeTraceTest, AnEmptySessionIsAnEmptyTrace) {
  Json doc = Render({});
  CheckWellFormed(doc);
  EXPECT_TRUE(doc["traceEvents"].empty());
}

}  // namespace
}  // namespace agenttrace
