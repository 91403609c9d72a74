// Path normalisation and lazy resolution through /proc.
#include "recorder/path_state.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <climits>
#include <string>

namespace agenttrace {
namespace {

std::string Norm(std::string_view base, std::string_view path) {
  std::string out = "stale contents";
  NormalizePath(base, path, &out);
  return out;
}

TEST(NormalizePathTest, Lexical) {
  EXPECT_EQ(Norm("/", "/a/./b/../c"), "/a/c");
  EXPECT_EQ(Norm("/", "/.."), "/");
  EXPECT_EQ(Norm("/", "/../../x"), "/x");
  EXPECT_EQ(Norm("/", "//a//b//"), "/a/b");
  EXPECT_EQ(Norm("/", "/"), "/");
  EXPECT_EQ(Norm("/", "//"), "/");
  EXPECT_EQ(Norm("/", "/a/b/.."), "/a");
  EXPECT_EQ(Norm("/", "/a/..."), "/a/...");
  EXPECT_EQ(Norm("/", "/a/..b/.c"), "/a/..b/.c");
}

TEST(NormalizePathTest, RelativeToBase) {
  EXPECT_EQ(Norm("/home/u", "x"), "/home/u/x");
  EXPECT_EQ(Norm("/home/u", ".."), "/home");
  EXPECT_EQ(Norm("/home/u", "../../.."), "/");
  EXPECT_EQ(Norm("/home/u", "."), "/home/u");
  EXPECT_EQ(Norm("/home/u", ""), "/home/u");
  EXPECT_EQ(Norm("/home/u/", "./a/../b"), "/home/u/b");
  EXPECT_EQ(Norm("/home/u", "/abs"), "/abs");  // base ignored for absolute paths
}

TEST(PathResolverTest, ResolvesAgainstCwdAndDirfd) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  PathResolver r;
  std::string out;
  r.Resolve(tid, AT_FDCWD, "a/../b", false, &out);
  EXPECT_EQ(out, std::string(cwd) == "/" ? "/b" : std::string(cwd) + "/b");

  int dfd = open("/usr/share", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  r.Resolve(tid, dfd, "x/./y", false, &out);
  EXPECT_EQ(out, "/usr/share/x/y");
  r.Resolve(tid, dfd, "", true, &out);  // AT_EMPTY_PATH: the descriptor itself
  EXPECT_EQ(out, "/usr/share");
  r.Resolve(tid, dfd, "", false, &out);
  EXPECT_EQ(out, "");
  r.Resolve(tid, dfd, "/etc/../etc/passwd", false, &out);
  EXPECT_EQ(out, "/etc/passwd");
  close(dfd);
  // A closed descriptor cannot be resolved: the relative path is kept as given.
  r.Resolve(tid, dfd, "rel", false, &out);
  EXPECT_EQ(out, "rel");
}

TEST(TraceeMemoryTest, ReadsBoundedStrings) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  TraceeMemory mem;
  std::string big(10000, 'x');
  std::string out;
  bool truncated = true;
  ASSERT_TRUE(mem.ReadString(tid, reinterpret_cast<uint64_t>(big.c_str()), 20000, &out, &truncated));
  EXPECT_EQ(out, big);
  EXPECT_FALSE(truncated);
  ASSERT_TRUE(mem.ReadString(tid, reinterpret_cast<uint64_t>(big.c_str()), 100, &out, &truncated));
  EXPECT_EQ(out.size(), 100u);
  EXPECT_TRUE(truncated);
  EXPECT_FALSE(mem.ReadString(tid, 0, 100, &out));
  EXPECT_FALSE(mem.ReadString(tid, 8, 100, &out));  // unmapped
}

}  // namespace
}  // namespace agenttrace
