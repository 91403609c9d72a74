// Replays the committed seed corpus through the policy fuzz entry as an ordinary test, so that every
// build exercises it (the libFuzzer target itself needs -DAGENTTRACE_FUZZ=ON and clang).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "replayer/policy.h"
#include "tests/fuzz_policy/fuzz_policy.h"

namespace agenttrace {
namespace {

TEST(FuzzPolicyCorpusTest, EverySeedRunsAndTheCorpusIsNotEmpty) {
  size_t n = 0, valid = 0;
  for (const auto& e : std::filesystem::directory_iterator(AGENTTRACE_POLICY_CORPUS_DIR)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string data = ss.str();
    FuzzPolicyOne(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    if (ParsePolicy(data, "seed").ok()) ++valid;
    ++n;
  }
  EXPECT_GE(n, 10u);
  EXPECT_GE(valid, 3u);      // the seeds include valid policies ...
  EXPECT_LT(valid, n);       // ... and invalid ones
}

}  // namespace
}  // namespace agenttrace
