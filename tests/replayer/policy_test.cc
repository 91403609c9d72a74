#include "replayer/policy.h"

#include <gtest/gtest.h>

#include <string>

namespace agenttrace {
namespace {

std::string ErrorOf(const std::string& yaml) {
  auto p = ParsePolicy(yaml, "p.yaml");
  EXPECT_FALSE(p.ok()) << "expected an error for:\n" << yaml;
  return p.ok() ? "" : p.status().message();
}

TEST(PolicyParseTest, FullExampleParses) {
  auto p = ParsePolicy(R"(
version: 1
default: ask
evaluate_failed: false
lists:
  allowed_hosts: ["10.0.0.0/8", "*.example.com:443"]
  tmpdirs: ["${tmp}/**"]
secrets: ["~/.ssh/**", "**/.env"]
irreversible:
  - {class: file.delete, not_paths: ["${workspace}/**"]}
side_effect_tools: ["deploy_*"]
rules:
  - id: ws
    decision: allow
    class: [file.read, file.write]
    paths: ["${workspace}/**", $tmpdirs]
  - id: net
    decision: deny
    class: net.connect
    not_hosts: $allowed_hosts
    irreversible: true
  - id: exfil
    decision: deny
    sequence:
      steps:
        - {class: secret.read}
        - {class: net.connect, not_hosts: [{list: allowed_hosts}]}
      within: {events: 10, seconds: 2.5}
  - id: budget
    decision: ask
    class: exec
    budget: {max: 3, per: {seconds: 60}}
  - id: tool
    decision: deny
    class: tool.call
    tools: ["fs_*"]
    args: [{pointer: /path, glob: "/etc/**"}, {pointer: /mode, regex: "^w"}]
promotion: {min_sessions: 3, max_violations: 1, max_asks: 2, min_stability: 0.75, allow_irreversible: true}
)",
                       "full.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->default_decision, Decision::kAsk);
  EXPECT_FALSE(p->evaluate_failed);
  ASSERT_EQ(p->rules.size(), 5u);
  EXPECT_EQ(p->rules[0].match.paths.size(), 2u);  // list reference expanded
  EXPECT_EQ(p->rules[0].match.paths[1].text, "${tmp}/**");
  EXPECT_EQ(p->rules[0].match.class_mask, ClassBit(ActionClass::kFileRead) | ClassBit(ActionClass::kFileWrite));
  EXPECT_EQ(p->rules[1].match.not_hosts.size(), 2u);
  EXPECT_TRUE(p->rules[1].irreversible);
  ASSERT_TRUE(p->rules[2].sequence.has_value());
  EXPECT_EQ(p->rules[2].sequence->within_events, 10u);
  EXPECT_EQ(p->rules[2].sequence->within_ns, 2500000000);
  EXPECT_EQ(p->rules[2].sequence->steps[1].not_hosts.size(), 2u);
  ASSERT_TRUE(p->rules[3].budget.has_value());
  EXPECT_EQ(p->rules[3].budget->per, BudgetSpec::Per::kSeconds);
  EXPECT_EQ(p->rules[3].budget->window, 60u);
  EXPECT_EQ(p->rules[4].match.args.size(), 2u);
  EXPECT_EQ(p->promotion.min_sessions, 3u);
  EXPECT_DOUBLE_EQ(p->promotion.min_stability, 0.75);
  EXPECT_TRUE(p->promotion.allow_irreversible);
  EXPECT_EQ(p->rules[1].pos.line, 17);  // 1-based line of the rule
}

TEST(PolicyParseTest, ErrorsCarryLineAndColumn) {
  std::string e = ErrorOf("version: 1\nrules:\n  - id: a\n    decision: maybe\n");
  EXPECT_NE(e.find("p.yaml:4:15:"), std::string::npos) << e;
  EXPECT_NE(e.find("allow, ask or deny"), std::string::npos) << e;
}

TEST(PolicyParseTest, RejectsInvalidPolicies) {
  EXPECT_NE(ErrorOf("").find("empty"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 2\n").find("version"), std::string::npos);
  EXPECT_NE(ErrorOf("default: deny\n").find("missing `version: 1`"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nbogus: 1\n").find("unknown key \"bogus\""), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - decision: deny\n").find("needs an `id`"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny}\n  - {id: a, decision: deny}\n")
                .find("duplicate rule id \"a\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a}\n").find("needs a `decision`"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: 'bad id', decision: deny}\n").find("bad rule id"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: default, decision: deny}\n").find("reserved"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, class: file.eat}\n").find("unknown class"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, paths: [\"/a/{b\"]}\n").find("unbalanced"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, hosts: [\"10.0.0.0/99\"]}\n").find("prefix"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, ports: [\"9-1\"]}\n").find("port"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, paths: $nolist}\n").find("unknown list"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, args: [{pointer: /x, regex: \"(\"}]}\n")
                .find("bad regex"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, args: [{pointer: x, glob: y}]}\n")
                .find("JSON pointer"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - id: a\n    decision: deny\n    sequence: {steps: [{class: exec}]}\n")
                .find("2 to 8 steps"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - id: a\n    decision: deny\n    class: exec\n    sequence: {steps: "
                    "[{class: exec}, {class: exec}]}\n")
                .find("in its steps"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, budget: {max: -1}}\n").find("non-negative"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\npromotion: {min_stability: 1.5}\n").find("between 0 and 1"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules: [\n").find("YAML error"), std::string::npos);
}

TEST(PolicyParseTest, TaskOutcomeSettings) {
  auto def = ParsePolicy("version: 1\n", "t.yaml");
  ASSERT_TRUE(def.ok());
  EXPECT_TRUE(def->promotion.require_success);  // judged unless a policy says otherwise
  EXPECT_EQ(def->promotion.success_exit_codes, std::vector<int32_t>{0});
  EXPECT_TRUE(def->promotion.IsSuccess(0, 0));
  EXPECT_FALSE(def->promotion.IsSuccess(1, 0));
  EXPECT_FALSE(def->promotion.IsSuccess(0, 9));   // killed by a signal
  EXPECT_FALSE(def->promotion.IsSuccess(-1, 0));  // unknown
  auto p = ParsePolicy("version: 1\npromotion: {require_success: false, success_exit_codes: [0, 3]}\n", "t.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->promotion.require_success);
  EXPECT_EQ(p->promotion.success_exit_codes, (std::vector<int32_t>{0, 3}));
  EXPECT_TRUE(p->promotion.IsSuccess(3, 0));
  EXPECT_NE(ErrorOf("version: 1\npromotion: {success_exit_codes: []}\n").find("non-empty"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\npromotion: {success_exit_codes: [256]}\n").find("at most 255"), std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\npromotion: {require_success: maybe}\n").find("require_success"), std::string::npos);
}

TEST(PolicyParseTest, ExceptionsNotEnvAndUnless) {
  auto p = ParsePolicy(R"(
version: 1
lists:
  gh: ["/usr/bin/gh", "/usr/local/bin/gh"]
rules:
  - {id: a, decision: deny, class: secret.read, not_env: ["GH_TOKEN", "NPM_*"]}
  - id: b
    decision: deny
    class: secret.read
    env: [GH_TOKEN]
    unless: {class: exec, paths: $gh}
  - id: c
    decision: deny
    class: file.read
    paths: ["~/.ssh/**"]
    unless: [{paths: ["~/.ssh/known_hosts"]}, {paths: ["~/.ssh/*.pub"], failed: false}]
)", "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->rules.size(), 3u);
  ASSERT_EQ(p->rules[0].match.not_env.size(), 2u);
  EXPECT_EQ(p->rules[0].match.not_env[1].text, "NPM_*");
  ASSERT_EQ(p->rules[1].match.unless.size(), 1u);
  EXPECT_EQ(p->rules[1].match.unless[0].paths.size(), 2u);
  EXPECT_EQ(p->rules[1].match.unless[0].pos.line, 11);
  ASSERT_EQ(p->rules[2].match.unless.size(), 2u);
  EXPECT_EQ(p->rules[2].match.unless[1].failed, false);
}

TEST(PolicyParseTest, RejectsBadExceptionsWithLineAndColumn) {
  std::string e = ErrorOf("version: 1\nrules:\n  - id: a\n    decision: deny\n    unless: {}\n");
  EXPECT_NE(e.find("p.yaml:5:13:"), std::string::npos) << e;
  EXPECT_NE(e.find("at least one condition"), std::string::npos) << e;
  e = ErrorOf("version: 1\nrules:\n  - id: a\n    decision: deny\n    unless: {paths: [/a], unless: {paths: [/b]}}\n");
  EXPECT_NE(e.find("p.yaml:5:35:"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot be nested"), std::string::npos) << e;
  e = ErrorOf("version: 1\nrules:\n  - id: a\n    decision: deny\n    unless: {pathz: [/a]}\n");
  EXPECT_NE(e.find("p.yaml:5:14:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key \"pathz\" in unless exception"), std::string::npos) << e;
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, unless: /a}\n").find("mapping of conditions"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, unless: []}\n").find("non-empty sequence"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, unless: {class: file.eat}}\n").find("unknown class"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - {id: a, decision: deny, not_env: [\"A{\"]}\n").find("unbalanced"),
            std::string::npos);
  EXPECT_NE(ErrorOf("version: 1\nrules:\n  - id: a\n    decision: deny\n    unless: {class: exec}\n    sequence: {steps: "
                    "[{class: exec}, {class: exec}]}\n")
                .find("in its steps"),
            std::string::npos);
}

TEST(PolicyParseTest, BoundsSizeAndNesting) {
  std::string big = "version: 1\n# " + std::string(kMaxPolicyBytes, 'x') + "\n";
  EXPECT_NE(ErrorOf(big).find("limit"), std::string::npos);
  std::string deep = "version: 1\nlists: {a: " + std::string(100, '[') + std::string(100, ']') + "}\n";
  std::string e = ErrorOf(deep);
  EXPECT_TRUE(e.find("nested too deeply") != std::string::npos || e.find("YAML error") != std::string::npos) << e;
}

TEST(PolicyParseTest, AliasesCannotExplode) {
  // A billion-laughs shaped document: each level references the previous one ten times.
  std::string y = "version: 1\nlists:\n  a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n";
  std::string prev = "a";
  for (char c = 'b'; c <= 'h'; ++c) {
    std::string name(1, c);
    y += "  " + name + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) y += std::string(i ? "," : "") + "*" + prev;
    y += "]\n";
    prev = name;
  }
  auto p = ParsePolicy(y, "laughs.yaml");
  EXPECT_FALSE(p.ok());
}

}  // namespace
}  // namespace agenttrace
