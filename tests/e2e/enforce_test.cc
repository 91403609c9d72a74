// `agenttrace run` end to end, on real programs: what a denied call does in the agent (its own report,
// tests/e2e/enforce/probe.py), that the call had no effect, what the session records, that audit
// blocks nothing and decides the same, that replay re-decides every recorded decision the same, and
// reloads and asks.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "format/decision_event.h"
#include "format/event_json.h"
#include "tests/e2e/event_lines.h"

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

struct CmdResult {
  int status = -1;
  std::string out;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The base policy: default allow, with a deny for each behaviour under test.
const char* kPolicy = R"(version: 1
default: allow
secrets: ["~/.ssh/**"]
rules:
  - {id: no-secrets, description: credentials are off limits, decision: deny, class: secret.read}
  - {id: no-delete-outside, description: deletes stay in the workspace, decision: deny, class: file.delete, not_paths: ["${workspace}/**", "${tmp}/**"]}
  - {id: no-true, description: this test forbids running true, decision: deny, class: exec, paths: ["**/true", "**/true-missing"]}
  - {id: write-budget, description: three outputs at most, decision: deny, class: file.write, paths: ["${workspace}/budget/**"], budget: {max: 3}}
)";

// Secret reads are allowed, but a connect after one is exfiltration.
const char* kSequencePolicy = R"(version: 1
default: allow
secrets: ["~/.ssh/**"]
rules:
  - id: exfiltration
    description: a secret, then the network
    decision: deny
    sequence:
      steps:
        - {class: secret.read}
        - {class: net.connect}
)";

class EnforceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agenttrace-enforce-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ws_ = dir_ + "/ws";
    home_ = dir_ + "/home";
    store_ = dir_ + "/store";
    fs::create_directories(ws_ + "/budget");
    fs::create_directories(home_ + "/.ssh");
    fs::create_directories(dir_ + "/outside");
    fs::create_directories(dir_ + "/tmp");
    std::ofstream(home_ + "/.ssh/id_rsa") << "-----BEGIN FAKE KEY-----\n";
    std::ofstream(dir_ + "/outside/keep.txt") << "must survive\n";
    WritePolicy("policy.yaml", kPolicy);
    WritePolicy("sequence.yaml", kSequencePolicy);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  void WritePolicy(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }

  CmdResult Sh(const std::string& cmd) {
    std::string log = dir_ + "/last.log";
    std::string full = "cd '" + ws_ + "' && (" + cmd + ") > '" + log + "' 2>&1";
    int st = std::system(full.c_str());
    CmdResult r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = Slurp(log);
    return r;
  }
  std::string Bin() const { return std::string("'") + AGENTTRACE_BIN + "'"; }
  // ${tmp} is a directory of the test's own, so that dir_/outside is outside every session directory.
  std::string Env() const { return "env HOME='" + home_ + "' TMPDIR='" + dir_ + "/tmp' CI=1 "; }
  std::string Probe() const {
    return std::string("python3 '") + AGENTTRACE_SOURCE_DIR + "/tests/e2e/enforce/probe.py'";
  }
  // `agenttrace run` of `agent` (a shell command line) under dir_/POLICY.
  CmdResult Run(const std::string& agent, const std::string& mode = "enforce",
                const std::string& policy = "policy.yaml", const std::string& extra = "") {
    return Sh(Env() + Bin() + " run --store '" + store_ + "' --policy '" + dir_ + "/" + policy + "' --mode " + mode +
              " " + extra + " -- " + agent);
  }
  // The events of the newest session.
  std::vector<Json> LastSession() {
    CmdResult ls = Sh(Bin() + " ls --store '" + store_ + "' --json");
    Json list = Json::parse(ls.out, nullptr, false);
    std::string id;
    if (list.is_array() && !list.empty()) id = list.back()["id"];
    if (list.is_object() && list.contains("sessions")) id = list["sessions"].back()["id"];
    EXPECT_FALSE(id.empty()) << ls.out;
    CmdResult ex = Sh(Bin() + " export --store '" + store_ + "' --format jsonl " + id);
    return agenttrace::e2e::EventsOfJsonLines(ex.out);
  }
  // Decision events of `events`: (decision, rule, request).
  static std::vector<Json> Decisions(const std::vector<Json>& events) {
    std::vector<Json> out;
    for (const Json& e : events) {
      if (e["kind"] == "annotation" && e.value("text", "") == "decision")
        out.push_back(Json::parse(e["json"].get<std::string>()));
    }
    return out;
  }
  // The non-allow decisions as "decision rule kind path" lines.
  static std::set<std::string> Blocking(const std::vector<Json>& decisions) {
    std::set<std::string> s;
    for (const Json& d : decisions) {
      if (d["decision"] == "allow") continue;
      s.insert(d["decision"].get<std::string>() + " " + d["rule"].get<std::string>() + " " +
               d["request"]["kind"].get<std::string>() + " " + d["request"].value("path", ""));
    }
    return s;
  }
  // Replays the store with POLICY; returns the JSON report.
  Json Replay(const std::string& policy) {
    Sh(Bin() + " replay --store '" + store_ + "' --policy '" + dir_ + "/" + policy + "' --json '" + dir_ +
       "/report.json'");
    return Json::parse(Slurp(dir_ + "/report.json"), nullptr, false);
  }

  std::string dir_, ws_, home_, store_;
};

