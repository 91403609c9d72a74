#include "replayer/engine.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "format/event_json.h"
#include "format/json_limits.h"

namespace agenttrace {

namespace {

using Json = nlohmann::json;

int64_t EventTime(const Event& e) { return e.mono_ns != 0 ? e.mono_ns : e.wall_ns; }

Result<std::string> JoinGlobs(const std::vector<PosString>& globs, const PathVars& vars, GlobFlavor flavor) {
  std::string re;
  for (const PosString& g : globs) {
    auto r = GlobToRegex(g.text, vars, flavor);
    if (!r.ok()) return r.status().WithContext("line " + g.pos.ToString());
    if (!re.empty()) re += "|";
    re += "(?:" + *r + ")";
  }
  return re;
}

}  // namespace

// The patterns of `set` that match all of `path`, ascending in *hits. A compiled RE2::Set does not run
// out of memory while matching: Prog::CompileSet builds its DFA up front, which refuses to exist
// without room for 20 states of the program's largest, and a set's search resets that cache when it
// fills instead of giving up. An error here is therefore another RE2 or a bug, and the request cannot
// be decided: the exception makes the live decider deny (error set) and replay stop with an internal
// error, never a rule silently unmatched.
void MatchSet(const RE2::Set& set, std::string_view path, std::vector<int>* hits) {
  RE2::Set::ErrorInfo err{};
  if (!set.Match(path, hits, &err) && err.kind != RE2::Set::kNoError) {
    throw std::runtime_error("the policy's path patterns could not be matched against a path of " +
                             std::to_string(path.size()) + " bytes (RE2::Set error " +
                             std::to_string(static_cast<int>(err.kind)) + ")");
  }
}

// The regexes of one compilation, by pattern: matchers whose patterns are the same after ${...}
// expansion (a list referenced by many rules, the same exclusion everywhere) share one RE2, which is
// immutable and safe to use from many threads.
class RegexPool {
 public:
  Result<std::shared_ptr<const RE2>> Anchored(const std::string& re) {
    auto it = by_pattern_.find(re);
    if (it != by_pattern_.end()) return it->second;
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_max_mem(64 << 20);
    auto out = std::make_shared<const RE2>("^(?:" + re + ")$", opts);
    if (!out->ok()) return Status::InvalidArgument("pattern does not compile: " + out->error());
    by_pattern_.emplace(re, out);
    return std::shared_ptr<const RE2>(std::move(out));
  }
  Result<std::shared_ptr<const RE2>> Globs(const std::vector<PosString>& globs, const PathVars& vars,
                                           GlobFlavor flavor) {
    if (globs.empty()) return std::shared_ptr<const RE2>();
    AT_ASSIGN_OR_RETURN(std::string re, JoinGlobs(globs, vars, flavor));
    return Anchored(re);
  }
  size_t size() const { return by_pattern_.size(); }

 private:
  std::unordered_map<std::string, std::shared_ptr<const RE2>> by_pattern_;
};

// Per-event lazily computed inputs of matchers.
struct SessionEvaluator::Scratch {
  const Event* event = nullptr;
  const std::vector<Action>* actions = nullptr;  // every action of `event` (for `unless` exceptions)
  bool argv_built = false;
  std::string argv;
  int args_state = 0;  // 0 not parsed, 1 parsed, 2 not JSON, 3 nested too deep, 4 the recorder's
                       // truncation marker (arguments over its bound, stored as size + hash)
  Json args;
  std::string value;

  // The last host parsed by Ip() (a view into the current event).
  std::string_view ip_host;
  bool ip_parsed = false;
  bool ip_ok = false;
  IpAddress ip;

