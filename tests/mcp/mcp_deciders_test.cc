// A standalone proxy's decider (record --mcp and record --mcp-http) records into the session through SessionUntilClosed
// (tools/mcp_deciders.h): a decision abandoned at the proxy's stop may come back after the session
// is finished, and must then be refused, never written into a finished (or freed) session writer.
#include "tools/mcp_deciders.h"

#include <gtest/gtest.h>

#include <memory>

#include "format/decision_event.h"
#include "replayer/policy.h"
#include "tests/format/vector_sink.h"
#include "tests/mcp/no_zap_policy.h"
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
  VectorEventSink session;
  SessionUntilClosed decisions(&session);
  std::unique_ptr<LiveDecider> decider;
  ASSERT_EQ(CreateStandaloneDecider("test", NoZapPolicy(), {"policy.yaml", "enforce", "deny"}, PathVars{"/w", "/h", "/tmp"},
                                    &decisions, &decider),
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

// What both standalone proxies hand to the proxy: the decider records through a SessionUntilClosed,
// so a decision that comes back once it is closed (the proxy returned, the session is being
// finished) reaches the decider, which still exists, and not the session.
TEST(SetUpStandaloneDecidersTest, ItsDecisionsStopReachingTheSessionOnceClosed) {
  VectorEventSink session;
  StandaloneDeciders d;
  ASSERT_EQ(SetUpStandaloneDeciders("test", NoZapPolicy(), {"policy.yaml", "enforce", "allow"}, PathVars{"/w", "/h", "/tmp"},
                                    &session, &d),
            kExitOk);
  ASSERT_NE(d.decider, nullptr);
  ASSERT_NE(d.ask, nullptr);
  ASSERT_NE(d.session, nullptr);
  EXPECT_EQ(d.mode, EnforceMode::kEnforce);
  EXPECT_EQ(d.decider->Decide(ZapCall()).verdict, RequestVerdict::kDeny);
  const size_t open = session.Events().size();
  ASSERT_EQ(open, 2u);  // the enforcement annotation and the decision
  d.session->Close();
  EXPECT_EQ(d.decider->Decide(ZapCall()).verdict, RequestVerdict::kDeny);
  EXPECT_EQ(session.Events().size(), open);
}

}  // namespace
}  // namespace agenttrace
