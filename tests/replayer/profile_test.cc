#include "replayer/profile.h"

#include <fcntl.h>
#include <gtest/gtest.h>

namespace agenttrace {
namespace {

const PathVars kVars{"/home/u/proj", "/home/u", "/tmp"};

TEST(ProfileTest, PathsBecomeRelativeToSessionDirectories) {
  EXPECT_EQ(NormalizeProfilePath("/home/u/proj/src/a.c", kVars), "${workspace}/src/a.c");
  EXPECT_EQ(NormalizeProfilePath("/home/u/.bashrc", kVars), "${home}/.bashrc");
  EXPECT_EQ(NormalizeProfilePath("/usr/lib/libc.so.6", kVars), "/usr/lib/libc.so.6");
  // The longest prefix wins: a workspace inside tmp is still the workspace.
  PathVars nested{"/tmp/ws", "/home/u", "/tmp"};
  EXPECT_EQ(NormalizeProfilePath("/tmp/ws/a.txt", nested), "${workspace}/a.txt");
}

TEST(ProfileTest, VolatilePartsAreRemoved) {
  EXPECT_EQ(NormalizeProfilePath("/tmp/tmp.Xa8fQ2", kVars), "${tmp}/tmp.*");
  EXPECT_EQ(NormalizeProfilePath("/tmp/tmp.Zb91kd", kVars), "${tmp}/tmp.*");
  EXPECT_EQ(NormalizeProfilePath("/tmp/build-1234/out.log", kVars), "${tmp}/build-N/out.log");
  EXPECT_EQ(NormalizeProfilePath("/tmp/file12.txt", kVars), NormalizeProfilePath("/tmp/file97.txt", kVars));
  EXPECT_EQ(NormalizeProfilePath("/proc/4242/status", kVars), "/proc/N/status");
  EXPECT_EQ(NormalizeProfilePath("/home/u/proj/run-0190b5c4-8e1a-7abc-9def-0123456789ab.json", kVars),
            "${workspace}/run-<uuid>.json");
  EXPECT_EQ(NormalizeProfilePath("/home/u/proj/log-1732650000123.txt", kVars), "${workspace}/log-N.txt");
  EXPECT_EQ(NormalizeProfilePath("/home/u/proj/cache/0123456789abcdef0123", kVars), "${workspace}/cache/<hex>");
  // Ordinary names with short numbers outside tmp stay.
  EXPECT_EQ(NormalizeProfilePath("/home/u/proj/v2/main.py", kVars), "${workspace}/v2/main.py");
}

TEST(ProfileTest, EphemeralPortsAndEntries) {
  Event e;
  e.kind = EventKind::kNetConnect;
  Action a;
  a.cls = ActionClass::kNetConnect;
  a.host = "10.0.0.1";
  a.port = 443;
  a.event = &e;
  EXPECT_EQ(ProfileEntry(a, kVars), "net.connect 10.0.0.1:443");
  a.port = 40001;
  EXPECT_EQ(ProfileEntry(a, kVars), "net.connect 10.0.0.1:ephemeral");
  Action s;
  s.cls = ActionClass::kSecretRead;
  s.env = "AWS_SECRET_ACCESS_KEY";
  s.event = &e;
  EXPECT_EQ(ProfileEntry(s, kVars), "secret.read env:AWS_SECRET_ACCESS_KEY");
}

Event Ev(EventKind kind, std::string path, uint64_t flags = 0, std::string path2 = "") {
  Event e;
  e.kind = kind;
  e.path = std::move(path);
  e.path2 = std::move(path2);
  e.flags = flags;
  e.result = kind == EventKind::kFileOpen ? 3 : 0;
  return e;
}

// One run of a task that edits a file with `sed -i` (its temporary name random) and writes `out`.
std::set<std::string> SedRun(const std::string& random, const std::string& pid, const std::string& out) {
  ProfileBuilder b(kVars);
  for (const Event& e : {Ev(EventKind::kFileOpen, "/home/u/proj/util.c", O_RDONLY),
                         Ev(EventKind::kFileOpen, "/home/u/proj/sed" + random, O_RDWR | O_CREAT | O_EXCL),
                         Ev(EventKind::kFileRename, "/home/u/proj/sed" + random, 0, "/home/u/proj/util.c"),
                         Ev(EventKind::kFileOpen, "/proc/" + pid + "/maps", O_RDONLY),
                         Ev(EventKind::kFileOpen, "/home/u/proj/" + out, O_WRONLY | O_CREAT | O_TRUNC)}) {
    b.Add(e);
  }
  return b.Finish();
}

TEST(ProfileTest, TemporaryFilesCollapseStableNamesDoNot) {
  std::set<std::string> a = SedRun("vV8FQW", "4242", "out/report.txt");
  std::set<std::string> b = SedRun("2JyCu1", "9419", "out/report.txt");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.count("file.write ${workspace}/*"), 1u) << ::testing::PrintToString(a);
  EXPECT_EQ(a.count("file.delete ${workspace}/*"), 1u);
  EXPECT_EQ(a.count("file.write ${workspace}/util.c"), 1u);
  EXPECT_EQ(a.count("file.read /proc/N/maps"), 1u);
  EXPECT_DOUBLE_EQ(Jaccard(a, b), 1.0);
  // A run that writes another output file differs.
  std::set<std::string> c = SedRun("33ijRt", "17", "out/other.txt");
  EXPECT_LT(Jaccard(a, c), 1.0);
  EXPECT_EQ(c.count("file.write ${workspace}/out/other.txt"), 1u);
}

TEST(ProfileTest, Jaccard) {
  std::set<std::string> a{"x", "y", "z"}, b{"y", "z", "w"}, empty;
  EXPECT_DOUBLE_EQ(Jaccard(a, b), 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(Jaccard(a, a), 1.0);
  EXPECT_DOUBLE_EQ(Jaccard(a, empty), 0.0);
  EXPECT_DOUBLE_EQ(Jaccard(empty, empty), 1.0);
}

TEST(ProfileTest, SideEffectingToolNames) {
  EXPECT_TRUE(LooksSideEffecting("write_file"));
  EXPECT_TRUE(LooksSideEffecting("delete-branch"));
  EXPECT_TRUE(LooksSideEffecting("run_shell"));
  EXPECT_TRUE(LooksSideEffecting("git_push"));
  EXPECT_TRUE(LooksSideEffecting("writeFile"));
  EXPECT_FALSE(LooksSideEffecting("read_file"));
  EXPECT_FALSE(LooksSideEffecting("format_text"));  // "rm" inside a word does not count
  EXPECT_FALSE(LooksSideEffecting("search"));
}

}  // namespace
}  // namespace agenttrace
