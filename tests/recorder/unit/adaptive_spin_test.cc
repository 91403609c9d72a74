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

TEST(AdaptiveSpinTest, OneCaughtProbeResumesPollingAfterALongRunOfMisses) {
  AdaptiveSpin s(kBudget);
  PollsGrantedWhileMissing(s, 10'000);
  ASSERT_EQ(s.score(), -AdaptiveSpin::kMaxScore);
  // Stops come quickly again: the first probe catches one, and every wait after it polls.
  int waits = 0;
  while (s.Next() == 0) ASSERT_LT(++waits, static_cast<int>(AdaptiveSpin::kProbeEvery)) << "no probe";
  s.Caught();
  EXPECT_EQ(s.score(), 1);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(s.Next(), kBudget) << i;
    s.Caught();
  }
}

TEST(AdaptiveSpinTest, AProbeCaughtByLuckCostsTwoBudgetsAtMost) {
  // A tracee that computes between calls: the one probe in kProbeEvery that happens to catch a stop
  // turns polling on, and the polls that then run out turn it off again after two.
  AdaptiveSpin s(kBudget);
  PollsGrantedWhileMissing(s, 1000);
  ASSERT_LT(s.score(), 0);
  while (s.Next() == 0) {
  }
  s.Caught();
  EXPECT_EQ(PollsGrantedWhileMissing(s, static_cast<int>(AdaptiveSpin::kProbeEvery) - 1), 2);
  EXPECT_LT(s.score(), 0);
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
