#include "replayer/normalize.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>
#include <set>
#include <string>

#include "replayer/profile.h"
#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Open;
using testing::Simple;

const PathVars kVars{"/home/u/proj", "/home/u", "/tmp"};

std::string Text(std::string_view path, const TempPaths* temps = nullptr) {
  return NormalizeVolatilePath(path, kVars, temps).text;
}

// True when the suggested glob for `path` (normalised with `temps`) matches `other`.
bool GlobMatches(std::string_view path, const TempPaths* temps, const std::string& other) {
  std::string glob = NormalizeVolatilePath(path, kVars, temps).glob;
  auto re = GlobToRegex(glob, kVars, GlobFlavor::kPath);
  EXPECT_TRUE(re.ok()) << glob;
  if (!re.ok()) return false;
  return RE2::FullMatch(other, RE2(*re));
}

// A session's temporary files: each created exclusively and removed again.
TempPaths TempsOf(const std::vector<std::string>& paths) {
  TempPaths t;
  for (const std::string& p : paths) {
    t.Observe(Open(p, O_WRONLY | O_CREAT | O_EXCL));
    t.Observe(Simple(EventKind::kFileDelete, p));
  }
  return t;
}

TEST(NormalizeTest, VolatilePartsAnywhere) {
  // Outside ${tmp} and outside any temporary file: pids, times, inode numbers.
  EXPECT_EQ(Text("/proc/9419/maps"), "/proc/N/maps");
  EXPECT_EQ(Text("/proc/9419/task/9420/stat"), "/proc/N/task/N/stat");
  EXPECT_EQ(Text("/proc/12/fd/3"), "/proc/N/fd/N");
  EXPECT_EQ(Text("/dev/pts/3"), "/dev/pts/N");
  EXPECT_EQ(Text("pipe:[246751]"), "pipe:[N]");
  EXPECT_EQ(Text("socket:[42]"), "socket:[N]");
  EXPECT_EQ(Text("anon_inode:[eventfd]"), "anon_inode:[eventfd]");
  EXPECT_EQ(Text("/home/u/.npm/_logs/2026-11-29T22_34_08_673Z-debug-0.log"), "${home}/.npm/_logs/<time>-debug-0.log");
  EXPECT_EQ(Text("/home/u/proj/out/run-20261129T223408Z.json"), "${workspace}/out/run-<time>.json");
  EXPECT_EQ(Text("/home/u/proj/log/2026-11-29.txt"), "${workspace}/log/<time>.txt");
  EXPECT_EQ(Text("/home/u/proj/.git/objects/pack/.tmp-16452-pack-0123456789abcdef0123.idx"),
            "${workspace}/.git/objects/pack/.tmp-N-pack-<hex>.idx");
  EXPECT_EQ(Text("/var/lock/file.lock.1234567"), "/var/lock/file.lock.N");
  EXPECT_EQ(Text("/home/u/proj/run-0190b5c4-8e1a-7abc-9def-0123456789ab.json"), "${workspace}/run-<uuid>.json");
}

