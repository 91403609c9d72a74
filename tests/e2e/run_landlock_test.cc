// `agenttrace run --mode enforce` with and without the Landlock backstop, on the open-path race the
// backstop exists for (tests/recorder/e2e/programs/e2e_race_open.c: a second thread flips the path
// between an allowed and a denied file while the first opens it 100,000 times and reports what it read).
//
//   - With Landlock: the denied file is never read. Asserted.
//   - With the tracer alone (--no-landlock): the tracer decides on the path it read at the seccomp stop,
//     which the other thread may change before the kernel reads it. How many opens slip through depends
//     on scheduling: the count is printed, not asserted (it is usually a few per ten thousand here).
//     Asserted is what is reliably true: every open the program saw refused was refused by the tracer.
//   - No Landlock in the kernel (simulated: landlock_create_ruleset answers ENOSYS): run says so and
//     enforces with the tracer alone; --require-landlock refuses to start the agent.
#include <regex>
#include <sstream>

#include "tests/tools/cli_run.h"

namespace agenttrace {
namespace {

using testing::RunCli;

constexpr long kOpens = 100000;

class RunLandlockTest : public testing::CliTestBase {
 protected:
  RunLandlockTest() : CliTestBase("run-landlock") {}
  void SetUp() override {
    CliTestBase::SetUp();
    std::filesystem::create_directories(dir_ + "/A");
    std::filesystem::create_directories(dir_ + "/B");
    std::ofstream(dir_ + "/A/file.txt") << "ALLOWED\n";
    std::ofstream(dir_ + "/B/file.txt") << "DENIED\n";
    policy_ = dir_ + "/policy.yaml";
    std::ofstream(policy_) << "version: 1\ndefault: deny\nrules:\n"
                              "  - {id: system, decision: allow, class: [file.read, exec], paths: [\"/usr/**\", "
                              "\"/lib/**\", \"/lib64/**\", \"/etc/**\", \"/proc/**\", \"" E2E_PROGRAM_DIR
                              "/**\"]}\n"
                              "  - {id: allowed-file, decision: allow, class: file.read, paths: [\""
                           << dir_ << "/A/**\"]}\n";
  }

  struct Race {
    long opens = -1, allowed = -1, denied = -1, eacces = -1, other = -1;
    long tracer_denies = -1;
  };
  Race RunRace(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"run", "--store", store_, "--policy", policy_};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", E2E_PROGRAM_DIR "/e2e_race_open", dir_ + "/A/file.txt", dir_ + "/B/file.txt",
                             std::to_string(kOpens)});
    testing::RunResult r = RunCli(AGENTTRACE_BIN, args, dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Race race;
    std::sscanf(r.out.c_str(), "RACE opens=%ld allowed=%ld denied=%ld eacces=%ld other=%ld", &race.opens, &race.allowed,
                &race.denied, &race.eacces, &race.other);
    std::smatch m;
    if (std::regex_search(r.err, m, std::regex(" decisions: deny ([0-9]+),"))) race.tracer_denies = std::stol(m[1]);
    last_err_ = r.err;
    return race;
  }

  // The exported JSON lines of the session a run reported on stderr.
  std::string ExportOf(const std::string& err) {
    std::smatch m;
    if (!std::regex_search(err, m, std::regex("recorded session ([0-9a-f-]+)"))) return "";
    return RunCli(AGENTTRACE_BIN, {"export", m[1], "--store", store_}, dir_).out;
  }

  std::string policy_, last_err_;
};

