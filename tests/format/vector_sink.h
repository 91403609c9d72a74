// VectorEventSink: an EventSink that keeps what it is given, for tests of producers (the tracer, the
// MCP proxies). Thread-safe: producers append from their own threads while a test reads Events().
#ifndef AGENTTRACE_TESTS_FORMAT_VECTOR_SINK_H_
#define AGENTTRACE_TESTS_FORMAT_VECTOR_SINK_H_

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "format/event.h"
#include "format/event_sink.h"
#include "format/status.h"

namespace agenttrace {

class VectorEventSink final : public EventSink {
 public:
  VectorEventSink() = default;
  // Keeps only the events `keep` accepts (a test that looks at a few among very many).
  explicit VectorEventSink(std::function<bool(const Event&)> keep) : keep_(std::move(keep)) {}

  // From now on Append refuses every event with `status` (a failing store).
  void FailWith(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }

  Status Append(const Event& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_.ok()) return fail_;
    if (!keep_ || keep_(event)) events_.push_back(event);
    return Status::Ok();
  }

  std::vector<Event> Events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<Event> TakeEvents() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(events_, {});
  }

 private:
  mutable std::mutex mu_;
  std::function<bool(const Event&)> keep_;
  Status fail_ = Status::Ok();
  std::vector<Event> events_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_FORMAT_VECTOR_SINK_H_