TEST(NormalizeTest, StableNamesStayStable) {
  EXPECT_EQ(Text("/home/u/proj/out/report.txt"), "${workspace}/out/report.txt");
  EXPECT_NE(Text("/home/u/proj/out/report.txt"), Text("/home/u/proj/out/other.txt"));
  EXPECT_EQ(Text("/usr/bin/python3.11"), "/usr/bin/python3.11");
  EXPECT_EQ(Text("/usr/bin/sha256sum"), "/usr/bin/sha256sum");
  EXPECT_EQ(Text("/usr/lib/x86_64-linux-gnu/libc.so.6"), "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(Text("/home/u/proj/repo/f1.txt"), "${workspace}/repo/f1.txt");
  EXPECT_EQ(Text("/home/u/proj/v2/main.py"), "${workspace}/v2/main.py");
  EXPECT_EQ(Text("/usr/include/c++/12/vector"), "/usr/include/c++/12/vector");
  EXPECT_EQ(Text("/srv/data/file[1].txt"), "/srv/data/file[1].txt");
  // A random-looking name that the session did not create and remove keeps its letters.
  EXPECT_EQ(Text("/home/u/proj/sedvV8FQW"), "${workspace}/sedvV8FQW");
}

TEST(NormalizeTest, TemporaryFilesOfTheSessionAreRandomNames) {
  const std::vector<std::string> made = {
      "/home/u/proj/repo/.git/objects/0a/tmp_obj_8lKMUl",
      "/home/u/proj/sedvV8FQW",
      "/home/u/proj/repo/.git/tpTikCL",
      "/dev/shm/sem.8BGAUS",
      "/dev/shm/sem.mp-awo_wt4v",
      "/home/u/proj/repo/.git/objects/pack/.tmp-16452-pack-0123456789abcdef0123456789abcdef01234567.idx",
      "/home/u/.npm/_cacache/tmp/387d4a94-3783-4884-b9fd-c66d2e5d048e"};
  TempPaths t = TempsOf(made);
  EXPECT_EQ(Text(made[0], &t), "${workspace}/repo/.git/objects/<hex>/tmp_obj_*");
  EXPECT_EQ(Text(made[1], &t), "${workspace}/*");
  EXPECT_EQ(Text(made[2], &t), "${workspace}/repo/.git/*");
  EXPECT_EQ(Text(made[3], &t), "/dev/shm/sem.*");
  EXPECT_EQ(Text(made[4], &t), "/dev/shm/sem.mp-*");
  EXPECT_EQ(Text(made[5], &t), "${workspace}/repo/.git/objects/pack/.tmp-*-pack-*.idx");
  EXPECT_EQ(Text(made[6], &t), "${home}/.npm/_cacache/tmp/*");
  // Below ${tmp} every name is treated as temporary.
  EXPECT_EQ(Text("/tmp/tmpab_cd12e/tmp06ja10hg"), "${tmp}/tmp*/tmp*");
  EXPECT_EQ(Text("/tmp/cc8sY2ab.cdtor.c"), "${tmp}/*.cdtor.c");
  EXPECT_EQ(Text("/tmp/task-AbC123/part.txt"), "${tmp}/task-*/part.txt");
  // Globs: the normalised form as a glob matches the name and a fresh run's name.
  EXPECT_EQ(NormalizeVolatilePath(made[0], kVars, &t).glob,
            "${workspace}/repo/.git/objects/[0-9a-f][0-9a-f]/tmp_obj_*");
  EXPECT_TRUE(GlobMatches(made[0], &t, "/home/u/proj/repo/.git/objects/0a/tmp_obj_c1Z8CT"));
  EXPECT_TRUE(GlobMatches(made[0], &t, "/home/u/proj/repo/.git/objects/e3/tmp_obj_c1Z8CT"));
  EXPECT_TRUE(GlobMatches(made[5], &t, "/home/u/proj/repo/.git/objects/pack/.tmp-87-pack-ffff0123456789abcdef.idx"));
  EXPECT_TRUE(GlobMatches("/proc/9419/maps", nullptr, "/proc/17/maps"));
  EXPECT_EQ(NormalizeVolatilePath("pipe:[246751]", kVars).glob, "pipe:\\[*\\]");
  EXPECT_TRUE(GlobMatches("pipe:[246751]", nullptr, "pipe:[77]"));
  EXPECT_TRUE(GlobMatches("/home/u/.npm/_logs/2026-11-29T22_34_08_673Z-debug-0.log", nullptr,
                          "/home/u/.npm/_logs/2027-01-02T03_04_05_006Z-debug-0.log"));
  EXPECT_FALSE(GlobMatches("/home/u/proj/out/report.txt", nullptr, "/home/u/proj/out/other.txt"));
}

// Which of git's object directories exist depends on the ids of the objects written, and a commit's
// id on its time: the two-hex-digit directories right below objects/ are one entry, wherever the
// repository is (the workspace, a sub-directory the agent made, a bare repository, ${home}) and
// whether the directory stays (loose objects) or goes (gc packs them).
TEST(NormalizeTest, GitObjectFanoutDirectories) {
  for (const std::string repo : {"/home/u/proj/.git", "/home/u/proj/ws/.git", "/home/u/proj/ws/sub/.git",
                                 "/home/u/mirror.git", "/home/u/proj/.git/modules/lib"}) {
    SCOPED_TRACE(repo);
    std::string a = Text(repo + "/objects/0a"), b = Text(repo + "/objects/e3");
    EXPECT_EQ(a, b);
    EXPECT_EQ(Text(repo + "/objects/0a/1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d"),
              Text(repo + "/objects/ff/00112233445566778899aabbccddeeff001122"));
    EXPECT_TRUE(GlobMatches(repo + "/objects/0a/tmp_obj_x", nullptr, repo + "/objects/9c/tmp_obj_x"));
    // Gone after gc: the session's own temporary directory, the same entry.
    TempPaths t;
    t.Observe(Simple(EventKind::kFileMkdir, repo + "/objects/1d"));
    t.Observe(Simple(EventKind::kFileRmdir, repo + "/objects/1d"));
    EXPECT_EQ(Text(repo + "/objects/1d", &t), a);
  }
  EXPECT_EQ(Text("/home/u/proj/ws/.git/objects/0a"), "${workspace}/ws/.git/objects/<hex>");
  // Not more: other names below objects/, two hex digits elsewhere, three digits below objects/.
  EXPECT_EQ(Text("/home/u/proj/.git/objects/info/packs"), "${workspace}/.git/objects/info/packs");
  EXPECT_EQ(Text("/home/u/proj/.git/objects/pack"), "${workspace}/.git/objects/pack");
  EXPECT_EQ(Text("/home/u/proj/locale/de/messages.mo"), "${workspace}/locale/de/messages.mo");
  EXPECT_EQ(Text("/home/u/proj/objects/abc"), "${workspace}/objects/abc");
  EXPECT_EQ(Text("/home/u/proj/objects/AB"), "${workspace}/objects/AB");
  EXPECT_EQ(Text("/home/u/proj/myobjects/ab"), "${workspace}/myobjects/ab");
  EXPECT_FALSE(GlobMatches("/home/u/proj/.git/objects/0a", nullptr, "/home/u/proj/.git/objects/info"));
}

// Temporary names a tool derives from a stable one keep that name; only what changes is generalised.
// Before, the random-name rule turned a 6-letter stem into `*` (config.lock -> *.lock) while a
// 5-letter one stayed (index.lock).
TEST(NormalizeTest, DerivedTemporaryNamesKeepTheirStem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/home/u/proj/.git/config.lock", "${workspace}/.git/config.lock"},
      {"/home/u/proj/.git/index.lock", "${workspace}/.git/index.lock"},
      {"/home/u/proj/.git/objects/maintenance.lock", "${workspace}/.git/objects/maintenance.lock"},
      {"/home/u/proj/.git/refs/heads/feature2.lock", "${workspace}/.git/refs/heads/feature2.lock"},
      {"/home/u/proj/db.sqlite-journal", "${workspace}/db.sqlite-journal"},
      {"/home/u/proj/db.sqlite-wal", "${workspace}/db.sqlite-wal"},
      {"/home/u/proj/.f1.txt.swp", "${workspace}/.f1.txt.swp"},
      {"/home/u/proj/.f1.txt.swx", "${workspace}/.f1.txt.swx"},
      {"/home/u/proj/notes2.txt~", "${workspace}/notes2.txt~"},
      {"/home/u/proj/#notes2.txt#", "${workspace}/#notes2.txt#"},
      {"/home/u/proj/.#notes2.txt", "${workspace}/.#notes2.txt"},
      {"/home/u/proj/pkg/__pycache__/mod.cpython-311.pyc.140145828417856",
       "${workspace}/pkg/__pycache__/mod.cpython-311.pyc.N"},
      // Numbers that change in the stem are still generalised, as anywhere.
      {"/home/u/proj/out/run-1733000000.lock", "${workspace}/out/run-N.lock"},
      // So is a template's tail, as in a kept name.
      {"/home/u/proj/out/tmpab_cd12e.lock", "${workspace}/out/tmp*.lock"},
      {"/home/u/proj/out/job.Xy7Qp2.lock", "${workspace}/out/job.*.lock"},
  };
  std::vector<std::string> paths;
  for (const auto& c : cases) paths.push_back(c.first);
  TempPaths t = TempsOf(paths);
  for (const auto& [path, want] : cases) EXPECT_EQ(Text(path, &t), want) << path;
  // Different stems stay different entries; Python's number matches a fresh run's.
  EXPECT_NE(Text("/home/u/proj/.git/config.lock", &t), Text("/home/u/proj/.git/index.lock", &t));
  EXPECT_TRUE(GlobMatches(paths[11], &t, "/home/u/proj/pkg/__pycache__/mod.cpython-311.pyc.139912"));
  EXPECT_FALSE(GlobMatches(paths[0], &t, "/home/u/proj/.git/hooks.lock"));
  // A random name with a derived shape's suffix but not its form stays a random name.
  TempPaths r = TempsOf({"/home/u/proj/sedvV8FQW", "/home/u/proj/tmp.JSlrl6eoWb"});
  EXPECT_EQ(Text("/home/u/proj/sedvV8FQW", &r), "${workspace}/*");
  EXPECT_EQ(Text("/home/u/proj/tmp.JSlrl6eoWb", &r), "${workspace}/tmp.*");
}

