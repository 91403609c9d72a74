// The event socket: JSON-line events and hook payloads in, one answer line per line, bad input recorded
// as protocol.error without stopping.
#include "recorder/event_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "format/event_json.h"
#include "recorder/jsonrpc_framing.h"
#include "recorder/secrets.h"
#include "tests/mcp/fake_writer.h"

namespace agenttrace {
namespace {

class EventSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/at-sock-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/events.sock";
    Hash256 key{};
    key[0] = 7;
    scanner_ = std::make_unique<SecretScanner>(key, std::vector<std::string>{"MY_API_TOKEN=tok-abcdefghijklmnopqrstuvwxyz"});
    auto s = EventSocketServer::Start(path_, &writer_, scanner_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  void TearDown() override {
    server_.reset();
    ::rmdir(dir_.c_str());
  }
  std::unique_ptr<EventSocketClient> Client() {
    auto c = EventSocketClient::Connect(path_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::string dir_, path_;
  FakeAsyncWriter writer_;
  std::unique_ptr<SecretScanner> scanner_;
  std::unique_ptr<EventSocketServer> server_;
};

TEST_F(EventSocketTest, EventLineIsStampedAndRecorded) {
  auto c = Client();
  ASSERT_TRUE(c->SendLine(R"({"kind":"tool.call","server":"s","tool":"t","json":"{\"a\":1}","seq":99,"pid":1})").ok());
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::kToolCall);
  EXPECT_EQ(ev[0].tool, "t");
  EXPECT_EQ(ev[0].json, R"({"a":1})");
  EXPECT_EQ(ev[0].seq, 0u);               // the writer assigns it
  EXPECT_EQ(ev[0].pid, ::getpid());       // the sender, from SO_PEERCRED, not what it claims
  EXPECT_GT(ev[0].mono_ns, 0);
  EXPECT_GT(ev[0].wall_ns, 1600000000000000000);
}

// A nested `record --mcp` reports tool events it could not deliver as a gap; the tracer's kinds stay
// refused.
TEST_F(EventSocketTest, GapIsAcceptedButSyscallKindsAreNot) {
  auto c = Client();
  ASSERT_TRUE(c->SendLine(R"({"kind":"gap","size":3,"text":"record --mcp: 3 tool events not delivered"})").ok());
  EXPECT_FALSE(c->SendLine(R"({"kind":"process.escape","text":"toctou: forged"})").ok());
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, EventKind::kGap);
  EXPECT_EQ(ev[0].size, 3);
  EXPECT_EQ(ev[1].kind, EventKind::kProtocolError);
}

TEST_F(EventSocketTest, HookPayloadsBecomeToolEventsAndAreRedacted) {
  auto c = Client();
  ASSERT_TRUE(c->SendLine(R"({"hook_event_name":"PreToolUse","session_id":"x","tool_name":"Bash","tool_input":{"command":"curl -H 'Authorization: tok-abcdefghijklmnopqrstuvwxyz' https://x"}})").ok());
  ASSERT_TRUE(c->SendLine(R"({"hook_event_name":"AfterTool","tool_name":"run_shell_command","tool_input":{},"tool_response":{"llmContent":"ok"}})").ok());
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, EventKind::kToolCall);
  EXPECT_EQ(ev[0].server, "claude-code");
  EXPECT_EQ(ev[0].tool, "Bash");
  EXPECT_EQ(ev[0].json.find("tok-abcdefghijklmnopqrstuvwxyz"), std::string::npos) << ev[0].json;
  EXPECT_NE(ev[0].json.find("<secret:fp:"), std::string::npos) << ev[0].json;
  EXPECT_EQ(ev[1].kind, EventKind::kToolResult);
  EXPECT_EQ(ev[1].server, "gemini-cli");
}

TEST_F(EventSocketTest, MalformedLinesAreAnsweredRecordedAndDoNotStopTheConnection) {
  auto c = Client();
  Status st = c->SendLine("{not json");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("bad event"), std::string::npos) << st.message();
  st = c->SendLine(R"({"kind":"file.open","path":"/etc/shadow"})");
  EXPECT_NE(st.message().find("not accepted on the event socket"), std::string::npos) << st.message();
  st = c->SendLine(R"({"hook_event_name":"PreToolUse"})");
  EXPECT_NE(st.message().find("tool_name"), std::string::npos) << st.message();
  ASSERT_TRUE(c->SendLine(R"({"kind":"annotation","text":"still alive"})").ok());
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ev[i].kind, EventKind::kProtocolError);
  EXPECT_EQ(ev[0].json, "{not json");
  EXPECT_EQ(ev[3].text, "still alive");
}

TEST_F(EventSocketTest, DeeplyNestedToolArgumentsAreRefusedAndTheConnectionRecovers) {
  auto c = Client();
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Status st = c->SendLine(R"({"kind":"tool.call","tool":"t","json":")" + deep + "\"}");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("nests arrays/objects deeper than"), std::string::npos) << st.message();
  st = c->SendLine(R"({"kind":"annotation","extra":)" + deep + "}");
  EXPECT_NE(st.message().find("nests arrays/objects deeper than"), std::string::npos) << st.message();
  ASSERT_TRUE(c->SendLine(R"({"kind":"annotation","text":"after"})").ok());
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, EventKind::kProtocolError);
  EXPECT_EQ(ev[1].kind, EventKind::kProtocolError);
  EXPECT_EQ(ev[2].text, "after");
}

