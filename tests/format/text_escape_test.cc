#include "format/text_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace agenttrace {
namespace {

TEST(TextEscapeTest, Utf8ValidityFollowsRfc3629) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain /ascii\n\t"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("a\x80"));             // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated sequence
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xf5\x80\x80\x80"));
}

TEST(TextEscapeTest, EscapesInvalidBytesControlsAndBackslashOnly) {
  EXPECT_EQ(Escaped("/home/u/caf\xc3\xa9"), "/home/u/caf\xc3\xa9");
  EXPECT_EQ(Escaped("/tmp/\xff\xfe.txt"), "/tmp/\\xff\\xfe.txt");
  EXPECT_EQ(Escaped("a\\xff"), "a\\\\xff");  // a literal backslash cannot be mistaken for an escape
  EXPECT_EQ(Escaped("l1\nl2\x1b[2J\x7f"), "l1\\x0al2\\x1b[2J\\x7f");
  EXPECT_EQ(Escaped("csi\xc2\x9b"
                    "2J"),
            "csi\\xc2\\x9b2J");  // C1 control
  EXPECT_EQ(Escaped(std::string("nul\0x", 5)), "nul\\x00x");
}

TEST(TextEscapeTest, EveryByteRoundTripsAndTheTextIsCleanUtf8) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  all += "\xc3\xa9\\x41\\\\\xe2\x82\xac\xf0\x9f\x98";  // valid, fake escapes, a truncated 4-byte sequence
  std::string text = Escaped(all);
  EXPECT_TRUE(IsValidUtf8(text));
  for (unsigned char c : text) EXPECT_FALSE(c < 0x20 || c == 0x7f) << static_cast<int>(c);
  auto back = Unescape(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, all);
}

TEST(TextEscapeTest, UnescapeRejectsMalformedEscapes) {
  for (const char* bad : {"\\", "a\\q", "\\x4", "\\xg0", "end\\x"}) {
    auto r = Unescape(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().ToString().find("offset"), std::string::npos) << r.status().ToString();
  }
  auto upper = Unescape("\\xFF");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, "\xff");
}

// Cut lengths (chrome trace and OTLP names, event text, timeline records) never split a character.
TEST(Utf8PrefixTest, NeverSplitsASequence) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a, e-acute (2), euro (3), emoji (4)
  EXPECT_EQ(Utf8Prefix(s, 100), s);
  EXPECT_EQ(Utf8Prefix(s, s.size()), s);
  EXPECT_EQ(Utf8Prefix(s, 0), "");
  EXPECT_EQ(Utf8Prefix(s, 1), "a");
  EXPECT_EQ(Utf8Prefix(s, 2), "a");
  EXPECT_EQ(Utf8Prefix(s, 3), "a\xC3\xA9");
  EXPECT_EQ(Utf8Prefix(s, 5), "a\xC3\xA9");
  EXPECT_EQ(Utf8Prefix(s, 6), "a\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Utf8Prefix(s, 9), "a\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Utf8Prefix("\x80\x80\x80", 2), "");  // stray continuation bytes: nothing to keep whole
}

TEST(Utf8PrefixTest, WithEllipsisMarksOnlyACut) {
  EXPECT_EQ(Utf8PrefixWithEllipsis("abc", 3), "abc");
  EXPECT_EQ(Utf8PrefixWithEllipsis("abcd", 3), "abc...");
  EXPECT_EQ(Utf8PrefixWithEllipsis("a\xC3\xA9", 2), "a...");
  EXPECT_EQ(Utf8PrefixWithEllipsis("abc", 0), "...");
}

}  // namespace
}  // namespace agenttrace