// A file or directory the session made from a template and kept in the workspace (mktemp -p .,
// mktemp -d -p ., Python's tempfile with delete=False or mkdtemp(dir=".")): the template's random
// tail is generalised, nothing else. mkstemp and mkdtemp ask for modes 0600 and 0700; other
// exclusive creations keep their names.
TEST(NormalizeTest, KeptNamesFromATemplate) {
  TempPaths t;
  auto made = [&](const std::string& p, uint32_t mode = 0600) {
    Event e = Open(p, O_RDWR | O_CREAT | O_EXCL);
    e.mode = mode;
    t.Observe(e);
  };
  auto made_dir = [&](const std::string& p, uint32_t mode = 0700) {
    Event e = Simple(EventKind::kFileMkdir, p);
    e.mode = mode;
    t.Observe(e);
  };
  made("/home/u/proj/keep.McnM2z");
  made("/home/u/proj/keep.ujnwyj");  // one case only: still mkstemp's tail
  made("/home/u/proj/tmp.JSlrl6eoWb");
  made("/home/u/proj/out-Ab12Cd.txt");
  made("/home/u/proj/tmpab_cd12e.json");  // Python's NamedTemporaryFile(dir=".", delete=False)
  made("/home/u/proj/report.txt");
  made("/home/u/proj/tmpresults");  // not Python's: 7 characters after tmp
  made("/home/u/proj/results_final.json", 0666);
  made("/home/u/proj/data_abcdef", 0666);  // open(..., "x"): not a template
  made("/home/u/.ssh/id_ed25519");         // outside the workspace: may be a key
  made_dir("/home/u/proj/work.Xy7Qp2");
  made_dir("/home/u/proj/tmp0q_j3x9z");  // tempfile.mkdtemp(dir=".")
  made_dir("/home/u/proj/build_output", 0777);
  // Not chosen by the session: a plain O_CREAT of an existing name in a directory it did not make.
  t.Observe(Open("/home/u/proj/data.AbC123", O_WRONLY | O_CREAT));
  EXPECT_EQ(Text("/home/u/proj/keep.McnM2z", &t), "${workspace}/keep.*");
  EXPECT_EQ(Text("/home/u/proj/keep.ujnwyj", &t), "${workspace}/keep.*");
  EXPECT_EQ(Text("/home/u/proj/tmp.JSlrl6eoWb", &t), "${workspace}/tmp.*");
  EXPECT_EQ(Text("/home/u/proj/out-Ab12Cd.txt", &t), "${workspace}/out-*.txt");
  EXPECT_EQ(Text("/home/u/proj/tmpab_cd12e.json", &t), "${workspace}/tmp*.json");
  EXPECT_EQ(Text("/home/u/proj/work.Xy7Qp2/part.txt", &t), "${workspace}/work.*/part.txt");
  EXPECT_EQ(Text("/home/u/proj/tmp0q_j3x9z/out.csv", &t), "${workspace}/tmp*/out.csv");
  EXPECT_EQ(Text("/home/u/proj/report.txt", &t), "${workspace}/report.txt");
  EXPECT_EQ(Text("/home/u/proj/tmpresults", &t), "${workspace}/tmpresults");
  EXPECT_EQ(Text("/home/u/proj/results_final.json", &t), "${workspace}/results_final.json");
  EXPECT_EQ(Text("/home/u/proj/data_abcdef", &t), "${workspace}/data_abcdef");
  EXPECT_EQ(Text("/home/u/.ssh/id_ed25519", &t), "${home}/.ssh/id_ed25519");
  EXPECT_EQ(Text("/home/u/proj/build_output", &t), "${workspace}/build_output");
  EXPECT_EQ(Text("/home/u/proj/data.AbC123", &t), "${workspace}/data.AbC123");
  EXPECT_TRUE(GlobMatches("/home/u/proj/keep.McnM2z", &t, "/home/u/proj/keep.88W3Rm"));
  EXPECT_FALSE(GlobMatches("/home/u/proj/keep.McnM2z", &t, "/home/u/proj/other.88W3Rm"));
  // Renamed away: no longer the session's kept name.
  t.Observe(Simple(EventKind::kFileRename, "/home/u/proj/keep.McnM2z", "/home/u/proj/final.txt"));
  EXPECT_FALSE(t.KeptFromTemplate("/home/u/proj/keep.McnM2z"));
  EXPECT_FALSE(t.KeptFromTemplate("/home/u/proj/final.txt"));
}