TEST_F(EventSocketTest, ToolArgumentsAndResultsGetTheProducersBounds) {
  auto c = Client();
  std::string args(kMaxRecordedArgumentsBytes + 1, 'a');
  std::string result((64u << 10) + 1, 'r');
  ASSERT_TRUE(c->SendLine(R"({"kind":"tool.call","tool":"t","json":")" + args + "\"}").ok());
  ASSERT_TRUE(c->SendLine(R"({"kind":"tool.result","tool":"t","json":")" + result + "\"}").ok());
  ASSERT_TRUE(c->SendLine(R"({"kind":"tool.call","tool":"t","json":"{}"})").ok());
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].json, TruncatedBodyJson(args));
  EXPECT_EQ(ev[0].size, static_cast<int64_t>(args.size()));
  EXPECT_EQ(ev[1].json, TruncatedBodyJson(result));
  EXPECT_EQ(ev[2].json, "{}");
}

TEST_F(EventSocketTest, OversizedLineIsRefusedAndTheConnectionRecovers) {
  auto c = Client();
  std::string big = R"({"kind":"annotation","text":")" + std::string(kMaxJsonLineBytes + 10, 'x') + "\"}";
  Status st = c->SendLine(big, 30000);
  EXPECT_NE(st.message().find("exceeds the maximum"), std::string::npos) << st.message();
  ASSERT_TRUE(c->SendLine(R"({"kind":"annotation","text":"after"})").ok());
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, EventKind::kProtocolError);
  EXPECT_EQ(ev[0].size, static_cast<int64_t>(big.size()));
  EXPECT_LE(ev[0].json.size(), 4096u);
  EXPECT_EQ(ev[1].text, "after");
}

TEST_F(EventSocketTest, ManyConnectionsConcurrently) {
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto c = EventSocketClient::Connect(path_);
      if (!c.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < kEach; ++i) {
        Event e;
        e.kind = EventKind::kAnnotation;
        e.text = std::to_string(t) + ":" + std::to_string(i);
        if (!(*c)->SendEvent(e).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), static_cast<size_t>(kThreads * kEach));
  // Per connection, order is preserved.
  std::vector<int> next(kThreads, 0);
  for (const Event& e : ev) {
    int t = std::stoi(e.text.substr(0, e.text.find(':')));
    int i = std::stoi(e.text.substr(e.text.find(':') + 1));
    EXPECT_EQ(i, next[t]++);
  }
}

TEST_F(EventSocketTest, StopDrainsWhatWasSentWithoutWaitingForAnswers) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path_.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string lines;
  for (int i = 0; i < 20; ++i) lines += R"({"kind":"annotation","text":"n)" + std::to_string(i) + "\"}\n";
  lines += R"({"kind":"annotation","text":"no newline"})";
  ASSERT_EQ(::write(fd, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  ::shutdown(fd, SHUT_WR);
  // Once the server has accepted and taken a first line, Stop must still read everything. Waits for
  // that line (a fixed moment could pass on a loaded machine before the server even accepted).
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       writer_.Events().empty() && std::chrono::steady_clock::now() < end;) {
    usleep(1000);
  }
  server_->Stop();
  ::close(fd);
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 21u);
  EXPECT_EQ(ev[20].text, "no newline");
}

// The agent must not forge what was enforced: the decision texts belong to the recorder.
TEST_F(EventSocketTest, ReservedDecisionTextsAreRefused) {
  auto c = Client();
  for (const char* text : {"decision", "decision.answer", "decision.failed", "policy.reload", "enforcement"}) {
    Status st = c->SendLine(std::string(R"({"kind":"annotation","text":")") + text + R"(","json":"{}"})");
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(st.message().find("reserved"), std::string::npos) << st.message();
  }
  ASSERT_TRUE(c->SendLine(R"({"kind":"annotation","text":"decision notes"})").ok());
  auto ev = writer_.Events();
  ASSERT_EQ(ev.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ev[i].kind, EventKind::kProtocolError);
  EXPECT_EQ(ev[5].text, "decision notes");
}

TEST(EventSocketStartTest, BadPathsSayWhy) {
  FakeAsyncWriter w;
  auto r = EventSocketServer::Start("/tmp/" + std::string(200, 'x'), &w, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("longer than"), std::string::npos);
  auto r2 = EventSocketServer::Start("/nonexistent-dir/x.sock", &w, nullptr);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("bind /nonexistent-dir/x.sock"), std::string::npos);
  auto c = EventSocketClient::Connect("/nonexistent-dir/x.sock");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("connect /nonexistent-dir/x.sock"), std::string::npos);
}

TEST(EventSocketStartTest, ServerUnlinksItsSocket) {
  FakeAsyncWriter w;
  std::string p = "/tmp/at-sock-unlink-" + std::to_string(::getpid());
  {
    auto s = EventSocketServer::Start(p, &w, nullptr);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(::access(p.c_str(), F_OK), 0);
  }
  EXPECT_NE(::access(p.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace agenttrace