TEST_F(EnforceTest, SecretReadFailsWithEaccesAndIsRecordedDenied) {
  CmdResult r = Run(Probe() + " read:" + home_ + "/.ssh/id_rsa read:" + ws_ + "/../ws/budget/../notes.txt");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("read:" + home_ + "/.ssh/id_rsa -> errno 13"), std::string::npos) << r.out;
  std::vector<Json> events = LastSession();
  bool denied_decision = false, failed_open = false;
  for (const Json& d : Decisions(events)) {
    if (d["request"].value("path", "") == home_ + "/.ssh/id_rsa") {
      EXPECT_EQ(d["decision"], "deny");
      EXPECT_EQ(d["rule"], "no-secrets");
      EXPECT_EQ(d["mode"], "enforce");
      EXPECT_EQ(d["reason"], "credentials are off limits");
      denied_decision = true;
    }
  }
  for (const Json& e : events) {
    if (e["kind"] == "file.open" && e.value("path", "") == home_ + "/.ssh/id_rsa") {
      EXPECT_EQ(e["result"], -13);
      failed_open = true;
    }
  }
  EXPECT_TRUE(denied_decision);
  EXPECT_TRUE(failed_open);
  EXPECT_NE(r.out.find("1 system calls blocked"), std::string::npos) << r.out;
}

// The decision is taken on the kernel's path: a symlink in the workspace to a secret is a secret read,
// however it is named (a bare name in the cwd was once decided on its lexical path and allowed).
TEST_F(EnforceTest, SecretReadThroughASymlinkIsDenied) {
  fs::create_symlink(home_ + "/.ssh/id_rsa", ws_ + "/key");
  fs::create_directory_symlink(home_ + "/.ssh", ws_ + "/keys");
  CmdResult r = Run(Probe() + " read:key read:./key read:keys/id_rsa read:" + ws_ + "/key");
  EXPECT_EQ(r.status, 0) << r.out;
  for (const std::string& p : std::vector<std::string>{"key", "./key", "keys/id_rsa", ws_ + "/key"}) {
    EXPECT_NE(r.out.find("read:" + p + " -> errno 13"), std::string::npos) << p << "\n" << r.out;
  }
  int denied = 0;
  for (const Json& d : Decisions(LastSession())) {
    if (d["request"].value("resolved", "") != home_ + "/.ssh/id_rsa") continue;
    EXPECT_EQ(d["decision"], "deny") << d.dump();
    EXPECT_EQ(d["rule"], "no-secrets") << d.dump();
    ++denied;
  }
  EXPECT_EQ(denied, 4);
}

// Opens of files that do not exist are decided without walking their parent when no symlink is on
// the way (PathResolver::KernelPath, recorder/path_state.h), so nothing may be carried from one open to the
// next: the same missing name is opened under a real directory, under a symlink to ~/.ssh put in its
// place, and under the real directory again; then the cwd itself is moved into ~/.ssh and a bare
// missing name opened in it. Each decision must be the kernel's path at the time, and replay must
// re-decide each the same.
// A file that does not exist is decided on its lexical path, as replay decides a recording of the
// same attempt (a recording resolves only what a call opened); one that exists is decided on where
// the kernel's walk leads, whatever symlink or directory moved in between.
TEST_F(EnforceTest, MissingFilesAreDecidedOnTheLexicalPathExistingOnesOnTheKernelPath) {
  fs::create_directories(ws_ + "/sw");
  fs::create_directories(ws_ + "/sub");
  const std::string ssh = home_ + "/.ssh";
  CmdResult r = Run(Probe() + " read:sw/id_missing mv:sw=sw.real ln:" + ssh + "=sw read:sw/id_missing read:sw/id_rsa" +
                    " read:sw/nodir/id_missing mv:sw=sw.link mv:sw.real=sw read:sw/id_missing" + " cd:sub mv:" + ws_ +
                    "/sub=" + ssh + "/sub read:id_missing read:./id_missing");
  EXPECT_EQ(r.status, 0) << r.out;
  for (const char* step : {"mv:sw=sw.real", "mv:sw=sw.link", "mv:sw.real=sw", "cd:sub"}) {
    EXPECT_NE(r.out.find(std::string(step) + " -> ok"), std::string::npos) << step << "\n" << r.out;
  }
  // The one existing file behind the symlink is refused; every other read names a missing file: ENOENT.
  EXPECT_NE(r.out.find("read:sw/id_rsa -> errno 13"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("id_missing -> errno 13"), std::string::npos) << r.out;
  std::vector<std::string> got;  // "decision path [resolved]" of each open under test, in order
  for (const Json& d : Decisions(LastSession())) {
    const Json& q = d["request"];
    const std::string path = q.value("path", "");
    if (q.value("kind", "") != "file.open" ||
        (path.find("id_missing") == std::string::npos && path.find("/sw/id_rsa") == std::string::npos)) {
      continue;
    }
    std::string line = d["decision"].get<std::string>() + " " + path;
    if (!q.value("resolved", "").empty()) line += " -> " + q.value("resolved", "");
    got.push_back(line);
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "allow " + ws_ + "/sw/id_missing",
                     // Behind the symlink to ~/.ssh: missing, so lexical (it fails with ENOENT) ...
                     "allow " + ws_ + "/sw/id_missing",
                     // ... existing, so where the walk leads.
                     "deny " + ws_ + "/sw/id_rsa -> " + ssh + "/id_rsa",
                     "allow " + ws_ + "/sw/nodir/id_missing",
                     "allow " + ws_ + "/sw/id_missing",
                     // The cwd moved into ~/.ssh: the lexical path itself is there.
                     "deny " + ssh + "/sub/id_missing",
                     "deny " + ssh + "/sub/id_missing",
                 }))
      << r.out;
  Json rep = Replay("policy.yaml");
  ASSERT_EQ(rep["sessions"].size(), 1u) << rep.dump();
  const Json& rd = rep["sessions"][0]["request_decisions"];
  EXPECT_GT(rd["recorded"].get<int>(), 5) << rd.dump();
  EXPECT_EQ(rd["same"], rd["recorded"]) << rd.dump();
}

