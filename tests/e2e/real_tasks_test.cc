// The real-task suite: deterministic tasks run by real tools (tests/e2e/tasks/*.sh: git with gc, sed -i
// and make, Python with a multiprocessing Pool and tempfile, node with worker threads and fs.promises,
// npm ci from a committed lock file, git commits whose object ids change from run to run, in the
// start directory and in a sub-directory the agent makes, scratch files with random names kept in
// the workspace) recorded 4 times each under the built `agenttrace record`. For each task:
//   - the policy `agenttrace policy suggest` writes from the 4 runs passes them, and their stability
//     is at least 0.99 (`agenttrace replay --min-stability 0.99` exits 0);
//   - stability is the same under a policy with another `secrets:` list;
//   - a 5th, fresh run passes the policy suggested from the 4 (exit 0: no deny, nothing irreversible);
//   - a 6th run under `agenttrace run --mode enforce` with that policy succeeds, nothing in it is
//     denied, and its replay re-decides every decision the same: what the gate promoted is what
//     enforcement lets run.
// An agent that really does something different on some runs (an extra file outside its workspace
// and an extra host on even runs) stays below 0.99.
//
// npm ci needs the npm registry: when it cannot be reached the npm test is skipped, with the reason.
// docs/testing.md gives the figures this suite measures and how to print them.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kAgenttrace = std::string(AGENTTRACE_BUILD_DIR) + "/tools/agenttrace";
const std::string kTasks = std::string(AGENTTRACE_SOURCE_DIR) + "/tests/e2e/tasks";

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class RealTasks : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agenttrace-real-tasks-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
  }

  // Runs a shell command with its output in a log file; returns the exit code (-1 if it did not exit).
  int Sh(const std::string& cmd, std::string* output = nullptr) {
    std::string log = dir_ + "/sh-" + std::to_string(++commands_) + ".log";
    int status = std::system((cmd + " >" + Quote(log) + " 2>&1").c_str());
    if (output != nullptr) *output = ReadFile(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Fails unless every tool the task needs is installed (scripts/setup-deps.sh installs them).
  void RequireTools(const std::set<std::string>& tools) {
    for (const std::string& t : tools) {
      ASSERT_EQ(Sh("env PATH=/usr/local/bin:/usr/bin:/bin sh -c 'command -v " + t + "'"), 0)
          << t << " is not installed: run scripts/setup-deps.sh";
    }
  }

  // Runs FIRST..LAST of `task` under `agenttrace record`, or under `agenttrace run` with `policy`.
  void Record(const std::string& store, const std::string& label, const std::string& task, int first, int last,
              const std::string& policy = "") {
    std::string out;
    int rc =
        Sh("bash " + Quote(kTasks + "/record_runs.sh") + " " + Quote(kAgenttrace) + " " + Quote(store) + " " + label +
               " " + task + " " + std::to_string(first) + " " + std::to_string(last) + " " + Quote(dir_ + "/runs") +
               (policy.empty() ? "" : " " + Quote(policy)),
           &out);
    ASSERT_EQ(rc, 0) << out;
  }

  // `agenttrace replay` of a label with a policy and options; the JSON report goes to *report.
  int Replay(const std::string& store, const std::string& label, const std::string& policy, const std::string& options,
             Json* report) {
    std::string json = dir_ + "/report-" + std::to_string(commands_ + 1) + ".json";
    std::string out;
    int rc = Sh(Quote(kAgenttrace) + " replay --store " + Quote(store) + " --label " + label + " --policy " +
                    Quote(policy) + " " + options + " --json " + Quote(json),
                &out);
    *report = Json::parse(ReadFile(json), nullptr, false);
    last_output_ = out;
    return rc;
  }

  // Prints the profile entries that not every session has, with how many have them: what a
  // stability below 1 is made of.
  static void PrintDifferences(const Json& report) {
    std::map<std::string, int> count;
    size_t n = report["sessions"].size();
    for (const Json& s : report["sessions"]) {
      for (const Json& p : s["profile"]) ++count[p.get<std::string>()];
    }
    for (const auto& [entry, k] : count) {
      if (static_cast<size_t>(k) != n) std::cout << "[real-tasks]   in " << k << " of " << n << ": " << entry << "\n";
    }
  }

  static std::set<std::string> FailedCriteria(const Json& label) {
    std::set<std::string> out;
    for (const Json& c : label["criteria"]) {
      if (!c["ok"].get<bool>()) out.insert(c["name"].get<std::string>());
    }
    return out;
  }

  // The whole check for one deterministic task (see the top of the file).
  void CheckTask(const std::string& task) {
    std::string store = dir_ + "/store", fresh = dir_ + "/fresh", policy = dir_ + "/suggested.yaml";
    ASSERT_NO_FATAL_FAILURE(Record(store, task, task, 1, 4));
    ASSERT_NO_FATAL_FAILURE(Record(fresh, task, task, 5, 5));
    std::string out;
    ASSERT_EQ(
        Sh(Quote(kAgenttrace) + " policy suggest --store " + Quote(store) + " --label " + task + " -o " + Quote(policy),
           &out),
        0)
        << out;

    Json report;
    int rc = Replay(store, task, policy, "--min-stability 0.99", &report);
    ASSERT_TRUE(report.is_object()) << last_output_;
    const Json& label = report["labels"][0];
    double stability = label["stability"].get<double>();
    std::cout << "[real-tasks] " << task << ": stability " << stability << " over " << label["sessions"].size()
              << " runs\n";
    PrintDifferences(report);
    RecordProperty("stability", std::to_string(stability));
    EXPECT_EQ(label["sessions"].size(), 4u);
    EXPECT_GE(stability, 0.99) << label["unique_actions"].dump(1);
    EXPECT_EQ(rc, 0) << "the 4 runs do not pass the policy suggested from them:\n" << last_output_;

    // The same sessions under a policy that calls every file a secret: the same stability.
    std::string all_secret = dir_ + "/all-secret.yaml";
    std::ofstream(all_secret) << "version: 1\ndefault: allow\nsecrets: [\"/**\"]\nevaluate_failed: false\n";
    Json other;
    Replay(store, task, all_secret, "", &other);
    ASSERT_TRUE(other.is_object()) << last_output_;
    EXPECT_DOUBLE_EQ(other["labels"][0]["stability"].get<double>(), stability);

    // A fresh run of the same task passes the policy suggested from the 4.
    Json fresh_report;
    rc = Replay(fresh, task, policy, "--min-sessions 1", &fresh_report);
    ASSERT_TRUE(fresh_report.is_object()) << last_output_;
    EXPECT_EQ(rc, 0) << "a fresh run is not promotable under the suggested policy:\n" << last_output_;
    EXPECT_EQ(fresh_report["totals"]["deny"], 0) << last_output_;
    EXPECT_EQ(fresh_report["totals"]["irreversible"], 0) << last_output_;

    // A 6th run under enforcement with the suggested policy: the task succeeds (record_runs fails on
    // a non-zero exit), nothing was denied, and replay re-decides each of its decisions the same.
    std::string enforced = dir_ + "/enforced";
    ASSERT_NO_FATAL_FAILURE(Record(enforced, task, task, 6, 6, policy));
    Json enforced_report;
    rc = Replay(enforced, task, policy, "--min-sessions 1", &enforced_report);
    ASSERT_TRUE(enforced_report.is_object()) << last_output_;
    EXPECT_EQ(rc, 0) << "the run under enforcement is not promotable under its own policy:\n" << last_output_;
    EXPECT_EQ(enforced_report["totals"]["deny"], 0) << last_output_;
    ASSERT_EQ(enforced_report["sessions"].size(), 1u);
    const Json& decided = enforced_report["sessions"][0]["request_decisions"];
    EXPECT_GT(decided["recorded"].get<int>(), 0) << decided.dump();
    EXPECT_EQ(decided["same"], decided["recorded"]) << decided.dump();
  }

  std::string dir_;
  std::string last_output_;
  int commands_ = 0;
};

TEST_F(RealTasks, GitWithGc) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"git"}));
  CheckTask("git_gc");
}

