// The fixture of the end-to-end gate tests: a fresh directory (kept when a test fails, for its logs)
// with a store and a policy file in it, and a shell runner that works in that directory.
#ifndef AGENTTRACE_TESTS_E2E_GATE_FIXTURE_H_
#define AGENTTRACE_TESTS_E2E_GATE_FIXTURE_H_

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace agenttrace::e2e {

struct CmdResult {
  int status = -1;
  std::string out;  // stdout and stderr
};

class GateFixture : public ::testing::Test {
 protected:
  // Makes dir_ (named after `prefix`) and writes `policy` to policy_.
  void MakeDir(const std::string& prefix, const std::string& policy) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store_ = dir_ + "/store";
    policy_ = dir_ + "/policy.yaml";
    std::ofstream(policy_) << policy;
  }
  void TearDown() override {
    if (!HasFailure() && !dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Runs a shell command line in the test directory; returns its exit status and stdout+stderr.
  CmdResult Sh(const std::string& cmd) {
    std::string log = dir_ + "/last.log";
    std::string full = "cd '" + dir_ + "' && (" + cmd + ") > '" + log + "' 2>&1";
    int st = std::system(full.c_str());
    CmdResult r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    r.out = ss.str();
    return r;
  }

  std::string dir_, store_, policy_;
};

}  // namespace agenttrace::e2e

#endif  // AGENTTRACE_TESTS_E2E_GATE_FIXTURE_H_
