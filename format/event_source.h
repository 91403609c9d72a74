// EventSource: the one interface every producer of events implements (stored session, tracer,
// MCP proxy, ingestion socket, synthetic streams in tests), so that consumers such as the replay
// engine and the exporter do not care where events come from.
#ifndef AGENTTRACE_FORMAT_EVENT_SOURCE_H_
#define AGENTTRACE_FORMAT_EVENT_SOURCE_H_

#include <vector>

#include "format/event.h"
#include "format/status.h"

namespace agenttrace {

class EventSource {
 public:
  virtual ~EventSource() = default;

  // Returns the next event; nullptr at the end of the stream; a non-OK Status on failure (after a
  // failure the source is at its end). The event is owned by the source and stays valid until the next
  // call to Next() or the source's destruction: copy what must outlive that.
  virtual Result<const Event*> Next() = 0;
};

// A source over events held in memory (tests, import). Does not copy: `events` must outlive it.
class VectorEventSource final : public EventSource {
 public:
  explicit VectorEventSource(const std::vector<Event>* events) : events_(events) {}
  Result<const Event*> Next() override {
    if (pos_ >= events_->size()) return static_cast<const Event*>(nullptr);
    return &(*events_)[pos_++];
  }

 private:
  const std::vector<Event>* events_;
  size_t pos_ = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_EVENT_SOURCE_H_
