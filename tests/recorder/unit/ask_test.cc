// Ask resolvers and the ask worker (recorder/ask.h): every path that is not an explicit yes denies.
#include "recorder/ask.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace agenttrace {
namespace {

using namespace std::chrono_literals;

// The timeout of a resolver whose answer comes at once: long, so that a loaded machine that starts the
// program (or runs the test's answering thread) late does not turn the answer into a timeout.
constexpr auto kNotTheSubject = 60s;

Event Request() {
  Event e;
  e.kind = EventKind::kFileOpen;
  e.path = "/home/u/proj/.env";
  e.pid = 42;
  return e;
}

RequestDecision AskDecision() {
  RequestDecision d;
  d.verdict = RequestVerdict::kAsk;
  d.rule = "ask-env";
  d.reason = "env files need a human";
  return d;
}

// A pseudo-terminal standing in for the user's terminal.
struct Pty {
  int master = -1, slave = -1;
  std::string name;
  Pty() {
    char buf[128];
    EXPECT_EQ(openpty(&master, &slave, buf, nullptr, nullptr), 0);
    name = buf;
  }
  ~Pty() {
    close(master);
    close(slave);
  }
  // What the resolver wrote, read until `until` appears (or 30 s pass).
  std::string ReadUntil(const std::string& until) {
    std::string out;
    auto end = std::chrono::steady_clock::now() + 30s;
    while (out.find(until) == std::string::npos && std::chrono::steady_clock::now() < end) {
      pollfd p{master, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[512];
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
};

TEST(TtyAskResolverTest, PromptsWithEventRuleAndDescriptionAndTakesYes) {
  Pty pty;
  TtyAskResolver r(kNotTheSubject, pty.name);
  AskAnswer answer;
  std::thread asker([&] { answer = r.Ask(Request(), AskDecision()); });
  std::string prompt = pty.ReadUntil("allow? [y/N]");
  EXPECT_NE(prompt.find("/home/u/proj/.env"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("rule ask-env: env files need a human"), std::string::npos) << prompt;
  ASSERT_EQ(write(pty.master, "y\n", 2), 2);
  asker.join();
  EXPECT_TRUE(answer.allow);
  EXPECT_EQ(answer.who, "tty");
}

TEST(TtyAskResolverTest, AnythingButYesDenies) {
  Pty pty;
  TtyAskResolver r(kNotTheSubject, pty.name);
  AskAnswer answer{true, ""};
  std::thread asker([&] { answer = r.Ask(Request(), AskDecision()); });
  pty.ReadUntil("allow? [y/N]");
  ASSERT_EQ(write(pty.master, "sure\n", 5), 5);
  asker.join();
  EXPECT_FALSE(answer.allow);
}

TEST(TtyAskResolverTest, TimeoutDenies) {
  Pty pty;
  TtyAskResolver r(200ms, pty.name);
  auto start = std::chrono::steady_clock::now();
  AskAnswer answer = r.Ask(Request(), AskDecision());
  EXPECT_FALSE(answer.allow);
  EXPECT_EQ(answer.who, "tty-timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(TtyAskResolverTest, NoTerminalDenies) {
  TtyAskResolver r(200ms, "/nonexistent/tty");
  AskAnswer answer = r.Ask(Request(), AskDecision());
  EXPECT_FALSE(answer.allow);
  EXPECT_EQ(answer.who, "tty-unavailable");
}

class ExecAskResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agenttrace-ask-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  DirectChildren children_;
};

TEST_F(ExecAskResolverTest, ExitZeroAllowsAndTheRequestArrivesAsJson) {
  ExecAskResolver r("cat > '" + dir_ + "/req.json'", kNotTheSubject, &children_);
  AskAnswer a = r.Ask(Request(), AskDecision());
  EXPECT_TRUE(a.allow);
  EXPECT_EQ(a.who, "exec:cat > '" + dir_ + "/req.json'");
  std::ifstream in(dir_ + "/req.json");
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(json.find("\"request\":{"), std::string::npos) << json;
  EXPECT_NE(json.find("\"path\":\"/home/u/proj/.env\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"rule\":\"ask-env\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"reason\":\"env files need a human\""), std::string::npos) << json;
}

TEST_F(ExecAskResolverTest, NonZeroExitSignalAndTimeoutDeny) {
  EXPECT_FALSE(ExecAskResolver("exit 3", 5000ms, &children_).Ask(Request(), AskDecision()).allow);
  EXPECT_FALSE(ExecAskResolver("kill -9 $$", 5000ms, &children_).Ask(Request(), AskDecision()).allow);
  EXPECT_FALSE(ExecAskResolver("/nonexistent/approver", 5000ms, &children_).Ask(Request(), AskDecision()).allow);
  auto start = std::chrono::steady_clock::now();
  // At the timeout the program's own children go with it (they would hold its output open). The
  // timeout leaves the shell time to start its child and say so even on a loaded machine (at 200 ms
  // it could be killed before it wrote the pid); well below the child's 30 s.
  AskAnswer slow =
      ExecAskResolver("sleep 30 & echo $! > '" + dir_ + "/child'; wait", 2s, &children_).Ask(Request(), AskDecision());
  EXPECT_FALSE(slow.allow);
  pid_t child = 0;
  std::ifstream(dir_ + "/child") >> child;
  ASSERT_GT(child, 0);
  bool gone = false;
  for (auto end = std::chrono::steady_clock::now() + 10s; !gone && std::chrono::steady_clock::now() < end;) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid_s, comm, state;
    gone = !(stat >> pid_s >> comm >> state) || state == "Z";
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "the timed-out program's child " << child << " still runs";
  EXPECT_NE(slow.who.find("(timeout)"), std::string::npos) << slow.who;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);  // not the child's 30 s
  // A program that never reads its input cannot block the resolver.
  std::string big_path(60000, 'a');
  Event big = Request();
  big.path = "/" + big_path;
  EXPECT_TRUE(ExecAskResolver("exit 0", kNotTheSubject, &children_).Ask(big, AskDecision()).allow);
}

// A resolver that blocks until released, to fill the worker's queue.
class GateResolver : public AskResolver {
 public:
  AskAnswer Ask(const Event&, const RequestDecision&) override {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return {true, "gate"};
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool entered_ = false;
};

TEST(AskWorkerTest, AnswersInOrderRefusesWhenFullAndDeniesWhatIsLeftAtStop) {
  GateResolver gate;
  std::mutex mu;
  std::vector<std::pair<uint64_t, AskAnswer>> posted;
  auto worker = std::make_unique<AskWorker>(&gate, 2, [&](uint64_t ticket, const AskAnswer& a) {
    std::lock_guard lock(mu);
    posted.emplace_back(ticket, a);
  });
  EXPECT_TRUE(worker->Submit(1, Request(), AskDecision()));
  gate.WaitEntered();  // the worker took ticket 1: the queue is empty again
  EXPECT_TRUE(worker->Submit(2, Request(), AskDecision()));
  EXPECT_TRUE(worker->Submit(3, Request(), AskDecision()));
  EXPECT_FALSE(worker->Submit(4, Request(), AskDecision()));  // two waiting: full, the caller denies
  gate.Open();
  worker->Stop();
  std::lock_guard lock(mu);
  ASSERT_GE(posted.size(), 2u);
  EXPECT_EQ(posted[0].first, 1u);
  EXPECT_TRUE(posted[0].second.allow);
  for (const auto& [ticket, a] : posted) EXPECT_NE(ticket, 4u);
}

}  // namespace
}  // namespace agenttrace
