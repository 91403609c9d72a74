// The event socket's directory must normalise to one glob whatever mkdtemp picks, or the same agent
// run twice looks different to the gate (CassetteGateTest failed about 1 run in 30 on it).
#include <gtest/gtest.h>

#include <string>

#include "recorder/recorder.h"
#include "replayer/normalize.h"

namespace agenttrace {
namespace {

std::string Normalized(const std::string& tmpl, const std::string& random) {
  std::string dir = tmpl;
  EXPECT_EQ(dir.substr(dir.size() - 6), "XXXXXX");
  dir.replace(dir.size() - 6, 6, random);
  PathVars vars;
  vars.tmp = "/tmp";
  NormalizedPath n = NormalizeVolatilePath(dir + "/events.sock", vars);
  return n.text + " " + n.glob;  // the profile shows the text, policies match the glob
}

TEST(EventSocketDirTest, NormalisesTheSameWhateverMkdtempPicks) {
  for (pid_t pid : {1, 42, 123456}) {
    const std::string tmpl = EventSocketDirTemplate("/tmp", pid);
    const std::string expected = Normalized(tmpl, "a1B2c3");
    EXPECT_EQ(expected.find("a1B2c3"), std::string::npos) << expected;
    for (const char* random : {"AWOIDG", "abcdef", "zzzzzz", "Qwerty", "000000", "9XKZPA"}) {
      EXPECT_EQ(Normalized(tmpl, random), expected) << "pid " << pid << ", mkdtemp picked " << random;
    }
  }
}

TEST(EventSocketDirTest, FallsBackToTmpWhenTheSocketPathWouldBeTooLong) {
  EXPECT_EQ(EventSocketDirTemplate("/run/user/1000", 77), "/run/user/1000/agenttrace-77pXXXXXX");
  const std::string long_dir = "/" + std::string(90, 'd');
  EXPECT_EQ(EventSocketDirTemplate(long_dir, 77), "/tmp/agenttrace-77pXXXXXX");
}

}  // namespace
}  // namespace agenttrace