// The alphabets of mkstemp's XXXXXX and of Python's tempfile names.
const std::string kMkstemp = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const std::string kPython = "abcdefghijklmnopqrstuvwxyz0123456789_";

std::string RandomName(std::mt19937& rng, const std::string& alphabet, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(alphabet[rng() % alphabet.size()]);
  return s;
}

// Property: names made from one template with different random characters normalise alike.
TEST(NormalizeTest, SameTemplateSameFormWhateverTheRandomCharacters) {
  std::mt19937 rng(12345);
  auto random = [&](const std::string& alphabet, int n) { return RandomName(rng, alphabet, n); };
  struct Template {
    std::string before, alphabet, after;
    int n;
  };
  const std::vector<Template> templates = {
      {"/home/u/proj/.git/objects/0a/tmp_obj_", kMkstemp, "", 6},
      {"/home/u/proj/sed", kMkstemp, "", 6},
      {"/home/u/proj/.git/t", kMkstemp, "", 6},
      {"/dev/shm/sem.", kMkstemp, "", 6},
      {"/dev/shm/sem.mp-", kPython, "", 8},
      {"/home/u/proj/tmp", kPython, ".txt", 8},
      {"/tmp/cc", kMkstemp, ".s", 6},
      {"/tmp/", kPython, "", 8},
      {"/tmp/tmp", kPython, "", 8},
      {"/tmp/pymp-", kPython, "", 8},
  };
  for (const Template& tp : templates) {
    std::string first;
    for (int k = 0; k < 2000; ++k) {
      std::string path = tp.before + random(tp.alphabet, tp.n) + tp.after;
      TempPaths t = TempsOf({path});
      std::string text = Text(path, &t);
      if (k == 0) first = text;
      ASSERT_EQ(text, first) << path;
    }
  }
}

