#include "replayer/matchers.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <optional>
#include <random>
#include <vector>

namespace agenttrace {
namespace {

bool Glob(const std::string& glob, const std::string& s, GlobFlavor f = GlobFlavor::kPath) {
  PathVars vars{"/home/u/proj", "/home/u", "/tmp"};
  auto re = GlobToRegex(glob, vars, f);
  EXPECT_TRUE(re.ok()) << re.status().ToString();
  RE2 compiled(*re);
  EXPECT_TRUE(compiled.ok()) << *re;
  return RE2::FullMatch(s, compiled);
}

TEST(GlobTest, DoubleStarCrossesDirectoriesSingleStarDoesNot) {
  EXPECT_TRUE(Glob("/a/**", "/a/b/c/d"));
  EXPECT_TRUE(Glob("/a/**/x", "/a/x"));  // `**/` also matches zero directories
  EXPECT_TRUE(Glob("/a/**/x", "/a/b/c/x"));
  EXPECT_FALSE(Glob("/a/**/x", "/a/b/cx"));
  EXPECT_TRUE(Glob("/a/*", "/a/b"));
  EXPECT_FALSE(Glob("/a/*", "/a/b/c"));
  EXPECT_TRUE(Glob("/a/?.txt", "/a/b.txt"));
  EXPECT_FALSE(Glob("/a/?.txt", "/a//.txt"));
  EXPECT_TRUE(Glob("**/.env", "/x/y/.env"));
  EXPECT_FALSE(Glob("**/.env", "/x/y/.envrc"));
  EXPECT_TRUE(Glob("**/id_rsa*", "/home/u/.ssh/id_rsa.pub"));
}

TEST(GlobTest, BracesClassesAndEscapes) {
  EXPECT_TRUE(Glob("/a/*.{c,h}", "/a/x.h"));
  EXPECT_FALSE(Glob("/a/*.{c,h}", "/a/x.cc"));
  EXPECT_TRUE(Glob("/a/{b,{c,d}}/e", "/a/d/e"));
  EXPECT_TRUE(Glob("/a/[xy]z", "/a/yz"));
  EXPECT_FALSE(Glob("/a/[!xy]z", "/a/xz"));
  EXPECT_TRUE(Glob("/a/\\*", "/a/*"));
  EXPECT_FALSE(Glob("/a/\\*", "/a/b"));
  EXPECT_TRUE(Glob("/a+b(c).txt", "/a+b(c).txt"));  // regex metacharacters are literal
  EXPECT_FALSE(Glob("/a.b", "/aXb"));
}

TEST(GlobTest, VariablesAndTilde) {
  EXPECT_TRUE(Glob("${workspace}/**", "/home/u/proj/src/a.c"));
  EXPECT_FALSE(Glob("${workspace}/**", "/home/u/projX/a.c"));
  EXPECT_TRUE(Glob("~/.ssh/**", "/home/u/.ssh/id_rsa"));
  EXPECT_TRUE(Glob("${tmp}/*", "/tmp/x"));
  EXPECT_TRUE(Glob("${home}/.aws/credentials", "/home/u/.aws/credentials"));
}

TEST(GlobTest, PlainFlavorStarCrossesSlash) {
  EXPECT_TRUE(Glob("git push*", "git push origin main", GlobFlavor::kPlain));
  EXPECT_TRUE(Glob("*--force*", "git push --force origin", GlobFlavor::kPlain));
  EXPECT_TRUE(Glob("*/etc/*", "cat /etc/passwd", GlobFlavor::kPlain));
}

TEST(GlobTest, ErrorsAreReported) {
  PathVars v;
  EXPECT_FALSE(GlobToRegex("/a/{b", v, GlobFlavor::kPath).ok());
  EXPECT_FALSE(GlobToRegex("/a/[b", v, GlobFlavor::kPath).ok());
  EXPECT_FALSE(GlobToRegex("/a\\", v, GlobFlavor::kPath).ok());
  auto r = GlobToRegex("${nope}/x", v, GlobFlavor::kPath);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown variable ${nope}"), std::string::npos);
}

TEST(GlobTest, EscapeGlobRoundTrips) {
  for (std::string s : {"/a/*b?[c]{d,e}", "/x/${home}", "~/y", "/plain/path"}) {
    EXPECT_TRUE(Glob(EscapeGlob(s), s)) << s;
  }
  EXPECT_FALSE(Glob(EscapeGlob("/a/*"), "/a/b"));
}

TEST(NormalizePathTest, DotDotAndDuplicateSlashes) {
  EXPECT_EQ(NormalizePath("/a/./b/../c"), "/a/c");
  EXPECT_EQ(NormalizePath("/a//b/"), "/a/b");
  EXPECT_EQ(NormalizePath("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(NormalizePath("/home/u/proj/../../../root/.ssh"), "/root/.ssh");
  EXPECT_EQ(NormalizePath("/"), "/");
  EXPECT_TRUE(NeedsNormalization("/a/../b"));
  EXPECT_TRUE(NeedsNormalization("/a/."));
  EXPECT_FALSE(NeedsNormalization("/a/.hidden/..x"));
  EXPECT_FALSE(NeedsNormalization("/a/b"));
}

TEST(HostPatternTest, ExactGlobCidrAndPorts) {
  auto m = [](const std::string& pat, const std::string& host, uint16_t port) {
    auto p = HostPattern::Parse(pat);
    EXPECT_TRUE(p.ok()) << pat << ": " << p.status().ToString();
    return p.ok() && p->Matches(host, port);
  };
  EXPECT_TRUE(m("10.0.0.0/8", "10.200.3.4", 80));
  EXPECT_FALSE(m("10.0.0.0/8", "11.0.0.1", 80));
  EXPECT_TRUE(m("10.1.2.0/23", "10.1.3.255", 1));
  EXPECT_FALSE(m("10.1.2.0/23", "10.1.4.0", 1));
  EXPECT_TRUE(m("::1/128", "::1", 5));
  EXPECT_FALSE(m("::1/128", "::2", 5));
  EXPECT_TRUE(m("2001:db8::/32", "2001:db8:1::5", 443));
  EXPECT_TRUE(m("127.0.0.1", "::ffff:127.0.0.1", 80));  // v4-mapped v6 is the same address
  EXPECT_TRUE(m("10.0.0.0/8:443", "10.1.1.1", 443));
  EXPECT_FALSE(m("10.0.0.0/8:443", "10.1.1.1", 444));
  EXPECT_TRUE(m("[::1]:8000-8999", "::1", 8999));
  EXPECT_FALSE(m("[::1]:8000-8999", "::1", 9000));
  EXPECT_TRUE(m("*.example.com", "api.EXAMPLE.com", 443));
  EXPECT_FALSE(m("*.example.com", "example.org", 443));
  EXPECT_TRUE(m("example.com:443", "example.com", 443));
  EXPECT_FALSE(m("example.com:443", "example.com", 80));
}

TEST(HostPatternTest, BadPatternsAreRejected) {
  for (std::string bad : {"", "10.0.0.0/33", "::1/129", "1.2.3.4:99999", "[::1", "a b", "10.0.0.0/8:9-1", "x/8"}) {
    EXPECT_FALSE(HostPattern::Parse(bad).ok()) << bad;
  }
}

// ValidateGlob compiles only the globs whose translation RE2 could refuse; on every other glob it must
// agree with translating and compiling.
bool CompilesWithRe2(const std::string& glob, const PathVars& vars, GlobFlavor f) {
  auto re = GlobToRegex(glob, vars, f);
  if (!re.ok()) return false;
  RE2 compiled(*re, RE2::Quiet);
  return compiled.ok();
}

// The engine looks a glob without a wildcard up by hash: the string GlobAsLiteral gives must be the
// only one its regex matches. Random globs over the characters that matter (escapes, variables, `~`,
// braces' `,` and `}` outside braces, wildcards), against random strings and the literal's
// neighbours.
TEST(GlobAsLiteralTest, IsTheOneStringTheRegexMatchesOnRandomGlobs) {
  const PathVars vars{"/home/u/proj", "/home/u", "/tmp"};
  const std::vector<std::string> atoms = {"a", "b", "/", ".", ",", "}", "\\*", "\\a", "\\\\", "$", "${workspace}",
                                          "${home}", "${tmp}", "*", "?", "[ab]", "{a,b}", "**/", "-", "~"};
  std::mt19937 rng(7);
  int literals = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string glob = n % 7 == 0 ? "~/" : "";
    for (int k = std::uniform_int_distribution<int>(1, 6)(rng); k > 0; --k) {
      glob += atoms[std::uniform_int_distribution<size_t>(0, atoms.size() - 1)(rng)];
    }
    auto re = GlobToRegex(glob, vars, GlobFlavor::kPath);
    std::optional<std::string> lit = GlobAsLiteral(glob, vars);
    if (!re.ok()) {
      EXPECT_FALSE(lit.has_value()) << glob;
      continue;
    }
    RE2 compiled(*re);
    ASSERT_TRUE(compiled.ok()) << glob << " -> " << *re;
    bool wildcard = false;
    for (size_t i = 0; i < glob.size(); ++i) {
      if (glob[i] == '\\') {
        ++i;
      } else if (glob[i] == '$' && i + 1 < glob.size() && glob[i + 1] == '{') {
        i = glob.find('}', i);  // a ${variable} (GlobToRegex refused an unterminated one)
      } else if (glob[i] == '*' || glob[i] == '?' || glob[i] == '[' || glob[i] == '{') {
        wildcard = true;
      }
    }
    EXPECT_EQ(lit.has_value(), !wildcard) << glob;
    if (!lit) continue;
    ++literals;
    EXPECT_TRUE(RE2::FullMatch(*lit, compiled)) << glob << " -> " << *lit;
    for (const std::string& other : {*lit + "a", *lit + "/", lit->substr(0, lit->size() > 0 ? lit->size() - 1 : 0),
                                     "a" + *lit, std::string("*")}) {
      if (other == *lit) continue;
      EXPECT_FALSE(RE2::FullMatch(other, compiled)) << glob << " matches " << other << " besides " << *lit;
    }
  }
  EXPECT_GT(literals, 300);
}

TEST(ValidateGlobTest, AgreesWithCompilingOnRandomGlobs) {
  const PathVars vars{"/workspace", "/home/user", "/tmp"};
  const std::string alphabet = std::string("a0_/.*?{},[]!^-\\$~(|)+") + '\0' + "\x80\xc3\xa9\xff" + "z-{";
  std::mt19937 rng(12);
  int valid = 0, invalid = 0;
  for (int n = 0; n < 30000; ++n) {
    std::string g;
    size_t len = rng() % 14;
    for (size_t i = 0; i < len; ++i) g.push_back(alphabet[rng() % alphabet.size()]);
    if (rng() % 8 == 0) g = "${workspace}/" + g;
    for (GlobFlavor f : {GlobFlavor::kPath, GlobFlavor::kPlain}) {
      bool want = CompilesWithRe2(g, vars, f);
      Status got = ValidateGlob(g, vars, f);
      ASSERT_EQ(got.ok(), want) << "glob \"" << g << "\": " << got.ToString();
      (want ? valid : invalid)++;
    }
  }
  // Both outcomes were exercised (bad ranges, invalid UTF-8, unbalanced braces, trailing backslashes).
  EXPECT_GT(valid, 1000);
  EXPECT_GT(invalid, 1000);
}

TEST(ValidateGlobTest, RefusesWhatRe2Refuses) {
  const PathVars vars{"/workspace", "/home/user", "/tmp"};
  EXPECT_FALSE(ValidateGlob("/a/[z-a]", vars, GlobFlavor::kPath).ok());  // reversed range
  EXPECT_FALSE(ValidateGlob("/a/\xff", vars, GlobFlavor::kPath).ok());   // not UTF-8
  EXPECT_TRUE(ValidateGlob("/a/caf\xc3\xa9/**", vars, GlobFlavor::kPath).ok());
  EXPECT_FALSE(ValidateGlob("/a/{b", vars, GlobFlavor::kPath).ok());
  // A session directory that is not UTF-8 is looked at too.
  EXPECT_FALSE(ValidateGlob("${home}/x", PathVars{"/w", "/home/\xff", "/tmp"}, GlobFlavor::kPath).ok());
  // Long globs are compiled: both a long literal and a long run of alternations.
  std::string longer = "/" + std::string(5000, 'a');
  EXPECT_EQ(ValidateGlob(longer, vars, GlobFlavor::kPath).ok(), CompilesWithRe2(longer, vars, GlobFlavor::kPath));
  std::string alts;
  for (int i = 0; i < 600; ++i) alts += "{a,?}";
  EXPECT_EQ(ValidateGlob(alts, vars, GlobFlavor::kPath).ok(), CompilesWithRe2(alts, vars, GlobFlavor::kPath));
}

}  // namespace
}  // namespace agenttrace