TEST_F(RealTasks, SedInPlaceAndMake) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"sed", "make", "cc"}));
  CheckTask("sed_make");
}

TEST_F(RealTasks, PythonPoolAndTempfile) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"python3"}));
  CheckTask("python_pool");
}

TEST_F(RealTasks, NodeWorkersAndFsPromises) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"node"}));
  CheckTask("node_workers");
}

TEST_F(RealTasks, NpmCiFromLockFile) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"node", "npm"}));
  std::string home = dir_ + "/registry-probe";
  fs::create_directories(home);
  std::string out;
  int rc = Sh("env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=" + Quote(home) +
                  " npm_config_update_notifier=false timeout 60 npm view is-number@7.0.0 version",
              &out);
  if (rc != 0 || out.find("7.0.0") == std::string::npos) {
    GTEST_SKIP() << "the npm registry cannot be reached from here (npm view exited " << rc << "): " << out;
  }
  CheckTask("npm_ci");
}

// Git commits whose dates (so object ids) differ from run to run, in the start directory and in a
// sub-directory the agent makes: git's object fan-out directories (.git/objects/NN/) and the
// temporary names inside them must not make the runs unstable nor leak into the suggested policy,
// wherever the repository sits relative to the directory `record` started in.
TEST_F(RealTasks, GitCommitsWithChangingObjectIds) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"git"}));
  CheckTask("git_commits");
  // No literal fan-out directory or random name is left in the suggestion.
  std::string policy = ReadFile(dir_ + "/suggested.yaml");
  EXPECT_FALSE(std::regex_search(policy, std::regex(R"(/objects/[0-9a-f]{2}[/"])"))) << policy;
  EXPECT_FALSE(std::regex_search(policy, std::regex("tmp_obj_[^*]"))) << policy;
}

