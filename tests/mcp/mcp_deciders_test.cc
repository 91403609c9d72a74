// The standalone HTTP proxy's decider records into the session through SessionUntilClosed
// (tools/mcp_deciders.h): a decision abandoned at the proxy's stop may come back after the session
// is finished, and must then be refused, never written into a finished (or freed) session writer.
#include "tools/mcp_deciders.h"

#include <gtest/gtest.h>

#include <memory>

#include "format/decision_event.h"
#include "replayer/policy.h"
#include "tests/format/vector_sink.h"
#include "tools/exit_codes.h"

namespace agenttrace {
namespace {

Event ZapCall() {
  Event e;
  e.kind = EventKind::kToolCall;
  e.direction = Direction::kToServer;
  e.server = "fake-mcp";
  e.tool = "zap";
  e.request_id = "11";
  e.json = R"({"n":1})";
  return e;
}

TEST(SessionUntilClosedTest, ADecisionThatComesBackAfterCloseIsRefusedNotRecorded) {
  auto policy = ParsePolicy(R"(version: 1
default: allow
rules:
  - {id: no-zap, description: zapping is not allowed, decision: deny, class: tool.call, tools: ["zap"]}
)",
                            "test");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  VectorEventSink session;
  SessionUntilClosed decisions(&session);
  std::unique_ptr<LiveDecider> decider;
  ASSERT_EQ(
      CreateStandaloneDecider("test", std::make_shared<const Policy>(std::move(*policy)),
                              {"policy.yaml", "enforce", "deny"}, PathVars{"/w", "/h", "/tmp"}, &decisions, &decider),
      kExitOk);
  // Open: the enforcement annotation and each decision reach the session.
  EXPECT_EQ(decider->Decide(ZapCall()).verdict, RequestVerdict::kDeny);
  auto before = session.Events();
  ASSERT_EQ(before.size(), 2u);
  EXPECT_TRUE(IsDecisionEvent(before[1]));

  // Closed (the session is about to be finished): the late decision is still made, not recorded.
  decisions.Close();
  EXPECT_EQ(decider->Decide(ZapCall()).verdict, RequestVerdict::kDeny);
  EXPECT_EQ(session.Events().size(), before.size());
  EXPECT_FALSE(decisions.Append(ZapCall()).ok());
}

}  // namespace
}  // namespace agenttrace
