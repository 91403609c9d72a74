// The evaluation engine: a Policy compiled for one session environment (${workspace}, ${home},
// ${tmp}) into efficient matchers, and a per-session evaluator that runs events in recorded order
// through the plain rules and the stateful ones (sequences, budgets).
//
// Plain rules of each action class are compiled into one RE2::Set over their path globs, so an event
// costs one DFA pass per action (plus checks of the few rules whose globs matched or that have no path
// condition), independent of the number of path rules. A glob without a wildcard is looked up by hash
// instead (GlobAsLiteral): in the set, every path new to the session would build new DFA states
// through a long list of names, 3.6 µs where the lookup costs 0.3 (a policy `policy suggest` wrote
// for a git task, docs/benchmarks.md). Those globs get no RE2 of their own; the other
// conditions' patterns get one RE2 per distinct pattern, shared by the matchers that use it. The
// policy's secrets are one more pattern of the file.read set, so a read of a path new to the session
// is one pass for both questions (secret? which rules?).
//
// Per session, what is known of a path (secret or not, the plain-rule outcome per file class) and the
// outcome per network address are cached, bounded; a SessionEvaluator built with `shortcuts` false
// computes everything from scratch, and tests hold the two to the same decisions.
//
// Decision for one action: the strongest decision of the matching rules (deny > ask > allow; among
// equals the first rule in the file), else the policy's default. File actions with a symlink-resolved
// target are decided on the resolved path (default if no rule matches it); a deny or ask matching the
// path as written raises that, so a link inside the workspace pointing at ~/.ssh cannot escape rules,
// and an allow on the link name alone never allows the target. The event's decision is the strongest
// over its actions and the stateful rules that fired on it.
//
// Exceptions: a matcher with `unless` does not match an action when any action of the same event
// meets one of its exceptions (the action itself on the path being decided, the others on their
// resolved paths). Such a rule's outcome on a path depends on the rest of the event, so a policy with
// one among its plain rules does not cache per-path outcomes.
//
// Thread-safety: a CompiledPolicy is immutable and shared by threads. A SessionEvaluator belongs to
// one thread (it holds the stateful rules' state and scratch buffers).
#ifndef AGENTTRACE_REPLAYER_ENGINE_H_
#define AGENTTRACE_REPLAYER_ENGINE_H_

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/event.h"
#include "format/event_text.h"  // DescribeEvent, for findings and --explain
#include "format/status.h"
#include "replayer/action.h"
#include "replayer/matchers.h"
#include "replayer/path_map.h"
#include "replayer/policy.h"

namespace re2 {
class RE2;
}

namespace agenttrace {

class CompiledMatch;
class RuleIndex;

class CompiledPolicy {
 public:
  // Compiles `policy` (which must outlive the result) for sessions with `vars`.
  static Result<std::shared_ptr<const CompiledPolicy>> Compile(const Policy& policy, const PathVars& vars);
  ~CompiledPolicy();

  const Policy& policy() const { return *policy_; }
  const PathVars& vars() const { return vars_; }
  // How many regular expressions the compilation built: RE2 objects (one per distinct pattern, shared
  // by the matchers that use it) plus one RE2::Set per action class with path globs that have a
  // wildcard. Plain rules' path globs live only in the sets and the literal lookup.
  size_t regex_count() const { return regex_count_; }

 private:
  friend class SessionEvaluator;
  CompiledPolicy() = default;

  const Policy* policy_ = nullptr;
  PathVars vars_;
  std::vector<std::unique_ptr<CompiledMatch>> rule_match_;  // per rule (plain and budget rules)
  std::vector<std::vector<std::unique_ptr<CompiledMatch>>> seq_steps_;  // per rule; empty unless sequence
  std::vector<std::unique_ptr<CompiledMatch>> irreversible_;
  std::unique_ptr<RuleIndex> index_;
  std::shared_ptr<const re2::RE2> secrets_;
  size_t regex_count_ = 0;
  std::vector<int> stateful_rules_;
  // Per stateful rule position: the action classes any of its matchers (budget, or sequence steps)
  // can apply to. An event with none of them cannot advance or fire the rule.
  std::vector<uint32_t> stateful_classes_;
  bool needs_tool_args_ = false;
  // A plain rule has an `unless` exception: its outcome on a path depends on the event's other
  // actions, so per-path outcomes are not cached.
  bool plain_unless_ = false;
};

// Compiled policies by environment: sessions recorded in the same place share one compilation.
// Thread-safe.
class PolicyCache {
 public:
  explicit PolicyCache(const Policy* policy) : policy_(policy) {}
  Result<std::shared_ptr<const CompiledPolicy>> Get(const PathVars& vars);
  // How many environments have been compiled.
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cache_.size();
  }

 private:
  const Policy* policy_;
  mutable std::mutex mu_;
  std::map<PathVars, std::shared_ptr<const CompiledPolicy>> cache_;
};

// The verdict for one event. `rule` indexes policy().rules, or -1 for the default.
struct EventVerdict {
  bool evaluated = false;      // false: the event maps to no action class (or a failed attempt that is
                               // not evaluated); the other fields are meaningless
  Decision decision = Decision::kAllow;
  int rule = -1;
  ActionClass cls = ActionClass::kFileRead;  // the action class the decision was made on
  bool irreversible = false;
};

class SessionEvaluator {
 public:
  // `shortcuts` false: no per-path or per-address cache, memo or shared set pass; every event is
  // decided from scratch (slower). The reference that tests hold the shortcuts against.
  explicit SessionEvaluator(std::shared_ptr<const CompiledPolicy> policy, bool shortcuts = true);
  ~SessionEvaluator();

