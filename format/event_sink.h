// The one interface every event producer writes to: the tracer, the MCP proxies (stdio and HTTP),
// the event socket, cassette serving and transcript import. Producers only append; the
// session-level steps (redaction, size bounds, a gap event when the store fails) happen once,
// behind this interface, in RecordingSink (recorder/recording_sink.h) and AsyncSessionWriter
// (format/store.h), so that no producer can skip or repeat them.
//
//   producers -> EventSink -> RecordingSink (redacts) -> AsyncSessionWriter -> store
//
// Other implementations forward rather than store (NestedEventSink: to the enclosing recording's
// event socket) or collect in tests.
#ifndef AGENTTRACE_FORMAT_EVENT_SINK_H_
#define AGENTTRACE_FORMAT_EVENT_SINK_H_

#include "format/event.h"
#include "format/status.h"

namespace agenttrace {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Takes a copy of `event` (the caller may reuse it). A non-OK status means the event was not
  // taken; the producer decides whether to go on (each says so where it calls Append).
  virtual Status Append(const Event& event) = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_EVENT_SINK_H_
