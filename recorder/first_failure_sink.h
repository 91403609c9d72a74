// FirstFailureSink: what a producer that must not stop does when its sink fails. The MCP proxies and
// cassette serving go on forwarding or answering when the store refuses an event, but recording stops
// at that first refusal: later events are refused with the same status without reaching the sink, so
// that a recording with a hole in the middle never looks whole. The producer reports status() and
// the events taken (appended()) at its end.
//
// Thread-safety: none; used from the one thread that records.
#ifndef AGENTTRACE_RECORDER_FIRST_FAILURE_SINK_H_
#define AGENTTRACE_RECORDER_FIRST_FAILURE_SINK_H_

#include <cstdint>

#include "format/event.h"
#include "format/event_sink.h"
#include "format/status.h"

namespace agenttrace {

class FirstFailureSink final : public EventSink {
 public:
  // `inner` must outlive this sink.
  explicit FirstFailureSink(EventSink& inner) : inner_(inner) {}

  Status Append(const Event& event) override {
    if (!status_.ok()) return status_;
    status_ = inner_.Append(event);
    if (status_.ok()) ++appended_;
    return status_;
  }

  // The first error `inner` returned (nothing was passed on after it), else OK.
  const Status& status() const { return status_; }
  // Events `inner` took.
  uint64_t appended() const { return appended_; }

 private:
  EventSink& inner_;
  Status status_ = Status::Ok();
  uint64_t appended_ = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_FIRST_FAILURE_SINK_H_
