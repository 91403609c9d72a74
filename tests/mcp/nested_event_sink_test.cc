// The nested `record --mcp` sink against a scripted stand-in for the recording's event socket: a slow
// recording is waited for (back-pressure), a lost connection is counted, said and recorded as a gap,
// and the proxy's shutdown bounds the wait.
#include "recorder/nested_event_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/mcp/scripted_socket.h"

namespace agenttrace {
namespace {

using namespace std::chrono_literals;

struct Warnings {
  std::mutex mu;
  std::vector<std::string> lines;
  NestedSinkOptions Options(int note_after_ms) {
    NestedSinkOptions o;
    o.note_after_ms = note_after_ms;
    o.warn = [this](const std::string& m) {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(m);
    };
    return o;
  }
  std::string All() {
    std::lock_guard<std::mutex> lock(mu);
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
  }
};

std::unique_ptr<NestedEventSink> MakeSink(const ScriptedRecording& rec, NestedSinkOptions o) {
  auto c = EventSocketClient::Connect(rec.path());
  AT_CHECK(c.ok());
  return std::make_unique<NestedEventSink>(rec.path(), std::move(*c), std::move(o));
}

Event ToolCall(const std::string& tool) {
  Event e;
  e.kind = EventKind::kToolCall;
  e.server = "s";
  e.tool = tool;
  e.json = "{}";
  return e;
}

// A recording slower than the note interval (the 10 s timeout of old, scaled down) is waited for:
// nothing is lost, and stderr says that tool events wait.
TEST(NestedEventSinkTest, SlowRecordingIsWaitedForNotDropped) {
  ScriptedRecording rec([](int, int index) { return Step{Reply::kOk, index == 0 ? 350 : 0}; });
  Warnings w;
  auto sink = MakeSink(rec, w.Options(100));
  ASSERT_TRUE(sink->Append(ToolCall("first")).ok());
  ASSERT_TRUE(sink->Append(ToolCall("second")).ok());
  EXPECT_EQ(sink->lost(), 0u);
  auto lines = rec.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"first\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"second\""), std::string::npos) << lines[1];
  EXPECT_NE(w.All().find("has not answered for"), std::string::npos) << w.All();
  EXPECT_NE(w.All().find("tool events wait"), std::string::npos) << w.All();
  EXPECT_EQ(rec.connections(), 1);
}

// The connection breaks before an event is answered: the event counts as lost, stderr says so at
// once, later events still go through (on a new connection), and the recording gets a gap with the
// count just before the next event.
TEST(NestedEventSinkTest, LostConnectionIsCountedSaidAndRecordedAsAGap) {
  ScriptedRecording rec([](int conn, int index) {
    return Step{conn == 0 && index == 1 ? Reply::kClose : Reply::kOk, 0};
  });
  Warnings w;
  auto sink = MakeSink(rec, w.Options(10000));
  ASSERT_TRUE(sink->Append(ToolCall("one")).ok());
  ASSERT_TRUE(sink->Append(ToolCall("two")).ok());
  EXPECT_EQ(sink->lost(), 1u);
  EXPECT_NE(w.All().find("a tool event was lost"), std::string::npos) << w.All();
  ASSERT_TRUE(sink->Append(ToolCall("three")).ok());
  EXPECT_EQ(sink->lost(), 1u);
  EXPECT_EQ(sink->gap_recorded(), 1u);
  auto lines = rec.Lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[2].find("\"kind\":\"gap\""), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("\"size\":1"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("\"three\""), std::string::npos) << lines[3];
  EXPECT_EQ(rec.connections(), 2);
  sink->Finish();
  EXPECT_NE(w.All().find("1 tool event lost; the recording holds a gap event for each loss"), std::string::npos)
      << w.All();
}

// A recording that never answers cannot hold the proxy's shutdown: once StopWaitingAfter's bound has
// passed the event is counted as lost, and later ones are counted at once.
TEST(NestedEventSinkTest, ShutdownBoundsTheWaitAndCountsWhatIsLeft) {
  ScriptedRecording rec([](int, int) { return Step{Reply::kNever, 0}; });
  Warnings w;
  auto sink = MakeSink(rec, w.Options(10000));
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    sink->StopWaitingAfter(200);
  });
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(sink->Append(ToolCall("stuck")).ok());
  stopper.join();
  // Some 300 ms on a quiet machine; without the bound it would wait for ever.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(sink->lost(), 1u);
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(sink->Append(ToolCall("later")).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // at once: no connection, no wait
  EXPECT_EQ(sink->lost(), 2u);
  EXPECT_EQ(rec.connections(), 1);
  sink->Finish();
  EXPECT_NE(w.All().find("before the proxy's shutdown"), std::string::npos) << w.All();
  EXPECT_NE(w.All().find("2 tool events lost; 2 of them are not even recorded as a gap"), std::string::npos) << w.All();
}

}  // namespace
}  // namespace agenttrace