  void Reset(const Event* e) {
    event = e;
    argv_built = false;
    args_state = 0;
    ip_parsed = false;
  }
  // `host` parsed as an IP address, or null; parsed once per event however many patterns check it.
  const IpAddress* Ip(std::string_view host) {
    if (!ip_parsed || host.data() != ip_host.data() || host.size() != ip_host.size()) {
      ip_host = host;
      ip_ok = ParseIp(host, &ip);
      ip_parsed = true;
    }
    return ip_ok ? &ip : nullptr;
  }
  const std::string& Argv() {
    if (!argv_built) {
      argv.clear();
      for (size_t i = 0; i < event->argv.size(); ++i) {
        if (i) argv.push_back(' ');
        argv += event->argv[i];
      }
      argv_built = true;
    }
    return argv;
  }
  const Json* Args() {
    if (args_state == 0) {
      // Checked before parsing: a value nested this deep would overflow the stack when the matcher
      // serialises it (stored sessions may come from anywhere, not only from our bounded producers).
      if (event->json.empty()) {  // a call without arguments: known, and empty
        args = Json::object();
        args_state = 1;
      } else if (CheckJsonBounds(event->json, "arguments").ok()) {
        args = Json::parse(event->json, nullptr, false);
        args_state = args.is_discarded() ? 2 : 1;
        if (args_state == 1 && args.is_object() && args.size() == 3 && args.value("truncated", false) &&
            args.contains("blake2b") && args.contains("size")) {
          args_state = 4;
        }
      } else {
        args_state = 3;
      }
    }
    return args_state == 1 ? &args : nullptr;
  }
};

class CompiledMatch {
 public:
  // `unknown_args_match`: when a tool call's arguments cannot be examined (truncated by the recorder's
  // bound, not JSON, nested too deep), `args` conditions hold. True for the matchers of deny and ask
  // rules and of irreversible entries, so that padding a call past the bound cannot slip it past them;
  // false for allow rules, which must see what they allow.
  //
  // `paths_in_set`: the matcher is a plain rule's, whose path globs go into the RE2::Set of each class
  // it applies to; the set answers them (BindPathSet), and no RE2 of their own is compiled.
  static Result<std::unique_ptr<CompiledMatch>> Compile(const MatchSpec& s, const PathVars& vars, RegexPool& pool,
                                                        bool unknown_args_match = false, bool paths_in_set = false) {
    auto m = std::unique_ptr<CompiledMatch>(new CompiledMatch());
    m->spec_ = &s;
    m->unknown_args_match_ = unknown_args_match;
    m->class_mask_ = s.class_mask;
    if (!s.paths.empty()) {
      m->has_paths_ = true;
      if (!paths_in_set) {
        AT_ASSIGN_OR_RETURN(m->paths_regex_, JoinGlobs(s.paths, vars, GlobFlavor::kPath));
        AT_ASSIGN_OR_RETURN(m->paths_, pool.Anchored(m->paths_regex_));
      } else {
        // Globs without a wildcard are looked up by hash (RuleIndex::PerClass::literal_rules); the
        // others go into the class's set.
        std::vector<PosString> patterns;
        for (const PosString& g : s.paths) {
          if (std::optional<std::string> lit = GlobAsLiteral(g.text, vars)) {
            m->literal_paths_.push_back(std::move(*lit));
          } else {
            patterns.push_back(g);
          }
        }
        if (!patterns.empty()) {
          AT_ASSIGN_OR_RETURN(m->paths_regex_, JoinGlobs(patterns, vars, GlobFlavor::kPath));
        }
      }
    }
    AT_ASSIGN_OR_RETURN(m->not_paths_, pool.Globs(s.not_paths, vars, GlobFlavor::kPath));
    AT_ASSIGN_OR_RETURN(m->argv_, pool.Globs(s.argv, vars, GlobFlavor::kPlain));
    AT_ASSIGN_OR_RETURN(m->tools_, pool.Globs(s.tools, vars, GlobFlavor::kPlain));
    AT_ASSIGN_OR_RETURN(m->servers_, pool.Globs(s.servers, vars, GlobFlavor::kPlain));
    AT_ASSIGN_OR_RETURN(m->env_, pool.Globs(s.env, vars, GlobFlavor::kPlain));
    AT_ASSIGN_OR_RETURN(m->not_env_, pool.Globs(s.not_env, vars, GlobFlavor::kPlain));
    for (const MatchSpec& u : s.unless) {
      auto cu = Compile(u, vars, pool);
      if (!cu.ok()) return cu.status().WithContext("unless at line " + u.pos.ToString());
      m->unless_.push_back(std::move(*cu));
    }
    AT_ASSIGN_OR_RETURN(m->text_, pool.Globs(s.text, vars, GlobFlavor::kPlain));
    for (const PosString& h : s.hosts) {
      AT_ASSIGN_OR_RETURN(HostPattern hp, HostPattern::Parse(h.text));
      m->hosts_.push_back(std::move(hp));
    }
    for (const PosString& h : s.not_hosts) {
      AT_ASSIGN_OR_RETURN(HostPattern hp, HostPattern::Parse(h.text));
      m->not_hosts_.push_back(std::move(hp));
    }
    for (const PosString& p : s.ports) {
      AT_ASSIGN_OR_RETURN(PortRange pr, ParsePortRange(p.text));
      m->ports_.push_back(pr);
    }
    for (const ArgMatcher& a : s.args) {
      Arg arg;
      try {
        arg.pointer = Json::json_pointer(a.pointer);
      } catch (const Json::exception& e) {
        return Status::InvalidArgument("line " + a.pos.ToString() + ": bad JSON pointer \"" + a.pointer + "\"");
      }
      std::string re;
      if (!a.glob.empty() || a.regex.empty()) {
        AT_ASSIGN_OR_RETURN(re, GlobToRegex(a.glob, vars, GlobFlavor::kPlain));
      } else {
        re = a.regex;
      }
      AT_ASSIGN_OR_RETURN(arg.re, pool.Anchored(re));
      arg.text = a.glob.empty() ? "regex " + a.regex : "glob " + a.glob;
      arg.pointer_text = a.pointer;
      m->args_.push_back(std::move(arg));
    }
    return m;
  }

  bool AppliesTo(ActionClass c) const { return class_mask_ == 0 || (class_mask_ & ClassBit(c)) != 0; }
  uint32_t class_bits() const { return class_mask_ == 0 ? ~0u : class_mask_; }
  bool has_paths() const { return has_paths_; }
  bool has_args() const { return !args_.empty() || std::any_of(unless_.begin(), unless_.end(), [](const auto& u) {
                                    return u->has_args();
                                  }); }
  bool has_unless() const { return !unless_.empty(); }
  // With paths_in_set: the regex of the globs with a wildcard (empty when all are literal), and the
  // paths the others name.
  const std::string& paths_regex() const { return paths_regex_; }
  const std::vector<std::string>& literal_paths() const { return literal_paths_; }
  // The set that holds this matcher's path globs as pattern `index` (compiled with paths_in_set).
  void BindPathSet(const RE2::Set* set, int index) {
    if (path_set_ == nullptr) {
      path_set_ = set;
      path_set_index_ = index;
    }
  }

