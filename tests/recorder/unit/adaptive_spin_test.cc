// recorder/adaptive_spin.h: the tracer polls while polling catches stops, stops polling when it
// keeps running out, and probes now and then to start again.
#include "recorder/adaptive_spin.h"

#include <gtest/gtest.h>

namespace agenttrace {
namespace {

constexpr int64_t kBudget = 60'000;

// The polls that Next() grants in `waits` waits, each of which runs out.
int PollsGrantedWhileMissing(AdaptiveSpin& s, int waits) {
  int polls = 0;
  for (int i = 0; i < waits; ++i) {
    if (s.Next() > 0) {
      ++polls;
      s.Missed();
    }
  }
  return polls;
}

TEST(AdaptiveSpinTest, PollsFromTheStartAndWhileItCatchesStops) {
  AdaptiveSpin s(kBudget);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(s.Next(), kBudget) << i;
    s.Caught();
  }
  EXPECT_EQ(s.score(), AdaptiveSpin::kMaxScore);
}

TEST(AdaptiveSpinTest, ABudgetOfZeroNeverPolls) {
  AdaptiveSpin s(0);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(s.Next(), 0);
}

TEST(AdaptiveSpinTest, StopsPollingWhenPollsRunOutThenOnlyProbes) {
  AdaptiveSpin s(kBudget);
  // From 0, one miss makes the score negative: the next waits sleep at once.
  EXPECT_EQ(s.Next(), kBudget);
  s.Missed();
  EXPECT_LT(s.score(), 0);
  // While every poll runs out, one wait in kProbeEvery polls.
  const int waits = 64 * static_cast<int>(AdaptiveSpin::kProbeEvery);
  EXPECT_EQ(PollsGrantedWhileMissing(s, waits), 64);
  EXPECT_EQ(s.score(), -AdaptiveSpin::kMaxScore);  // bounded: a later run of caught stops wins it back
}

TEST(AdaptiveSpinTest, ALongRunOfMissesIsForgivenByAsManyCaughtProbes) {
  AdaptiveSpin s(kBudget);
  PollsGrantedWhileMissing(s, 10'000);
  ASSERT_EQ(s.score(), -AdaptiveSpin::kMaxScore);
  // Stops come quickly again: each probe catches one, and after kMaxScore of them polling resumes.
  int probes = 0;
  for (int i = 0; i < 100'000 && s.score() < 0; ++i) {
    if (s.Next() > 0) {
      ++probes;
      s.Caught();
    }
  }
  EXPECT_EQ(probes, AdaptiveSpin::kMaxScore);
  EXPECT_EQ(s.score(), 0);
  EXPECT_EQ(s.Next(), kBudget);
}

TEST(AdaptiveSpinTest, EvenlyMixedOutcomesKeepPolling) {
  // Half the polls catch a stop: the score stays near zero and the tracer keeps polling (a tracee
  // on another CPU whose every other stop comes late still gains from the half that does not).
  AdaptiveSpin s(kBudget);
  int granted = 0;
  for (int i = 0; i < 1000; ++i) {
    if (s.Next() == 0) continue;
    ++granted;
    if (i % 2 == 0) {
      s.Caught();
    } else {
      s.Missed();
    }
  }
  EXPECT_GT(granted, 900);
}

}  // namespace
}  // namespace agenttrace
