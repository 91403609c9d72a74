// The two lexical path normalisers, side by side: NormalizePath(base, path, out) of the syscall
// recorder (recorder/path_state.h) and NormalizePath(path) of the replayer (replayer/matchers.h), which
// the engine's defensive pass (SessionEvaluator::Evaluate), suggestions and stability normalisation
// use. They agree on absolute paths; they differ, on purpose, on relative and empty ones:
//   - the recorder knows the tracee's cwd at the time of the call, so every path it stores is absolute;
//   - the replayer knows no cwd: a relative path reaches it only from producers that stored it as they
//     received it (imports, MCP tool arguments), and joining it to an invented base would let a policy
//     match a path nobody named. It stays relative, keeping its leading "..".
// And the recorder's output is a fixed point of the replayer's function, so the engine's pass never
// rewrites what the recorder stored.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "recorder/path_state.h"
#include "replayer/matchers.h"

namespace agenttrace {
namespace {

std::string Recorder(std::string_view base, std::string_view path) {
  std::string out;
  NormalizePath(base, path, &out);
  return out;
}

constexpr std::string_view kAbsolute[] = {
    "/",          "//",          "/a/./b/../c", "/..",         "/../../etc/passwd", "//a//b//",
    "/a/b/..",    "/a/...",      "/a/..b/.c",   "/a/b/./",     "/home/u/proj/../../../root/.ssh",
    "/a/../../b", "/.hidden/./x"};

TEST(PathNormalizersTest, AgreeOnAbsolutePaths) {
  for (std::string_view p : kAbsolute) {
    EXPECT_EQ(Recorder("/ignored/base", p), NormalizePath(p)) << p;
  }
}

TEST(PathNormalizersTest, RecorderOutputIsAFixedPointOfTheReplayerPass) {
  constexpr std::string_view kRelative[] = {"", ".", "..", "x", "../../..", "./a/../b", "a//b/", "../x/./y"};
  for (std::string_view base : {"/", "/home/u", "/home/u/"}) {
    for (std::string_view p : kRelative) {
      std::string rec = Recorder(base, p);
      EXPECT_FALSE(NeedsNormalization(rec)) << base << " + " << p << " -> " << rec;
      EXPECT_EQ(NormalizePath(rec), rec) << base << " + " << p;
    }
  }
  for (std::string_view p : kAbsolute) {
    std::string rec = Recorder("/", p);
    EXPECT_FALSE(NeedsNormalization(rec)) << p;
  }
}

TEST(PathNormalizersTest, DifferOnRelativeAndEmptyPathsBecauseOnlyTheRecorderKnowsTheCwd) {
  // Recorder: joined to the tracee's cwd; ".." stops at "/".
  EXPECT_EQ(Recorder("/w", "a/../b"), "/w/b");
  EXPECT_EQ(Recorder("/w", "../../x"), "/x");
  EXPECT_EQ(Recorder("/w", ""), "/w");
  // Replayer: no cwd to join to; stays relative and keeps what cannot be resolved.
  EXPECT_EQ(NormalizePath("a/../b"), "b");
  EXPECT_EQ(NormalizePath("../../x"), "../../x");
  EXPECT_EQ(NormalizePath(""), ".");
  EXPECT_EQ(NormalizePath("a/.."), ".");
}

}  // namespace
}  // namespace agenttrace
