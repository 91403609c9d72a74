// Path normalisation and lazy resolution through /proc.
#include "recorder/path_state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <cstring>
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

TEST(PathResolverTest, CwdIsReadOncePerStop) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(chdir("/usr"), 0);
  PathResolver r;
  std::string out;
  r.Resolve(tid, AT_FDCWD, "a", false, &out);
  EXPECT_EQ(out, "/usr/a");
  ASSERT_EQ(chdir("/etc"), 0);  // within the same stop the first reading holds
  r.Resolve(tid, AT_FDCWD, "b", false, &out);
  EXPECT_EQ(out, "/usr/b");
  r.Invalidate();  // a new stop
  r.Resolve(tid, AT_FDCWD, "c", false, &out);
  EXPECT_EQ(out, "/etc/c");
  ASSERT_EQ(chdir(cwd), 0);
}

// KernelPath is what request-time enforcement decides on (recorder/decode_file.cc): a symlink must be
// followed wherever it sits, a bare name in the cwd or dirfd included.
TEST(PathResolverTest, KernelPathFollowsSymlinksTheWayTheKernelWould) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  char tmpl[] = "/tmp/agenttrace-kernelpath-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  char real[PATH_MAX];
  ASSERT_NE(realpath(tmpl, real), nullptr);
  const std::string dir = real;
  ASSERT_EQ(mkdir((dir + "/secrets").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir + "/ws").c_str(), 0700), 0);
  int f = open((dir + "/secrets/key").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(f, 0);
  close(f);
  ASSERT_EQ(symlink("../secrets/key", (dir + "/ws/link").c_str()), 0);
  ASSERT_EQ(symlink("../secrets", (dir + "/ws/keys").c_str()), 0);
  int ws = open((dir + "/ws").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(ws, 0);
  PathResolver r;
  std::string out;

  // A bare name that is a symlink: followed when the call follows it (open without O_NOFOLLOW).
  out = "untouched";
  EXPECT_TRUE(r.KernelPath(tid, ws, "link", /*follow_last=*/true, &out));
  EXPECT_EQ(out, dir + "/secrets/key");
  // ... not when the call does not (unlink, O_NOFOLLOW): the lexical path is exact.
  out = "untouched";
  EXPECT_FALSE(r.KernelPath(tid, ws, "link", /*follow_last=*/false, &out));
  EXPECT_EQ(out, "untouched");
  // A bare name that does not exist yet (a create): the lexical path is exact.
  EXPECT_FALSE(r.KernelPath(tid, ws, "new.txt", /*follow_last=*/true, &out));
  EXPECT_EQ(out, "untouched");

  // An existing leaf under a symlinked directory, absolute and relative.
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, dir + "/ws/keys/key", true, &out));
  EXPECT_EQ(out, dir + "/secrets/key");
  EXPECT_TRUE(r.KernelPath(tid, ws, "./link", true, &out));
  EXPECT_EQ(out, dir + "/secrets/key");
  // A leaf to be created under a symlinked directory: the parent's kernel path and the new name.
  EXPECT_TRUE(r.KernelPath(tid, ws, "keys/new_key", true, &out));
  EXPECT_EQ(out, dir + "/secrets/new_key");
  EXPECT_TRUE(r.KernelPath(tid, AT_FDCWD, dir + "/ws/keys/new_key", true, &out));
  EXPECT_EQ(out, dir + "/secrets/new_key");
  // A symlink leaf not followed: its parent's kernel path and its own name.
  EXPECT_TRUE(r.KernelPath(tid, ws, "./link", false, &out));
  EXPECT_EQ(out, dir + "/ws/link");
  // A missing parent: nothing to say.
  EXPECT_FALSE(r.KernelPath(tid, ws, "nodir/x", true, &out));

  close(ws);
  unlink((dir + "/ws/link").c_str());
  unlink((dir + "/ws/keys").c_str());
  unlink((dir + "/secrets/key").c_str());
  rmdir((dir + "/ws").c_str());
  rmdir((dir + "/secrets").c_str());
  rmdir(dir.c_str());
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

TEST(TraceeMemoryTest, PagesAreCachedUntilInvalidated) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  TraceeMemory mem;
  std::string text = "before";
  uint64_t addr = reinterpret_cast<uint64_t>(text.data());
  std::string out;
  ASSERT_TRUE(mem.ReadString(tid, addr, 100, &out));
  EXPECT_EQ(out, "before");
  text[0] = 'B';  // the "tracee" runs on without a new stop: the cached page is what is read
  ASSERT_TRUE(mem.ReadString(tid, addr, 100, &out));
  EXPECT_EQ(out, "before");
  mem.Invalidate();  // a new stop
  ASSERT_TRUE(mem.ReadString(tid, addr, 100, &out));
  EXPECT_EQ(out, "Before");
  text[1] = 'E';
  mem.Wipe();
  uint64_t word = 0;
  ASSERT_TRUE(mem.Read(tid, addr, &word, 2));
  EXPECT_EQ(std::memcmp(&word, "BE", 2), 0);
}

TEST(TraceeMemoryTest, StringRunningIntoAnUnmappedPageIsTruncated) {
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  long page = sysconf(_SC_PAGESIZE);
  char* map = static_cast<char*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(map, MAP_FAILED);
  ASSERT_EQ(munmap(map + page, page), 0);
  std::memset(map, 'a', page);  // no NUL before the unmapped page
  TraceeMemory mem;
  std::string out;
  bool truncated = false;
  ASSERT_TRUE(mem.ReadString(tid, reinterpret_cast<uint64_t>(map + page - 10), 100, &out, &truncated));
  EXPECT_EQ(out, std::string(10, 'a'));
  EXPECT_TRUE(truncated);
  uint64_t word;
  EXPECT_FALSE(mem.Read(tid, reinterpret_cast<uint64_t>(map + page - 4), &word, sizeof(word)));
  munmap(map, page);
}

}  // namespace
}  // namespace agenttrace
