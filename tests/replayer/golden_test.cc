// Golden tests: stored sessions (JSON lines) replayed against stored policies must give exactly the
// stored reports, byte for byte; likewise for behaviour diffs.
//
// Layout: tests/golden/<case>/policy.yaml, tests/golden/<case>/sessions/*.jsonl,
// tests/golden/<case>/expected.json and expected.md, and expected-html-data.json (the data the HTML
// report embeds, pretty-printed). Diff cases: tests/golden/diff-<case>/a.jsonl,
// b.jsonl, diff-policy.yaml and expected.txt, expected.json, expected.md. To regenerate after an intended change of
// behaviour or report format, run the test with AGENTTRACE_REGENERATE_GOLDEN=1 and review the diff:
//   AGENTTRACE_REGENERATE_GOLDEN=1 ctest -R replayer_golden
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "replayer/diff.h"
#include "replayer/html_report.h"
#include "replayer/policy.h"
#include "replayer/replay.h"
#include "replayer/report.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Cases() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(AGENTTRACE_GOLDEN_DIR)) {
    if (e.is_directory() && fs::exists(e.path() / "policy.yaml")) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, ReportsMatchByteForByte) {
  fs::path dir = fs::path(AGENTTRACE_GOLDEN_DIR) / GetParam();
  auto policy = ParsePolicy(ReadAll(dir / "policy.yaml"), "policy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir / "sessions")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  std::vector<SessionInput> inputs;
  for (const fs::path& f : files) {
    auto in = JsonlFileInput(f.string(), "sessions/" + f.filename().string());
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    inputs.push_back(std::move(*in));
  }
  ReplayOptions opt;
  opt.threads = 3;
  opt.promotion = policy->promotion;
  const std::vector<SessionInput> kept = inputs;
  auto report = RunReplay(*policy, std::move(inputs), opt);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::string json = RenderJson(*report);
  std::string md = RenderMarkdown(*report);
  // The HTML report's timeline evaluates events with their explanation: verdicts must not change.
  ReplayOptions with_timeline = opt;
  with_timeline.timeline = true;
  auto report2 = RunReplay(*policy, kept, with_timeline);
  ASSERT_TRUE(report2.ok()) << report2.status().ToString();
  EXPECT_EQ(RenderJson(*report2), json);
  auto diffs = ComputeHtmlDiffs(*report2, kept, *policy);
  ASSERT_TRUE(diffs.ok()) << diffs.status().ToString();
  std::string html_data = nlohmann::ordered_json::parse(HtmlReportData(*report2, *diffs)).dump(1) + "\n";
  const char* regen = std::getenv("AGENTTRACE_REGENERATE_GOLDEN");
  if (regen != nullptr && std::string(regen) == "1") {
    std::ofstream(dir / "expected.json", std::ios::binary) << json;
    std::ofstream(dir / "expected.md", std::ios::binary) << md;
    std::ofstream(dir / "expected-html-data.json", std::ios::binary) << html_data;
    GTEST_SKIP() << "regenerated " << dir.string();
  }
  ASSERT_TRUE(fs::exists(dir / "expected.json")) << "missing; regenerate (see the top of golden_test.cc)";
  EXPECT_EQ(json, ReadAll(dir / "expected.json"));
  EXPECT_EQ(md, ReadAll(dir / "expected.md"));
  EXPECT_EQ(html_data, ReadAll(dir / "expected-html-data.json"));
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

std::vector<std::string> DiffCases() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(AGENTTRACE_GOLDEN_DIR)) {
    std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("diff-", 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

SessionInput FileInput(const fs::path& f) {
  auto in = JsonlFileInput(f.string(), f.filename().string());
  EXPECT_TRUE(in.ok()) << in.status().ToString();
  if (!in.ok()) return SessionInput();
  return std::move(*in);
}

class DiffGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DiffGoldenTest, DiffReportsMatchByteForByte) {
  fs::path dir = fs::path(AGENTTRACE_GOLDEN_DIR) / GetParam();
  auto policy = ParsePolicy(ReadAll(dir / "diff-policy.yaml"), "diff-policy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  std::vector<SessionInput> a, b;
  a.push_back(FileInput(dir / "a.jsonl"));
  b.push_back(FileInput(dir / "b.jsonl"));
  auto report = RunDiff(std::move(a), "a.jsonl", std::move(b), "b.jsonl", &*policy);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::string text = RenderDiffText(*report);
  std::string json = RenderDiffJson(*report);
  std::string md = RenderDiffMarkdown(*report);
  const char* regen = std::getenv("AGENTTRACE_REGENERATE_GOLDEN");
  if (regen != nullptr && std::string(regen) == "1") {
    std::ofstream(dir / "expected.txt", std::ios::binary) << text;
    std::ofstream(dir / "expected.json", std::ios::binary) << json;
    std::ofstream(dir / "expected.md", std::ios::binary) << md;
    GTEST_SKIP() << "regenerated " << dir.string();
  }
  ASSERT_TRUE(fs::exists(dir / "expected.txt")) << "missing; regenerate (see the top of golden_test.cc)";
  EXPECT_EQ(text, ReadAll(dir / "expected.txt"));
  EXPECT_EQ(json, ReadAll(dir / "expected.json"));
  EXPECT_EQ(md, ReadAll(dir / "expected.md"));
}

INSTANTIATE_TEST_SUITE_P(Cases, DiffGoldenTest, ::testing::ValuesIn(DiffCases()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

}  // namespace
}  // namespace agenttrace