TEST_F(RunLandlockTest, EnforceWithLandlockNeverOpensTheDeniedFile) {
  Race r = RunRace({});
  EXPECT_NE(last_err_.find("Landlock ABI"), std::string::npos) << last_err_;
  ASSERT_EQ(r.opens, kOpens);
  EXPECT_EQ(r.denied, 0) << "the denied file was read under enforce with Landlock";
  EXPECT_EQ(r.other, 0);
  EXPECT_EQ(r.allowed + r.eacces, kOpens);
  EXPECT_GT(r.eacces, 0);  // the race was really run
  // Refusals the tracer allowed at the seccomp stop (its path still named the allowed file) were the
  // kernel's: never more tracer denies than refusals.
  EXPECT_LE(r.tracer_denies, r.eacces);
  std::printf(
      "enforce with Landlock: %ld opens, %ld refused (%ld by the tracer, %ld by the kernel alone), 0 of the "
      "denied file\n",
      r.opens, r.eacces, r.tracer_denies, r.eacces - r.tracer_denies);
}

TEST_F(RunLandlockTest, EnforceWithTheTracerAloneLeavesAWindow) {
  Race r = RunRace({"--no-landlock"});
  EXPECT_EQ(last_err_.find("Landlock ABI"), std::string::npos) << last_err_;
  ASSERT_EQ(r.opens, kOpens);
  EXPECT_EQ(r.other, 0);
  EXPECT_EQ(r.allowed + r.denied + r.eacces, kOpens);
  // Without the kernel, every refusal is the tracer's.
  EXPECT_EQ(r.tracer_denies, r.eacces);
  // Nondeterministic, reported only: opens the tracer allowed on the path it read while the kernel
  // opened the denied file.
  std::printf("enforce with the tracer alone: %ld of %ld opens read the denied file\n", r.denied, r.opens);
  RecordProperty("denied_reads_without_landlock", static_cast<int>(r.denied));
}

