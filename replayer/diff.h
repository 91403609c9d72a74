// Behaviour diff: compares what two sessions, or two sets of sessions (agent v1 vs v2, yesterday vs
// today), did. The comparison works on the normalised behaviour profiles of replay (replayer/
// profile.h, the same normalisation as stability), so random temporary names, pids and time stamps
// never count as differences. It reports:
//   - profile entries ("class resource") only in A and only in B; for a set, an entry is "in A" when
//     any session of A has it;
//   - changed reach: blast-radius items (paths written outside the workspace, hosts, secrets,
//     side-effecting tools) new in B and gone from A;
//   - for one session per side, the first step where the sequences of tool calls and execs diverge,
//     found by an edit-distance alignment over (kind, name, normalised arguments), both sequences
//     capped at kMaxDiffSteps steps;
//   - with a policy, the resources present on both sides whose decisions differ, and the resources of
//     one side only that were asked about or denied there ("-" on the other side).
// Every list is sorted, so the report is deterministic.
//
// Thread-safety: RunDiff is reentrant (it uses RunReplay's worker threads and joins them).
#ifndef AGENTTRACE_REPLAYER_DIFF_H_
#define AGENTTRACE_REPLAYER_DIFF_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/status.h"
#include "replayer/policy.h"
#include "replayer/replay.h"

namespace agenttrace {

// Steps (tool calls and execs) aligned per session; later steps are ignored and the report says so.
inline constexpr size_t kMaxDiffSteps = 5000;

// One step of a session's sequence: its key (what is compared) and how to show it.
struct DiffStep {
  std::string key;   // "tool.call server/tool {normalised json}", "exec ${workspace}/run.sh [run.sh -v]"
  uint64_t seq = 0;  // the event's seq
  std::string what;  // DescribeEvent of the event
};

// The first point where the two step sequences differ.
struct Divergence {
  // What the alignment does first after the common prefix: "changed" (A's step replaced by B's),
  // "only_in_a" (A has a step B lacks), "only_in_b" (B has an extra step).
  std::string kind;
  size_t index_a = 0, index_b = 0;  // 0-based step indices at the divergence
  std::optional<DiffStep> a, b;     // the steps there (absent for only_in_b / only_in_a)
};

struct StepAlignment {
  size_t steps_a = 0, steps_b = 0;  // steps compared on each side (at most kMaxDiffSteps)
  bool truncated = false;           // a side had more steps than kMaxDiffSteps
  size_t common_prefix = 0;
  size_t edit_distance = 0;              // insertions + deletions + substitutions
  std::optional<Divergence> divergence;  // absent when the sequences are equal
};

struct DecisionChange {
  std::string resource;  // "class resource"
  std::string a, b;      // decisions seen on each side, strongest last: "allow", "allow,deny"; "-": none
};

struct ReachChange {
  std::string kind;                  // written_outside_workspace, hosts, secrets, side_effect_tools
  std::vector<std::string> added;    // in B, not in A
  std::vector<std::string> removed;  // in A, not in B
};

struct DiffSideSummary {
  std::string name;                   // label or session id
  std::vector<std::string> sessions;  // session ids, sorted
  size_t profile_size = 0;            // distinct entries (union over the side's sessions)
};

struct DiffReport {
  DiffSideSummary a, b;
  std::vector<std::string> only_a, only_b;  // profile entries, sorted
  std::vector<ReachChange> reach;           // only kinds with a change, in the order above
  std::optional<StepAlignment> steps;       // one session per side only
  bool policy_used = false;
  std::string policy_source;
  std::vector<DecisionChange> decisions;  // sorted by resource
  Status first_error;                     // the first read failure (A before B)
  bool equal() const {
    return only_a.empty() && only_b.empty() && reach.empty() && decisions.empty() && (!steps || !steps->divergence);
  }
};

// Compares side A (`a`, named `a_name`) with side B. `policy` may be null: then no decisions are
// compared and secrets are only those handed over in environment variables (file secrets come from
// the policy's `secrets:`). Fails only for problems of the policy itself; read failures of a session
// go into first_error (what was read before them is compared).
Result<DiffReport> RunDiff(std::vector<SessionInput> a, std::string a_name, std::vector<SessionInput> b,
                           std::string b_name, const Policy* policy);

// The step keys of one session's events (exposed for tests): tool calls and execs in recorded
// order, normalised for the session's directories and temporary paths.
Result<std::vector<DiffStep>> SessionSteps(const SessionInput& in, bool* truncated);
// Aligns two step sequences (exposed for tests).
StepAlignment AlignSteps(const std::vector<DiffStep>& a, const std::vector<DiffStep>& b, bool truncated);

std::string RenderDiffText(const DiffReport& r);
std::string RenderDiffJson(const DiffReport& r);
std::string RenderDiffMarkdown(const DiffReport& r);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_DIFF_H_
