#include "recorder/end_of_run.h"

#include <time.h>

#include <string>

#include "format/clock.h"
#include "format/event.h"

namespace agenttrace {

EndOfRun FinishRecording(AsyncSessionWriter& writer, const EndOfRunFacts& f) {
  EndOfRun out;
  out.store_failure = f.seen_failure;
  out.failure_ended_run = f.failure_ended_run;
  out.fails_recording = f.failure_ended_run;
  // Drained before anything is decided: a failure in the last writes is handled as one during the run.
  const Status drained = writer.Flush();
  if (out.store_failure.ok() && !drained.ok()) {
    out.store_failure = drained;
    out.failure_at_end = true;
  }
  // Without a writer failure the sink can still have refused single events (over the per-event bound).
  const bool refused_only = out.store_failure.ok() && !f.refused_status.ok();
  if (refused_only) out.store_failure = f.refused_status;
  if (out.store_failure.ok()) {
    Status finished = writer.Finish(f.exit_code, f.signal);
    if (finished.ok()) return out;
    // Every event is stored, but the commit that completes the session failed: it reads incomplete
    // with all of them, and no gap is due.
    out.store_failure = finished;
    out.failure_at_end = true;
    out.finish_error = finished;
    out.fails_recording = f.policy != StoreFailurePolicy::kContinue;
    return out;
  }
  // Events were lost: the session must not read as complete. Record the loss if anything can still
  // be written (the gap continues from the last commit, so the failed writes leave their room), then
  // finish it incomplete.
  if (!drained.ok()) {
    Result<uint64_t> gap = writer.RecordGap("store failure: " + drained.message());
    if (gap.ok()) {
      out.events_lost = *gap;
    } else {
      out.gap_error = gap.status();
    }
    // There is nothing left to kill or pause: `stop` still fails the recording, `pause` does when the
    // store did not take the gap (a pause the store never came back from), `continue` never does.
    if (f.policy == StoreFailurePolicy::kStop || (f.policy == StoreFailurePolicy::kPause && !gap.ok())) {
      out.fails_recording = true;
    }
  } else if (refused_only) {
    Event gap;
    gap.kind = EventKind::kGap;
    gap.mono_ns = ClockNs(CLOCK_MONOTONIC);
    gap.wall_ns = ClockNs(CLOCK_REALTIME);
    gap.size = static_cast<int64_t>(f.events_refused);
    gap.text = "events refused by the writer: " + f.refused_status.message();
    out.gap_error = writer.Append(gap);
    if (out.gap_error.ok()) out.events_lost = f.events_refused;
  }
  out.finish_error = writer.FinishIncomplete(f.exit_code, f.signal);
  return out;
}

}  // namespace agenttrace