  // Whether the action (with `path` standing for its path: the path as written or the resolved one)
  // meets every condition. `check_paths` false: the caller already knows `paths` matched. `why`, if
  // given, receives the reason of the first failing condition, or what matched.
  bool Matches(const Action& a, std::string_view path, SessionEvaluator::Scratch& sc, bool check_paths,
               std::string* why) const {
    // The reason is built only when asked for: the hot path must not format strings.
    auto no = [&](auto&& reason) {
      if (why) *why = reason();
      return false;
    };
    if (!AppliesTo(a.cls))
      return no([&] { return std::string("class " + std::string(ActionClassName(a.cls)) + " not listed"); });
    const Event& e = *a.event;
    if (spec_->failed.has_value()) {
      bool failed = IsFailedAttempt(e);
      if (failed != *spec_->failed)
        return no([&] { return std::string(failed ? "failed: the attempt failed" : "failed: the attempt succeeded"); });
    }
    if (check_paths && has_paths_) {
      if (path.empty()) return no([&] { return std::string("paths: the action has no path"); });
      if (!PathsMatch(path)) return no([&] { return std::string("paths: no glob matches " + std::string(path)); });
    }
    if (not_paths_ && !path.empty() && RE2::FullMatch(path, *not_paths_)) {
      return no([&] { return std::string("not_paths: " + std::string(path) + " is excluded"); });
    }
    if (!hosts_.empty()) {
      if (a.host.empty()) return no([&] { return std::string("hosts: the action has no host"); });
      bool any = false;
      const IpAddress* ip = sc.Ip(a.host);
      for (const HostPattern& h : hosts_) any = any || h.Matches(a.host, a.port, ip);
      if (!any)
        return no([&] {
          return std::string("hosts: no pattern matches " + std::string(a.host) + ":" + std::to_string(a.port));
        });
    }
    if (!not_hosts_.empty()) {
      if (a.host.empty()) return no([&] { return std::string("not_hosts: the action has no host"); });
      const IpAddress* ip = sc.Ip(a.host);
      for (const HostPattern& h : not_hosts_) {
        if (h.Matches(a.host, a.port, ip))
          return no([&] { return std::string("not_hosts: " + std::string(a.host) + " matches " + h.text()); });
      }
    }
    if (!ports_.empty()) {
      if (a.host.empty()) return no([&] { return std::string("ports: the action has no port"); });
      bool any = false;
      for (const PortRange& p : ports_) any = any || p.Contains(a.port);
      if (!any) return no([&] { return std::string("ports: " + std::to_string(a.port) + " not listed"); });
    }
    if (argv_) {
      if (a.cls != ActionClass::kExec) return no([&] { return std::string("argv: not an exec"); });
      if (!RE2::FullMatch(sc.Argv(), *argv_))
        return no([&] { return std::string("argv: no pattern matches the command line"); });
    }
    if (tools_) {
      if (a.cls != ActionClass::kToolCall) return no([&] { return std::string("tools: not a tool call"); });
      if (!RE2::FullMatch(e.tool, *tools_))
        return no([&] { return std::string("tools: no glob matches tool " + e.tool); });
    }
    if (servers_) {
      if (a.cls != ActionClass::kToolCall) return no([&] { return std::string("servers: not a tool call"); });
      if (!RE2::FullMatch(e.server, *servers_))
        return no([&] { return std::string("servers: no glob matches server " + e.server); });
    }
    if (!args_.empty()) {
      if (a.cls != ActionClass::kToolCall) return no([&] { return std::string("args: not a tool call"); });
      const Json* j = sc.Args();
      auto unknown = [&](const char* what) {
        if (unknown_args_match_) {
          if (why) *why = std::string("args: the arguments are unknown (") + what + "): the condition holds (fail closed)";
          return true;
        }
        return no([&] { return std::string("args: the arguments are unknown (") + what + ")"; });
      };
      bool args_known = j != nullptr;
      if (j == nullptr && sc.args_state == 3) {
        if (!unknown("over the JSON size or depth bound")) return false;
      } else if (j == nullptr && sc.args_state == 4) {
        if (!unknown("truncated by the recorder")) return false;
      } else if (j == nullptr) {
        if (!unknown("not JSON")) return false;
      }
      for (size_t k = 0; args_known && k < args_.size(); ++k) {
        const Arg& arg = args_[k];
        if (!j->contains(arg.pointer)) return no([&] { return std::string("args: no value at " + arg.pointer_text); });
        const Json& v = j->at(arg.pointer);
        const std::string* s = nullptr;
        if (v.is_string()) {
          s = &v.get_ref<const std::string&>();
        } else {
          sc.value = v.dump();
          s = &sc.value;
        }
        if (!RE2::FullMatch(*s, *arg.re))
          return no([&] { return std::string("args: value at " + arg.pointer_text + " does not match " + arg.text); });
      }
    }
    if (env_) {
      if (a.env.empty()) return no([&] { return std::string("env: not an environment variable"); });
      if (!RE2::FullMatch(a.env, *env_))
        return no([&] { return std::string("env: no glob matches " + std::string(a.env)); });
    }
    if (not_env_ && !a.env.empty() && RE2::FullMatch(a.env, *not_env_)) {
      return no([&] { return std::string("not_env: " + std::string(a.env) + " is excluded"); });
    }
    if (text_) {
      if (a.cls != ActionClass::kEscape) return no([&] { return std::string("text: not an escape"); });
      if (!RE2::FullMatch(e.text, *text_)) return no([&] { return std::string("text: no glob matches " + e.text); });
    }
    if (const CompiledMatch* u = MatchingException(a, path, sc)) {
      return no([&] { return std::string("unless: the event matches the exception at line " + u->spec_->pos.ToString()); });
    }
    if (why) *why = "all conditions hold";
    return true;
  }