// The same property for names made from a template and kept in the workspace.
TEST(NormalizeTest, KeptTemplateNamesSameFormWhateverTheRandomCharacters) {
  std::mt19937 rng(54321);
  auto random = [&](const std::string& alphabet, int n) { return RandomName(rng, alphabet, n); };
  struct Template {
    std::string before, alphabet, suffix;  // suffix: part of the name
    int n;
    uint32_t mode;  // 0700: a directory, with a file below it
  };
  const std::vector<Template> templates = {
      {"/home/u/proj/keep.", kMkstemp, "", 6, 0600},    // mktemp -p . keep.XXXXXX
      {"/home/u/proj/tmp.", kMkstemp, "", 10, 0600},    // mktemp -p .
      {"/home/u/proj/work.", kMkstemp, "", 8, 0700},    // mktemp -d -p . work.XXXXXXXX
      {"/home/u/proj/tmp", kPython, ".json", 8, 0600},  // NamedTemporaryFile(dir=".", delete=False)
      {"/home/u/proj/tmp", kPython, "", 8, 0700},       // mkdtemp(dir=".")
  };
  for (const Template& tp : templates) {
    std::string first;
    for (int k = 0; k < 2000; ++k) {
      std::string name = tp.before + random(tp.alphabet, tp.n) + tp.suffix;
      TempPaths t;
      Event e = tp.mode == 0700 ? Simple(EventKind::kFileMkdir, name) : Open(name, O_RDWR | O_CREAT | O_EXCL);
      e.mode = tp.mode;
      t.Observe(e);
      std::string text = Text(tp.mode == 0700 ? name + "/part.txt" : name, &t);
      if (k == 0) first = text;
      ASSERT_EQ(text, first) << name;
    }
  }
}

