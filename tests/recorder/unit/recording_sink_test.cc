#include "recorder/recording_sink.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "format/decision_event.h"
#include "format/store.h"
#include "tests/format/read_session.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;

// Assembled from pieces so that no complete token sits in the source.
const std::string kToken = std::string("ghp_") + "SinkTestToken0123456789abcdefGHIJKLM";

class RecordingSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = fs::temp_directory_path().string() + "/agenttrace-sink-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = Store::Open(dir_ + "/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    Hash256 key;
    key.fill(0x42);  // the recorder's key (recorder/fingerprint_key.h); any key will do here
    scanner_ = std::make_unique<SecretScanner>(
        key, std::vector<std::string>{"DATABASE_URL=postgres://app:Tr0ub4dor3x@db/prod",
                                       "AWS_CA_BUNDLE=/etc/ssl/ca.pem", "PATH=/usr/bin"});
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::vector<Event> ReadBack(const SessionId& id, SessionInfo* info) { return ReadSessionEvents(*store_, id, info); }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SecretScanner> scanner_;
};

TEST_F(RecordingSinkTest, SessionRecordHasRedactedCommandLineAndHostFacts) {
  RecordingOrigin origin{
      "task", "agent", "1.0", "ptrace", {"sh", "-c", "echo " + kToken, "--api-key", "Zq8vN2mKp4xY7wL1aB3cD5"}};
  SessionInfo info = NewSessionInfo(origin, *scanner_);
  EXPECT_EQ(info.argv, (std::vector<std::string>{"sh", "-c", "echo " + scanner_->Fingerprint(kToken), "--api-key",
                                                 scanner_->Fingerprint("Zq8vN2mKp4xY7wL1aB3cD5")}));
  EXPECT_EQ(info.label, "task");
  EXPECT_EQ(info.recorder, "ptrace");
  EXPECT_EQ(info.env_names, (std::vector<std::string>{"DATABASE_URL", "AWS_CA_BUNDLE", "PATH"}));
  EXPECT_EQ(info.secret_env_names, std::vector<std::string>{"DATABASE_URL"});
  EXPECT_FALSE(info.cwd.empty());
  EXPECT_FALSE(info.kernel.empty());
  EXPECT_GT(info.start_wall_ns, 0);
}

TEST_F(RecordingSinkTest, EveryEventAndTheRecordAreRedactedOnTheWayIn) {
  SessionInfo by_hand;  // a caller that did not use NewSessionInfo still gets a redacted record
  by_hand.argv = {"deploy", kToken};
  auto sink = RecordingSink::Create(*store_, by_hand, scanner_.get());
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  Event exec;
  exec.kind = EventKind::kExec;
  exec.path = "/usr/bin/mysql";
  exec.argv = {"mysql", "-pTr0ub4dor3x", "--token", kToken};
  Event tool;
  tool.kind = EventKind::kToolCall;
  tool.tool = "http";
  tool.json = "{\"url\":\"https://x\",\"headers\":{\"Authorization\":\"Bearer " + kToken + "\"}}";
  Event note;
  note.kind = EventKind::kAnnotation;
  note.text = "connected with Tr0ub4dor3x";
  Event open;
  open.kind = EventKind::kFileOpen;
  open.path = "/etc/ssl/ca.pem";
  for (const Event* e : {&exec, &tool, &note, &open}) ASSERT_TRUE((*sink)->Append(*e).ok());
  (*sink)->UpdateInfo([&](SessionInfo* s) { s->argv = {"later", "Tr0ub4dor3x"}; });
  ASSERT_TRUE((*sink)->Finish(0, 0).ok());

  SessionInfo info;
  std::vector<Event> events = ReadBack((*sink)->id(), &info);
  ASSERT_EQ(events.size(), 4u);
  const std::string pw = scanner_->Fingerprint("Tr0ub4dor3x"), tok = scanner_->Fingerprint(kToken);
  EXPECT_EQ(info.argv, (std::vector<std::string>{"later", pw}));
  EXPECT_EQ(events[0].argv, (std::vector<std::string>{"mysql", "-p" + pw, "--token", tok}));
  EXPECT_EQ(events[1].json, "{\"url\":\"https://x\",\"headers\":{\"Authorization\":\"Bearer " + tok + "\"}}");
  EXPECT_EQ(events[2].text, "connected with " + pw);
  EXPECT_EQ(events[3].path, "/etc/ssl/ca.pem");  // paths are kept: policies match them
}

// Decisions queued as their parts (AppendDecision, built on the writer thread) are redacted on the
// way in as every event is: the request's argv, json and text, which the decision event's JSON holds.
// AppendRedactedDecision, for requests `agenttrace run` redacted before deciding, stores the same.
TEST_F(RecordingSinkTest, DecisionRequestsAreRedactedOnTheWayIn) {
  Event exec;
  exec.kind = EventKind::kExec;
  exec.mono_ns = 10;
  exec.path = "/usr/bin/mysql";
  exec.argv = {"mysql", "-pTr0ub4dor3x", "--token", kToken};
  Event tool;
  tool.kind = EventKind::kToolCall;
  tool.mono_ns = 11;
  tool.tool = "http";
  tool.json = "{\"url\":\"https://x\",\"headers\":{\"Authorization\":\"Bearer " + kToken + "\"}}";
  tool.text = "connected with Tr0ub4dor3x";
  const RequestDecision deny{RequestVerdict::kDeny, "no-db", "databases are off limits", false};

  auto sink = RecordingSink::Create(*store_, SessionInfo{}, scanner_.get());
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  auto pre = RecordingSink::Create(*store_, SessionInfo{}, scanner_.get());
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  for (const Event* e : {&exec, &tool}) {
    ASSERT_TRUE((*sink)->AppendDecision(*e, deny, EnforceMode::kEnforce).ok());
    Event redacted = *e;
    RedactEvent(*scanner_, &redacted);
    ASSERT_TRUE((*pre)->AppendRedactedDecision(redacted, deny, EnforceMode::kEnforce).ok());
  }
  ASSERT_TRUE((*sink)->Finish(0, 0).ok());
  ASSERT_TRUE((*pre)->Finish(0, 0).ok());

  SessionInfo info;
  std::vector<Event> events = ReadBack((*sink)->id(), &info);
  std::vector<Event> pre_events = ReadBack((*pre)->id(), &info);
  ASSERT_EQ(events.size(), 2u);
  ASSERT_EQ(pre_events.size(), 2u);
  const std::string pw = scanner_->Fingerprint("Tr0ub4dor3x"), tok = scanner_->Fingerprint(kToken);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i], pre_events[i]) << i;
    const std::string all = events[i].json + events[i].text;
    EXPECT_EQ(all.find("Tr0ub4dor3x"), std::string::npos) << all;
    EXPECT_EQ(all.find(kToken), std::string::npos) << all;
  }
  auto e0 = ParseDecisionEvent(events[0]);
  ASSERT_TRUE(e0.ok()) << e0.status().ToString();
  EXPECT_EQ(e0->request.argv, (std::vector<std::string>{"mysql", "-p" + pw, "--token", tok}));
  EXPECT_EQ(e0->request.path, "/usr/bin/mysql");
  auto e1 = ParseDecisionEvent(events[1]);
  ASSERT_TRUE(e1.ok()) << e1.status().ToString();
  EXPECT_EQ(e1->request.json, "{\"url\":\"https://x\",\"headers\":{\"Authorization\":\"Bearer " + tok + "\"}}");
  EXPECT_EQ(e1->request.text, "connected with " + pw);
}

}  // namespace
}  // namespace agenttrace