 private:
  struct Arg {
    Json::json_pointer pointer;
    std::string pointer_text;
    std::shared_ptr<const RE2> re;
    std::string text;
  };
  CompiledMatch() = default;

  // Only explanations ask a plain rule's matcher about its paths (the set already chose the rules it
  // is asked about otherwise), so the set's answer costs a vector here and spares an RE2 per rule at
  // start-up. Both anchor the same pattern at both ends.
  bool PathsMatch(std::string_view path) const {
    if (paths_ != nullptr) return RE2::FullMatch(path, *paths_);
    if (std::find(literal_paths_.begin(), literal_paths_.end(), path) != literal_paths_.end()) return true;
    if (path_set_ == nullptr) return false;  // only literal paths
    std::vector<int> hits;
    MatchSet(*path_set_, path, &hits);
    return std::find(hits.begin(), hits.end(), path_set_index_) != hits.end();
  }

  // The first `unless` exception that some action of the event meets, or null. The action being decided
  // is checked on `path` only (the path the decision is about: a link named like an exception must not
  // excuse its target); the event's other actions on what they really touched (the resolved path).
  const CompiledMatch* MatchingException(const Action& a, std::string_view path, SessionEvaluator::Scratch& sc) const {
    for (const auto& u : unless_) {
      if (u->Matches(a, path, sc, true, nullptr)) return u.get();
      if (sc.actions == nullptr) continue;
      for (const Action& b : *sc.actions) {
        if (&b == &a) continue;
        if (u->Matches(b, b.resolved.empty() ? b.path : b.resolved, sc, true, nullptr)) return u.get();
      }
    }
    return nullptr;
  }

