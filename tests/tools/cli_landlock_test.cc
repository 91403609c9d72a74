// `agenttrace policy check --enforce`: which rules the kernel enforces under `run --mode enforce`,
// which it bounds, which only the tracer decides.
#include <regex>

#include "cli_run.h"

namespace agenttrace {
namespace {

using testing::RunCli;

class CliLandlockTest : public testing::CliTestBase {
 protected:
  CliLandlockTest() : CliTestBase("cli-landlock") {}
  std::string WritePolicy(const std::string& yaml) {
    std::string path = dir_ + "/policy.yaml";
    std::ofstream(path) << yaml;
    return path;
  }
};

bool Has(const std::string& text, const std::string& re) { return std::regex_search(text, std::regex(re)); }

constexpr char kPolicy[] = R"(version: 1
default: deny
rules:
  - {id: read-system, decision: allow, class: [file.read, exec], paths: ["/usr/**", "/etc/**"]}
  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/**"]}
  - {id: https, decision: allow, class: net.connect, hosts: ["10.0.0.0/8:443"]}
  - {id: no-keys, decision: deny, class: file.read, paths: ["/srv/keys/**"]}
  - {id: no-env, decision: deny, class: file.read, paths: ["${workspace}/.env"]}
  - {id: no-shadow, decision: deny, class: file.read, paths: ["/etc/shadow"]}
  - {id: budget, decision: ask, class: exec, budget: {max: 10}}
)";

TEST_F(CliLandlockTest, SaysWhatTheKernelEnforcesAndWhatOnlyTheTracer) {
  auto r = RunCli(AGENTTRACE_BIN, {"policy", "check", "--enforce", WritePolicy(kPolicy)}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "this kernel: Landlock ABI [1-9]")) << r.out;
  EXPECT_TRUE(Has(r.out, "allowed beneath /usr: execute,read_file,read_dir\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "allowed beneath /etc: execute,read_file,read_dir\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "TCP connect: only to port 443\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "TCP bind: refused on every port")) << r.out;
  EXPECT_TRUE(Has(r.out, "\n +kernel +no-keys: outside every hierarchy")) << r.out;
  EXPECT_TRUE(Has(r.out,
                  "\n +tracer +no-env: a carve-out the kernel cannot express \\(file.read inside the "
                  "allowed hierarchy /"))
      << r.out;
  EXPECT_TRUE(Has(r.out, "\n +tracer +no-shadow: a carve-out .*/etc")) << r.out;
  EXPECT_TRUE(Has(r.out, "\n +kernel\\+tracer +ws: the kernel allows file.read beneath /")) << r.out;
  EXPECT_TRUE(Has(r.out, "\n +kernel\\+tracer +https: .*port 443")) << r.out;
  EXPECT_TRUE(Has(r.out, "\n +tracer +budget: a sequence or budget")) << r.out;
  EXPECT_TRUE(Has(r.out,
                  "1 rule\\(s\\) enforced by the kernel, 3 bounded by the kernel and decided by the tracer, "
                  "3 by the tracer only"))
      << r.out;

  // Without --enforce, only the validation summary.
  auto plain = RunCli(AGENTTRACE_BIN, {"policy", "check", dir_ + "/policy.yaml"}, dir_);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("kernel backstop"), std::string::npos);
}

TEST_F(CliLandlockTest, DefaultAllowHasNoKernelPart) {
  auto r = RunCli(AGENTTRACE_BIN,
                  {"policy", "check", "--enforce",
                   WritePolicy("version: 1\ndefault: allow\nrules:\n"
                               "  - {id: no-keys, decision: deny, class: file.read, paths: [\"~/.ssh/**\"]}\n")},
                  dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "no kernel part: default allow")) << r.out;
  EXPECT_TRUE(Has(r.out, "\n +tracer +no-keys: ")) << r.out;
}

// Issue #12: where the rights of a hierarchy the agent may remove and make again went, and the
// start directory, whose rights do not go to its parent.
TEST_F(CliLandlockTest, SaysWhereTheRightsOfAReplaceableHierarchyGo) {
  std::filesystem::create_directories(dir_ + "/ws");
  WritePolicy(R"(version: 1
default: deny
rules:
  - {id: ws-files, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/ws", "${workspace}/ws/**"]}
  - {id: no-secret, decision: deny, class: file.read, paths: ["${workspace}/secret.txt"]}
)");
  // ${workspace} is the directory agenttrace starts in.
  auto here = [&](const std::string& args) {
    return RunCli("/bin/sh", {"-c", "cd '" + dir_ + "' && exec " AGENTTRACE_BIN " " + args}, dir_);
  };
  auto r = here("policy check --enforce policy.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\n  widened: rule ws-files: write_file,read_file,read_dir,truncate of " + dir_ + "/ws go to " +
                       dir_ + " (the policy lets the agent remove " + dir_ +
                       "/ws and make it again, which Landlock would leave without them): the kernel allows them "
                       "beneath " +
                       dir_ + " as an over-approximation, the tracer decides every request there\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\n  allowed beneath " + dir_ + ": execute,write_file,read_file,read_dir,"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ws-files: the kernel allows"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("widened to " + dir_ + " (the agent may replace " + dir_ + "/ws)"), std::string::npos) << r.out;
  // The deny next to ws now lies inside what the kernel allows: only the tracer enforces it.
  EXPECT_TRUE(Has(r.out,
                  "\n +tracer +no-secret: a carve-out the kernel cannot express \\(file.read inside the "
                  "allowed hierarchy " +
                      dir_ + "\\)"))
      << r.out;

  WritePolicy(R"(version: 1
default: deny
rules:
  - {id: start, decision: allow, class: [file.read, file.write], paths: ["${workspace}", "${workspace}/**"]}
  - {id: start-delete, decision: allow, class: file.delete, paths: ["${workspace}"]}
  - {id: run, decision: allow, class: exec, paths: ["${workspace}/run.sh"]}
)");
  std::ofstream(dir_ + "/run.sh") << "#!/bin/sh\n";
  auto capped = here("policy check --enforce policy.yaml");
  ASSERT_EQ(capped.exit_code, 0) << capped.err;
  // Once for the start directory, with the rights of both hierarchies inside it.
  EXPECT_NE(
      capped.out.find("\n  not widened: rules start, run: the policy lets the agent remove " + dir_ +
                      " and make it again, but its parent holds the start directory: inside a re-created " + dir_ +
                      " the kernel refuses execute,write_file,read_file,read_dir,truncate (stricter than the "
                      "policy; run such an agent with --no-landlock)\n"),
      std::string::npos)
      << capped.out;
  EXPECT_EQ(capped.out.find("not widened"), capped.out.rfind("not widened")) << capped.out;
  EXPECT_EQ(capped.out.find("allowed beneath /tmp: execute"), std::string::npos) << capped.out;
}

TEST_F(CliLandlockTest, InvalidPolicyStillExits4) {
  auto r = RunCli(AGENTTRACE_BIN, {"policy", "check", "--enforce", WritePolicy("version: 1\nrules: 3\n")}, dir_);
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
}

}  // namespace
}  // namespace agenttrace
