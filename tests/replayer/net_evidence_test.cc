// Network evidence that matches what happened: a non-blocking connect in progress reached the host,
// and a netlink bind (glibc's getaddrinfo with AI_ADDRCONFIG) is no server.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>

#include "replayer/action.h"
#include "replayer/replay.h"
#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Connect;
using testing::Harness;
using testing::MustParse;

Event InProgress(std::string address, uint16_t port) {
  Event e = Connect(std::move(address), port);
  e.result = -EINPROGRESS;
  return e;
}

Event Bind(uint16_t family, std::string address = "", uint16_t port = 0) {
  Event e = Connect(std::move(address), port, family);
  e.kind = EventKind::kNetBind;
  e.result = 0;
  return e;
}

std::vector<ActionClass> Classes(const Event& e) {
  std::vector<Action> actions;
  DeriveBaseActions(e, &actions);
  std::vector<ActionClass> out;
  for (const Action& a : actions) out.push_back(a.cls);
  return out;
}

TEST(NetEvidenceTest, ConnectInProgressIsNotAFailedAttempt) {
  EXPECT_TRUE(IsConnectInProgress(InProgress("203.0.113.9", 443)));
  EXPECT_FALSE(IsFailedAttempt(InProgress("203.0.113.9", 443)));
  Event refused = Connect("203.0.113.9", 443);
  refused.result = -ECONNREFUSED;
  EXPECT_TRUE(IsFailedAttempt(refused));
  Event again = Connect("203.0.113.9", 443);
  again.result = -EALREADY;  // a second connect while the first is pending adds nothing
  EXPECT_TRUE(IsFailedAttempt(again));
  Event open_einprogress = testing::Open("/x", 0, -EINPROGRESS);  // only connect has this meaning
  EXPECT_TRUE(IsFailedAttempt(open_einprogress));
}

TEST(NetEvidenceTest, PolicyTreatsAConnectInProgressAsReachingTheHost) {
  const char* yaml = R"(
version: 1
default: allow
irreversible:
  - {class: net.connect, not_hosts: ["10.0.0.0/8"]}
rules:
  - {id: reached, decision: ask, class: net.connect, failed: false}
  - {id: tried, decision: deny, class: net.connect, failed: true}
evaluate_failed: false
)";
  Harness h(yaml);
  EventVerdict v = h.Eval(InProgress("203.0.113.9", 443));
  ASSERT_TRUE(v.evaluated) << "evaluate_failed: false must not skip a connect in progress";
  EXPECT_EQ(h.RuleOf(v), "reached");
  EXPECT_TRUE(v.irreversible);
  Event refused = Connect("203.0.113.9", 443);
  refused.result = -ECONNREFUSED;
  EXPECT_EQ(h.Decide(refused), "not-evaluated");
}

TEST(NetEvidenceTest, ConnectInProgressIsInTheBlastRadius) {
  Policy p = MustParse("version: 1\ndefault: allow\n");
  SessionInfo info;
  info.id = *SessionId::Parse("0190b5c4-8e1a-7abc-9def-000000000001");
  info.cwd = "/home/u/proj";
  info.state = SessionState::kComplete;
  Event refused = Connect("198.51.100.7", 80);
  refused.result = -ECONNREFUSED;
  std::vector<Event> events = {InProgress("203.0.113.9", 443), refused};
  for (size_t i = 0; i < events.size(); ++i) events[i].seq = i;
  std::vector<SessionInput> in;
  in.push_back(MemoryInput(info, std::make_shared<const std::vector<Event>>(events), "mem"));
  ReplayOptions opt;
  opt.threads = 1;
  auto r = RunReplay(p, std::move(in), opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].blast.hosts, (std::set<std::string>{"203.0.113.9:443"}));
}

TEST(NetEvidenceTest, OnlyInetInet6AndUnixBindsAreListens) {
  using V = std::vector<ActionClass>;
  EXPECT_EQ(Classes(Bind(AF_NETLINK)), V{});
  EXPECT_EQ(Classes(Bind(AF_PACKET)), V{});
  EXPECT_EQ(Classes(Bind(AF_INET, "0.0.0.0", 8080)), V{ActionClass::kNetListen});
  EXPECT_EQ(Classes(Bind(AF_INET6, "::", 8080)), V{ActionClass::kNetListen});
  Event unix_bind = Bind(AF_UNIX);
  unix_bind.path = "/tmp/agent.sock";
  EXPECT_EQ(Classes(unix_bind), V{ActionClass::kNetListen});
  EXPECT_EQ(Classes(Bind(0)), V{ActionClass::kNetListen});  // family unknown: not assumed harmless
  Event nl_send = Bind(AF_NETLINK);
  nl_send.kind = EventKind::kNetSend;
  EXPECT_EQ(Classes(nl_send), V{});

  Harness h(R"(
version: 1
default: allow
rules:
  - {id: no-servers, decision: deny, class: net.listen}
)");
  EXPECT_EQ(h.Decide(Bind(AF_NETLINK)), "not-evaluated");
  EXPECT_EQ(h.Decide(Bind(AF_INET, "0.0.0.0", 8080)), "deny:no-servers");
}

}  // namespace
}  // namespace agenttrace