  const MatchSpec* spec_ = nullptr;
  bool unknown_args_match_ = false;
  uint32_t class_mask_ = 0;
  bool has_paths_ = false;
  std::string paths_regex_;
  std::vector<std::string> literal_paths_;
  const RE2::Set* path_set_ = nullptr;  // owned by the CompiledPolicy's RuleIndex
  int path_set_index_ = -1;
  std::shared_ptr<const RE2> paths_, not_paths_, argv_, tools_, servers_, env_, not_env_, text_;
  std::vector<std::unique_ptr<CompiledMatch>> unless_;
  std::vector<HostPattern> hosts_, not_hosts_;
  std::vector<PortRange> ports_;
  std::vector<Arg> args_;
};

// Plain rules by action class: one RE2::Set over the path globs, plus the rules without paths.
class RuleIndex {
 public:
  struct StringViewHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct PerClass {
    std::unique_ptr<RE2::Set> set;
    std::vector<int> set_rule;     // set pattern index -> rule index
    std::vector<int> nopath_rules; // ascending
    // Paths that rules name without a wildcard -> those rules, ascending: a hash lookup, where the
    // set's DFA would build new states for each new path through a long list of names.
    std::unordered_map<std::string, std::vector<int>, StringViewHash, std::equal_to<>> literal_rules;
    // file.read only: the set pattern that is the policy's secrets (after every rule's), or -1. A
    // path new to the session is read once by the set for both questions (secret? which rules?).
    int secret_index = -1;
  };
  PerClass cls[kActionClassCount];
};

namespace {

// The set's matching pattern indexes -> the rules they stand for, ascending (the secrets' pattern
// is no rule's).
void SetHitsToRules(const RuleIndex::PerClass& pc, std::vector<int>* hits) {
  hits->erase(std::remove(hits->begin(), hits->end(), pc.secret_index), hits->end());
  for (int& h : *hits) h = pc.set_rule[h];
  std::sort(hits->begin(), hits->end());
}

// Adds the rules that name `path` literally to the ascending *rules, which stay ascending and
// without duplicates.
void AddLiteralRules(const RuleIndex::PerClass& pc, std::string_view path, std::vector<int>* rules) {
  if (pc.literal_rules.empty()) return;
  auto it = pc.literal_rules.find(path);
  if (it == pc.literal_rules.end()) return;
  const size_t before = rules->size();
  rules->insert(rules->end(), it->second.begin(), it->second.end());
  std::inplace_merge(rules->begin(), rules->begin() + static_cast<std::ptrdiff_t>(before), rules->end());
  rules->erase(std::unique(rules->begin(), rules->end()), rules->end());
}

}  // namespace

CompiledPolicy::~CompiledPolicy() = default;

Result<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::Compile(const Policy& policy, const PathVars& vars) {
  auto cp = std::shared_ptr<CompiledPolicy>(new CompiledPolicy());
  cp->policy_ = &policy;
  cp->vars_ = vars;
  cp->index_ = std::make_unique<RuleIndex>();
  RegexPool pool;
  for (int c = 0; c < kActionClassCount; ++c) {
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_max_mem(256 << 20);
    cp->index_->cls[c].set = std::make_unique<RE2::Set>(opts, RE2::ANCHOR_BOTH);
  }
  const auto& rules = policy.rules;
  cp->rule_match_.resize(rules.size());
  cp->seq_steps_.resize(rules.size());
  for (size_t r = 0; r < rules.size(); ++r) {
    const Rule& rule = rules[r];
    auto ctx = [&](const Status& s) { return s.WithContext(policy.source + ": rule \"" + rule.id + "\""); };
    if (rule.sequence) {
      for (const MatchSpec& step : rule.sequence->steps) {
        auto m = CompiledMatch::Compile(step, vars, pool, rule.decision != Decision::kAllow);
        if (!m.ok()) return ctx(m.status());
        cp->needs_tool_args_ = cp->needs_tool_args_ || (*m)->has_args();
        cp->seq_steps_[r].push_back(std::move(*m));
      }
      uint32_t classes = 0;
      for (const auto& step : cp->seq_steps_[r]) classes |= step->class_bits();
      cp->stateful_rules_.push_back(static_cast<int>(r));
      cp->stateful_classes_.push_back(classes);
      continue;
    }
    auto m = CompiledMatch::Compile(rule.match, vars, pool, rule.decision != Decision::kAllow, !rule.stateful());
    if (!m.ok()) return ctx(m.status());
    cp->rule_match_[r] = std::move(*m);
    if (rule.budget) {
      cp->stateful_rules_.push_back(static_cast<int>(r));
      cp->stateful_classes_.push_back(cp->rule_match_[r]->class_bits());
      continue;
    }
    const CompiledMatch& cm = *cp->rule_match_[r];
    cp->plain_unless_ = cp->plain_unless_ || cm.has_unless();
    for (int c = 0; c < kActionClassCount; ++c) {
      if (!cm.AppliesTo(static_cast<ActionClass>(c))) continue;
      RuleIndex::PerClass& pc = cp->index_->cls[c];
      if (cm.has_paths()) {
        for (const std::string& lit : cm.literal_paths()) {
          std::vector<int>& v = pc.literal_rules[lit];
          if (v.empty() || v.back() != static_cast<int>(r)) v.push_back(static_cast<int>(r));
        }
        if (!cm.paths_regex().empty()) {
          std::string err;
          int idx = pc.set->Add(cm.paths_regex(), &err);
          if (idx < 0) return ctx(Status::InvalidArgument("paths do not compile: " + err));
          pc.set_rule.push_back(static_cast<int>(r));
          cp->rule_match_[r]->BindPathSet(pc.set.get(), idx);
        }
      } else {
        pc.nopath_rules.push_back(static_cast<int>(r));
      }
    }
  }
  if (!policy.secrets.empty()) {
    RuleIndex::PerClass& pc = cp->index_->cls[static_cast<int>(ActionClass::kFileRead)];
    if (!pc.set_rule.empty()) {
      auto re = JoinGlobs(policy.secrets, vars, GlobFlavor::kPath);
      if (!re.ok()) return re.status().WithContext(policy.source + ": secrets");
      std::string err;
      pc.secret_index = pc.set->Add(*re, &err);
      if (pc.secret_index < 0) return Status::InvalidArgument(policy.source + ": secrets do not compile: " + err);
    }
  }
  for (int c = 0; c < kActionClassCount; ++c) {
    RuleIndex::PerClass& pc = cp->index_->cls[c];
    if (pc.set_rule.empty()) {
      pc.set.reset();
    } else if (!pc.set->Compile()) {
      return Status::ResourceExhausted(policy.source + ": the path globs of class " +
                                       std::string(ActionClassName(static_cast<ActionClass>(c))) +
                                       " exceed the matcher's memory budget");
    } else {
      ++cp->regex_count_;
    }
  }
  for (const MatchSpec& irr : policy.irreversible) {
    auto m = CompiledMatch::Compile(irr, vars, pool, true);
    if (!m.ok()) return m.status().WithContext(policy.source + ": irreversible entry at line " + irr.pos.ToString());
    cp->irreversible_.push_back(std::move(*m));
  }
  if (!policy.secrets.empty()) {
    auto s = pool.Globs(policy.secrets, vars, GlobFlavor::kPath);
    if (!s.ok()) return s.status().WithContext(policy.source + ": secrets");
    cp->secrets_ = std::move(*s);
  }
  cp->regex_count_ += pool.size();
  return std::shared_ptr<const CompiledPolicy>(std::move(cp));
}

Result<std::shared_ptr<const CompiledPolicy>> PolicyCache::Get(const PathVars& vars) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(vars);
  if (it != cache_.end()) return it->second;
  AT_ASSIGN_OR_RETURN(auto cp, CompiledPolicy::Compile(*policy_, vars));
  cache_.emplace(vars, cp);
  return cp;
}

struct SessionEvaluator::SeqState {
  struct Partial {
    uint64_t seq = 0;
    int64_t t = 0;
  };
  // Per step except the last: partial matches that completed steps 0..i, keyed by the bound resource
  // ("" when the sequence does not bind one). Only the latest start per key is kept: it leaves the
  // most room in the window.
  std::vector<std::map<std::string, Partial, std::less<>>> partial;
  std::vector<std::vector<std::string_view>> resources;  // scratch: per step, resources matched
};

struct SessionEvaluator::BudgetState {
  uint64_t count = 0;          // per session
  std::deque<int64_t> window;  // times or seqs of counted events in the sliding window (newest max+1)
};

SessionEvaluator::SessionEvaluator(std::shared_ptr<const CompiledPolicy> policy, bool shortcuts)
    : policy_(std::move(policy)), shortcuts_(shortcuts), scratch_(std::make_unique<Scratch>()) {
  scratch_->actions = &actions_;
  for (int r : policy_->stateful_rules_) {
    const Rule& rule = policy_->policy().rules[r];
    auto s = std::make_unique<SeqState>();
    if (rule.sequence) {
      s->partial.resize(rule.sequence->steps.size() - 1);
      s->resources.resize(rule.sequence->steps.size());
    }
    seq_.push_back(std::move(s));
    budget_.push_back(std::make_unique<BudgetState>());
  }
}

