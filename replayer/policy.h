// The policy language (docs/policy.md): its syntax tree and the YAML parser that validates it.
//
// ParsePolicy checks everything that does not depend on a session: structure, unknown keys, rule ids
// (required, unique), decisions, class names, list references, glob/regex/host/port syntax, sequence
// and budget parameters. Errors carry "line:column" of the offending node (1-based). Input is bounded:
// kMaxPolicyBytes, a nesting depth of kMaxPolicyDepth and kMaxPolicyNodes visited nodes (aliases
// cannot blow it up).
//
// Thread-safety: a Policy is an immutable value once parsed.
#ifndef AGENTTRACE_REPLAYER_POLICY_H_
#define AGENTTRACE_REPLAYER_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/status.h"
#include "replayer/action.h"

namespace agenttrace {

inline constexpr size_t kMaxPolicyBytes = 4u << 20;
inline constexpr int kMaxPolicyDepth = 32;
inline constexpr size_t kMaxPolicyNodes = 1u << 20;

// A position in the policy source (1-based; 0 = unknown).
struct SourcePos {
  int line = 0;
  int column = 0;
  std::string ToString() const { return std::to_string(line) + ":" + std::to_string(column); }
};

// A string from the policy with where it was written.
struct PosString {
  std::string text;
  SourcePos pos;
};

// Matches a JSON value (found by RFC 6901 pointer in a tool call's arguments) by glob or regex.
struct ArgMatcher {
  std::string pointer;
  std::string glob;   // exactly one of glob/regex is set
  std::string regex;
  SourcePos pos;
};

// The conditions of a rule, an irreversible entry or a sequence step. All given conditions must hold
// (AND); within one list any item may match (OR). Lists have `$name` references already expanded.
struct MatchSpec {
  uint32_t class_mask = 0;            // 0 = every class
  std::vector<PosString> paths;       // path globs (file, exec, unix socket, secret file)
  std::vector<PosString> not_paths;
  std::vector<PosString> hosts;       // host patterns (net)
  std::vector<PosString> not_hosts;
  std::vector<PosString> ports;       // port or range (net)
  std::vector<PosString> argv;        // command-line globs (exec): argv joined by single spaces
  std::vector<PosString> tools;       // tool-name globs (tool.call)
  std::vector<PosString> servers;     // server-name globs (tool.call)
  std::vector<ArgMatcher> args;       // tool argument matchers (tool.call)
  std::vector<PosString> env;         // environment variable name globs (secret.read from env)
  std::vector<PosString> not_env;
  std::vector<PosString> text;        // escape descriptions (process.escape)
  std::optional<bool> failed;         // only failed (true) / only successful (false) attempts
  // Exceptions: the spec does not match when any action of the same event meets one of these (each a
  // spec of its own, without `unless`). Any item may match (OR).
  std::vector<MatchSpec> unless;
  SourcePos pos;
};

struct SequenceSpec {
  std::vector<MatchSpec> steps;       // 2..8 steps, in order
  uint64_t within_events = 0;         // 0 = no event bound
  int64_t within_ns = 0;              // 0 = no time bound
  bool same_resource = false;         // every step must be about the same resource (path, host, ...)
};

struct BudgetSpec {
  enum class Per { kSession, kSeconds, kEvents };
  uint64_t max = 0;                   // events allowed; the (max+1)-th and later get the decision
  Per per = Per::kSession;
  uint64_t window = 0;                // seconds or events for a sliding window
};

struct Rule {
  std::string id;
  Decision decision = Decision::kDeny;
  std::string description;
  MatchSpec match;                    // for plain and budget rules
  std::optional<SequenceSpec> sequence;
  std::optional<BudgetSpec> budget;
  bool irreversible = false;
  SourcePos pos;
  bool stateful() const { return sequence.has_value() || budget.has_value(); }
};

struct Promotion {
  uint64_t min_sessions = 1;
  uint64_t max_violations = 0;        // denies, summed over a label's sessions
  uint64_t max_asks = 0;
  double min_stability = 0.0;
  bool allow_irreversible = false;
  // Task outcome: each session's agent must have exited with one of success_exit_codes (and not by a
  // signal). A session whose agent never ran blocks promotion whatever this says.
  bool require_success = true;
  std::vector<int32_t> success_exit_codes{0};
  bool IsSuccess(int32_t exit_code, int32_t exit_signal) const;
};

struct Policy {
  int version = 1;
  Decision default_decision = Decision::kDeny;
  bool evaluate_failed = true;        // failed syscalls (result < 0) count as attempts
  std::map<std::string, std::vector<PosString>> lists;
  std::vector<PosString> secrets;     // path globs of secret files
  std::vector<MatchSpec> irreversible;
  std::vector<PosString> side_effect_tools;  // extra tool-name globs counted as side-effecting
  std::vector<Rule> rules;
  Promotion promotion;
  std::string source;                 // file name, for messages
};

// Parses and validates. `source` names the input in messages ("policy.yaml:12:5: ...").
Result<Policy> ParsePolicy(std::string_view yaml, std::string_view source);
// Reads (bounded by kMaxPolicyBytes) and parses a file. IOError if unreadable.
Result<Policy> LoadPolicyFile(const std::string& path);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_POLICY_H_