  // Evaluates the next event of the session (events must come in recorded order). If `explain` is
  // non-null, appends one line per rule considered and why it matched or not.
  const EventVerdict& Evaluate(const Event& event, std::vector<std::string>* explain = nullptr) {
    given_seq_set_ = false;
    return EvaluateImpl(event, explain);
  }
  // The same with `seq` standing for event.seq (what `within: {events: N}` and per-events budgets
  // count): a request-time decider numbers requests itself and need not copy the event to do so.
  const EventVerdict& EvaluateNumbered(const Event& event, uint64_t seq, std::vector<std::string>* explain = nullptr) {
    given_seq_set_ = true;
    given_seq_ = seq;
    return EvaluateImpl(event, explain);
  }
  // The actions of the last evaluated event (valid until the next Evaluate; views into that event).
  const std::vector<Action>& actions() const { return actions_; }
  const CompiledPolicy& policy() const { return *policy_; }

  // Per-event inputs of matchers computed on demand (joined argv, parsed tool arguments).
  struct Scratch;

  // Plain-rule matchers run so far (a rule checked on one path of one action counts once): what the
  // per-path and per-address outcome caches save, for tests and benchmarks.
  uint64_t plain_rule_checks() const { return plain_rule_checks_; }

 private:
  struct Outcome {
    bool matched = false;
    Decision decision = Decision::kAllow;
    int rule = -1;
  };
  const EventVerdict& EvaluateImpl(const Event& e, std::vector<std::string>* explain);
  // The current event's sequence number. Read only where a rule needs it: replaying a large stream,
  // the line of the event that holds seq is often not otherwise loaded.
  uint64_t Seq(const Event& e) const { return given_seq_set_ ? given_seq_ : e.seq; }
  Outcome EvalPlain(const Action& a, std::string_view path, std::vector<std::string>* explain);
  void EvalStateful(const Event& e, std::vector<std::string>* explain);
  bool StepMatches(const CompiledMatch& m, std::vector<std::string_view>* resources);
  struct SeqState;
  struct BudgetState;

  std::shared_ptr<const CompiledPolicy> policy_;
  const bool shortcuts_;
  bool given_seq_set_ = false;  // EvaluateNumbered: given_seq_ stands for the event's seq
  uint64_t given_seq_ = 0;
  std::vector<Action> actions_;
  std::vector<int> hits_;
  EventVerdict verdict_;
  std::vector<std::unique_ptr<SeqState>> seq_;      // per stateful rule position
  std::vector<std::unique_ptr<BudgetState>> budget_;
  // Stateful rules that fired on the current event: (rule, action class).
  std::vector<std::pair<int, ActionClass>> fired_;
  std::unique_ptr<Scratch> scratch_;
  // What is known of a path in this session: whether it is a secret, and the plain-rule outcome of
  // each file action class on it, failed or not. These depend on nothing else, and sessions touch the
  // same paths again and again. One entry per path, so an event hashes its path once.
  struct PathFacts {
    int8_t secret = -1;                // -1: not computed yet
    uint8_t known = 0;                 // bit FileSlot(): outcome computed
    std::array<Outcome, 6> outcome;    // by FileSlot(class, failed)
  };
  static int FileSlot(ActionClass c, bool failed) { return static_cast<int>(c) * 2 + (failed ? 1 : 0); }
  // The entry of `path`, created if missing. Bounded: cleared when kMaxCachedPaths paths or
  // kMaxCachedPathBytes bytes of them are held. The reference is valid until the next call.
  PathFacts& Facts(std::string_view path);
  static constexpr size_t kMaxCachedPaths = 1u << 16;
  static constexpr size_t kMaxCachedPathBytes = 8u << 20;
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  // Most paths of a request-time session are seen once: the map stores them without an allocation.
  PathMap<PathFacts> facts_{kMaxCachedPaths, kMaxCachedPathBytes};
  // The last two paths looked up during the current event (path as written and resolved): their
  // views point into the event, so they are forgotten when the next event starts.
  struct Memo {
    const char* data = nullptr;
    size_t size = 0;
    size_t index = 0;       // in facts_
    uint64_t generation = 0;  // facts_.generation() when `index` was taken; data null: unused
  };
  std::array<Memo, 2> memo_{};
  size_t memo_next_ = 0;
  // Normalised copies of paths the producer left unnormalised; actions_ may point into them.
  std::array<std::string, 6> norm_;
  // The plain-rule outcome of net.connect and net.listen actions, by class, failed, port, host and
  // unix socket path: for these classes no matcher condition reads anything else (argv, tool,
  // arguments, env and text conditions never hold for them; `unless` disables the cache as for
  // paths). A request-time decider sees the same few addresses thousands of times, and each one
  // would otherwise walk every host rule. Bounded like facts_.
  const Outcome* NetOutcome(const Action& a, std::string_view path);
  // One pass of class file.read's set (which also holds the secrets) over a path of the current
  // event: the secrets check and the file.read rules of that path share it. The last two paths, by
  // view, as memo_.
  struct SetPass {
    const char* data = nullptr;  // null: unused
    size_t size = 0;
    int8_t secret = -1;          // whether the secrets' pattern matched (1) or not (0)
    std::vector<int> rules;      // the file.read rules whose globs match, ascending
  };
  const SetPass& ReadSetPass(std::string_view path);
  std::array<SetPass, 2> set_pass_;
  size_t set_pass_next_ = 0;
  std::unordered_map<std::string, Outcome, KeyHash, std::equal_to<>> net_outcomes_;
  std::string net_key_;  // reused buffer for the key being looked up
  uint64_t plain_rule_checks_ = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_ENGINE_H_
