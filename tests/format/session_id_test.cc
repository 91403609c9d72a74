#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "format/session.h"

namespace agenttrace {
namespace {

TEST(SessionIdTest, V7RoundTripsThroughCanonicalText) {
  SessionId id = SessionId::NewV7();
  std::string s = id.ToString();
  ASSERT_EQ(s.size(), 36u);
  EXPECT_EQ(s[14], '7');  // version nibble
  auto parsed = SessionId::Parse(s);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, id);
}

TEST(SessionIdTest, EncodesCurrentTimeAndSortsByIt) {
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  SessionId a = SessionId::NewV7();
  EXPECT_LE(std::abs(a.UnixMillis() - now_ms), 1000);
  SessionId b = a;
  b.bytes[5]++;  // one millisecond later
  EXPECT_LT(a, b);
}

TEST(SessionIdTest, ManyIdsAreDistinct) {
  std::set<SessionId> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(SessionId::NewV7());
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(SessionIdTest, RejectsMalformedText) {
  EXPECT_FALSE(SessionId::Parse("").ok());
  EXPECT_FALSE(SessionId::Parse("0190b5c4").ok());
  EXPECT_FALSE(SessionId::Parse("0190b5c4-8e1a-7abc-9def-0123456789az").ok());
  EXPECT_FALSE(SessionId::Parse("0190b5c4-8e1a-7abc-9def-0123456789ab00").ok());
  EXPECT_TRUE(SessionId::Parse("0190B5C4-8E1A-7ABC-9DEF-0123456789AB").ok());
}

}  // namespace
}  // namespace agenttrace
