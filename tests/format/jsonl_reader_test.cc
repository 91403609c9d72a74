// JsonlReader: the one reader of JSON-lines sessions (import, replay and diff of .jsonl files).
#include "format/jsonl_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "format/event_json.h"
#include "tests/format/temp_dir.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;

std::string Header(uint64_t declared_events = 0) {
  SessionInfo info;
  info.label = "agent-v1";
  info.event_count = declared_events;
  return SessionHeaderToJson(info);
}

std::string EventLine(uint64_t seq) {
  Event e;
  e.seq = seq;
  e.wall_ns = 1000 + static_cast<int64_t>(seq);
  e.pid = 7;
  e.kind = EventKind::kAnnotation;
  e.text = "event " + std::to_string(seq);
  return EventToJson(e);
}

class JsonlReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  // Reads every event; returns the seqs read and sets *error to the failure, if any.
  static std::vector<uint64_t> Drain(JsonlReader& r, Status* error) {
    std::vector<uint64_t> seqs;
    for (;;) {
      auto next = r.Next();
      if (!next.ok()) {
        *error = next.status();
        // After a failure the source is at its end.
        auto after = r.Next();
        EXPECT_TRUE(after.ok() && *after == nullptr);
        return seqs;
      }
      if (*next == nullptr) return seqs;
      seqs.push_back((*next)->seq);
    }
  }
  testing::TempDir dir_;
};

TEST_F(JsonlReaderTest, StreamsHeaderThenEventsSkippingBlankLines) {
  std::string path = Write("ok.jsonl", Header(3) + "\n" + EventLine(0) + "\n\n" + EventLine(1) + "\n" + EventLine(2));
  auto r = JsonlReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->info().label, "agent-v1");
  auto first = (*r)->Next();
  ASSERT_TRUE(first.ok() && *first != nullptr);
  EXPECT_EQ((*first)->text, "event 0");
  EXPECT_EQ((*r)->line(), 2u);
  Status error;
  EXPECT_EQ(Drain(**r, &error), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(error.ok()) << error.ToString();
  EXPECT_EQ((*r)->events_read(), 3u);
  EXPECT_EQ((*r)->line(), 6u);  // the blank line 4 counts; the end of input is line 6
}

TEST_F(JsonlReaderTest, SeqGapIsCorruptionNamingFileAndLine) {
  std::string path = Write("gap.jsonl", Header() + "\n" + EventLine(0) + "\n" + EventLine(2) + "\n" + EventLine(3));
  auto r = JsonlReader::Open(path);
  ASSERT_TRUE(r.ok());
  Status error;
  EXPECT_EQ(Drain(**r, &error), (std::vector<uint64_t>{0}));
  EXPECT_EQ(error.code(), StatusCode::kCorruption);
  EXPECT_THAT(error.message(), HasSubstr(path + ": line 3: event seq 2, expected 1"));
}

TEST_F(JsonlReaderTest, SeqMustStartAtZero) {
  auto r = JsonlReader::Open(Write("late.jsonl", Header() + "\n" + EventLine(1)));
  ASSERT_TRUE(r.ok());
  Status error;
  EXPECT_TRUE(Drain(**r, &error).empty());
  EXPECT_THAT(error.message(), HasSubstr("line 2: event seq 1, expected 0"));
}

TEST_F(JsonlReaderTest, BadEventLineIsCorruption) {
  auto r = JsonlReader::Open(Write("bad.jsonl", Header() + "\n" + EventLine(0) + "\n{\"seq\":1, nope\n"));
  ASSERT_TRUE(r.ok());
  Status error;
  EXPECT_EQ(Drain(**r, &error).size(), 1u);
  EXPECT_EQ(error.code(), StatusCode::kCorruption);
  EXPECT_THAT(error.message(), HasSubstr("bad.jsonl: line 3: "));
}

TEST_F(JsonlReaderTest, DeclaredEventCountMustMatch) {
  auto r = JsonlReader::Open(Write("short.jsonl", Header(3) + "\n" + EventLine(0) + "\n" + EventLine(1) + "\n"));
  ASSERT_TRUE(r.ok());
  Status error;
  EXPECT_EQ(Drain(**r, &error).size(), 2u);
  EXPECT_EQ(error.code(), StatusCode::kCorruption);
  EXPECT_THAT(error.message(), HasSubstr("header declares 3 events but 2 were read"));
}

TEST_F(JsonlReaderTest, HeaderProblemsFailOpen) {
  auto empty = JsonlReader::Open(Write("empty.jsonl", ""));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(empty.status().message(), HasSubstr("empty.jsonl: empty input"));
  auto bad = JsonlReader::Open(Write("header.jsonl", "{\"format\":\"other\"}\n" + EventLine(0)));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(bad.status().message(), HasSubstr("header.jsonl: line 1: "));
  auto missing = JsonlReader::Open(dir_.path() + "/missing.jsonl");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().code(), StatusCode::kCorruption);
}

TEST_F(JsonlReaderTest, OverlongLineIsRefusedWithoutReadingItWhole) {
  std::string huge =
      "{\"seq\":0,\"ts_ns\":1,\"kind\":\"annotation\",\"text\":\"" + std::string(kMaxJsonLineBytes, 'x') + "\"}";
  auto r = JsonlReader::Open(Write("long.jsonl", Header() + "\n" + huge + "\n"));
  ASSERT_TRUE(r.ok());
  Status error;
  EXPECT_TRUE(Drain(**r, &error).empty());
  EXPECT_EQ(error.code(), StatusCode::kCorruption);
  EXPECT_THAT(error.message(), HasSubstr("long.jsonl: line 2: line longer than the limit"));
}

TEST_F(JsonlReaderTest, ReadsAPipeInPieces) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string text = Header(2000) + "\n";
  for (uint64_t i = 0; i < 2000; ++i) text += EventLine(i) + "\n";
  std::thread writer([&] {
    // Small writes, so lines arrive split across reads.
    for (size_t pos = 0; pos < text.size(); pos += 777) {
      size_t n = std::min<size_t>(777, text.size() - pos);
      ASSERT_EQ(::write(fds[1], text.data() + pos, n), static_cast<ssize_t>(n));
    }
    ::close(fds[1]);
  });
  auto r = JsonlReader::FromFd(fds[0], "standard input");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Status error;
  auto seqs = Drain(**r, &error);
  writer.join();
  ::close(fds[0]);
  EXPECT_TRUE(error.ok()) << error.ToString();
  ASSERT_EQ(seqs.size(), 2000u);
  EXPECT_EQ(seqs.back(), 1999u);
}

}  // namespace
}  // namespace agenttrace