// The kernel's part never refuses what the policy allows: a real toolchain (sh, cc, as, ld, the
// program built) runs under a workspace policy with the backstop on.
TEST_F(RunLandlockTest, AnAllowedBuildStillSucceedsUnderLandlock) {
  std::string ws = dir_ + "/ws";
  std::filesystem::create_directories(ws);
  std::ofstream(ws + "/hello.c") << "#include <stdio.h>\nint main(void) { puts(\"built\"); return 0; }\n";
  std::string build_policy = dir_ + "/build.yaml";
  std::ofstream(build_policy)
      << "version: 1\ndefault: deny\nrules:\n"
         "  - {id: read, decision: allow, class: [file.read, exec], paths: [\"/usr/**\", \"/lib/**\", "
         "\"/lib64/**\", \"/bin/**\", \"/etc/**\", \"/proc/**\", \"/dev/null\", \"${tmp}/**\", \""
      << ws
      << "/**\"]}\n"
         "  - {id: write, decision: allow, class: [file.write, file.delete], paths: [\"${tmp}/**\", "
         "\"/dev/null\", \""
      << ws << "/**\"]}\n";
  // A PATH without directories the policy does not let the shell probe.
  testing::RunResult r =
      RunCli(AGENTTRACE_BIN,
             {"run", "--store", store_, "--policy", build_policy, "--require-landlock", "--", "/bin/sh", "-c",
              "PATH=/usr/bin:/bin; cd " + ws + " && cc -o hello hello.c && ./hello"},
             dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "built\n");
  EXPECT_NE(r.err.find("Landlock ABI"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::exists(ws + "/hello"));
  // The session says the backstop was on.
  std::string jsonl = ExportOf(r.err);
  EXPECT_NE(jsonl.find(R"("text":"landlock")"), std::string::npos) << jsonl.substr(0, 2000);
  EXPECT_NE(jsonl.find(R"(\"applied\":true,)"), std::string::npos) << jsonl.substr(0, 2000);
}

// Issue #12: Landlock binds a rule to the inode that exists when the run starts. An agent that removes
// (or renames away) a directory the policy lets it remove and re-create, then works in the new one,
// used to get EACCES from the kernel there although the policy allowed every step. The plan now gives
// those rights to the nearest ancestor the agent cannot replace (here the start directory); the
// tracer still decides inside it, so what the policy denies beneath that ancestor stays denied.
TEST_F(RunLandlockTest, ARecreatedDirectoryKeepsTheRightsThePolicyGivesIt) {
  std::filesystem::create_directories(dir_ + "/ws");
  std::ofstream(dir_ + "/ws/keep.txt") << "OLD TREE\n";
  std::ofstream(dir_ + "/secret.txt") << "SECRET\n";
  // The shape `policy suggest` gives a workspace task that recreates ws: the directory itself and its
  // contents for reading, writing and deleting; the rename's destination for writing.
  std::string ws_policy = dir_ + "/ws.yaml";
  std::ofstream(ws_policy)
      << "version: 1\ndefault: deny\nrules:\n"
         "  - {id: system, decision: allow, class: [file.read, exec], paths: [\"/usr/**\", "
         "\"/lib/**\", \"/lib64/**\", \"/bin/**\", \"/etc/**\", \"/proc/**\", \"/dev/null\", "
         "\"/dev/urandom\", \"${workspace}/task.sh\"]}\n"
         "  - {id: ws-files, decision: allow, class: [file.read, file.write, file.delete], "
         "paths: [\"${workspace}/ws\", \"${workspace}/ws/**\"]}\n"
         "  - {id: ws-rename, decision: allow, class: file.write, paths: [\"${workspace}/ws.old\"]}\n"
         "  - {id: dev-null, decision: allow, class: file.write, paths: [\"/dev/null\"]}\n";
  std::ofstream(dir_ + "/task.sh") << R"(#!/bin/sh
export HOME=/nonexistent GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=a
export GIT_COMMITTER_EMAIL=a@x GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z
PATH=/usr/bin:/bin
commit() { mkdir ws && cd ws && git init -q -b main && echo "$1" >f.txt && git add f.txt && git commit -q -m "$1" &&
  git log --format=%s && cd ..; }
mv ws ws.old && commit renamed || exit 1
rm -rf ws && commit removed || exit 1
# Denied by the policy, beneath the directory that now holds the rights of ws for the kernel.
cat ws.old/keep.txt 2>/dev/null || echo "renamed tree refused"
cat secret.txt 2>/dev/null || echo "secret refused"
(echo x >new.txt) 2>/dev/null || echo "new file refused"
)";
  std::filesystem::permissions(dir_ + "/task.sh", std::filesystem::perms::owner_all);
  // ${workspace} is the directory agenttrace starts in.
  auto here = [&](const std::string& args) {
    return RunCli("/bin/sh", {"-c", "cd '" + dir_ + "' && exec " AGENTTRACE_BIN " " + args}, dir_);
  };
  testing::RunResult r = here("run --store store --policy ws.yaml --require-landlock -- ./task.sh");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "renamed\nremoved\nrenamed tree refused\nsecret refused\nnew file refused\n") << r.err;
  EXPECT_NE(r.err.find("Landlock ABI"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/new.txt"));
  // The three refusals are the tracer's: the kernel allows reading and creating beneath the start
  // directory now.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(" decisions: deny ([0-9]+),"))) << r.err;
  EXPECT_GE(std::stol(m[1]), 3) << r.err;
  std::string jsonl = ExportOf(r.err);
  for (const char* denied : {"/ws.old/keep.txt", "/secret.txt", "/new.txt"}) {
    bool found = false;
    std::istringstream lines(jsonl);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(R"("text":"decision")") != std::string::npos && line.find(denied) != std::string::npos &&
          line.find(R"(\"deny\")") != std::string::npos) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << "no tracer denial of " << denied;
  }
  // The plan says where the rights went.
  testing::RunResult check = here("policy check --enforce ws.yaml");
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_TRUE(std::regex_search(
      check.out, std::regex("widened: rule ws-files: .*read_file.* of " + dir_ + "/ws go to " + dir_ + " ")))
      << check.out;
}