// Regression: a task that makes w/, writes w/Makefile, runs make and removes it. In the run that also
// made w/ the plain O_CREAT of w/Makefile counted as the session's own temporary file and its 8
// letters as random (w/*); in runs where w/ already existed it stayed w/Makefile, so the same task
// scored a stability of 0.97. A name that a program or a person chose (a plain O_CREAT, creat, a
// rename target, a mkdir asking 0777, a symlink) keeps its words; only runs that look generated go.
TEST(NormalizeTest, NamedTemporaryFilesKeepOrdinaryNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Makefile", "Makefile"},
      {"README", "README"},
      {"config.json", "config.json"},
      {"main.c", "main.c"},
      {"build.log", "build.log"},
      {"CMakeLists.txt", "CMakeLists.txt"},
      {"sha256sums", "sha256sums"},
      {"python311.txt", "python311.txt"},
      {"test_settings.py", "test_settings.py"},
      {"deadbeef", "deadbeef"},
      {"config.lock", "config.lock"},
      {"run-1733000000.txt", "run-N.txt"},  // a number, as anywhere
      // Runs that only a generator writes.
      {"1a2b3c4d.tmp", "*.tmp"},
      {"package.json.2f1e3d4c", "package.json.*"},
      {"k3j5l2m1", "*"},
      {"out-8f3e2a1b9c.json", "out-*.json"},
  };
  for (const auto& [name, want] : cases) {
    SCOPED_TRACE(name);
    const std::string path = "/home/u/proj/w/" + name;
    TempPaths t;
    t.Observe(Simple(EventKind::kFileMkdir, "/home/u/proj/w"));  // mode 0 here, 0777 from `mkdir`
    t.Observe(Open(path, O_WRONLY | O_CREAT | O_TRUNC));
    t.Observe(Simple(EventKind::kFileDelete, path));
    t.Observe(Simple(EventKind::kFileRmdir, "/home/u/proj/w"));
    ASSERT_TRUE(t.Contains(path));
    EXPECT_FALSE(t.Generated(path));
    EXPECT_EQ(Text(path, &t), "${workspace}/w/" + want);
    // The rendering of an ordinary name is the one it gets where it is not temporary.
    if (name == want) {
      EXPECT_EQ(Text(path, &t), Text(path));
    }
  }
  // Other named creations: creat, a rename target in a created directory, a symlink, `mkdir output`.
  TempPaths t;
  Event out_dir = Simple(EventKind::kFileMkdir, "/home/u/proj/output");
  out_dir.mode = 0777;
  t.Observe(out_dir);
  t.Observe(Simple(EventKind::kFileCreate, "/home/u/proj/output/summary"));
  t.Observe(Open("/home/u/proj/output/sedAb12Cd", O_WRONLY | O_CREAT | O_EXCL));
  t.Observe(Simple(EventKind::kFileRename, "/home/u/proj/output/sedAb12Cd", "/home/u/proj/output/results"));
  t.Observe(Simple(EventKind::kFileSymlink, "/home/u/proj/src", "/home/u/proj/current"));
  for (const char* p :
       {"/home/u/proj/output/summary", "/home/u/proj/output/results", "/home/u/proj/current", "/home/u/proj/output"}) {
    t.Observe(Simple(EventKind::kFileDelete, p));
  }
  EXPECT_EQ(Text("/home/u/proj/output/summary", &t), "${workspace}/output/summary");
  EXPECT_EQ(Text("/home/u/proj/output/results", &t), "${workspace}/output/results");
  EXPECT_EQ(Text("/home/u/proj/current", &t), "${workspace}/current");
  EXPECT_EQ(Text("/home/u/proj/output", &t), "${workspace}/output");
  // The exclusively made name stays generated: sed's template.
  EXPECT_TRUE(t.Generated("/home/u/proj/output/sedAb12Cd"));
  EXPECT_EQ(Text("/home/u/proj/output/sedAb12Cd", &t), "${workspace}/output/*");
  // A generated name made again by a named creation stays generated: git probes for symlinks with
  // .git/tXXXXXX, made exclusively, removed, made again as a symlink and removed.
  TempPaths g;
  g.Observe(Open("/home/u/proj/.git/tFjroWo", O_RDWR | O_CREAT | O_EXCL));
  g.Observe(Simple(EventKind::kFileDelete, "/home/u/proj/.git/tFjroWo"));
  g.Observe(Simple(EventKind::kFileSymlink, "testing", "/home/u/proj/.git/tFjroWo"));
  g.Observe(Simple(EventKind::kFileDelete, "/home/u/proj/.git/tFjroWo"));
  EXPECT_TRUE(g.Generated("/home/u/proj/.git/tFjroWo"));
  EXPECT_EQ(Text("/home/u/proj/.git/tFjroWo", &g), "${workspace}/.git/*");
  // mkdtemp's directory (a mkdir asking 0700) is generated, whatever its letters.
  TempPaths d;
  Event mk = Simple(EventKind::kFileMkdir, "/home/u/proj/work.ujnwyjqx");
  mk.mode = 0700;
  d.Observe(mk);
  d.Observe(Simple(EventKind::kFileRmdir, "/home/u/proj/work.ujnwyjqx"));
  EXPECT_TRUE(d.Generated("/home/u/proj/work.ujnwyjqx"));
  EXPECT_EQ(Text("/home/u/proj/work.ujnwyjqx", &d), "${workspace}/work.*");
  // Below ${tmp} a named temporary file gets the rules of a name there that stays.
  TempPaths tmp;
  tmp.Observe(Simple(EventKind::kFileMkdir, "/tmp/job"));
  tmp.Observe(Open("/tmp/job/Makefile", O_WRONLY | O_CREAT | O_TRUNC));
  tmp.Observe(Simple(EventKind::kFileDelete, "/tmp/job/Makefile"));
  EXPECT_EQ(Text("/tmp/job/Makefile", &tmp), Text("/tmp/job/Makefile"));
}

