// What a recording does with its session once every traced process has exited: store what is still
// queued, and either complete the session or, when events were lost to a store failure (docs/cli.md,
// --on-store-failure), record the loss as a `gap` event if anything can still be written and end the
// session incomplete.
//
// A store failure can surface here for the first time: a short agent that produces events faster
// than the writer thread stores them can exit before the writer reaches the write that fails, so the
// failure only shows in the final drain. It is handled as one found during the run (the same gap,
// the same incomplete session), except that nothing is left to kill or pause; whether it fails the
// recording follows the policy (EndOfRunFacts::policy).
//
// Thread-safety: call once, from the thread that ran the tracer, after every producer of the session
// has stopped (the tracer returned, the event socket stopped).
#ifndef AGENTTRACE_RECORDER_END_OF_RUN_H_
#define AGENTTRACE_RECORDER_END_OF_RUN_H_

#include <cstdint>

#include "format/status.h"
#include "format/store.h"
#include "recorder/run_control.h"

namespace agenttrace {

// What the run knows about store failures when its last traced process has exited.
struct EndOfRunFacts {
  int exit_code = 0;  // the agent's status, recorded in the session
  int signal = 0;
  StoreFailurePolicy policy = StoreFailurePolicy::kStop;
  Status seen_failure;             // the writer failure the supervisor was told of during the run; OK: none
  bool failure_ended_run = false;  // the supervisor killed the tree, or left it paused, because of it
  // Events the sink refused one by one without a writer failure (over the per-event bound).
  Status refused_status;
  uint64_t events_refused = 0;
};

struct EndOfRun {
  Status store_failure;            // the first store failure, during the run or at its end; OK: none
  bool failure_at_end = false;     // first seen when the last events were stored, after the run
  bool failure_ended_run = false;  // the agent was killed (or left paused) because of it
  // The policy says the store failure fails the recording (`record` exits 125): it ended the run;
  // or it came at the end under `stop`, or under `pause` and the loss could not be recorded (a pause
  // that never saw the store come back).
  bool fails_recording = false;
  uint64_t events_lost = 0;  // counted by the gap event written here (a pause's earlier gaps not included)
  Status gap_error;          // why the loss could not be recorded as a gap (its message counts the events)
  Status finish_error;       // why the session could not be finished (it reads incomplete)
};

// Stores what `writer` still holds, then finishes the session: complete when nothing was lost,
// otherwise incomplete after a gap event counting the loss. Never returns the store's error: it is
// reported in EndOfRun.
EndOfRun FinishRecording(AsyncSessionWriter& writer, const EndOfRunFacts& facts);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_END_OF_RUN_H_
