// An AsyncSessionWriter that keeps events in memory, for tests of event producers.
#ifndef AGENTTRACE_TESTS_MCP_FAKE_WRITER_H_
#define AGENTTRACE_TESTS_MCP_FAKE_WRITER_H_

#include <mutex>
#include <vector>

#include "format/store.h"

namespace agenttrace {

class FakeAsyncWriter final : public AsyncSessionWriter {
 public:
  Status Append(const Event& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(event);
    return Status::Ok();
  }
  void UpdateInfo(const std::function<void(SessionInfo*)>& fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    fn(&info_);
  }
  Status Finish(int32_t, int32_t) override { return Status::Ok(); }
  SessionId id() const override { return SessionId{}; }
  std::vector<Event> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::vector<Event> events_;
  SessionInfo info_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_MCP_FAKE_WRITER_H_