TEST_F(RealTasks, GitCommitsInASubdirectoryTheAgentMakes) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"git"}));
  CheckTask("git_commits_subdir");
  std::string policy = ReadFile(dir_ + "/suggested.yaml");
  EXPECT_FALSE(std::regex_search(policy, std::regex(R"(/objects/[0-9a-f]{2}[/"])"))) << policy;
  EXPECT_NE(policy.find("${workspace}/ws/.git/objects/[0-9a-f][0-9a-f]/tmp_obj_*"), std::string::npos) << policy;
}

// Scratch files with random names kept in the workspace (mktemp -p ., Python's tempfile with
// delete=False) and Python's byte-code cache: one entry per name shape, not a literal random name.
TEST_F(RealTasks, ScratchFilesWithRandomNamesInTheWorkspace) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"mktemp", "python3"}));
  CheckTask("scratch_names");
  std::string policy = ReadFile(dir_ + "/suggested.yaml");
  for (const char* glob :
       {"${workspace}/keep.*", "${workspace}/work.*/part.txt", "${workspace}/tmp*.json", "${workspace}/tmp*/out.csv"}) {
    EXPECT_NE(policy.find(std::string("\"") + glob + "\""), std::string::npos) << glob << "\n" << policy;
  }
  // NAME.pyc.ID, written then renamed onto NAME.pyc: the stem stays, the number is generalised.
  EXPECT_TRUE(
      std::regex_search(policy, std::regex(R"("\$\{workspace\}/pkg/__pycache__/mod\.cpython-[0-9]+\.pyc\.\*")")))
      << policy;
  EXPECT_FALSE(std::regex_search(policy, std::regex(R"(keep\.[A-Za-z0-9]{6}"|pyc\.[0-9])"))) << policy;
}

// Regression: a task that makes w/ (mkdir -p), writes w/Makefile, runs make there and removes it. The
// first run makes w/; for runs 2 and 3 it is already there. Before, the first run's w/Makefile (a
// file created and removed in a directory the session made) was taken for a random name (w/*) and
// the three runs scored 0.97; the plain O_CREAT of a named file keeps its name, so the profiles are
// the same whether the run made w/ or found it.
TEST_F(RealTasks, MakefileInADirectoryOnlyTheFirstRunMakesIsStable) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"make"}));
  std::string store = dir_ + "/store";
  ASSERT_NO_FATAL_FAILURE(Record(store, "make_in_subdir", "make_in_subdir", 1, 1));
  for (int run : {2, 3}) fs::create_directories(dir_ + "/runs/make_in_subdir-" + std::to_string(run) + "/workspace/w");
  ASSERT_NO_FATAL_FAILURE(Record(store, "make_in_subdir", "make_in_subdir", 2, 3));
  std::string allow = dir_ + "/allow.yaml";
  std::ofstream(allow) << "version: 1\ndefault: allow\n";
  Json report;
  int rc = Replay(store, "make_in_subdir", allow, "--min-stability 1.0", &report);
  ASSERT_TRUE(report.is_object()) << last_output_;
  const Json& label = report["labels"][0];
  PrintDifferences(report);
  ASSERT_EQ(report["sessions"].size(), 3u);
  EXPECT_DOUBLE_EQ(label["stability"].get<double>(), 1.0) << label["unique_actions"].dump(1);
  EXPECT_EQ(rc, 0) << last_output_;
  for (const Json& s : report["sessions"]) {
    EXPECT_EQ(s["profile"], report["sessions"][0]["profile"]);
    std::set<std::string> profile;
    for (const Json& p : s["profile"]) profile.insert(p.get<std::string>());
    EXPECT_TRUE(profile.count("file.write ${workspace}/w/Makefile")) << s["profile"].dump(1);
    EXPECT_TRUE(profile.count("file.delete ${workspace}/w/Makefile")) << s["profile"].dump(1);
    EXPECT_FALSE(profile.count("file.write ${workspace}/w/*")) << s["profile"].dump(1);
  }
}

