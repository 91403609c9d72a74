// Non-UTF-8 text in the JSON-lines form: escaped reversibly (docs/format.md, "Escaped text"), while
// valid UTF-8 is written exactly as before.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "format/event_json.h"
#include "format/text_escape.h"

namespace agenttrace {
namespace {

Event OpenOf(std::string path) {
  Event e;
  e.seq = 1;
  e.wall_ns = 10;
  e.pid = 5;
  e.tid = 5;
  e.kind = EventKind::kFileOpen;
  e.path = std::move(path);
  e.result = 3;
  return e;
}

TEST(EventJsonEscapeTest, NonUtf8NameRoundTripsByteForByte) {
  Event e = OpenOf("/tmp/caf\xe9-\xff\\x41.txt");  // Latin-1 e-acute, 0xff, and a literal "\x41"
  e.resolved = "/tmp/ok";
  std::string line = EventToJson(e);
  EXPECT_TRUE(IsValidUtf8(line)) << line;
  EXPECT_EQ(line.find("\xef\xbf\xbd"), std::string::npos) << "U+FFFD would lose the name: " << line;
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["path"], "/tmp/caf\\xe9-\\xff\\\\x41.txt");
  EXPECT_EQ(j["resolved"], "/tmp/ok");  // valid fields stay as they are
  EXPECT_EQ(j["escaped"], nlohmann::json::array({"path"}));
  auto back = EventFromJson(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->path, e.path);
  EXPECT_EQ(*back, e);
  EXPECT_EQ(EventToJson(*back), line);
}

TEST(EventJsonEscapeTest, ValidUtf8IsWrittenAsBefore) {
  Event e = OpenOf("/tmp/a\\xff caf\xc3\xa9");  // backslashes in a valid name are not escaped
  EXPECT_EQ(EventToJson(e), R"({"seq":1,"ts_ns":10,"mono_ns":0,"pid":5,"tid":5,"kind":"file.open","result":3,)"
                            "\"path\":\"/tmp/a\\\\xff caf\xc3\xa9\"}");
  auto back = EventFromJson(EventToJson(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->path, e.path);
}

TEST(EventJsonEscapeTest, ListFieldsAndPayloadsAreEscapedAsAWhole) {
  Event e;
  e.kind = EventKind::kExec;
  e.path = "/bin/cat";
  e.argv = {"cat", "a\\b", "\x80raw"};
  e.json = "{\"x\":\"\xfe\"}";
  std::string line = EventToJson(e);
  EXPECT_TRUE(IsValidUtf8(line));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["argv"], nlohmann::json::array({"cat", "a\\\\b", "\\x80raw"}));
  EXPECT_EQ(j["escaped"], nlohmann::json::array({"argv", "json"}));
  auto back = EventFromJson(line, /*require_seq=*/false);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
}

TEST(EventJsonEscapeTest, BadEscapedListIsAnErrorNamingTheField) {
  auto r = EventFromJson(R"({"kind":"file.open","path":"/a\\q","escaped":["path"]})", false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("\"path\""), std::string::npos) << r.status().ToString();
  r = EventFromJson(R"({"kind":"file.open","path":"/a","escaped":["seq"]})", false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("seq"), std::string::npos);
  r = EventFromJson(R"({"kind":"file.open","path":"/a","escaped":"path"})", false);
  EXPECT_FALSE(r.ok());
  // Without the list, backslashes are literal.
  r = EventFromJson(R"({"kind":"file.open","path":"/a\\xff"})", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path, "/a\\xff");
}

TEST(EventJsonEscapeTest, SessionHeaderWithNonUtf8WorkspaceRoundTrips) {
  SessionInfo s;
  s.id = SessionId::NewV7();
  s.state = SessionState::kComplete;
  s.cwd = "/home/u/proj\xe9";
  s.argv = {"./agent", "--dir=\xff"};
  std::string line = SessionHeaderToJson(s);
  EXPECT_TRUE(IsValidUtf8(line)) << line;
  auto back = SessionHeaderFromJson(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->cwd, s.cwd);
  EXPECT_EQ(back->argv, s.argv);
  EXPECT_EQ(SessionHeaderToJson(*back), line);
}

}  // namespace
}  // namespace agenttrace