SessionEvaluator::~SessionEvaluator() = default;

SessionEvaluator::Outcome SessionEvaluator::EvalPlain(const Action& a, std::string_view path,
                                                      std::vector<std::string>* explain) {
  const auto& rules = policy_->policy().rules;
  const RuleIndex::PerClass& pc = policy_->index_->cls[static_cast<int>(a.cls)];
  Outcome out;
  if (explain) {
    for (size_t r = 0; r < rules.size(); ++r) {
      if (rules[r].stateful()) continue;
      std::string why;
      bool ok = policy_->rule_match_[r]->Matches(a, path, *scratch_, true, &why);
      explain->push_back("  [" + std::string(ActionClassName(a.cls)) + " " + std::string(path) + "] rule " +
                         rules[r].id + " (" + std::string(DecisionName(rules[r].decision)) + ", line " +
                         rules[r].pos.ToString() + "): " + (ok ? "MATCH" : "no match") + ": " + why);
    }
  }
  const bool cacheable = shortcuts_ && explain == nullptr && !policy_->plain_unless_;
  const bool file_class =
      a.cls == ActionClass::kFileRead || a.cls == ActionClass::kFileWrite || a.cls == ActionClass::kFileDelete;
  const bool net_class = a.cls == ActionClass::kNetConnect || a.cls == ActionClass::kNetListen;
  PathFacts* facts = nullptr;
  int slot = 0;
  if (cacheable && file_class) {
    facts = &Facts(path);
    slot = FileSlot(a.cls, IsFailedAttempt(*a.event));
    if (facts->known & (1u << slot)) return facts->outcome[slot];
  }
  if (cacheable && net_class) {
    if (const Outcome* known = NetOutcome(a, path)) return *known;
  }
  hits_.clear();
  if (pc.set && !path.empty()) {
    if (shortcuts_ && pc.secret_index >= 0) {
      hits_ = ReadSetPass(path).rules;  // the pass the secrets check made, if it made one
    } else {
      MatchSet(*pc.set, path, &hits_);
      SetHitsToRules(pc, &hits_);
    }
  }
  if (!path.empty()) AddLiteralRules(pc, path, &hits_);
  size_t i = 0, j = 0;
  const std::vector<int>& np = pc.nopath_rules;
  while (i < hits_.size() || j < np.size()) {
    int r;
    if (j >= np.size() || (i < hits_.size() && hits_[i] < np[j])) {
      r = hits_[i++];
    } else {
      r = np[j++];
    }
    ++plain_rule_checks_;
    if (!policy_->rule_match_[r]->Matches(a, path, *scratch_, false, nullptr)) continue;
    Decision d = rules[r].decision;
    if (!out.matched || d > out.decision) {
      out.matched = true;
      out.decision = d;
      out.rule = r;
      if (d == Decision::kDeny) break;
    }
  }
  if (facts != nullptr) {
    facts->outcome[slot] = out;
    facts->known |= static_cast<uint8_t>(1u << slot);
  }
  if (cacheable && net_class) {
    if (net_outcomes_.size() >= kMaxCachedPaths) net_outcomes_.clear();
    net_outcomes_.emplace(net_key_, out);  // net_key_ still holds this action's key (NetOutcome)
  }
  return out;
}

const SessionEvaluator::SetPass& SessionEvaluator::ReadSetPass(std::string_view path) {
  for (const SetPass& p : set_pass_) {
    if (p.data != nullptr && p.data == path.data() && p.size == path.size()) return p;
  }
  SetPass& p = set_pass_[set_pass_next_];
  set_pass_next_ ^= 1;
  const RuleIndex::PerClass& pc = policy_->index_->cls[static_cast<int>(ActionClass::kFileRead)];
  MatchSet(*pc.set, path, &p.rules);
  p.secret = std::find(p.rules.begin(), p.rules.end(), pc.secret_index) != p.rules.end() ? 1 : 0;
  SetHitsToRules(pc, &p.rules);
  p.data = path.data();
  p.size = path.size();
  return p;
}

const SessionEvaluator::Outcome* SessionEvaluator::NetOutcome(const Action& a, std::string_view path) {
  // class, failed, port, the host's length, the host, the path: unambiguous whatever bytes they hold.
  net_key_.clear();
  net_key_.push_back(static_cast<char>(a.cls));
  net_key_.push_back(IsFailedAttempt(*a.event) ? 'f' : 'a');
  net_key_.push_back(static_cast<char>(a.port >> 8));
  net_key_.push_back(static_cast<char>(a.port & 0xff));
  const uint32_t host_size = static_cast<uint32_t>(a.host.size());
  net_key_.append(reinterpret_cast<const char*>(&host_size), sizeof host_size);
  net_key_.append(a.host);
  net_key_.append(path);
  auto it = net_outcomes_.find(std::string_view(net_key_));
  return it == net_outcomes_.end() ? nullptr : &it->second;
}

SessionEvaluator::PathFacts& SessionEvaluator::Facts(std::string_view path) {
  const uint64_t gen = facts_.generation();
  for (const Memo& m : memo_) {
    if (m.data == path.data() && m.data != nullptr && m.size == path.size() && m.generation == gen) {
      return facts_.at(m.index);
    }
  }
  size_t index = facts_.Index(path);
  // The scratch entry of an over-long path is shared by every such path: not remembered.
  if (index != PathMap<PathFacts>::kScratch) {
    memo_[memo_next_] = {path.data(), path.size(), index, facts_.generation()};
    memo_next_ ^= 1;
  }
  return facts_.at(index);
}

