// The record session driver behind `agenttrace record -- CMD ...`: opens the store, creates a session
// with the host's metadata, starts the event socket (AGENTTRACE_SOCKET / AGENTTRACE_SESSION exported
// to the agent), traces the agent and all its descendants into the session, and finishes the session
// with the agent's exit status once every traced process has exited (a daemonised grandchild keeps the
// recording open). SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the recorder, and the timeout, stop the
// whole traced tree (recorder/run_control.h); the session still completes.
//
// Thread-safety: RunRecord is not reentrant (it changes signal masks and handlers while running).
#ifndef AGENTTRACE_RECORDER_RECORDER_H_
#define AGENTTRACE_RECORDER_RECORDER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/decision_event.h"
#include "format/request_decider.h"
#include "format/session.h"
#include "format/status.h"
#include "recorder/run_control.h"
#include "recorder/tracer.h"

namespace agenttrace {

class SigningKey;

// Request-time enforcement of a recording (`agenttrace run`; TracerOptions::decider says how the
// tracer applies decisions).
struct EnforceOptions {
  // Called once the session exists, before the agent starts, with the session's record and where to
  // record (thread-safe; not redacted again: it is for events built from the redacted requests the
  // decider gets, and from the policy). `record.decision` queues a decision whose event the session's
  // writer thread builds (AsyncSessionWriter::AppendDecision); give `record` whole to the decider
  // (LiveDeciderOptions::record). Returns the decider for the run; it must stay valid until RunRecord
  // returns. Its requests reach it redacted as the recorded events are, so that the decisions on
  // record are the decisions made.
  std::function<Result<RequestDecider*>(const SessionInfo& info, DecisionRecorder record)> start;
  AskResolver* ask = nullptr;  // null: asks are denied
  EnforceMode mode = EnforceMode::kEnforce;
  // ExecAskResolver needs its helper children reaped by the tracer: RunRecord sets this.
  std::function<void(ChildRunner*)> set_children;
  // SIGHUP calls this (on the supervisor's thread) instead of stopping the recording.
  std::function<void()> on_hangup;
};

struct RecordOptions {
  std::string store_dir;
  std::string label;
  std::string agent_name;
  std::string agent_version;
  std::vector<std::string> command;  // argv of the agent; argv[0] is searched in PATH
  bool allow_io_uring = false;       // let io_uring_setup through (the attempt is still recorded)
  bool cpu_pin = false;              // tracer and agent on one CPU
  bool pin_tracer = true;            // the tracer thread on one CPU, the agent anywhere
  bool spin = true;                  // poll for the next stop before sleeping (TracerOptions::spin_ns)
  StopOptions stop;                  // --kill-after, --timeout, --on-store-failure
  uint64_t max_store_bytes = 0;      // the store's LMDB map never grows past this; 0: the default bound
  std::shared_ptr<const SigningKey> sign_key;  // when set, the completed session's head is signed
  std::optional<EnforceOptions> enforce;       // `agenttrace run`
  // A Landlock ruleset (recorder/landlock.h) enforced on the agent before exec; -1: none. Owned by the
  // caller, open until RunRecord returns.
  int landlock_ruleset_fd = -1;
};

struct RecordOutcome {
  SessionId session;
  int exit_code = -1;     // the agent's exit code, or 128+n when killed by signal n
  int signal = 0;         // killing signal of the agent, 0 if it exited
  bool not_found = false;       // the command was not found (nothing ran; exit_code 127)
  bool cannot_execute = false;  // it was found but exec failed (exit_code 126)
  std::string message;          // what went wrong when not_found or cannot_execute
  uint64_t events = 0;          // syscall events recorded
  uint64_t processes = 0;
  bool timed_out = false;              // the timeout stopped the recording
  int stop_signal = 0;                 // the first stop signal the recorder received, 0 if none
  std::vector<StoppedProcess> killed;  // traced processes killed to end the recording
  // A store failure (docs/cli.md, --on-store-failure). The session then ends incomplete.
  Status store_failure;                  // the first one; OK if none
  bool store_failure_ended_run = false;  // the agent was killed because of it
  bool store_failure_at_end = false;     // first seen storing the last events, after the agent exited
  // The policy says the failure fails the recording (`record` exits 125; recorder/end_of_run.h).
  bool store_failure_fails_recording = false;
  uint64_t events_lost = 0;              // counted by the gap events recorded
  Status gap_error;  // why the last gap could not be recorded (OK: it was); its message counts the events
  Status finish_error;                   // why the session could not be finished (it reads incomplete)
  // Enforcement (RecordOptions::enforce): what the tracer applied (TraceOutcome's fields).
  uint64_t denied = 0, denied_missing = 0, asks_allowed = 0, asks_denied = 0, would_deny = 0, would_ask = 0;
  uint64_t refused = 0;  // refused whatever the policy (TraceOutcome::refused)
  bool enforcement_failed = false;
  std::string enforcement_failure;
};

// Records one run. A non-OK Status is a failure of the recorder itself (store, ptrace not permitted,
// seccomp unavailable); its message says what to do about it. A store failure during the run is
// reported in RecordOutcome::store_failure instead, with what was done about it.
Result<RecordOutcome> RunRecord(const RecordOptions& options);

// The mkdtemp(3) template of the private directory that holds a recording's event socket, below
// `tmpdir` (/tmp when that path would be too long for a socket). The nested `record --mcp` connects
// to it, so it shows in the agent's profile; replay must normalise it to the same glob in every
// session. Six random characters alone would not do: when mkdtemp picks six letters of one case
// ("AWOIDG", about 1 in 100) they read as a word and stay literal, and a gate's stability drops.
// Glued to the pid and a letter, the random run always mixes digits and letters over 8+
// characters, which replay always replaces.
std::string EventSocketDirTemplate(const std::string& tmpdir, pid_t pid);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_RECORDER_H_
