#include "recorder/nested_event_sink.h"

#include <time.h>

#include <algorithm>

#include "format/event_json.h"

namespace agenttrace {
namespace {

constexpr int64_t kSliceMs = 100;

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// "0.3", "12.0".
std::string Seconds(int64_t ms) { return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100); }

}  // namespace

NestedEventSink::NestedEventSink(std::string path, std::unique_ptr<EventSocketClient> client, NestedSinkOptions options)
    : path_(std::move(path)), client_(std::move(client)), options_(std::move(options)) {}

void NestedEventSink::StopWaitingAfter(int64_t ms) { deadline_ms_.store(NowMs() + ms); }

bool NestedEventSink::Connected() {
  if (client_ != nullptr) return true;
  if (stopped_) return false;
  auto c = EventSocketClient::Connect(path_);
  if (!c.ok()) return false;
  client_ = std::move(*c);
  return true;
}

bool NestedEventSink::Deliver(const std::string& line, std::string* why) {
  if (!Connected()) {
    *why = stopped_ ? "the recording stopped answering before the proxy's shutdown"
                    : "the recording's event socket " + path_ + " accepts no connection";
    return false;
  }
  Status s = client_->Send(line);
  if (!s.ok()) {
    client_.reset();
    *why = s.message();
    return false;
  }
  // Waits in slices, so that a bound set meanwhile by StopWaitingAfter (another thread) is seen.
  const int64_t started = NowMs();
  int64_t next_note = started + options_.note_after_ms;
  for (;;) {
    const int64_t deadline = deadline_ms_.load();
    int64_t until = next_note;
    if (deadline >= 0) until = std::min(until, deadline);
    const int wait = static_cast<int>(std::clamp<int64_t>(until - NowMs(), 0, kSliceMs));
    bool timed_out = false;
    Status a = client_->Await(wait, &timed_out);
    if (a.ok()) return true;
    if (!timed_out) {
      if (a.code() == StatusCode::kInvalidArgument) {
        // Refused (and recorded as a protocol.error by the recording): delivered, not lost.
        options_.warn("agenttrace: record --mcp: " + a.message());
        return true;
      }
      client_.reset();
      *why = a.message();
      return false;
    }
    const int64_t now = NowMs();
    if (deadline >= 0 && now >= deadline) {
      client_.reset();  // its answer is still owed: the connection is out of step
      stopped_ = true;
      *why = "no answer from the recording's event socket before the proxy's shutdown";
      return false;
    }
    if (now >= next_note) {
      options_.warn("agenttrace: record --mcp: the recording's event socket has not answered for " +
                    Seconds(now - started) + " s; tool events wait");
      next_note += options_.note_after_ms;
    }
  }
}

void NestedEventSink::Lose(const std::string& why) {
  if (lost_ == in_gaps_) {
    first_why_ = why;
    options_.warn("agenttrace: record --mcp: a tool event was lost (" + why +
                  "); the loss is recorded as a gap event if the recording answers again");
  }
  ++lost_;
}

void NestedEventSink::RecordGap() {
  const uint64_t count = lost_ - in_gaps_;
  Event gap;
  gap.kind = EventKind::kGap;
  gap.size = static_cast<int64_t>(count);
  gap.text = "record --mcp: " + std::to_string(count) + " tool event" + (count == 1 ? "" : "s") +
             " not delivered: " + first_why_;
  std::string line;
  AppendEventJson(gap, &line);
  std::string why;
  if (Deliver(line, &why)) in_gaps_ += count;
}

Status NestedEventSink::Append(const Event& event) {
  if (lost_ > in_gaps_ && !stopped_) RecordGap();  // the gap sits where the loss happened
  line_.clear();
  AppendEventJson(event, &line_);
  std::string why;
  if (!Deliver(line_, &why)) Lose(why);
  return Status::Ok();
}

void NestedEventSink::Finish() {
  if (lost_ > in_gaps_ && !stopped_) RecordGap();
  if (lost_ == 0) return;
  options_.warn("agenttrace: record --mcp: " + std::to_string(lost_) + " tool event" + (lost_ == 1 ? "" : "s") +
                " lost; " +
                (lost_ == in_gaps_ ? std::string("the recording holds a gap event for each loss")
                                   : std::to_string(lost_ - in_gaps_) + " of them are not even recorded as a gap"));
}

}  // namespace agenttrace
