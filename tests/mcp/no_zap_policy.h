// The policy the MCP enforcement tests decide with: `zap` is denied (rule no-zap, "zapping is not
// allowed", the reason ExpectZapDenial looks for), everything else allowed.
#ifndef AGENTTRACE_TESTS_MCP_NO_ZAP_POLICY_H_
#define AGENTTRACE_TESTS_MCP_NO_ZAP_POLICY_H_

#include <memory>
#include <utility>

#include "format/status.h"
#include "replayer/policy.h"

namespace agenttrace {

inline std::shared_ptr<const Policy> NoZapPolicy() {
  auto policy = ParsePolicy(R"(version: 1
default: allow
rules:
  - {id: no-zap, description: zapping is not allowed, decision: deny, class: tool.call, tools: ["zap"]}
)",
                            "test");
  AT_CHECK(policy.ok());
  return std::make_shared<const Policy>(std::move(*policy));
}

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_MCP_NO_ZAP_POLICY_H_
