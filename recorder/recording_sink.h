// The one way a recording reaches the store. Every recorder (`agenttrace record`, `record --mcp`)
// builds its session record with NewSessionInfo and writes it and every event through a RecordingSink,
// which redacts secrets (recorder/secrets.h) on the way in: the command line of the session, the argv
// of exec events, and the JSON and text of tool, MCP and annotation events. Producers may redact
// earlier (redaction is idempotent: a fingerprint is never taken for a secret), but none has to: a
// producer added later cannot leak by forgetting.
//
// Paths, addresses and names are not redacted: policies match them, and a credential does not travel
// in them.
//
// Thread-safety: RecordingSink::Append is thread-safe (the tracer and the event socket share one
// sink); the scanner must outlive the sink.
#ifndef AGENTTRACE_RECORDER_RECORDING_SINK_H_
#define AGENTTRACE_RECORDER_RECORDING_SINK_H_

#include <memory>
#include <string>
#include <vector>

#include "format/event.h"
#include "format/session.h"
#include "format/status.h"
#include "format/store.h"
#include "recorder/secrets.h"

namespace agenttrace {

// What a recording says about itself; the host facts are added by NewSessionInfo.
struct RecordingOrigin {
  std::string label;
  std::string agent_name;
  std::string agent_version;
  std::string recorder;              // "ptrace", "mcp"
  std::vector<std::string> command;  // the recorded command line, as given (redacted by NewSessionInfo)
};

// The session record of a recording starting now on this host: origin, working directory, $HOME,
// $TMPDIR, host name, user, kernel, architecture, start time, the environment's variable names and
// the secret ones (from `secrets`), and the command line redacted as exec argv is.
SessionInfo NewSessionInfo(const RecordingOrigin& origin, const SecretScanner& secrets);

// Redacts in place every field of `e` that can carry a value the agent typed. Returns true if
// anything changed.
bool RedactEvent(const SecretScanner& secrets, Event* e);

class RecordingSink final : public AsyncSessionWriter {
 public:
  // Creates the session in `store` with `info` (its argv redacted again, in case the caller built it
  // by hand) and starts its writer thread. `secrets` must outlive the sink.
  static Result<std::unique_ptr<RecordingSink>> Create(Store& store, SessionInfo info, const SecretScanner* secrets,
                                                       const WriterOptions& options = {});

  // Redacts a copy of `event` when it has a field to redact, then queues it.
  Status Append(const Event& event) override;
  // Queues `event` as is: for the recorder's own events built from values already redacted with
  // RedactEvent (the request-time decisions of `agenttrace run`, whose request was redacted before it
  // was decided). Redacting their JSON again would cost more than the decision and would touch the
  // request's paths, which events never have redacted.
  Status AppendRedacted(const Event& event) { return inner_->Append(event); }
  // Queues the decision on `request` (AsyncSessionWriter::AppendDecision), redacting a copy of the
  // request first when it has a field to redact: the decision event's JSON is built from the request's
  // fields and the policy's rule and reason, so a redacted request gives a redacted event.
  Status AppendDecision(const Event& request, const RequestDecision& decision, EnforceMode mode) override;
  // The same for a request already redacted with RedactEvent (`agenttrace run` decides on the redacted
  // request: recorder.cc's RedactingDecider), without scanning it again on the agent's critical path.
  Status AppendRedactedDecision(const Event& request, const RequestDecision& decision, EnforceMode mode) {
    return inner_->AppendDecision(request, decision, mode);
  }
  // Applies `fn`, then redacts the command line it may have set.
  void UpdateInfo(const std::function<void(SessionInfo*)>& fn) override;
  Status Flush() override { return inner_->Flush(); }
  Status Finish(int32_t exit_code, int32_t exit_signal) override { return inner_->Finish(exit_code, exit_signal); }
  SessionId id() const override { return inner_->id(); }
  // Store failures pass through: the gap event carries no agent text to redact.
  void SetFailureCallback(std::function<void(const Status&)> fn) override { inner_->SetFailureCallback(std::move(fn)); }
  Result<uint64_t> RecordGap(std::string_view why) override { return inner_->RecordGap(why); }
  Status FinishIncomplete(int32_t exit_code, int32_t exit_signal) override {
    return inner_->FinishIncomplete(exit_code, exit_signal);
  }

 private:
  RecordingSink(std::unique_ptr<AsyncSessionWriter> inner, const SecretScanner* secrets)
      : inner_(std::move(inner)), secrets_(secrets) {}

  std::unique_ptr<AsyncSessionWriter> inner_;
  const SecretScanner* secrets_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_RECORDING_SINK_H_