// What the widening above costs, measured on the open-path race: the rights of ws now hold beneath the
// start directory, so a flip between ws/file.txt and a denied wt/file.txt next to it is left to the
// tracer (how many slip through is printed, not asserted: scheduling); a flip to a file outside the
// start directory is still refused by the kernel every time (asserted).
TEST_F(RunLandlockTest, TheWideningForARecreatedDirectoryStopsAtTheStartDirectoryForTheRace) {
  constexpr long kWidenedOpens = kOpens / 4;  // twice: a quarter of the other race tests each
  std::string start = dir_ + "/s";
  for (const std::string& d : {start + "/ws", start + "/wt", dir_ + "/t/ws"}) std::filesystem::create_directories(d);
  std::ofstream(start + "/ws/file.txt") << "ALLOWED\n";
  std::ofstream(start + "/wt/file.txt") << "DENIED\n";
  std::ofstream(dir_ + "/t/ws/file.txt") << "DENIED\n";
  std::ofstream(dir_ + "/race.yaml")
      << "version: 1\ndefault: deny\nrules:\n"
         "  - {id: system, decision: allow, class: [file.read, exec], paths: "
         "[\"/usr/**\", \"/lib/**\", \"/lib64/**\", \"/etc/**\", \"/proc/**\", \"" E2E_PROGRAM_DIR
         "/**\"]}\n"
         "  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], "
         "paths: [\"${workspace}/ws\", \"${workspace}/ws/**\"]}\n";
  auto race = [&](const std::string& denied) {
    testing::RunResult r = RunCli("/bin/sh",
                                  {"-c", "cd '" + start +
                                             "' && exec " AGENTTRACE_BIN " run --store ../store --policy ../race.yaml "
                                             "--require-landlock -- " E2E_PROGRAM_DIR "/e2e_race_open " +
                                             start + "/ws/file.txt " + denied + " " + std::to_string(kWidenedOpens)},
                                  dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Race got;
    std::sscanf(r.out.c_str(), "RACE opens=%ld allowed=%ld denied=%ld eacces=%ld other=%ld", &got.opens, &got.allowed,
                &got.denied, &got.eacces, &got.other);
    return got;
  };
  Race outside = race(dir_ + "/t/ws/file.txt");  // differs from the allowed path in one byte
  ASSERT_EQ(outside.opens, kWidenedOpens);
  EXPECT_EQ(outside.denied, 0) << "a file outside the start directory was read: the widening went above it";
  EXPECT_GT(outside.eacces, 0);
  Race inside = race(start + "/wt/file.txt");
  ASSERT_EQ(inside.opens, kWidenedOpens);
  EXPECT_EQ(inside.other, 0);
  std::printf(
      "widened to the start directory: %ld of %ld opens read the denied file next to ws (tracer alone), 0 "
      "of %ld the denied file outside the start directory\n",
      inside.denied, inside.opens, outside.opens);
  RecordProperty("denied_reads_next_to_a_widened_hierarchy", static_cast<int>(inside.denied));
}

// The same gap as it was found: a policy from `policy suggest` over three recorded runs of a task that
// recreates its repository, then that task under `run --mode enforce` with Landlock.
TEST_F(RunLandlockTest, ASuggestedPolicyForATaskThatRecreatesItsRepositoryRunsUnderLandlock) {
  std::filesystem::create_directories(dir_ + "/ws");
  std::ofstream(dir_ + "/ws/old.txt") << "old\n";
  std::ofstream(dir_ + "/task.sh") << R"(#!/bin/sh
set -e
export HOME=/nonexistent GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=a
export GIT_COMMITTER_EMAIL=a@x GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z
PATH=/usr/bin:/bin
rm -rf ws && mkdir ws && cd ws && git init -q -b main && echo hi >f.txt && git add f.txt && git commit -q -m one
git log --format=%s
)";
  std::filesystem::permissions(dir_ + "/task.sh", std::filesystem::perms::owner_all);
  auto here = [&](const std::string& args) {
    return RunCli("/bin/sh", {"-c", "cd '" + dir_ + "' && exec " AGENTTRACE_BIN " " + args}, dir_);
  };
  for (int i = 0; i < 3; ++i) {
    testing::RunResult rec = here("record --store store --label recreate -- ./task.sh");
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
  }
  testing::RunResult suggest = here("policy suggest --store store --label recreate -o suggested.yaml");
  ASSERT_EQ(suggest.exit_code, 0) << suggest.err;
  testing::RunResult r = here("run --store store --policy suggested.yaml --require-landlock -- ./task.sh");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "one\n") << r.err;
  EXPECT_NE(r.err.find("decisions: deny 0,"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Landlock ABI"), std::string::npos) << r.err;
}

// The documented fallback: the policy lets the agent remove and re-create its start directory, whose
// parent holds everything else. The rights are not widened there; `run` warns, and inside the new
// start directory the kernel refuses what the policy allows (as `--no-landlock` would not).
TEST_F(RunLandlockTest, ARecreatedStartDirectoryIsWarnedAboutAndNotWidened) {
  std::string start = dir_ + "/start";
  std::filesystem::create_directories(start);
  std::ofstream(start + "/policy.yaml")
      << "version: 1\ndefault: deny\nrules:\n"
         "  - {id: system, decision: allow, class: [file.read, exec], paths: [\"/usr/**\", \"/lib/**\", "
         "\"/lib64/**\", \"/bin/**\", \"/etc/**\", \"/proc/**\"]}\n"
         "  - {id: start, decision: allow, class: [file.read, file.write, file.delete], paths: [\"${workspace}\", "
         "\"${workspace}/**\"]}\n";
  std::string script = "cd .. && rm -rf start && mkdir start && cd start && echo made >f && cat f";
  auto run = [&](const std::string& extra) {
    return RunCli("/bin/sh",
                  {"-c", "cd '" + start +
                             "' && cp policy.yaml ../policy.yaml && exec " AGENTTRACE_BIN
                             " run --store ../store --policy ../policy.yaml " +
                             extra + " -- /bin/sh -c '" + script + "'"},
                  dir_);
  };
  testing::RunResult r = run("");
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("warning: Landlock: not widened: rule start: the policy lets the agent remove " + start +
                       " and make it again, but its parent holds the start directory"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  std::filesystem::create_directories(start);
  std::filesystem::copy_file(dir_ + "/policy.yaml", start + "/policy.yaml");
  testing::RunResult alone = run("--no-landlock");
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_EQ(alone.out, "made\n") << alone.err;
}

TEST_F(RunLandlockTest, NoLandlockInTheKernel) {
  std::string marker = dir_ + "/ran";
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {AGENTTRACE_BIN, "run", "--store", store_, "--policy", policy_};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "/usr/bin/touch", marker});
    return RunCli(E2E_HELPER_DIR "/without_landlock", args, dir_);
  };
  std::ofstream(policy_, std::ios::app) << "  - {id: marker, decision: allow, class: file.write, paths: [\"" << marker
                                        << "\"]}\n";
  testing::RunResult refused = run({"--require-landlock"});
  EXPECT_EQ(refused.exit_code, 125) << refused.err;
  EXPECT_NE(refused.err.find("--require-landlock: the kernel has no Landlock (ENOSYS)"), std::string::npos)
      << refused.err;
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the agent ran although Landlock was required";

  testing::RunResult alone = run({});
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_NE(alone.err.find("warning: the kernel has no Landlock (ENOSYS)"), std::string::npos) << alone.err;
  EXPECT_NE(alone.err.find("the tracer enforces alone"), std::string::npos) << alone.err;
  EXPECT_TRUE(std::filesystem::exists(marker));
  std::string jsonl = ExportOf(alone.err);
  EXPECT_NE(jsonl.find(R"(\"applied\":false,\"why\":\"the kernel has no Landlock (ENOSYS))"), std::string::npos)
      << jsonl.substr(0, 2000);
}

