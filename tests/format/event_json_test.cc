#include "format/event_json.h"

#include <gtest/gtest.h>

namespace agenttrace {
namespace {

Event SampleExec() {
  Event e;
  e.seq = 7;
  e.wall_ns = 1700000000123456789;
  e.mono_ns = 42;
  e.pid = 100;
  e.tid = 101;
  e.kind = EventKind::kExec;
  e.result = 0;
  e.path = "/usr/bin/cc";
  e.argv = {"cc", "-c", "a b.c", "\xe2\x80\xa8"};
  e.env_names = {"PATH", "GITHUB_TOKEN"};
  e.secret_env_names = {"GITHUB_TOKEN"};
  return e;
}

TEST(EventJsonTest, StableFieldNamesForAFailedOpen) {
  Event e;
  e.seq = 3;
  e.wall_ns = 10;
  e.pid = 5;
  e.tid = 5;
  e.kind = EventKind::kFileOpen;
  e.path = "/home/u/.aws/credentials";
  e.result = -13;
  EXPECT_EQ(EventToJson(e),
            R"({"seq":3,"ts_ns":10,"mono_ns":0,"pid":5,"tid":5,"kind":"file.open","result":-13,"error":"EACCES",)"
            R"("path":"/home/u/.aws/credentials"})");
}

TEST(EventJsonTest, EveryFieldRoundTrips) {
  Event e = SampleExec();
  e.path2 = "/b";
  e.resolved = "/c";
  e.flags = 0x80000;
  e.mode = 0644;
  e.uid = 1;
  e.gid = 2;
  e.size = -3;
  e.child_pid = 9;
  e.is_thread = true;
  e.exit_code = 4;
  e.signal = 9;
  e.family = 2;
  e.address = "127.0.0.1";
  e.port = 8080;
  e.server = "fs";
  e.tool = "read_file";
  e.method = "tools/call";
  e.request_id = "\"x\"";
  e.json = R"({"b":1,"a":[1.0,2]})";
  e.is_error = true;
  e.duration_ns = 5;
  e.direction = Direction::kToAgent;
  e.syscall_nr = 425;
  e.arch = 0xC000003E;
  e.args = {1, 2, 3, 4, 5, ~0ull};
  e.text = "io_uring_setup";
  auto back = EventFromJson(EventToJson(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
  EXPECT_EQ(EventToJson(*back), EventToJson(e));
}

TEST(EventJsonTest, RejectsBadInputWithTheFieldName) {
  EXPECT_FALSE(EventFromJson("not json").ok());
  EXPECT_FALSE(EventFromJson("[1,2]").ok());
  auto r = EventFromJson(R"({"seq":1,"ts_ns":1,"kind":"file.nope"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("file.nope"), std::string::npos);
  r = EventFromJson(R"({"seq":1,"ts_ns":1,"kind":"file.open","path":7})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"path\""), std::string::npos);
  r = EventFromJson(R"({"seq":1,"ts_ns":1,"kind":"net.connect","port":70000})");
  EXPECT_FALSE(r.ok());
  r = EventFromJson(R"({"kind":"file.open"})");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(EventFromJson(R"({"kind":"annotation","text":"hi"})", /*require_seq=*/false).ok());
}

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// Every JSON entry point shares format/json_limits.h: 100,000 levels of nesting are a clear error.
TEST(EventJsonTest, DeepNestingIsRefusedAtEveryParser) {
  auto r = EventFromJson(R"({"seq":1,"ts_ns":1,"kind":"annotation","extra":)" + Nested(100000) + "}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("JSON line nests arrays/objects deeper than 256"), std::string::npos)
      << r.status().message();
  // The arguments of a tool call are JSON inside a string: replay parses them again.
  std::string args = Nested(100000);
  r = EventFromJson(R"({"kind":"tool.call","tool":"t","json":")" + args + "\"}", /*require_seq=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("field \"json\" (tool arguments) nests"), std::string::npos)
      << r.status().message();
  // Within the limit both are fine; results and protocol errors keep whatever bytes they carried.
  EXPECT_TRUE(EventFromJson(R"({"kind":"tool.call","tool":"t","json":")" + Nested(256) + "\"}", false).ok());
  EXPECT_TRUE(EventFromJson(R"({"kind":"protocol.error","json":")" + Nested(1000) + "\"}", false).ok());
  auto h =
      SessionHeaderFromJson(R"({"format":"agenttrace-jsonl","version":1,"session":{"argv":)" + Nested(100000) + "}}");
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("nests"), std::string::npos) << h.status().message();
  auto big = EventFromJson(R"({"kind":"annotation","text":")" + std::string(kMaxJsonBytes, 'x') + "\"}", false);
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
}

TEST(EventJsonTest, SessionHeaderRoundTrips) {
  SessionInfo s;
  s.id = SessionId::NewV7();
  s.label = "fix-bug";
  s.agent_name = "coder";
  s.argv = {"./agent", "--x"};
  s.cwd = "/w";
  s.state = SessionState::kComplete;
  s.exit_code = 0;
  s.event_count = 12;
  s.secret_env_names = {"API_KEY"};
  auto back = SessionHeaderFromJson(SessionHeaderToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(SessionHeaderToJson(*back), SessionHeaderToJson(s));
  EXPECT_FALSE(SessionHeaderFromJson(R"({"format":"other"})").ok());
}

}  // namespace
}  // namespace agenttrace
