// Known secret values in the encoded forms tools carry them in (recorder/secrets.h,
// EncodedSecretForms): JSON-escaped, percent-encoded, base64 at any alignment; and the minimum length.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "recorder/secrets.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Hash256 Key(uint8_t fill) {
  Hash256 k;
  k.fill(fill);
  return k;
}

// A plain base64 encoder, written independently of the code under test.
std::string Base64(std::string_view in, bool url_safe = false) {
  const char* a = url_safe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                           : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(a[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | (i + 1 < in.size() ? uint32_t(uint8_t(in[i + 1])) << 8 : 0);
    out.push_back(a[(v >> 18) & 63]);
    out.push_back(a[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? a[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

const std::string kSecret = "p@ss \"w0rd\"/\xc3\xa9x";  // quote, slash, space, non-ASCII

TEST(SecretFormsTest, JsonEscapedFormsAreRedacted) {
  SecretScanner scanner(Key(4), {"DB_PASSWORD=" + kSecret});
  const std::string fp = scanner.Fingerprint(kSecret);
  nlohmann::json j = {{"password", kSecret}};
  for (bool ascii : {false, true}) {
    std::string once = j.dump(-1, ' ', ascii);
    // JSON carried inside a JSON string: a tool result whose text is JSON.
    std::string twice = nlohmann::json({{"text", once}}).dump(-1, ' ', ascii);
    for (std::string s : {once, twice}) {
      const std::string before = s;
      EXPECT_TRUE(scanner.Redact(&s)) << before;
      EXPECT_THAT(s, HasSubstr(fp));
      EXPECT_THAT(s, Not(HasSubstr("w0rd"))) << s;
    }
  }
  std::string slash_escaped = R"({"p":"p@ss \"w0rd\"\/)"
                              "\xc3\xa9"
                              R"(x"})";
  EXPECT_TRUE(scanner.Redact(&slash_escaped));
  EXPECT_THAT(slash_escaped, Not(HasSubstr("w0rd")));
}

TEST(SecretFormsTest, PercentEncodedFormsAreRedacted) {
  SecretScanner scanner(Key(4), {"DB_PASSWORD=" + kSecret});
  const std::string fp = scanner.Fingerprint(kSecret);
  for (std::string s : {std::string("https://h/login?pw=p%40ss%20%22w0rd%22%2F%C3%A9x&next=1"),
                        std::string("pw=p%40ss%20%22w0rd%22%2f%c3%a9x"),   // lower-case hex
                        std::string("pw=p%40ss+%22w0rd%22%2F%C3%A9x")}) {  // form encoding
    EXPECT_TRUE(scanner.Redact(&s));
    EXPECT_THAT(s, HasSubstr(fp));
    EXPECT_THAT(s, Not(HasSubstr("w0rd"))) << s;
  }
}

// Whatever bytes surround the value in the encoded blob, at most the characters that mix the
// neighbours' bits with the value's survive next to the fingerprint.
TEST(SecretFormsTest, Base64AtEveryAlignmentIsRedacted) {
  const std::string secret = "Tr0ub4dor&3-horse";
  SecretScanner scanner(Key(5), {"APP_SECRET=" + secret});
  const std::string fp = scanner.Fingerprint(secret);
  for (bool url_safe : {false, true}) {
    for (std::string prefix : {"", "u", "us", "user:", "Authorization user:"}) {
      const std::string blob = Base64(prefix + secret + "\n", url_safe);
      std::string s = "x " + blob + " end";
      ASSERT_TRUE(scanner.Redact(&s)) << prefix << " " << blob;
      ASSERT_NE(s.find(fp), std::string::npos) << s;
      // What is left of the blob once every fingerprint is taken out (a credential pattern may take
      // more than the value): at most the prefix's characters, one mixed character on each side of
      // the value, the newline's and the padding.
      const std::string rest = std::regex_replace(s, std::regex("<secret:fp:[0-9a-f]{64}>"), "");
      ASSERT_GE(rest.size(), std::string("x  end").size()) << s;
      EXPECT_LE(rest.size() - std::string("x  end").size(), (prefix.size() * 4 + 2) / 3 + 1 + 5) << s;
    }
  }
}

TEST(SecretFormsTest, ShortValuesAreNeverRedactedInAnyForm) {
  ASSERT_EQ(kMinSecretBytes, 6u);
  SecretScanner scanner(Key(6), {"PIN_SECRET=a\"b/c", "DB_PASSWORD=" + kSecret});
  std::string s = nlohmann::json({{"pin", "a\"b/c"}}).dump() + " " + Base64("a\"b/c") + " a%22b%2Fc";
  const std::string before = s;
  EXPECT_FALSE(scanner.Redact(&s));
  EXPECT_EQ(s, before);
  EXPECT_TRUE(EncodedSecretForms("a\"b/c").empty());
}

TEST(SecretFormsTest, FormsOfAPlainValueAreOnlyItsBase64) {
  // Nothing to escape or percent-encode: only base64 differs from the raw value (found as it is).
  std::vector<std::string> forms = EncodedSecretForms("plainvalue123");
  EXPECT_EQ(forms.size(), 3u) << ::testing::PrintToString(forms);  // three alignments, no + / - _ in them
  for (const std::string& f : forms) EXPECT_GE(f.size(), kMinSecretBytes);
}

}  // namespace
}  // namespace agenttrace
