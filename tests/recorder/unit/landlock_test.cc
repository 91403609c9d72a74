// Landlock plans applied to real children: what the plan allows works, what it does not is refused by
// the kernel with EACCES, rights the ABI lacks are dropped with a note, missing paths widen.
#include "recorder/landlock.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>

namespace agenttrace {
namespace {

namespace sb = sandbox;

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/landlock_test.XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { (void)!system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0644) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
}

// Runs `body` in a child restricted by `ruleset` (after no_new_privs, as the tracer's child does);
// returns the child's exit status (body's return value, 99 if the restriction failed).
int InChild(int ruleset, const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || LandlockRestrictSelf(ruleset) != 0) _exit(99);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// 0 when open succeeds, else its errno.
int OpenErrno(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

TEST(LandlockTest, KernelHasLandlock) {
  LandlockSupport s = ProbeLandlock();
  // The machines this is built on run Linux >= 5.13 with Landlock enabled; elsewhere this names why not.
  ASSERT_GE(s.abi, 1) << s.why;
  EXPECT_TRUE(s.why.empty());
}

TEST(LandlockTest, ReadsOutsideThePlanAreRefused) {
  TempDir dir;
  std::string allowed = dir.path() + "/allowed", denied = dir.path() + "/denied";
  ASSERT_EQ(mkdir(allowed.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(denied.c_str(), 0755), 0);
  WriteFile(allowed + "/a.txt", "allowed\n");
  WriteFile(denied + "/d.txt", "denied\n");
  SandboxPlan plan;
  plan.handled_fs = sb::kAllRights;
  plan.paths = {{allowed, sb::kReadFile | sb::kReadDir | sb::kWriteFile | sb::kMakeReg | sb::kRemoveFile}};
  auto prepared = PrepareLandlock(plan);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  // The plan's directory, and the ELF loader: execution is restricted, and every dynamic program
  // needs the loader whatever the policy says.
  EXPECT_EQ(prepared->path_rules, 2u);
  bool loader = false;
  for (const std::string& n : prepared->notes) loader = loader || n.find("ELF loader") != std::string::npos;
  EXPECT_TRUE(loader);
  // Before enforcing, the recorder itself is not restricted.
  EXPECT_EQ(OpenErrno(denied + "/d.txt", O_RDONLY), 0);
  int rc = InChild(prepared->ruleset.get(), [&] {
    if (OpenErrno(allowed + "/a.txt", O_RDONLY) != 0) return 1;
    if (OpenErrno(denied + "/d.txt", O_RDONLY) != EACCES) return 2;
    if (OpenErrno(allowed + "/new.txt", O_WRONLY | O_CREAT) != 0) return 3;
    if (OpenErrno(denied + "/new.txt", O_WRONLY | O_CREAT) != EACCES) return 4;
    if (unlink((allowed + "/new.txt").c_str()) != 0) return 5;
    if (unlink((denied + "/d.txt").c_str()) == 0 || errno != EACCES) return 6;
    if (OpenErrno(denied, O_RDONLY | O_DIRECTORY) != EACCES) return 7;              // listing it
    if (mkdir((allowed + "/sub").c_str(), 0755) == 0 || errno != EACCES) return 8;  // make_dir not granted
    return 0;
  });
  EXPECT_EQ(rc, 0);
  struct stat st;
  EXPECT_EQ(stat((denied + "/d.txt").c_str(), &st), 0) << "the denied file must still exist";
}

TEST(LandlockTest, ExecNeedsExecuteOnTheProgramAndTheLoader) {
  TempDir dir;
  std::string bin = dir.path() + "/bin", data = dir.path() + "/data";
  ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(data.c_str(), 0755), 0);
  WriteFile(bin + "/ok.sh", "#!/bin/sh\nexit 7\n", 0755);
  WriteFile(data + "/no.sh", "#!/bin/sh\nexit 7\n", 0755);
  SandboxPlan plan;
  plan.handled_fs = sb::kExecute | sb::kReadFile;
  // /usr holds the shell and the libraries; bin may be run, data only read.
  plan.paths = {{"/usr", sb::kExecute | sb::kReadFile},
                {"/etc", sb::kReadFile},
                {bin, sb::kExecute | sb::kReadFile},
                {data, sb::kReadFile}};
  auto prepared = PrepareLandlock(plan);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  auto run = [&](const std::string& prog) {
    return InChild(prepared->ruleset.get(), [&] {
      char* argv[] = {const_cast<char*>(prog.c_str()), nullptr};
      execv(prog.c_str(), argv);
      return errno == EACCES ? 13 : 1;
    });
  };
  EXPECT_EQ(run(bin + "/ok.sh"), 7);
  EXPECT_EQ(run(data + "/no.sh"), 13);
  EXPECT_EQ(run("/usr/bin/true"), 0);
}

TEST(LandlockTest, TheLoaderRunsWhereOnlyTheProgramMayBeExecuted) {
  TempDir dir;
  std::string bin = dir.path() + "/bin";
  ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
  ASSERT_EQ(system(("cp /usr/bin/true '" + bin + "/true'").c_str()), 0);
  SandboxPlan plan;
  plan.handled_fs = sb::kExecute | sb::kReadFile;
  // Libraries may be read but nothing under /usr executed: the dynamic program still needs the
  // loader, which the kernel opens for execution on its own.
  plan.paths = {{"/usr", sb::kReadFile},
                {"/lib", sb::kReadFile},
                {"/lib64", sb::kReadFile},
                {"/etc", sb::kReadFile},
                {bin, sb::kExecute | sb::kReadFile}};
  auto prepared = PrepareLandlock(plan);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  std::string prog = bin + "/true";
  auto run = [&](const std::string& p) {
    return InChild(prepared->ruleset.get(), [&] {
      char* argv[] = {const_cast<char*>(p.c_str()), nullptr};
      execv(p.c_str(), argv);
      return errno == EACCES ? 13 : 1;
    });
  };
  EXPECT_EQ(run(prog), 0);
  EXPECT_EQ(run("/usr/bin/true"), 13);  // the plan's own refusal still holds
}

TEST(LandlockTest, MissingPathWidensToItsNearestAncestor) {
  TempDir dir;
  WriteFile(dir.path() + "/later.txt", "x");
  SandboxPlan plan;
  plan.handled_fs = sb::kReadFile | sb::kReadDir;
  plan.paths = {{dir.path() + "/not/yet/there", sb::kReadFile | sb::kReadDir}};
  auto prepared = PrepareLandlock(plan);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  bool noted = false;
  for (const std::string& n : prepared->notes) noted = noted || n.find("does not exist") != std::string::npos;
  EXPECT_TRUE(noted);
  EXPECT_EQ(InChild(prepared->ruleset.get(), [&] { return OpenErrno(dir.path() + "/later.txt", O_RDONLY); }), 0);
  EXPECT_EQ(InChild(prepared->ruleset.get(), [&] { return OpenErrno("/etc/passwd", O_RDONLY); }), EACCES);
}

TEST(LandlockTest, FileRulesKeepOnlyFileRights) {
  TempDir dir;
  std::string f = dir.path() + "/f.txt";
  WriteFile(f, "x");
  SandboxPlan plan;
  plan.handled_fs = sb::kAllRights;
  plan.paths = {{f, sb::kReadFile | sb::kReadDir | sb::kMakeReg}};  // dir rights are meaningless on a file
  auto prepared = PrepareLandlock(plan);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_EQ(InChild(prepared->ruleset.get(), [&] { return OpenErrno(f, O_RDONLY); }), 0);
  EXPECT_EQ(InChild(prepared->ruleset.get(), [&] { return OpenErrno(f, O_WRONLY); }), EACCES);
}

int ConnectErrno(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  int e = r == 0 ? 0 : errno;
  close(s);
  return e;
}

uint16_t Listen(int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(*fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(*fd, 8) != 0) return 0;
  getsockname(*fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST(LandlockTest, TcpConnectOnlyToPlannedPorts) {
  int l1, l2;
  uint16_t allowed = Listen(&l1), other = Listen(&l2);
  ASSERT_NE(allowed, 0);
  ASSERT_NE(other, 0);
  SandboxPlan plan;
  plan.restrict_connect = true;
  plan.connect_ports = {allowed};
  auto prepared = PrepareLandlock(plan);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  ASSERT_GE(prepared->abi, 4);
  EXPECT_TRUE(prepared->restrict_connect);
  EXPECT_EQ(InChild(prepared->ruleset.get(), [&] { return ConnectErrno(allowed); }), 0);
  EXPECT_EQ(InChild(prepared->ruleset.get(), [&] { return ConnectErrno(other); }), EACCES);
  // The same plan on a kernel without port rules: TCP is left to the tracer, and said so.
  auto old = PrepareLandlock(plan, 3);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_FALSE(old->restrict_connect);
  ASSERT_FALSE(old->notes.empty());
  EXPECT_NE(old->notes[0].find("TCP"), std::string::npos) << old->notes[0];
  EXPECT_FALSE(old->ruleset.valid());  // nothing left to enforce
  close(l1);
  close(l2);
}

TEST(LandlockTest, OlderAbiDropsRightsItDoesNotKnow) {
  TempDir dir;
  SandboxPlan plan;
  plan.handled_fs = sb::kAllRights;
  plan.paths = {{dir.path(), sb::kAllRights}};
  auto v1 = PrepareLandlock(plan, 1);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->abi, 1);
  EXPECT_EQ(v1->handled_fs, sb::kAllRights & ~(sb::kRefer | sb::kTruncate));
  std::string notes;
  for (const std::string& n : v1->notes) notes += n + "\n";
  EXPECT_NE(notes.find("refer,truncate"), std::string::npos) << notes;
  EXPECT_NE(notes.find("EXDEV"), std::string::npos) << notes;
  auto v2 = PrepareLandlock(plan, 2);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->handled_fs, sb::kAllRights & ~sb::kTruncate);
  auto full = PrepareLandlock(plan);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->handled_fs, sb::kAllRights);
  // Truncation is enforced only where the kernel knows it: ABI 2 leaves O_TRUNC alone.
  WriteFile(dir.path() + "/t.txt", "x");
  SandboxPlan no_trunc;
  no_trunc.handled_fs = sb::kTruncate | sb::kWriteFile;
  no_trunc.paths = {{dir.path(), sb::kWriteFile}};
  auto strict = PrepareLandlock(no_trunc);
  auto lax = PrepareLandlock(no_trunc, 2);
  ASSERT_TRUE(strict.ok() && lax.ok());
  std::string t = dir.path() + "/t.txt";
  EXPECT_EQ(InChild(strict->ruleset.get(), [&] { return OpenErrno(t, O_WRONLY | O_TRUNC); }), EACCES);
  EXPECT_EQ(InChild(lax->ruleset.get(), [&] { return OpenErrno(t, O_WRONLY | O_TRUNC); }), 0);
}

}  // namespace
}  // namespace agenttrace
