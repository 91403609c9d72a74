// Where a nested `agenttrace record --mcp` (run under `agenttrace record -- AGENT`) sends its tool
// events: the enclosing recording's event socket, one acknowledged line per event.
//
// Never a silent drop. While the recording is there the sink waits for each answer as long as it
// takes (back-pressure: the proxy's recorder thread waits, its queue fills, and forwarding finally
// waits too, like the tracer's agent waits for the store), saying on stderr every `note_after_ms` of
// waiting that it is waiting. An event that cannot be delivered (the connection failed, or no answer
// came before the shutdown bound set by StopWaitingAfter) is counted; the count goes into the
// recording as a `gap` event as soon as the socket answers again (on a new connection), and every loss
// is said on stderr. Append never fails, so that one loss does not stop the recording of later events.
//
// Thread-safety: Append and Finish from one thread (the proxy's recorder thread); StopWaitingAfter from
// any thread.
#ifndef AGENTTRACE_RECORDER_NESTED_EVENT_SINK_H_
#define AGENTTRACE_RECORDER_NESTED_EVENT_SINK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "format/event.h"
#include "format/event_sink.h"
#include "format/status.h"
#include "recorder/event_socket.h"

namespace agenttrace {

struct NestedSinkOptions {
  int note_after_ms = 10000;  // a stderr note after each such wait for one answer
  // Receives each message for stderr (one line, without the newline). Required.
  std::function<void(const std::string&)> warn;
};

class NestedEventSink final : public EventSink {
 public:
  // `client` is connected to the socket at `path` (reconnected there after a failure).
  NestedEventSink(std::string path, std::unique_ptr<EventSocketClient> client, NestedSinkOptions options);

  // Delivers `event`, waiting for its answer (see above). Always OK.
  Status Append(const Event& event) override;
  // From now on, stop waiting for an answer `ms` milliseconds from now: an event still unanswered then
  // is counted as lost, and later events are counted at once (no new connection is tried). For the
  // proxy's shutdown, which must end even if the recording stopped answering.
  void StopWaitingAfter(int64_t ms);
  // At the end: records a gap for losses not recorded yet (one try), and says on stderr what was lost.
  void Finish();

  uint64_t lost() const { return lost_; }             // events not delivered
  uint64_t gap_recorded() const { return in_gaps_; }  // of which a recorded gap tells

 private:
  bool Connected();                                         // reconnects if needed and allowed
  bool Deliver(const std::string& line, std::string* why);  // one line and its answer
  void Lose(const std::string& why);
  void RecordGap();

  std::string path_;
  std::unique_ptr<EventSocketClient> client_;
  NestedSinkOptions options_;
  std::atomic<int64_t> deadline_ms_{-1};  // CLOCK_MONOTONIC; -1: wait as long as it takes
  bool stopped_ = false;                  // the deadline passed: deliver nothing more
  uint64_t lost_ = 0;
  uint64_t in_gaps_ = 0;
  std::string first_why_;  // why the first loss not yet in a gap happened
  std::string line_;       // reused
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_NESTED_EVENT_SINK_H_
