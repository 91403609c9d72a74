#include "tools/duration.h"

#include <gtest/gtest.h>

namespace agenttrace {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, UnitsAndBareSeconds) {
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("10s"), milliseconds(10000));
  EXPECT_EQ(*ParseDuration("2m"), milliseconds(120000));
  EXPECT_EQ(*ParseDuration("1h"), milliseconds(3600000));
  EXPECT_EQ(*ParseDuration("3"), milliseconds(3000));
  EXPECT_EQ(*ParseDuration("2.5"), milliseconds(2500));
  EXPECT_EQ(*ParseDuration("0.25s"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
}

TEST(DurationTest, RejectsGarbageWithTheText) {
  for (const char* bad : {"", "s", "10x", "-1s", "1.5.2s", "10 s", "ms", "1e3", "99999999999999h", "31d"}) {
    auto r = ParseDuration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find(std::string("'") + bad + "'"), std::string::npos) << r.status().message();
  }
}

TEST(DurationTest, RejectsMoreThanThirtyDays) {
  EXPECT_TRUE(ParseDuration("720h").ok());
  EXPECT_FALSE(ParseDuration("721h").ok());
}

}  // namespace
}  // namespace agenttrace
