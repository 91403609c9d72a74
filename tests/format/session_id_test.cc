#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "format/session.h"

namespace agenttrace {
namespace {

TEST(SessionIdTest, V7RoundTripsThroughCanonicalText) {
  SessionId id = SessionId::NewV7();
  std::string s = id.ToString();
  ASSERT_EQ(s.size(), 36u);
  EXPECT_EQ(s[14], '7');  // version nibble
  auto parsed = SessionId::Parse(s);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, id);
}

// One millisecond later: 1 added to the 48-bit big-endian timestamp, carried into the higher bytes.
SessionId OneMillisecondLater(SessionId id) {
  for (int i = 5; i >= 0; --i) {
    if (++id.bytes[i] != 0) break;
  }
  return id;
}

TEST(SessionIdTest, EncodesCurrentTimeAndSortsByIt) {
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  SessionId a = SessionId::NewV7();
  EXPECT_LE(std::abs(a.UnixMillis() - now_ms), 1000);
  SessionId b = OneMillisecondLater(a);
  EXPECT_EQ(b.UnixMillis(), a.UnixMillis() + 1);
  EXPECT_LT(a, b);

  // A low timestamp byte of 0xff (one fresh id in 256) carries; it must still sort later.
  SessionId c = a;
  c.bytes[5] = 0xff;
  SessionId d = OneMillisecondLater(c);
  EXPECT_EQ(d.UnixMillis(), c.UnixMillis() + 1);
  EXPECT_LT(c, d);
}

TEST(SessionIdTest, ManyIdsAreDistinct) {
  std::set<SessionId> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(SessionId::NewV7());
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(SessionIdTest, RejectsMalformedText) {
  EXPECT_FALSE(SessionId::Parse("").ok());
  EXPECT_FALSE(SessionId::Parse("0190b5c4").ok());
  EXPECT_FALSE(SessionId::Parse("0190b5c4-8e1a-7abc-9def-0123456789az").ok());
  EXPECT_FALSE(SessionId::Parse("0190b5c4-8e1a-7abc-9def-0123456789ab00").ok());
  EXPECT_TRUE(SessionId::Parse("0190B5C4-8E1A-7ABC-9DEF-0123456789AB").ok());
}

// import and import --join rewrite a recorded session: the run's facts come across, the copy's own
// identity, label, state, counts and hashes stay.
TEST(SessionInfoTest, CopyRunFactsCopiesTheRunAndKeepsTheCopysOwnFields) {
  SessionInfo from;
  from.id = SessionId::NewV7();
  from.label = "recorded-label";
  from.agent_name = "agent";
  from.agent_version = "1.2";
  from.argv = {"agent", "--task", "x"};
  from.cwd = "/w";
  from.home = "/h";
  from.tmp = "/t";
  from.host = "host";
  from.user = "user";
  from.kernel = "6.1";
  from.arch = "x86_64";
  from.start_wall_ns = 11;
  from.end_wall_ns = 22;
  from.exit_code = 3;
  from.exit_signal = 9;
  from.state = SessionState::kComplete;
  from.event_count = 5;
  from.chunk_count = 6;
  from.raw_bytes = 7;
  from.stored_bytes = 8;
  from.head_hash[0] = 1;
  from.env_names = {"PATH", "TOKEN"};
  from.secret_env_names = {"TOKEN"};
  from.recorder = "ptrace";
  from.head_signature = "sig";
  from.signer_key = "key";

  SessionInfo to;
  to.id = SessionId::NewV7();
  to.label = "copy-label";
  to.state = SessionState::kRecording;
  to.event_count = 50;
  to.head_hash[0] = 2;
  const SessionInfo before = to;
  CopyRunFacts(from, &to);

  SessionInfo want = from;
  want.id = before.id;
  want.label = before.label;
  want.state = before.state;
  want.event_count = before.event_count;
  want.chunk_count = before.chunk_count;
  want.raw_bytes = before.raw_bytes;
  want.stored_bytes = before.stored_bytes;
  want.head_hash = before.head_hash;
  want.head_signature = before.head_signature;
  want.signer_key = before.signer_key;
  EXPECT_EQ(to, want);
}

}  // namespace
}  // namespace agenttrace
