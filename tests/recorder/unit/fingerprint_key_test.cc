// The fingerprint key lives outside every store: from $AGENTTRACE_FINGERPRINT_KEY, else a per-user
// file created once (0600) and reused, refused when others could have read it.
#include "recorder/fingerprint_key.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "format/session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FingerprintKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agenttrace-fpkey-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ::setenv("XDG_CONFIG_HOME", (dir_ + "/config").c_str(), 1);
    ::unsetenv(kEnvFingerprintKey);
  }
  void TearDown() override {
    ::unsetenv(kEnvFingerprintKey);
    std::filesystem::remove_all(dir_);
  }
  std::string KeyPath() const { return dir_ + "/config/agenttrace/fingerprint.key"; }
  std::string dir_;
};

TEST_F(FingerprintKeyTest, PerUserFileIsCreatedOnceOwnerOnlyAndReused) {
  auto first = LoadFingerprintKey();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_NE(*first, Hash256{});
  struct stat st;
  ASSERT_EQ(::stat(KeyPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/config/agenttrace").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::ifstream in(KeyPath());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, HashToHex(*first) + "\n");  // the form $AGENTTRACE_FINGERPRINT_KEY takes

  auto again = LoadFingerprintKey();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
}

TEST_F(FingerprintKeyTest, EnvironmentKeyWinsAndIsValidated) {
  const std::string hex(64, 'a');
  ::setenv(kEnvFingerprintKey, hex.c_str(), 1);
  auto k = LoadFingerprintKey();
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  Hash256 want;
  want.fill(0xaa);
  EXPECT_EQ(*k, want);
  EXPECT_FALSE(std::filesystem::exists(KeyPath()));  // nothing written when the environment gives it

  ::setenv(kEnvFingerprintKey, "hunter2", 1);
  Status bad = LoadFingerprintKey().status();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("64 hex digits"));
  EXPECT_THAT(bad.message(), Not(HasSubstr("hunter2")));  // the bad value is not echoed
  ::setenv(kEnvFingerprintKey, std::string(64, '0').c_str(), 1);
  EXPECT_EQ(LoadFingerprintKey().status().code(), StatusCode::kInvalidArgument);
}

TEST_F(FingerprintKeyTest, KeyFileOthersCanReadIsRefused) {
  ASSERT_TRUE(LoadFingerprintKey().ok());
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0644), 0);
  Status st = LoadFingerprintKey().status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("mode 0644"));
}

TEST_F(FingerprintKeyTest, LegacyKeyInsideAStoreIsReportedNotUsed) {
  std::filesystem::create_directories(dir_ + "/store");
  EXPECT_EQ(LegacyStoreKeyWarning(dir_ + "/store"), "");
  std::ofstream(dir_ + "/store/fingerprint.key") << std::string(32, 'k');
  EXPECT_THAT(LegacyStoreKeyWarning(dir_ + "/store"), HasSubstr("no longer used"));
}

}  // namespace
}  // namespace agenttrace