// The scenario above as profiles: run 1 makes w/, runs 2 and 3 find it there (mkdir fails with
// EEXIST, so w/Makefile is not in a directory they made). All three profiles are the same.
TEST(NormalizeTest, MakefileInADirectoryTheFirstRunMadeHasOneProfile) {
  auto run = [](bool makes_dir) {
    ProfileBuilder b(kVars);
    Event mk = Simple(EventKind::kFileMkdir, "/home/u/proj/w");
    mk.mode = 0777;
    mk.result = makes_dir ? 0 : -EEXIST;
    b.Add(mk);
    b.Add(Open("/home/u/proj/w/Makefile", O_WRONLY | O_CREAT | O_TRUNC));
    b.Add(Open("/home/u/proj/w/Makefile", O_RDONLY));
    b.Add(Open("/home/u/proj/w/out.txt", O_WRONLY | O_CREAT | O_TRUNC));
    b.Add(Simple(EventKind::kFileDelete, "/home/u/proj/w/Makefile"));
    b.Add(Simple(EventKind::kFileDelete, "/home/u/proj/w/out.txt"));
    return b.Finish();
  };
  std::set<std::string> first = run(true), later = run(false);
  EXPECT_EQ(first, later);
  EXPECT_DOUBLE_EQ(Jaccard(first, later), 1.0);
  EXPECT_TRUE(first.count("file.write ${workspace}/w/Makefile")) << ::testing::PrintToString(first);
}