// Each replayed session's findings, as "decision rule resource".
std::vector<std::set<std::string>> FindingsPerSession(const Json& rep) {
  std::vector<std::set<std::string>> findings;
  for (const Json& s : rep["sessions"]) {
    std::set<std::string> f;
    for (const Json& x : s["findings"]) {
      f.insert(x.value("decision", "") + " " + x.value("rule", "") + " " + x.value("resource", ""));
    }
    findings.push_back(f);
  }
  return findings;
}

// What CI promoted is what production enforces: the same attempts, recorded by `record` and decided
// live by `run`, get the same findings from the same policy. Before, `run` resolved a missing file's
// or program's directory through a symlink (an exec's PATH search through /usr/local/cuda ->
// cuda-13.0) where the recording had only the lexical path, so a policy suggested from clean
// recordings denied those attempts in production.
TEST_F(EnforceTest, FailedAttemptsThroughASymlinkGetTheSameFindingsRecordedAndEnforced) {
  fs::create_symlink(dir_ + "/outside", ws_ + "/lnk");
  WritePolicy("outside.yaml", "version: 1\ndefault: allow\nrules:\n"
                              "  - {id: not-outside, decision: deny, class: [file.read, exec], paths: [\"" +
                                  dir_ + "/outside/**\"]}\n");
  const std::string agent = Probe() + " read:lnk/missing.txt exec:lnk/prog-missing read:lnk/keep.txt";
  CmdResult rec = Sh(Env() + Bin() + " record -q --store '" + store_ + "' -- " + agent);
  EXPECT_NE(rec.out.find("read:lnk/keep.txt -> ok"), std::string::npos) << rec.out;
  CmdResult run = Run(agent, "enforce", "outside.yaml");
  EXPECT_NE(run.out.find("read:lnk/missing.txt -> errno 2"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("exec:lnk/prog-missing -> errno 2"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("read:lnk/keep.txt -> errno 13"), std::string::npos) << run.out;
  Json rep = Replay("outside.yaml");
  ASSERT_EQ(rep["sessions"].size(), 2u) << rep.dump();
  std::vector<std::set<std::string>> findings = FindingsPerSession(rep);
  EXPECT_EQ(findings[0], findings[1]) << rep.dump();
  EXPECT_EQ(findings[1].size(), 1u) << rep.dump();  // the read of keep.txt, in both
}

// The same for attempts that fail on an object that exists (a write to a directory: EISDIR; an
// O_NOFOLLOW read of a symlink: ELOOP), which `record` resolved only when a descriptor came back,
// and for an O_NOFOLLOW read of a missing file, which `run` resolved through the symlinked directory.
TEST_F(EnforceTest, AttemptsThatFailOnAnExistingObjectGetTheSameFindingsRecordedAndEnforced) {
  fs::create_symlink(dir_ + "/outside", ws_ + "/lnk");
  fs::create_directories(dir_ + "/outside/sub");
  fs::create_symlink("keep.txt", dir_ + "/outside/alias");
  WritePolicy("outside.yaml", "version: 1\ndefault: allow\nrules:\n"
                              "  - {id: not-outside, decision: deny, class: [file.read, file.write], paths: [\"" +
                                  dir_ + "/outside/**\"]}\n");
  const std::string agent = Probe() + " write:lnk/sub readnf:lnk/alias readnf:lnk/missing.txt";
  CmdResult rec = Sh(Env() + Bin() + " record -q --store '" + store_ + "' -- " + agent);
  EXPECT_NE(rec.out.find("write:lnk/sub -> errno 21"), std::string::npos) << rec.out;
  EXPECT_NE(rec.out.find("readnf:lnk/alias -> errno 40"), std::string::npos) << rec.out;
  EXPECT_NE(rec.out.find("readnf:lnk/missing.txt -> errno 2"), std::string::npos) << rec.out;
  CmdResult run = Run(agent, "enforce", "outside.yaml");
  EXPECT_NE(run.out.find("write:lnk/sub -> errno 13"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("readnf:lnk/alias -> errno 13"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("readnf:lnk/missing.txt -> errno 2"), std::string::npos) << run.out;
  Json rep = Replay("outside.yaml");
  ASSERT_EQ(rep["sessions"].size(), 2u) << rep.dump();
  std::vector<std::set<std::string>> findings = FindingsPerSession(rep);
  EXPECT_EQ(findings[0], findings[1]) << rep.dump();
  EXPECT_EQ(findings[0].size(), 2u) << rep.dump();  // the directory and the symlink; not the missing file
}

TEST_F(EnforceTest, RmOutsideTheWorkspaceFailsAndTheFileStays) {
  std::ofstream(ws_ + "/scratch.txt") << "x\n";
  CmdResult r = Run("sh -c \"rm -f '" + dir_ + "/outside/keep.txt'; echo rm=\\$?; rm scratch.txt; echo ws=\\$?\"");
  EXPECT_NE(r.out.find("rm=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ws=0"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir_ + "/outside/keep.txt"));
  EXPECT_FALSE(fs::exists(ws_ + "/scratch.txt"));
}

TEST_F(EnforceTest, DeniedExecFailsWithEpermOrEnoentWhenMissing) {
  CmdResult r = Run(Probe() + " exec:/usr/bin/true exec:/usr/bin/env exec:/usr/bin/true-missing");
  EXPECT_NE(r.out.find("exec:/usr/bin/true -> errno 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exec:/usr/bin/env -> ok"), std::string::npos) << r.out;
  // Denied, but the program does not exist: ENOENT, as without the policy (execvp's PATH search goes on).
  EXPECT_NE(r.out.find("exec:/usr/bin/true-missing -> errno 2"), std::string::npos) << r.out;
  std::set<std::string> blocking = Blocking(Decisions(LastSession()));
  EXPECT_EQ(blocking.count("deny no-true exec /usr/bin/true-missing"), 1u) << r.out;
  // The summary tells the probe of a missing program from the blocked run of an existing one.
  EXPECT_NE(r.out.find("2 system calls blocked (1 of them on paths that do not exist"), std::string::npos) << r.out;
}

TEST_F(EnforceTest, ConnectAfterASecretReadIsRefused) {
  // Nothing listens on the port: an allowed connect is refused by the kernel (111), a denied one
  // never leaves (EPERM).
  std::string connect = " connect:127.0.0.1:9";
  CmdResult before = Run(Probe() + connect + " read:" + home_ + "/.ssh/id_rsa" + connect, "enforce", "sequence.yaml");
  EXPECT_NE(before.out.find("connect:127.0.0.1:9 -> errno 111"), std::string::npos) << before.out;
  EXPECT_NE(before.out.find("read:" + home_ + "/.ssh/id_rsa -> ok"), std::string::npos) << before.out;
  EXPECT_NE(before.out.find("connect:127.0.0.1:9 -> errno 1\n"), std::string::npos) << before.out;
  std::set<std::string> blocking = Blocking(Decisions(LastSession()));
  EXPECT_EQ(blocking, (std::set<std::string>{"deny exfiltration net.connect "})) << before.out;
}

TEST_F(EnforceTest, BudgetRefusesTheWriteAfterMax) {
  std::string agent = Probe();
  for (int i = 1; i <= 5; ++i) agent += " write:" + ws_ + "/budget/out" + std::to_string(i);
  CmdResult r = Run(agent);
  for (int i = 1; i <= 5; ++i) {
    std::string line = "write:" + ws_ + "/budget/out" + std::to_string(i) + (i <= 3 ? " -> ok" : " -> errno 13");
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
    EXPECT_EQ(fs::exists(ws_ + "/budget/out" + std::to_string(i)), i <= 3) << i;
  }
}

TEST_F(EnforceTest, AllowedBuildSucceeds) {
  std::ofstream(ws_ + "/hello.c")
      << "#include <stdio.h>\nint main(void) { puts(\"hello from the build\"); return 0; }\n";
  std::ofstream(ws_ + "/Makefile") << "hello: hello.c\n\tcc -O1 -o hello hello.c\n";
  CmdResult r = Run("sh -c 'make -s && ./hello'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("hello from the build"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(ws_ + "/hello"));
  EXPECT_NE(r.out.find(" 0 system calls blocked"), std::string::npos) << r.out;
}

// Audit blocks nothing and decides what enforce decided.
TEST_F(EnforceTest, AuditBlocksNothingAndReportsTheSameDecisions) {
  std::string agent = Probe() + " read:" + home_ + "/.ssh/id_rsa exec:/usr/bin/true";
  for (int i = 1; i <= 4; ++i) agent += " write:" + ws_ + "/budget/a" + std::to_string(i);
  CmdResult enforce = Run(agent);
  std::set<std::string> enforced = Blocking(Decisions(LastSession()));
  for (int i = 1; i <= 4; ++i) fs::remove(ws_ + "/budget/a" + std::to_string(i));
  CmdResult audit = Run(agent, "audit");
  std::set<std::string> audited = Blocking(Decisions(LastSession()));
  EXPECT_EQ(audit.out.find("errno"), std::string::npos) << audit.out;  // nothing failed
  EXPECT_TRUE(fs::exists(ws_ + "/budget/a4"));
  EXPECT_NE(enforce.out.find("errno 13"), std::string::npos) << enforce.out;
  EXPECT_EQ(enforced.size(), 3u) << enforce.out;  // secret, exec, the 4th write
  EXPECT_EQ(enforced, audited);
  EXPECT_NE(audit.out.find("would deny 3"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("nothing was blocked"), std::string::npos) << audit.out;
  for (const Json& d : Decisions(LastSession())) EXPECT_EQ(d["mode"], "audit");
}

// Replay re-decides every recorded decision the same with the enforced policy (stateful rules
// included), and reports the differences with another policy.
TEST_F(EnforceTest, ReplayReportsTheSameDecisionForEveryEvent) {
  std::string agent = Probe() + " read:" + home_ + "/.ssh/id_rsa exec:/usr/bin/true";
  for (int i = 1; i <= 5; ++i) agent += " write:" + ws_ + "/budget/r" + std::to_string(i);
  Run(agent);
  Run(Probe() + " connect:127.0.0.1:9 read:" + home_ + "/.ssh/id_rsa connect:127.0.0.1:9", "enforce", "sequence.yaml");
  Run("sh -c 'echo hi > hi.txt; cat hi.txt; rm hi.txt'", "audit");
  // Sessions come in start order: 0 and 2 ran under policy.yaml, 1 under sequence.yaml.
  Json a = Replay("policy.yaml");
  Json b = Replay("sequence.yaml");
  ASSERT_TRUE(a.is_object() && b.is_object());
  ASSERT_EQ(a["sessions"].size(), 3u);
  ASSERT_EQ(b["sessions"].size(), 3u);
  auto rd = [](const Json& report, int i) { return report["sessions"][i]["request_decisions"]; };
  for (int i : {0, 2}) {
    EXPECT_GT(rd(a, i)["recorded"].get<int>(), 10);
    EXPECT_EQ(rd(a, i)["same"], rd(a, i)["recorded"]) << rd(a, i).dump();
    EXPECT_TRUE(rd(a, i)["different"].empty());
  }
  EXPECT_EQ(rd(b, 1)["same"], rd(b, 1)["recorded"]) << rd(b, 1).dump();
  EXPECT_TRUE(rd(b, 1)["different"].empty());
  // Against the other policy the comparison finds the decisions that would change.
  EXPECT_FALSE(rd(a, 1)["different"].empty()) << rd(a, 1).dump();  // the secret read would be denied
  EXPECT_FALSE(rd(b, 0)["different"].empty()) << rd(b, 0).dump();  // ... and allowed
}

TEST_F(EnforceTest, SighupReloadsThePolicyAndRefusesAnInvalidOne) {
  std::ofstream(ws_ + "/a.txt") << "a\n";
  // The agent reads a.txt, then waits for `go`, then reads it again.
  std::string agent =
      "sh -c 'cat a.txt; touch ready; while [ ! -e go ]; do sleep 0.05; done; cat a.txt; echo second=$?'";
  std::string script = Env() + Bin() + " run --store '" + store_ + "' --policy '" + dir_ + "/live.yaml' -- " + agent +
                       " > '" + dir_ +
                       "/agent.log' 2>&1 & pid=$!\n"
                       "while [ ! -e ready ]; do sleep 0.05; done\n"
                       "echo 'version: 1\nrules: [' > '" +
                       dir_ +
                       "/live.yaml'\n"  // invalid
                       "kill -HUP $pid\n"
                       "while ! grep -q refused '" +
                       dir_ +
                       "/agent.log'; do sleep 0.05; done\n"
                       "cp '" +
                       dir_ + "/deny-a.yaml' '" + dir_ +
                       "/live.yaml'\n"
                       "kill -HUP $pid\n"
                       "while ! grep -q reloaded '" +
                       dir_ +
                       "/agent.log'; do sleep 0.05; done\n"
                       "touch go\n"
                       "wait $pid\n";
  WritePolicy("live.yaml", "version: 1\ndefault: allow\n");
  WritePolicy("deny-a.yaml",
              "version: 1\ndefault: allow\nrules:\n  - {id: no-a, decision: deny, class: file.read, "
              "paths: [\"${workspace}/a.txt\"]}\n");
  std::ofstream(dir_ + "/hup.sh") << script;
  CmdResult r = Sh("timeout 60 sh '" + dir_ + "/hup.sh'");
  std::string log = Slurp(dir_ + "/agent.log");
  EXPECT_EQ(r.status, 0) << r.out << log;
  EXPECT_NE(log.find("the new policy is refused, the old one stays"), std::string::npos) << log;
  EXPECT_NE(log.find("second=1"), std::string::npos) << log;
  EXPECT_NE(log.find("Permission denied"), std::string::npos) << log;
  int ok = 0, refused = 0;
  for (const Json& e : LastSession()) {
    if (e["kind"] == "annotation" && e.value("text", "") == "policy.reload") {
      Json j = Json::parse(e["json"].get<std::string>());
      (j["ok"].get<bool>() ? ok : refused)++;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(refused, 1);
  // Replay with the final policy re-decides every request after the reload the same; before it the
  // first read of a.txt was allowed by the old policy.
  Json rep = Replay("deny-a.yaml");
  const Json& rd = rep["sessions"][0]["request_decisions"];
  ASSERT_EQ(rd["different"].size(), 1u) << rd.dump();
  EXPECT_EQ(rd["different"][0]["recorded"], "allow:default");
  EXPECT_EQ(rd["different"][0]["replayed"], "deny:no-a");
  EXPECT_NE(rd["different"][0]["what"].get<std::string>().find("a.txt"), std::string::npos);
}

TEST_F(EnforceTest, ExecAskProgramAnswers) {
  WritePolicy("ask.yaml",
              "version: 1\ndefault: allow\nrules:\n  - {id: ask-notes, description: notes need a human, "
              "decision: ask, class: file.read, paths: [\"${workspace}/notes-*\"]}\n");
  std::ofstream(ws_ + "/notes-yes") << "y\n";
  std::ofstream(ws_ + "/notes-no") << "n\n";
  // The approver keeps each request and allows only notes-yes.
  std::ofstream(dir_ + "/approve.sh") << "#!/bin/sh\nreq=$(cat)\necho \"$req\" >> '" + dir_ +
                                             "/requests.jsonl'\ncase \"$req\" in *notes-yes*) exit 0;; esac\nexit 3\n";
  fs::permissions(dir_ + "/approve.sh", fs::perms::owner_all);
  CmdResult r = Run(Probe() + " read:" + ws_ + "/notes-yes read:" + ws_ + "/notes-no", "enforce", "ask.yaml",
                    "--ask 'exec:" + dir_ + "/approve.sh'");
  EXPECT_NE(r.out.find("notes-yes -> ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("notes-no -> errno 13"), std::string::npos) << r.out;
  std::string reqs = Slurp(dir_ + "/requests.jsonl");
  EXPECT_NE(reqs.find("\"rule\":\"ask-notes\""), std::string::npos) << reqs;
  EXPECT_NE(reqs.find("\"reason\":\"notes need a human\""), std::string::npos) << reqs;
  std::vector<std::string> answers;
  for (const Json& e : LastSession()) {
    if (e["kind"] == "annotation" && e.value("text", "") == "decision.answer") {
      Json j = Json::parse(e["json"].get<std::string>());
      answers.push_back(j["answer"].get<std::string>() + " " + j["by"].get<std::string>().substr(0, 5));
    }
  }
  EXPECT_EQ(answers, (std::vector<std::string>{"allow exec:", "deny exec:"}));
  EXPECT_NE(r.out.find("ask 2 (allowed 1, denied 1)"), std::string::npos) << r.out;

  // Without an answerer (--ask deny, as in CI) both are denied.
  CmdResult d = Run(Probe() + " read:" + ws_ + "/notes-yes", "enforce", "ask.yaml", "--ask deny");
  EXPECT_NE(d.out.find("notes-yes -> errno 13"), std::string::npos) << d.out;
}

// The sample agents under the production-candidate policy (as the demo runs them): the misbehaving
// one is stopped where the policy denies, the good one finishes, and replay re-decides every
// decision of both the same.
TEST_F(EnforceTest, SampleAgentsUnderTheCandidatePolicyReplayTheSame) {
  const std::string src = AGENTTRACE_SOURCE_DIR;
  const std::string agent = std::string(AGENTTRACE_BUILD_DIR) + "/samples/sample-agent";
  const std::string mcp = std::string(AGENTTRACE_BUILD_DIR) + "/samples/sample-mcp-server";
  fs::copy(src + "/samples/policies/production-candidate.yaml", dir_ + "/candidate.yaml");
  fs::create_directories(home_ + "/.aws");
  fs::create_directories(home_ + "/.cache");
  std::ofstream(home_ + "/.aws/credentials") << "[default]\naws_access_key_id = AKIAFAKEFAKEFAKEFAKE\n";
  std::ofstream(home_ + "/.cache/agent-notes.txt") << "notes the agent must not delete\n";
  for (const std::string mode : {"good", "evil"}) {
    fs::remove_all(ws_);
    fs::create_directories(ws_);
    fs::copy(src + "/samples/workspace-template", ws_, fs::copy_options::recursive);
    CmdResult r = Sh("env -i PATH=/usr/local/bin:/usr/bin:/bin HOME='" + home_ + "' TMPDIR=/tmp LANG=C.UTF-8 " +
                     "AGENTTRACE_BIN=" + Bin() + " AGENTTRACE_SAMPLE_MCP='" + mcp + "' " + Bin() + " run --store '" +
                     store_ + "' --policy '" + dir_ + "/candidate.yaml' --ask deny --label sample-" + mode + " -- '" +
                     agent + "' --mode " + mode + " --seed 1");
    if (mode == "good") {
      EXPECT_EQ(r.status, 0) << r.out;
    }
    EXPECT_NE(r.out.find("run (enforce)"), std::string::npos) << r.out;
  }
  EXPECT_TRUE(fs::exists(home_ + "/.cache/agent-notes.txt"));  // the evil agent's delete was refused
  Json rep = Replay("candidate.yaml");
  ASSERT_EQ(rep["sessions"].size(), 2u);
  for (const Json& sj : rep["sessions"]) {
    const Json& rd = sj["request_decisions"];
    EXPECT_GT(rd["recorded"].get<int>(), 20) << rd.dump();
    EXPECT_EQ(rd["same"], rd["recorded"]) << rd.dump();
  }
  EXPECT_EQ(rep["sessions"][0]["deny"], 0) << rep["sessions"][0].dump();
  EXPECT_GT(rep["sessions"][1]["deny"].get<int>(), 0);
}

// An ask stops only the thread that asked: another thread of the agent keeps running meanwhile.
TEST_F(EnforceTest, AskParksOnlyTheAskingThread) {
  WritePolicy("ask.yaml",
              "version: 1\ndefault: allow\nrules:\n  - {id: ask-notes, decision: ask, class: file.read, "
              "paths: [\"${workspace}/notes-*\"]}\n");
  std::ofstream(ws_ + "/notes-1") << "n\n";
  // The approver answers yes once the other thread has written its heartbeats during the ask. It waits
  // up to 30 s for them (a loaded machine runs the traced thread late), within the 60 s ask timeout.
  std::ofstream(dir_ + "/approve.sh") << "#!/bin/sh\ncat > /dev/null\nfor i in $(seq 1 600); do\n  [ -s '" + ws_ +
                                             "/beats' ] && [ $(wc -l < '" + ws_ +
                                             "/beats') -ge 5 ] && exit 0\n  sleep 0.05\ndone\nexit 1\n";
  fs::permissions(dir_ + "/approve.sh", fs::perms::owner_all);
  std::ofstream(ws_ + "/threads.py") << "import threading, time\n"
                                        "stop = False\n"
                                        "def beat():\n"
                                        "    while not stop:\n"
                                        "        with open('beats', 'a') as f: f.write('x\\n')\n"
                                        "        time.sleep(0.02)\n"
                                        "t = threading.Thread(target=beat); t.start()\n"
                                        "time.sleep(0.05)\n"
                                        "open('notes-1').read()\n"
                                        "print('read done', flush=True)\n"
                                        "stop = True; t.join()\n";
  CmdResult r = Run("python3 threads.py", "enforce", "ask.yaml", "--ask 'exec:" + dir_ + "/approve.sh'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("read done"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("allowed 1"), std::string::npos) << r.out;
}

// An agent killed while its thread waits for an answer: the recording still ends (the late answer
// is dropped), and the call never ran.
TEST_F(EnforceTest, AgentKilledWhileAnAskWaitsEndsTheRun) {
  WritePolicy("ask.yaml",
              "version: 1\ndefault: allow\nrules:\n  - {id: ask-notes, decision: ask, class: file.read, "
              "paths: [\"${workspace}/notes-*\"]}\n");
  std::ofstream(ws_ + "/notes-1") << "n\n";
  auto start = std::chrono::steady_clock::now();
  CmdResult r = Run("timeout -s KILL 60 " + Probe() + " read:" + ws_ + "/notes-1", "enforce", "ask.yaml",
                    "--ask 'exec:sleep 3; exit 0' --timeout 1s --kill-after 0");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 124) << r.out;  // run's own timeout
  EXPECT_EQ(r.out.find("-> ok"), std::string::npos) << r.out;
  EXPECT_LT(took, std::chrono::seconds(30)) << r.out;
}

// The requests in decision events are redacted as the recorded events are: a token on a command line
// never reaches the store.
TEST_F(EnforceTest, DecisionRequestsAreRedacted) {
  const std::string token = "ghp_" + std::string("Zq8vN3xW1kLm5Rt7Yp2Hs9Dc4Fg6Jb0AeUi");
  CmdResult r = Run("env echo --token " + token);
  EXPECT_EQ(r.status, 0) << r.out;
  int execs = 0;
  for (const Json& d : Decisions(LastSession())) {
    if (d["request"]["kind"] == "exec" && d["request"]["path"] == "/usr/bin/echo") ++execs;
  }
  EXPECT_EQ(execs, 1);
  CmdResult ls = Sh(Bin() + " ls --store '" + store_ + "' --json");
  std::string id = Json::parse(ls.out).back()["id"];
  CmdResult ex = Sh(Bin() + " export --store '" + store_ + "' --format jsonl " + id);
  EXPECT_EQ(ex.out.find(token), std::string::npos) << "the token leaked into the session";
  EXPECT_NE(ex.out.find("--token"), std::string::npos);
}

// The decision events of a real run are built on the session's writer thread: each must hold the
// bytes MakeDecisionEvent gives for its request and decision (as when the tracer built them), and
// sit before the recorded event of the call it decided.
TEST_F(EnforceTest, DecisionEventsHoldTheBytesOfMakeDecisionEventBeforeTheirCalls) {
  std::ofstream(ws_ + "/ordered.txt") << "x\n";
  CmdResult r = Run(Probe() + " read:" + ws_ + "/ordered.txt read:" + home_ + "/.ssh/id_rsa");
  EXPECT_EQ(r.status, 0) << r.out;
  CmdResult ls = Sh(Bin() + " ls --store '" + store_ + "' --json");
  std::string id = Json::parse(ls.out).back()["id"];
  CmdResult ex = Sh(Bin() + " export --store '" + store_ + "' --format jsonl " + id);
  std::vector<agenttrace::Event> events;
  std::istringstream lines(ex.out);
  for (std::string line; std::getline(lines, line);) {
    auto e = agenttrace::EventFromJson(line);
    if (e.ok()) events.push_back(std::move(*e));
  }
  size_t decisions = 0;
  std::map<std::string, size_t> decided_at, opened_at;  // path -> first index
  for (size_t i = 0; i < events.size(); ++i) {
    const agenttrace::Event& e = events[i];
    if (e.kind == agenttrace::EventKind::kFileOpen) opened_at.emplace(e.path, i);
    if (!agenttrace::IsDecisionEvent(e)) continue;
    ++decisions;
    auto d = agenttrace::ParseDecisionEvent(e);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    agenttrace::Event rebuilt = agenttrace::MakeDecisionEvent(d->request, d->decision, d->mode);
    EXPECT_EQ(rebuilt.json, e.json);
    EXPECT_EQ(rebuilt.mono_ns, e.mono_ns);
    EXPECT_EQ(rebuilt.pid, e.pid);
    if (d->request.kind == agenttrace::EventKind::kFileOpen) decided_at.emplace(d->request.path, i);
  }
  EXPECT_GT(decisions, 2u);
  for (const std::string& path : {ws_ + "/ordered.txt", home_ + "/.ssh/id_rsa"}) {
    ASSERT_EQ(decided_at.count(path), 1u) << path;
    ASSERT_EQ(opened_at.count(path), 1u) << path;
    EXPECT_LT(decided_at[path], opened_at[path]) << path;
  }
}

// A loopback server in Python: bind to 127.0.0.1 port 0, listen, serve one connection; then listen on
// a socket never bound (the kernel binds it to an ephemeral port of 0.0.0.0). Prints each step's
// outcome, "listen -> errno N" for a refused listen.
const char* kServerTask = R"(import errno, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
try:
    s.listen(1)
except OSError as e:
    print("listen -> errno", e.errno)
    raise SystemExit(1)
c = socket.create_connection(s.getsockname())
a, _ = s.accept()
c.sendall(b"x")
assert a.recv(1) == b"x"
u = socket.socket()
u.listen(1)
print("served")
)";

// What CI promoted is what production enforces: a policy that `policy suggest` wrote from recordings
// of a task and that `replay` promoted lets the same task run under `run --mode enforce`, and replay
// of that run re-decides it the same. listen(2) names no address: its request carries the socket's
// own, read at entry, as the recorded event does (before, a suggested `net.listen` rule with hosts
// was promoted and then denied every listen).
TEST_F(EnforceTest, ASuggestedAndPromotedPolicyLetsTheSameServerTaskRun) {
  std::ofstream(ws_ + "/server.py") << kServerTask;
  const std::string task = "env PYTHONDONTWRITEBYTECODE=1 python3 -I server.py";
  const std::string rec_store = dir_ + "/recorded";
  for (int i = 0; i < 3; ++i) {
    CmdResult r = Sh(Env() + Bin() + " record -q --store '" + rec_store + "' --label server -- " + task);
    ASSERT_EQ(r.status, 0) << r.out;
  }
  CmdResult suggest =
      Sh(Bin() + " policy suggest --store '" + rec_store + "' --label server -o '" + dir_ + "/suggested.yaml'");
  ASSERT_EQ(suggest.status, 0) << suggest.out;
  const std::string suggested = Slurp(dir_ + "/suggested.yaml");
  EXPECT_NE(suggested.find("127.0.0.1:"), std::string::npos) << suggested;
  CmdResult gate =
      Sh(Env() + Bin() + " replay --store '" + rec_store + "' --label server --policy '" + dir_ + "/suggested.yaml'");
  ASSERT_EQ(gate.status, 0) << gate.out << suggested;

  CmdResult r = Run(task + " 2>&1", "enforce", "suggested.yaml", "--ask deny");
  EXPECT_EQ(r.status, 0) << r.out << suggested;
  EXPECT_NE(r.out.find("served"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 0 system calls blocked"), std::string::npos) << r.out;
  std::vector<Json> events = LastSession();
  std::vector<std::string> listens;
  for (const Json& e : events) {
    if (e["kind"] == "net.listen") listens.push_back(e.value("address", "") + ":" + std::to_string(e.value("port", 0)));
  }
  ASSERT_EQ(listens.size(), 2u) << r.out;
  EXPECT_EQ(listens[0].rfind("127.0.0.1:", 0), 0u) << listens[0];
  EXPECT_NE(listens[0], "127.0.0.1:0");
  EXPECT_EQ(listens[1], "0.0.0.0:0");  // never bound: decided and recorded as the kernel's port to choose
  std::set<std::string> listen_requests;
  for (const Json& d : Decisions(events)) {
    if (d["request"]["kind"] == "net.listen") {
      listen_requests.insert(d["request"].value("address", "") + ":" + std::to_string(d["request"].value("port", 0)));
    }
  }
  EXPECT_EQ(listen_requests, (std::set<std::string>{listens[0], listens[1]}));
  Json rep = Replay("suggested.yaml");
  ASSERT_EQ(rep["sessions"].size(), 1u) << rep.dump();
  EXPECT_EQ(rep["sessions"][0]["request_decisions"]["same"], rep["sessions"][0]["request_decisions"]["recorded"]);
}

// A listen is decided on the address its socket is bound to.
TEST_F(EnforceTest, ListenIsDecidedOnTheSocketsAddress) {
  std::ofstream(ws_ + "/server.py") << kServerTask;
  WritePolicy("no-high-ports.yaml", R"(version: 1
default: allow
rules:
  - {id: no-ephemeral-servers, decision: deny, class: net.listen, hosts: ["127.0.0.1:1024-65535"]}
)");
  CmdResult r = Run("python3 -I server.py 2>&1", "enforce", "no-high-ports.yaml", "--ask deny");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("listen -> errno 1\n"), std::string::npos) << r.out;  // EPERM
  std::set<std::string> blocking = Blocking(Decisions(LastSession()));
  EXPECT_EQ(blocking, (std::set<std::string>{"deny no-ephemeral-servers net.listen "})) << r.out;
}

TEST_F(EnforceTest, InvalidPolicyExitsFour) {
  WritePolicy("bad.yaml", "version: 1\nrules: [\n");
  CmdResult r = Run("true", "enforce", "bad.yaml");
  EXPECT_EQ(r.status, 4) << r.out;
  CmdResult m = Run("true", "observe");
  EXPECT_EQ(m.status, 2) << m.out;
}

}  // namespace
