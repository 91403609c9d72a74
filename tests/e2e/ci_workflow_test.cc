// samples/ci/agenttrace-gate.yml: its recording step must not swallow a failure of the recorder
// itself (exit 125), and must go on to the gate when only the agent failed. The step's script is
// taken from the workflow file and run by bash with a stand-in `agenttrace` on PATH.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string StepScript(const std::string& name_prefix) {
  YAML::Node wf = YAML::LoadFile(std::string(AGENTTRACE_SOURCE_DIR) + "/samples/ci/agenttrace-gate.yml");
  for (const YAML::Node& step : wf["jobs"]["gate"]["steps"]) {
    if (step["name"] && step["name"].as<std::string>().rfind(name_prefix, 0) == 0) return step["run"].as<std::string>();
  }
  ADD_FAILURE() << "no step named " << name_prefix;
  return "";
}

// Runs the script with `agenttrace record` exiting `record_status` on run `failing_run` (0 elsewhere).
int RunWithStub(const std::string& script, int record_status, int failing_run) {
  char tmpl[] = "/tmp/agenttrace-ci-test-XXXXXX";
  EXPECT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/agenttrace")
      << "#!/bin/sh\n"
         "n=$(cat \"$0.count\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$0.count\"\n"
         "if [ \"$1\" = record ] && [ $n -eq "
      << failing_run << " ]; then exit " << record_status << "; fi\nexit 0\n";
  fs::permissions(dir + "/agenttrace", fs::perms::owner_all);
  std::ofstream(dir + "/step.sh") << script;
  std::string cmd = "cd '" + dir + "' && PATH='" + dir + ":'\"$PATH\" RUNS=3 LABEL=l AGENT_CMD=true bash -e step.sh " +
                    "> out.log 2>&1";
  int st = std::system(cmd.c_str());
  fs::remove_all(dir);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(CiWorkflowTest, RecorderFailureFailsTheJobAgentFailureGoesToTheGate) {
  std::string script = StepScript("Record");
  ASSERT_FALSE(script.empty());
  EXPECT_EQ(RunWithStub(script, 0, 1), 0);      // every run fine
  EXPECT_EQ(RunWithStub(script, 1, 2), 0);      // the agent failed run 2: judged by the gate
  EXPECT_EQ(RunWithStub(script, 127, 1), 0);    // not found: judged by the gate (agent_ran)
  EXPECT_EQ(RunWithStub(script, 125, 2), 125);  // the recorder failed: no evidence, stop here
}

}  // namespace