bool SessionEvaluator::StepMatches(const CompiledMatch& m, std::vector<std::string_view>* resources) {
  resources->clear();
  for (const Action& a : actions_) {
    if (!m.AppliesTo(a.cls)) continue;
    if (m.Matches(a, a.path, *scratch_, true, nullptr) ||
        (!a.resolved.empty() && m.Matches(a, a.resolved, *scratch_, true, nullptr))) {
      resources->push_back(a.Resource());
    }
  }
  return !resources->empty();
}

void SessionEvaluator::EvalStateful(const Event& e, std::vector<std::string>* explain) {
  fired_.clear();
  const auto& rules = policy_->policy().rules;
  const int64_t now = EventTime(e);
  uint32_t event_classes = 0;
  for (const Action& a : actions_) event_classes |= ClassBit(a.cls);
  for (size_t k = 0; k < policy_->stateful_rules_.size(); ++k) {
    // No matcher of the rule applies to any action of the event: nothing to count, advance or fire
    // (still walked when explaining, to say so).
    if (shortcuts_ && explain == nullptr && (policy_->stateful_classes_[k] & event_classes) == 0) continue;
    int r = policy_->stateful_rules_[k];
    const Rule& rule = rules[r];
    if (rule.budget) {
      const CompiledMatch& m = *policy_->rule_match_[r];
      const Action* hit = nullptr;
      for (const Action& a : actions_) {
        if (m.Matches(a, a.path, *scratch_, true, nullptr) ||
            (!a.resolved.empty() && m.Matches(a, a.resolved, *scratch_, true, nullptr))) {
          hit = &a;
          break;
        }
      }
      BudgetState& b = *budget_[k];
      uint64_t in_window = 0;
      if (hit) {
        const BudgetSpec& spec = *rule.budget;
        if (spec.per == BudgetSpec::Per::kSession) {
          in_window = ++b.count;
        } else {
          int64_t pos = spec.per == BudgetSpec::Per::kSeconds ? now : static_cast<int64_t>(Seq(e));
          int64_t width = spec.per == BudgetSpec::Per::kSeconds ? static_cast<int64_t>(spec.window) * 1000000000
                                                                 : static_cast<int64_t>(spec.window);
          while (!b.window.empty() && b.window.front() <= pos - width) b.window.pop_front();
          b.window.push_back(pos);
          if (b.window.size() > spec.max + 1) b.window.pop_front();
          in_window = b.window.size();
        }
        if (in_window > spec.max) fired_.emplace_back(r, hit->cls);
      }
      if (explain) {
        explain->push_back("  budget rule " + rule.id + " (" + std::string(DecisionName(rule.decision)) + ", line " +
                           rule.pos.ToString() + "): " +
                           (hit ? "counts this event (" + std::to_string(in_window) + " of max " +
                                      std::to_string(rule.budget->max) + ")" +
                                      (in_window > rule.budget->max ? ": OVER BUDGET" : ": within budget")
                                : std::string("does not match this event")));
      }
      continue;
    }
    // Sequence.
    const SequenceSpec& spec = *rule.sequence;
    const auto& steps = policy_->seq_steps_[r];
    SeqState& s = *seq_[k];
    size_t n = steps.size();
    bool any = false;
    for (size_t i = 0; i < n; ++i) any = StepMatches(*steps[i], &s.resources[i]) || any;
    bool fired = false;
    ActionClass fired_cls = ActionClass::kFileRead;
    auto in_window = [&](const SeqState::Partial& p) {
      return (spec.within_events == 0 || Seq(e) - p.seq <= spec.within_events) &&
             (spec.within_ns == 0 || now - p.t <= spec.within_ns);
    };
    if (any) {
      for (size_t i = n - 1; i >= 1; --i) {
        for (std::string_view res : s.resources[i]) {
          std::string_view key = spec.same_resource ? res : std::string_view();
          auto& prev = s.partial[i - 1];
          auto it = prev.find(key);
          if (it == prev.end() || !in_window(it->second)) continue;
          if (i == n - 1) {
            if (!fired) {
              fired = true;
              for (const Action& a : actions_) {
                if (steps[i]->AppliesTo(a.cls)) {
                  fired_cls = a.cls;
                  break;
                }
              }
            }
          } else {
            auto& cur = s.partial[i];
            auto jt = cur.find(key);
            if (jt == cur.end()) {
              cur.emplace(std::string(key), it->second);
            } else if (it->second.seq > jt->second.seq) {
              jt->second = it->second;
            }
          }
        }
      }
      for (std::string_view res : s.resources[0]) {
        std::string_view key = spec.same_resource ? res : std::string_view();
        auto& first = s.partial[0];
        auto it = first.find(key);
        if (it == first.end()) {
          first.emplace(std::string(key), SeqState::Partial{Seq(e), now});
        } else {
          it->second = {Seq(e), now};
        }
      }
      // Bound memory: drop expired partials, then the oldest, beyond 4096 keys per step.
      for (auto& m : s.partial) {
        if (m.size() <= 4096) continue;
        for (auto it = m.begin(); it != m.end();) it = in_window(it->second) ? std::next(it) : m.erase(it);
        while (m.size() > 4096) {
          auto oldest = std::min_element(m.begin(), m.end(),
                                         [](const auto& a, const auto& b) { return a.second.seq < b.second.seq; });
          m.erase(oldest);
        }
      }
    }
    if (fired) fired_.emplace_back(r, fired_cls);
    if (explain) {
      std::string steps_hit;
      for (size_t i = 0; i < n; ++i) {
        if (!s.resources[i].empty()) steps_hit += (steps_hit.empty() ? "" : ",") + std::to_string(i + 1);
      }
      explain->push_back("  sequence rule " + rule.id + " (" + std::string(DecisionName(rule.decision)) + ", line " +
                         rule.pos.ToString() + "): " + (steps_hit.empty() ? "no step matches this event" : "matches step(s) " + steps_hit) +
                         (fired ? ": SEQUENCE COMPLETE" : ": not completed here"));
    }
  }
}

