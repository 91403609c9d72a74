#include "replayer/path_map.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

namespace agenttrace {
namespace {

// Every key hashes alike: every lookup probes past the others and every tag compares equal, so the
// key bytes alone must tell entries apart.
struct CollidingHash {
  size_t operator()(std::string_view) const { return 0x1234567890abcdefull; }
};
// Two buckets: long probe chains that wrap around the table's end.
struct TwoValuedHash {
  size_t operator()(std::string_view s) const { return s.size() % 2 ? ~size_t{0} : size_t{0}; }
};

// The model: what the evaluator's unordered_map did (clear when full), plus the byte bound.
template <typename Hash>
void CheckAgainstModel(size_t max_entries, size_t max_bytes, uint32_t seed) {
  PathMap<int, Hash> map(max_entries, max_bytes);
  std::unordered_map<std::string, int> model;
  size_t model_bytes = 0;
  std::mt19937 rng(seed);
  const std::string alphabet = "ab/.";
  for (int step = 0; step < 20000; ++step) {
    std::string key;
    const size_t len = rng() % 7;  // includes "" and keys sharing prefixes
    for (size_t i = 0; i < len; ++i) key.push_back(alphabet[rng() % alphabet.size()]);
    if (rng() % 50 == 0) key.assign(max_bytes + 1 + rng() % 3, 'x');  // over the byte bound
    const int value = static_cast<int>(rng());
    if (rng() % 3 == 0) {
      int* found = map.Find(key);
      auto it = model.find(key);
      if (key.size() > max_bytes) {
        ASSERT_EQ(found, nullptr) << key;
        continue;
      }
      ASSERT_EQ(found != nullptr, it != model.end()) << "step " << step << " key " << key;
      if (found) {
        ASSERT_EQ(*found, it->second) << key;
      }
      continue;
    }
    bool inserted = false;
    const uint64_t gen = map.generation();
    int& v = map.FindOrInsert(key, &inserted);
    if (key.size() > max_bytes) {
      ASSERT_TRUE(inserted);
      ASSERT_EQ(v, 0);
      v = value;  // the scratch value: never found again
      continue;
    }
    auto it = model.find(key);
    if (it == model.end()) {
      if (model.size() >= max_entries || model_bytes + key.size() > max_bytes) {
        model.clear();
        model_bytes = 0;
        ASSERT_NE(map.generation(), gen) << "a full map must clear (step " << step << ")";
      } else {
        ASSERT_EQ(map.generation(), gen) << "cleared early at step " << step;
      }
      ASSERT_TRUE(inserted) << key;
      ASSERT_EQ(v, 0) << "a new entry starts value-initialised: " << key;
      model.emplace(key, value);
      model_bytes += key.size();
    } else {
      ASSERT_FALSE(inserted) << key;
      ASSERT_EQ(v, it->second) << key;
      it->second = value;
      ASSERT_EQ(map.generation(), gen);
    }
    v = value;
    ASSERT_EQ(map.size(), model.size());
  }
}

TEST(PathMapTest, AgreesWithAMapThatClearsWhenFull) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    CheckAgainstModel<std::hash<std::string_view>>(200, 1 << 20, seed);  // the entry bound binds
    CheckAgainstModel<std::hash<std::string_view>>(100000, 300, seed);   // the byte bound binds
  }
}

TEST(PathMapTest, AgreesWithTheModelWhenEveryHashCollides) {
  CheckAgainstModel<CollidingHash>(40, 1 << 20, 7);
  CheckAgainstModel<TwoValuedHash>(60, 200, 8);
}

TEST(PathMapTest, IndexesSurviveInsertsUntilAClear) {
  PathMap<int> map(1000, 1 << 20);
  const size_t a = map.Index("/a");
  map.at(a) = 41;
  std::vector<size_t> others;
  for (int i = 0; i < 500; ++i) others.push_back(map.Index("/b" + std::to_string(i)));  // grows the table
  EXPECT_EQ(map.at(a), 41);
  EXPECT_EQ(map.Index("/a"), a);
  const uint64_t gen = map.generation();
  map.Clear();
  EXPECT_NE(map.generation(), gen);
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.Find("/a"), nullptr);
  bool inserted = false;
  EXPECT_EQ(map.FindOrInsert("/a", &inserted), 0);
  EXPECT_TRUE(inserted);
}

TEST(PathMapDeathTest, AnIndexKeptAcrossAClearIsRefused) {
  PathMap<int> map(1000, 1 << 20);
  map.Index("/a");
  const size_t b = map.Index("/b");
  map.Clear();
  map.Index("/c");
  EXPECT_DEATH(map.at(b), "stale PathMap index");
}

TEST(PathMapTest, AKeyOverTheByteBoundIsNeverStored) {
  PathMap<int> map(10, 8);
  bool inserted = false;
  const size_t k = map.Index("/123456789", &inserted);
  EXPECT_EQ(k, (PathMap<int>::kScratch));
  EXPECT_TRUE(inserted);
  map.at(k) = 5;
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.Find("/123456789"), nullptr);
  EXPECT_EQ(map.FindOrInsert("/123456789"), 0);  // reset at each lookup
}

}  // namespace
}  // namespace agenttrace
