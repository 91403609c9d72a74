// Whether the tracer polls for the next ptrace stop before it sleeps in waitpid, and for how long.
//
// A stop that finds the tracer asleep must wake it, and on a VM whose idle vCPUs halt that wake-up,
// across CPUs, costs tens of µs (docs/benchmarks.md, "Polling for the next stop"): on syscall-heavy
// agents it was most of what recording cost. Polling for up to `budget_ns` after resuming a tracee
// catches the next stop awake. That pays when stops follow each other quickly (a tracee on another
// CPU making system calls), and costs the budget on the tracer's CPU when they do not (a tracee that
// computes, or that needs the tracer's CPU to run). So it adapts: a score rises with each stop caught
// while polling and falls with each poll that ran out; below zero the tracer sleeps at once, and
// polls only every kProbeEvery-th wait to notice when stops come quickly again. A probe that catches
// a stop resumes polling at once: winning the score back one catch at a time left a whole run in
// whichever mode its first stops chose (the TCP workload recorded in 240 or 300 ms from one run to
// the next), while a catch that was luck costs at most two budgets before the score is negative again.
//
// Thread-safety: thread-compatible (the tracer's own thread).
#ifndef AGENTTRACE_RECORDER_ADAPTIVE_SPIN_H_
#define AGENTTRACE_RECORDER_ADAPTIVE_SPIN_H_

#include <cstdint>

namespace agenttrace {

class AdaptiveSpin {
 public:
  static constexpr int kMaxScore = 8;
  static constexpr uint32_t kProbeEvery = 64;

  // `budget_ns` <= 0: never poll.
  explicit AdaptiveSpin(int64_t budget_ns) : budget_ns_(budget_ns) {}

  // How long to poll before the next wait: the budget, or 0 (sleep at once).
  int64_t Next() {
    if (budget_ns_ <= 0) return 0;
    if (score_ >= 0) return budget_ns_;
    return ++waits_since_probe_ % kProbeEvery == 0 ? budget_ns_ : 0;
  }
  // The poll caught a stop. A caught probe forgives the misses before it.
  void Caught() {
    if (score_ < 0) score_ = 0;
    if (score_ < kMaxScore) ++score_;
    waits_since_probe_ = 0;
  }
  // The poll ran out before a stop came.
  void Missed() {
    if (score_ > -kMaxScore) --score_;
  }

  int score() const { return score_; }

 private:
  int64_t budget_ns_;
  int score_ = 0;
  uint32_t waits_since_probe_ = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_ADAPTIVE_SPIN_H_