const EventVerdict& SessionEvaluator::EvaluateImpl(const Event& e, std::vector<std::string>* explain) {
  verdict_ = EventVerdict();
  const CompiledPolicy& cp = *policy_;
  const Policy& pol = cp.policy();
  scratch_->Reset(&e);
  memo_ = {};
  for (SetPass& p : set_pass_) p.data = nullptr;
  DeriveBaseActions(e, &actions_);
  // Defensive normalisation of paths the producer left with "." / ".." / "//" (matchers.h says how it
  // relates to the recorder's normaliser).
  size_t used = 0;
  for (Action& a : actions_) {
    for (std::string_view* p : {&a.path, &a.resolved}) {
      if (!p->empty() && used < norm_.size() && NeedsNormalization(*p)) {
        norm_[used] = NormalizePath(*p);
        *p = norm_[used++];
      }
    }
  }
  if (const RE2* secrets = cp.secrets_.get()) {
    // Memoised per path with the plain-rule outcomes. Where file.read's set holds the secrets, its
    // pass answers (and is kept for the file.read rules of the same path).
    const bool in_set = cp.index_->cls[static_cast<int>(ActionClass::kFileRead)].secret_index >= 0;
    auto is_secret = [this, secrets, in_set](std::string_view p) {
      if (p.empty()) return false;
      if (!shortcuts_) return RE2::FullMatch(p, *secrets);
      PathFacts& f = Facts(p);
      if (f.secret < 0) {
        f.secret = in_set ? ReadSetPass(p).secret : (RE2::FullMatch(p, *secrets) ? 1 : 0);
      }
      return f.secret == 1;
    };
    for (size_t i = 0, n = actions_.size(); i < n; ++i) {
      const Action& a = actions_[i];
      if (a.cls == ActionClass::kFileRead && (is_secret(a.path) || is_secret(a.resolved))) {
        Action sa = a;
        sa.cls = ActionClass::kSecretRead;
        actions_.push_back(sa);
        break;
      }
    }
  }
  bool failed = IsFailedAttempt(e);
  if (explain) {
    explain->push_back("event " + std::to_string(Seq(e)) + ": " + DescribeEvent(e));
    if (actions_.empty()) explain->push_back("  maps to no action class: not evaluated");
  }
  if (actions_.empty()) return verdict_;
  if (failed && !pol.evaluate_failed) {
    if (explain) explain->push_back("  failed attempt, and the policy has evaluate_failed: false: not evaluated");
    actions_.clear();
    return verdict_;
  }
  Decision best = pol.default_decision;
  int best_rule = -1;
  ActionClass best_cls = actions_[0].cls;
  bool have = false;
  auto consider = [&](Decision d, int rule, ActionClass cls) {
    bool better = !have || d > best || (d == best && rule >= 0 && (best_rule < 0 || rule < best_rule));
    if (better) {
      best = d;
      best_rule = rule;
      best_cls = cls;
      have = true;
    }
  };
  for (const Action& a : actions_) {
    Outcome o;
    if (!a.resolved.empty()) {
      Outcome on_resolved = EvalPlain(a, a.resolved, explain);
      Outcome on_path = EvalPlain(a, a.path, explain);
      o = on_resolved;
      if (!o.matched) o = {false, pol.default_decision, -1};
      if (on_path.matched && on_path.decision > o.decision) o = on_path;
    } else {
      o = EvalPlain(a, a.path, explain);
      if (!o.matched) o = {false, pol.default_decision, -1};
    }
    consider(o.decision, o.rule, a.cls);
  }
  if (!cp.stateful_rules_.empty()) {
    EvalStateful(e, explain);
    for (const auto& [r, cls] : fired_) consider(pol.rules[r].decision, r, cls);
  }
  verdict_.evaluated = true;
  verdict_.decision = best;
  verdict_.rule = best_rule;
  verdict_.cls = best_cls;
  if (!failed) {
    bool irr = best_rule >= 0 && pol.rules[best_rule].irreversible;
    for (size_t i = 0; !irr && i < cp.irreversible_.size(); ++i) {
      for (const Action& a : actions_) {
        if (cp.irreversible_[i]->Matches(a, a.path, *scratch_, true, nullptr) ||
            (!a.resolved.empty() && cp.irreversible_[i]->Matches(a, a.resolved, *scratch_, true, nullptr))) {
          irr = true;
          break;
        }
      }
    }
    verdict_.irreversible = irr;
  }
  if (explain) {
    explain->push_back("  decision: " + std::string(DecisionName(best)) + " by " +
                       (best_rule >= 0 ? "rule " + pol.rules[best_rule].id : std::string("the default")) + " (class " +
                       std::string(ActionClassName(best_cls)) + ")" + (verdict_.irreversible ? ", irreversible" : ""));
  }
  return verdict_;
}

}  // namespace agenttrace