// An agent that writes a file outside its workspace and contacts one more host on even runs.
TEST_F(RealTasks, DriftingAgentStaysBelowTheGate) {
  ASSERT_NO_FATAL_FAILURE(RequireTools({"sed", "make", "cc"}));
  std::string store = dir_ + "/store", policy = dir_ + "/suggested.yaml";
  ASSERT_NO_FATAL_FAILURE(Record(store, "drift", "sed_make_drift", 1, 4));
  std::string out;
  ASSERT_EQ(
      Sh(Quote(kAgenttrace) + " policy suggest --store " + Quote(store) + " --label drift -o " + Quote(policy), &out),
      0)
      << out;
  Json report;
  int rc = Replay(store, "drift", policy, "--min-stability 0.99", &report);
  ASSERT_TRUE(report.is_object()) << last_output_;
  const Json& label = report["labels"][0];
  double stability = label["stability"].get<double>();
  std::cout << "[real-tasks] sed_make_drift: stability " << stability << "\n";
  RecordProperty("stability", std::to_string(stability));
  EXPECT_LT(stability, 0.99);
  EXPECT_EQ(rc, 1) << last_output_;
  EXPECT_EQ(FailedCriteria(label), std::set<std::string>{"min_stability"}) << label.dump(1);
  // What differs between the runs is the behaviour itself: the file outside the workspace and the
  // extra host, in the two even runs' profiles only.
  for (const std::string entry : {"file.write ${home}/notes.txt", "net.connect 127.0.0.1:9"}) {
    int in = 0;
    for (const Json& s : report["sessions"]) {
      for (const Json& p : s["profile"]) in += p.get<std::string>() == entry ? 1 : 0;
    }
    EXPECT_EQ(in, 2) << entry;
  }

  // The policy suggested from 4 runs of the well-behaved task is not so general that it allows the
  // drift: the write outside the workspace and the extra host are denied, in the even runs only.
  std::string clean = dir_ + "/clean", clean_policy = dir_ + "/clean.yaml";
  ASSERT_NO_FATAL_FAILURE(Record(clean, "sed_make", "sed_make", 1, 4));
  ASSERT_EQ(
      Sh(Quote(kAgenttrace) + " policy suggest --store " + Quote(clean) + " --label sed_make -o " + Quote(clean_policy),
         &out),
      0)
      << out;
  Json against_clean;
  Replay(store, "drift", clean_policy, "", &against_clean);
  ASSERT_TRUE(against_clean.is_object()) << last_output_;
  const Json& sessions = against_clean["sessions"];
  ASSERT_EQ(sessions.size(), 4u);
  std::set<std::string> denied;
  for (size_t i = 0; i < sessions.size(); ++i) {
    // Every run reads its own script (sed_make_drift.sh, not sed_make.sh): leave those out.
    std::set<std::string> run_denied;
    for (const Json& f : sessions[i]["findings"]) {
      std::string what = f["what"].get<std::string>();
      if (f["decision"] == "deny" && what.find("sed_make_drift.sh") == std::string::npos) {
        run_denied.insert(f["resource"].get<std::string>());
      }
    }
    EXPECT_EQ(run_denied.empty(), i % 2 == 0) << "run " << i + 1 << ": " << sessions[i].dump(1);
    denied.insert(run_denied.begin(), run_denied.end());
  }
  EXPECT_TRUE(denied.count("file.write ${home}/notes.txt")) << last_output_;
  EXPECT_TRUE(denied.count("net.connect 127.0.0.1:9")) << last_output_;
}

}  // namespace