TEST_F(RunLandlockTest, RequireLandlockNeedsAKernelPartAndEnforceMode) {
  std::string allow_policy = dir_ + "/allow.yaml";
  std::ofstream(allow_policy) << "version: 1\ndefault: allow\nrules: []\n";
  testing::RunResult r =
      RunCli(AGENTTRACE_BIN,
             {"run", "--store", store_, "--policy", allow_policy, "--require-landlock", "--", "/bin/true"}, dir_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("the policy has no kernel part (default allow"), std::string::npos) << r.err;
  testing::RunResult audit = RunCli(
      AGENTTRACE_BIN,
      {"run", "--store", store_, "--policy", policy_, "--mode", "audit", "--require-landlock", "--", "/bin/true"},
      dir_);
  EXPECT_EQ(audit.exit_code, 2) << audit.err;
}

// A policy that cannot be used ends the run before the agent starts and before any session exists,
// says why exactly once, and exits with its own status.
TEST_F(RunLandlockTest, APolicyThatCannotBeUsedLeavesNoSessionAndSaysWhyOnce) {
  auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  auto sessions = [&] {
    testing::RunResult ls = RunCli(AGENTTRACE_BIN, {"ls", "--store", store_}, dir_);
    return std::regex_search(ls.out, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-"));
  };
  std::string marker = dir_ + "/ran";
  std::string bad = dir_ + "/bad.yaml";
  std::ofstream(bad) << "version: 1\nrules:\n  - {id: x, decision: maybe, class: file.read}\n";
  testing::RunResult invalid =
      RunCli(AGENTTRACE_BIN, {"run", "--store", store_, "--policy", bad, "--", "/usr/bin/touch", marker}, dir_);
  EXPECT_EQ(invalid.exit_code, 4) << invalid.err;
  EXPECT_EQ(count(invalid.err, "decision must be allow, ask or deny"), 1u) << invalid.err;
  EXPECT_EQ(invalid.err.find("agenttrace: run: " + bad + ":3:"), 0u) << invalid.err;

  testing::RunResult missing = RunCli(
      AGENTTRACE_BIN, {"run", "--store", store_, "--policy", dir_ + "/none.yaml", "--", "/usr/bin/touch", marker}, dir_);
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_EQ(count(missing.err, "none.yaml"), 1u) << missing.err;

  std::string allow_policy = dir_ + "/allow.yaml";
  std::ofstream(allow_policy) << "version: 1\ndefault: allow\nrules: []\n";
  testing::RunResult no_kernel_part = RunCli(
      AGENTTRACE_BIN,
      {"run", "--store", store_, "--policy", allow_policy, "--require-landlock", "--", "/usr/bin/touch", marker}, dir_);
  EXPECT_EQ(no_kernel_part.exit_code, 2) << no_kernel_part.err;
  EXPECT_EQ(count(no_kernel_part.err, "the policy has no kernel part"), 1u) << no_kernel_part.err;
  EXPECT_EQ(count(no_kernel_part.err, "\n"), 1u) << no_kernel_part.err;  // that line alone

  EXPECT_FALSE(std::filesystem::exists(marker)) << "the agent ran under a policy that could not be used";
  EXPECT_FALSE(sessions()) << "a run whose policy could not be used left a session";
}

TEST_F(RunLandlockTest, AuditModeAppliesNoLandlock) {
  testing::RunResult r = RunCli(
      AGENTTRACE_BIN,
      {"run", "--store", store_, "--policy", policy_, "--mode", "audit", "--", "/usr/bin/cat", dir_ + "/B/file.txt"},
      dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "DENIED\n");  // audit blocks nothing, and neither does the kernel
  EXPECT_EQ(r.err.find("Landlock ABI"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace agenttrace