TEST(TempPathsTest, CreatedAndRemovedBySession) {
  TempPaths t;
  // Exclusive create then delete: temporary.
  t.Observe(Open("/w/a.tmp", O_WRONLY | O_CREAT | O_EXCL));
  t.Observe(Simple(EventKind::kFileDelete, "/w/a.tmp"));
  // Exclusive create then renamed away: the old name is temporary, the new one is not.
  t.Observe(Open("/w/sedAb12Cd", O_WRONLY | O_CREAT | O_EXCL));
  t.Observe(Simple(EventKind::kFileRename, "/w/sedAb12Cd", "/w/util.c"));
  // A plain O_CREAT may open an existing file: deleting it is a real deletion.
  t.Observe(Open("/w/notes.txt", O_WRONLY | O_CREAT | O_TRUNC));
  t.Observe(Simple(EventKind::kFileDelete, "/w/notes.txt"));
  // A directory the session made: what it creates inside is its own.
  t.Observe(Simple(EventKind::kFileMkdir, "/w/d"));
  t.Observe(Open("/w/d/part.txt", O_WRONLY | O_CREAT | O_TRUNC));
  t.Observe(Simple(EventKind::kFileDelete, "/w/d/part.txt"));
  t.Observe(Simple(EventKind::kFileRmdir, "/w/d"));
  // Created again after its removal: it exists at the end.
  t.Observe(Simple(EventKind::kFileMkdir, "/w/e"));
  t.Observe(Open("/w/e/f1.txt", O_WRONLY | O_CREAT));
  t.Observe(Simple(EventKind::kFileDelete, "/w/e/f1.txt"));
  t.Observe(Open("/w/e/f1.txt", O_WRONLY | O_CREAT));
  // A failed exclusive create (missing directory): the name never existed.
  t.Observe(Open("/w/objects/0a/tmp_obj_Zz9yXw", O_WRONLY | O_CREAT | O_EXCL, -ENOENT));
  // A failed delete removes nothing.
  t.Observe(Open("/w/keep", O_WRONLY | O_CREAT | O_EXCL));
  Event failed = Simple(EventKind::kFileDelete, "/w/keep");
  failed.result = -EACCES;
  t.Observe(failed);
  EXPECT_TRUE(t.Contains("/w/a.tmp"));
  EXPECT_TRUE(t.Contains("/w/sedAb12Cd"));
  EXPECT_FALSE(t.Contains("/w/util.c"));
  EXPECT_FALSE(t.Contains("/w/notes.txt"));
  EXPECT_TRUE(t.Contains("/w/d/part.txt"));
  EXPECT_TRUE(t.Contains("/w/d"));
  EXPECT_TRUE(t.Covers("/w/d/anything"));
  EXPECT_FALSE(t.Contains("/w/e/f1.txt"));
  EXPECT_TRUE(t.Contains("/w/objects/0a/tmp_obj_Zz9yXw"));
  EXPECT_FALSE(t.Contains("/w/keep"));
  EXPECT_FALSE(t.Covers("/w/keep"));
}

}  // namespace
}  // namespace agenttrace
