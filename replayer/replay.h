// Replay: runs selected sessions' events, in recorded order, through a policy; computes behaviour
// profiles, stability per label and the promotion verdict. Sessions are replayed in parallel on a
// std::thread pool, but results are assembled in a fixed order (session id, then origin), so the
// report is the same for any thread count and any run.
//
// Thread-safety: RunReplay is reentrant; it owns its worker threads and joins them before returning.
#ifndef AGENTTRACE_REPLAYER_REPLAY_H_
#define AGENTTRACE_REPLAYER_REPLAY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "format/event.h"
#include "format/event_source.h"
#include "format/session.h"
#include "format/status.h"
#include "replayer/action.h"
#include "replayer/policy.h"
#include "replayer/timeline.h"

namespace agenttrace {

// One session to replay: its metadata and how to open its events (called once, on a worker thread).
struct SessionInput {
  SessionInfo info;
  std::string origin;  // where it came from ("store" or a file name), for messages and ordering ties
  std::function<Result<std::unique_ptr<EventSource>>()> open;
};

struct ReplayOptions {
  unsigned threads = 0;                  // 0 = std::thread::hardware_concurrency()
  std::optional<uint64_t> explain_seq;   // explain this event of every session (use with one session)
  Promotion promotion;                   // effective gate (policy's, overridden by the command line)
  size_t max_findings_per_session = 1000;  // findings kept per session; the rest are only counted
  // Collect each session's timeline (SessionResult::timeline) for the HTML report. Off by default:
  // the first events are then evaluated with their explanation, which costs time.
  bool timeline = false;
  TimelineLimits timeline_limits;
};

struct Finding {
  uint64_t seq = 0;
  int64_t wall_ns = 0;
  int32_t pid = 0;
  Decision decision = Decision::kAllow;
  std::string rule_id;                   // "default" when no rule matched
  ActionClass cls = ActionClass::kFileRead;
  bool irreversible = false;
  std::string what;      // DescribeEvent
  std::string resource;  // normalised "class resource" of the deciding action
};

// A decision recorded at request time (`agenttrace run`) that this replay decides differently.
struct DecisionMismatch {
  uint64_t seq = 0;      // of the "decision" event
  std::string recorded;  // "deny:rule-id"
  std::string replayed;  // "allow:default"
  std::string what;      // DescribeEvent of the request
};

struct BlastRadius {
  std::set<std::string> written_outside_workspace;  // normalised paths written or deleted
  std::set<std::string> hosts;                      // address:port contacted
  std::set<std::string> secrets;                    // secret files or env names read
  std::set<std::string> side_effect_tools;          // server/tool
  void Merge(const BlastRadius& o);
};

struct SessionResult {
  SessionInfo info;
  std::string origin;
  Status error;                 // a read failure (Corruption, IOError): events before it were evaluated
  bool incomplete = false;      // the recording did not finish (state not complete)
  uint64_t gaps = 0;            // gap events (events lost while recording)
  // Tools served by `replay --serve` (a cassette.source annotation), and the requests it could not
  // answer from the cassette (cassette.served "miss" or "unusable"): replayed runs told from live ones.
  bool cassette = false;
  uint64_t cassette_misses = 0;
  uint64_t events = 0;
  uint64_t evaluated = 0;
  uint64_t allows = 0, asks = 0, denies = 0, irreversible = 0;
  std::vector<Finding> findings;  // denies, asks and irreversible actions, first max_findings_per_session
  uint64_t findings_dropped = 0;
  std::map<std::string, uint64_t> rule_hits;  // rule id -> events it decided (any decision)
  std::set<std::string> profile;
  BlastRadius blast;
  std::vector<std::string> explain;
  SessionTimeline timeline;     // collected only with ReplayOptions::timeline
  // Sessions recorded under `agenttrace run`: their "decision" events (format/decision_event.h)
  // re-evaluated as requests, in the order they were decided, by an evaluator of their own (reset at
  // each successful "policy.reload"). With the policy that was enforced every decision is the same.
  uint64_t request_decisions = 0;                    // decision events
  uint64_t request_same = 0;                         // ... replayed to the same decision and rule
  std::vector<DecisionMismatch> request_mismatches;  // the others (first max_findings_per_session)
  uint64_t request_mismatches_dropped = 0;
  // Messages the deciding MCP proxy refused (replayer/refusal.h): each is also a deny by "refused", a
  // finding and a request-time decision.
  uint64_t refused = 0;
  // Whether the agent ran at all. A session with no events, or a syscall recording in which no exec
  // succeeded (command not found, not executable, recorder set-up failure), never ran: that is a
  // finding that blocks promotion, never a pass.
  bool agent_ran = true;
  std::string not_run_reason;  // why agent_ran is false
  // Task outcome: the agent's exit status is one of Promotion::success_exit_codes (set by Assess).
  bool task_succeeded = false;
  // Complete, readable, no gaps, no deny, the agent ran, and (when the gate requires it) the task
  // succeeded. Set by Assess.
  bool passed = false;
};

// "exit 0", "exit 3", "killed by signal 9 (SIGKILL)", "exit status unknown".
std::string OutcomeText(const SessionInfo& info);

struct Criterion {
  std::string name;    // agent_ran, task_outcome, min_sessions, max_violations, max_asks, min_stability,
                       // irreversible, complete
  bool ok = true;
  std::string detail;  // "3 >= 3"
};

struct LabelResult {
  std::string label;
  std::vector<size_t> sessions;  // indices into ReplayReport::sessions
  uint64_t denies = 0, asks = 0, irreversible = 0, incomplete = 0;
  uint64_t not_run = 0;          // sessions whose agent never ran
  uint64_t task_failures = 0;    // sessions whose agent ran and exited unsuccessfully
  uint64_t passed = 0;           // sessions that passed
  bool pass_k = false;           // all sessions passed
  double stability = 1.0;        // mean pairwise Jaccard of profiles; 1.0 with fewer than 2 sessions;
                                 // a pair of empty profiles scores 0 (no behaviour is no evidence)
  std::vector<std::string> unique_actions;  // "session-id action" for actions seen in exactly one session
  BlastRadius blast;
  std::vector<Criterion> criteria;
  bool promotable = false;
};

struct RuleSummary {
  std::string id;
  Decision decision = Decision::kDeny;
  std::string description;
};

struct ReplayReport {
  std::string policy_source;
  std::vector<RuleSummary> rules;       // the policy's rules in file order
  Decision default_decision = Decision::kDeny;
  Promotion promotion;
  std::vector<SessionResult> sessions;  // in session id order
  std::vector<LabelResult> labels;      // in label order
  bool promotable = false;
  // The first read failure in session order (Corruption -> exit 3), OK if none.
  Status first_error;
};

// Replays `inputs` against `policy`. Fails only for problems of the policy itself (a glob that cannot
// be compiled for a session's directories); read failures of a session are recorded in its result.
Result<ReplayReport> RunReplay(const Policy& policy, std::vector<SessionInput> inputs, const ReplayOptions& options);

// Computes labels, stability and verdicts from session results (used by RunReplay; exposed for tests).
void Assess(const Promotion& promotion, ReplayReport* report);

// A session in a JSON-lines file (agenttrace export --format jsonl). Reads only the header now (a
// bad or missing header fails here, as Corruption naming the file); `open` reopens the file and
// streams its events through a JsonlReader (format/jsonl_reader.h), so a bad line or a seq gap
// becomes the session's read error (Corruption) and a large file is never held in memory.
Result<SessionInput> JsonlFileInput(const std::string& path, std::string origin);
// A SessionInput over events held in memory (shared, so the input can be copied).
SessionInput MemoryInput(SessionInfo info, std::shared_ptr<const std::vector<Event>> events, std::string origin);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_REPLAY_H_
