#include "replayer/policy.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "replayer/matchers.h"

namespace agenttrace {
namespace {

// Thrown inside the parser only; converted to a Status at ParsePolicy's edge.
struct PolicyError {
  SourcePos pos;
  std::string message;
};

SourcePos PosOf(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

[[noreturn]] void Fail(const YAML::Node& n, const std::string& msg) { throw PolicyError{PosOf(n), msg}; }
[[noreturn]] void FailAt(SourcePos pos, const std::string& msg) { throw PolicyError{pos, msg}; }

const PathVars& DummyVars() {
  static const PathVars kVars{"/workspace", "/home/user", "/tmp"};
  return kVars;
}

class Parser {
 public:
  explicit Parser(Policy* policy) : policy_(policy) {}

  void Parse(const YAML::Node& root) {
    CheckDepth(root, 0);
    if (!root.IsDefined() || root.IsNull()) Fail(root, "the policy is empty (expected a mapping with `version: 1`)");
    if (!root.IsMap()) Fail(root, "the policy must be a mapping");
    static const std::set<std::string> kKeys = {"version", "default", "evaluate_failed", "lists", "secrets",
                                                "irreversible", "side_effect_tools", "rules", "promotion"};
    CheckKeys(root, kKeys, "policy");
    // Lists first: everything else may reference them.
    if (YAML::Node lists = root["lists"]) {
      if (!lists.IsMap()) Fail(lists, "`lists` must be a mapping of name -> list of strings");
      for (auto it = lists.begin(); it != lists.end(); ++it) {
        std::string name = Scalar(it->first, "list name");
        if (!ValidName(name)) Fail(it->first, "bad list name \"" + name + "\" (letters, digits, _ . -)");
        if (!it->second.IsSequence()) Fail(it->second, "list \"" + name + "\" must be a sequence of strings");
        std::vector<PosString> items;
        // A node of its own: `it->second` lives in a proxy that dies at the end of the expression,
        // so ranging over it directly reads a dead stack object.
        const YAML::Node values = it->second;
        for (const YAML::Node& item : values) {
          items.push_back({Scalar(item, "list item"), PosOf(item)});
        }
        policy_->lists[name] = std::move(items);
      }
    }
    YAML::Node version = root["version"];
    if (!version) Fail(root, "missing `version: 1`");
    if (Scalar(version, "version") != "1") Fail(version, "unsupported policy version (this build reads version 1)");
    if (YAML::Node d = root["default"]) policy_->default_decision = ParseDecisionNode(d);
    if (YAML::Node f = root["evaluate_failed"]) policy_->evaluate_failed = Bool(f, "evaluate_failed");
    if (YAML::Node s = root["secrets"]) policy_->secrets = StringList(s, "secrets", PatternKind::kPathGlob);
    if (YAML::Node s = root["side_effect_tools"]) {
      policy_->side_effect_tools = StringList(s, "side_effect_tools", PatternKind::kPlainGlob);
    }
    if (YAML::Node irr = root["irreversible"]) {
      if (!irr.IsSequence()) Fail(irr, "`irreversible` must be a sequence of matchers");
      for (const YAML::Node& m : irr) {
        if (!m.IsMap()) Fail(m, "an irreversible entry must be a mapping of conditions");
        CheckKeys(m, MatchKeys(), "irreversible entry");
        policy_->irreversible.push_back(ParseMatch(m));
      }
    }
    if (YAML::Node rules = root["rules"]) {
      if (!rules.IsSequence()) Fail(rules, "`rules` must be a sequence");
      std::set<std::string> ids;
      for (const YAML::Node& r : rules) {
        Rule rule = ParseRule(r);
        if (!ids.insert(rule.id).second) Fail(r["id"], "duplicate rule id \"" + rule.id + "\"");
        policy_->rules.push_back(std::move(rule));
      }
    }
    if (YAML::Node p = root["promotion"]) ParsePromotion(p);
  }

 private:
  enum class PatternKind { kPathGlob, kPlainGlob, kRegex, kHost, kPort, kNone };

  void CheckDepth(const YAML::Node& n, int depth) {
    if (++nodes_ > kMaxPolicyNodes) Fail(n, "the policy has too many nodes (limit " + std::to_string(kMaxPolicyNodes) + ")");
    if (depth > kMaxPolicyDepth) Fail(n, "the policy is nested too deeply (limit " + std::to_string(kMaxPolicyDepth) + ")");
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        CheckDepth(it->first, depth + 1);
        CheckDepth(it->second, depth + 1);
      }
    } else if (n.IsSequence()) {
      for (const YAML::Node& c : n) CheckDepth(c, depth + 1);
    }
  }

  static bool ValidName(const std::string& s) {
    if (s.empty() || s.size() > 128) return false;
    for (char c : s) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
    }
    return true;
  }

  static bool ValidRuleId(const std::string& s) {
    // "default" names the default decision and "refused" the proxy's refusals in reports.
    if (s.empty() || s.size() > 128 || s == "default" || s == "refused") return false;
    if (!std::isalnum(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' || c == '/')) {
        return false;
      }
    }
    return true;
  }

  std::string Scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) Fail(n, what + " must be a string");
    return n.Scalar();
  }

  bool Bool(const YAML::Node& n, const std::string& what) {
    std::string s = Scalar(n, what);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    Fail(n, what + " must be true or false, not \"" + s + "\"");
  }

  uint64_t Uint(const YAML::Node& n, const std::string& what, uint64_t max) {
    std::string s = Scalar(n, what);
    uint64_t v = 0;
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
      Fail(n, what + " must be a non-negative integer, not \"" + s + "\"");
    }
    v = std::stoull(s);
    if (v > max) Fail(n, what + " must be at most " + std::to_string(max));
    return v;
  }

  double Number(const YAML::Node& n, const std::string& what, double lo, double hi) {
    std::string s = Scalar(n, what);
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) Fail(n, what + " must be a number, not \"" + s + "\"");
    if (v < lo || v > hi) {
      std::ostringstream o;
      o << what << " must be between " << lo << " and " << hi;
      Fail(n, o.str());
    }
    return v;
  }

  Decision ParseDecisionNode(const YAML::Node& n) {
    std::string s = Scalar(n, "decision");
    auto d = ParseDecision(s);
    if (!d) Fail(n, "decision must be allow, ask or deny, not \"" + s + "\"");
    return *d;
  }

  void CheckKeys(const YAML::Node& m, const std::set<std::string>& keys, const std::string& what) {
    for (auto it = m.begin(); it != m.end(); ++it) {
      std::string k = Scalar(it->first, "a key");
      if (!keys.count(k)) {
        std::string known;
        for (const auto& x : keys) known += (known.empty() ? "" : ", ") + x;
        Fail(it->first, "unknown key \"" + k + "\" in " + what + " (known: " + known + ")");
      }
    }
  }

  static const std::set<std::string>& MatchKeys() {
    static const std::set<std::string> kKeys = {"class", "paths", "not_paths", "hosts", "not_hosts", "ports", "argv",
                                                "tools", "servers", "args", "env", "not_env", "text", "failed",
                                                "unless"};
    return kKeys;
  }

  // The keys of an `unless` exception: a match spec's, without another `unless`.
  static const std::set<std::string>& UnlessKeys() {
    static const std::set<std::string> kKeys = [] {
      std::set<std::string> k = MatchKeys();
      k.erase("unless");
      return k;
    }();
    return kKeys;
  }

  void ValidatePattern(const PosString& p, PatternKind kind, const YAML::Node& n) {
    auto fail = [&](const std::string& why) { FailAt(p.pos.line ? p.pos : PosOf(n), why); };
    switch (kind) {
      case PatternKind::kPathGlob:
      case PatternKind::kPlainGlob: {
        Status s = ValidateGlob(p.text, DummyVars(),
                                kind == PatternKind::kPathGlob ? GlobFlavor::kPath : GlobFlavor::kPlain);
        if (!s.ok()) fail(s.message());
        break;
      }
      case PatternKind::kRegex: {
        RE2 compiled(p.text, RE2::Quiet);
        if (!compiled.ok()) fail("bad regex \"" + p.text + "\": " + compiled.error());
        break;
      }
      case PatternKind::kHost: {
        auto h = HostPattern::Parse(p.text);
        if (!h.ok()) fail(h.status().message());
        break;
      }
      case PatternKind::kPort: {
        auto r = ParsePortRange(p.text);
        if (!r.ok()) fail(r.status().message());
        break;
      }
      case PatternKind::kNone: break;
    }
  }

  // A string, `$list`, a sequence of strings / `$list` / {list: name}.
  std::vector<PosString> StringList(const YAML::Node& n, const std::string& what, PatternKind kind) {
    std::vector<PosString> out;
    auto add_item = [&](const YAML::Node& item) {
      if (item.IsMap()) {
        CheckKeys(item, {"list"}, what + " item");
        YAML::Node l = item["list"];
        if (!l) Fail(item, "expected {list: NAME}");
        AddListRef(Scalar(l, "list name"), l, &out);
        return;
      }
      std::string s = Scalar(item, what + " item");
      if (s.size() > 1 && s[0] == '$' && s[1] != '{') {
        AddListRef(s.substr(1), item, &out);
      } else {
        out.push_back({s, PosOf(item)});
      }
    };
    if (n.IsSequence()) {
      for (const YAML::Node& item : n) add_item(item);
    } else if (n.IsScalar() || n.IsMap()) {
      add_item(n);
    } else {
      Fail(n, what + " must be a string or a sequence of strings");
    }
    for (const PosString& p : out) ValidatePattern(p, kind, n);
    return out;
  }

  void AddListRef(const std::string& name, const YAML::Node& at, std::vector<PosString>* out) {
    auto it = policy_->lists.find(name);
    if (it == policy_->lists.end()) Fail(at, "unknown list \"$" + name + "\" (define it under `lists:`)");
    for (const PosString& p : it->second) out->push_back(p);
  }

  // A mapping's optional keys. Looking a key up in a yaml-cpp mapping converts every key it passes,
  // so rules and matchers look up only the few keys they have among the twenty they may have.
  class Present {
   public:
    explicit Present(const YAML::Node& m) : m_(m) {
      for (auto it = m.begin(); it != m.end(); ++it) {
        if (it->first.IsScalar()) keys_.push_back(it->first.Scalar());
      }
    }
    // The value of `key`, or an undefined node (false) when the mapping does not have it.
    YAML::Node operator()(const char* key) const {
      for (const std::string& k : keys_) {
        if (k == key) return m_[key];
      }
      return YAML::Node(YAML::NodeType::Undefined);
    }

   private:
    const YAML::Node& m_;
    std::vector<std::string> keys_;
  };

  MatchSpec ParseMatch(const YAML::Node& m) {
    MatchSpec spec;
    spec.pos = PosOf(m);
    const Present get(m);
    if (YAML::Node c = get("class")) {
      std::vector<PosString> names = StringList(c, "class", PatternKind::kNone);
      for (const PosString& name : names) {
        auto cls = ParseActionClass(name.text);
        if (!cls) {
          FailAt(name.pos, "unknown class \"" + name.text +
                               "\" (known: file.read, file.write, file.delete, exec, net.connect, net.listen, "
                               "secret.read, tool.call, process.escape)");
        }
        spec.class_mask |= ClassBit(*cls);
      }
    }
    if (YAML::Node x = get("paths")) spec.paths = StringList(x, "paths", PatternKind::kPathGlob);
    if (YAML::Node x = get("not_paths")) spec.not_paths = StringList(x, "not_paths", PatternKind::kPathGlob);
    if (YAML::Node x = get("hosts")) spec.hosts = StringList(x, "hosts", PatternKind::kHost);
    if (YAML::Node x = get("not_hosts")) spec.not_hosts = StringList(x, "not_hosts", PatternKind::kHost);
    if (YAML::Node x = get("ports")) spec.ports = StringList(x, "ports", PatternKind::kPort);
    if (YAML::Node x = get("argv")) spec.argv = StringList(x, "argv", PatternKind::kPlainGlob);
    if (YAML::Node x = get("tools")) spec.tools = StringList(x, "tools", PatternKind::kPlainGlob);
    if (YAML::Node x = get("servers")) spec.servers = StringList(x, "servers", PatternKind::kPlainGlob);
    if (YAML::Node x = get("env")) spec.env = StringList(x, "env", PatternKind::kPlainGlob);
    if (YAML::Node x = get("not_env")) spec.not_env = StringList(x, "not_env", PatternKind::kPlainGlob);
    if (YAML::Node x = get("text")) spec.text = StringList(x, "text", PatternKind::kPlainGlob);
    if (YAML::Node x = get("failed")) spec.failed = Bool(x, "failed");
    if (YAML::Node x = get("args")) {
      if (!x.IsSequence()) Fail(x, "`args` must be a sequence of {pointer, glob|regex}");
      for (const YAML::Node& a : x) {
        if (!a.IsMap()) Fail(a, "an args matcher must be a mapping {pointer, glob|regex}");
        CheckKeys(a, {"pointer", "glob", "regex"}, "args matcher");
        ArgMatcher am;
        am.pos = PosOf(a);
        if (!a["pointer"]) Fail(a, "an args matcher needs `pointer` (a JSON pointer such as /path)");
        am.pointer = Scalar(a["pointer"], "pointer");
        if (!am.pointer.empty() && am.pointer[0] != '/') {
          Fail(a["pointer"], "a JSON pointer is empty or starts with '/', not \"" + am.pointer + "\"");
        }
        bool has_glob = static_cast<bool>(a["glob"]), has_regex = static_cast<bool>(a["regex"]);
        if (has_glob == has_regex) Fail(a, "an args matcher needs exactly one of `glob` or `regex`");
        if (has_glob) {
          am.glob = Scalar(a["glob"], "glob");
          ValidatePattern({am.glob, PosOf(a["glob"])}, PatternKind::kPlainGlob, a);
        } else {
          am.regex = Scalar(a["regex"], "regex");
          ValidatePattern({am.regex, PosOf(a["regex"])}, PatternKind::kRegex, a);
        }
        spec.args.push_back(std::move(am));
      }
    }
    if (YAML::Node x = get("unless")) ParseUnless(x, &spec);
    return spec;
  }

  // `unless: {conditions}` or `unless: [{conditions}, ...]`.
  void ParseUnless(const YAML::Node& x, MatchSpec* spec) {
    auto one = [&](const YAML::Node& u) {
      if (!u.IsMap()) Fail(u, "an `unless` exception must be a mapping of conditions");
      if (u.size() == 0) Fail(u, "an `unless` exception needs at least one condition (an empty one would match everything)");
      if (u["unless"]) Fail(u["unless"], "`unless` cannot be nested inside an `unless` exception");
      CheckKeys(u, UnlessKeys(), "unless exception");
      spec->unless.push_back(ParseMatch(u));
    };
    if (x.IsMap()) {
      one(x);
    } else if (x.IsSequence() && x.size() > 0) {
      for (const YAML::Node& u : x) one(u);
    } else {
      Fail(x, "`unless` must be a mapping of conditions or a non-empty sequence of them");
    }
  }

  Rule ParseRule(const YAML::Node& r) {
    if (!r.IsMap()) Fail(r, "a rule must be a mapping");
    static const std::set<std::string> kKeys = [] {
      std::set<std::string> k = MatchKeys();
      for (const char* x : {"id", "decision", "description", "irreversible", "sequence", "budget"}) k.insert(x);
      return k;
    }();
    CheckKeys(r, kKeys, "rule");
    Rule rule;
    rule.pos = PosOf(r);
    if (!r["id"]) Fail(r, "a rule needs an `id`");
    rule.id = Scalar(r["id"], "id");
    if (!ValidRuleId(rule.id)) {
      Fail(r["id"], "bad rule id \"" + rule.id +
                        "\" (1-128 of letters, digits, _ . - : /, starting with a letter or digit; \"default\" and \"refused\" are reserved)");
    }
    if (!r["decision"]) Fail(r, "rule \"" + rule.id + "\" needs a `decision` (allow, ask or deny)");
    rule.decision = ParseDecisionNode(r["decision"]);
    const Present get(r);
    if (YAML::Node d = get("description")) rule.description = Scalar(d, "description");
    if (YAML::Node i = get("irreversible")) rule.irreversible = Bool(i, "irreversible");
    rule.match = ParseMatch(r);
    if (YAML::Node s = get("sequence")) {
      for (const auto& k : MatchKeys()) {
        if (r[k]) Fail(r[k], "rule \"" + rule.id + "\": a sequence rule puts its conditions in its steps, not `" + k + "`");
      }
      if (r["budget"]) Fail(r["budget"], "rule \"" + rule.id + "\": a rule is either a sequence or a budget");
      rule.sequence = ParseSequence(s);
    }
    if (YAML::Node b = get("budget")) rule.budget = ParseBudget(b);
    return rule;
  }

  SequenceSpec ParseSequence(const YAML::Node& s) {
    if (!s.IsMap()) Fail(s, "`sequence` must be a mapping {steps, within, same_resource}");
    CheckKeys(s, {"steps", "within", "same_resource"}, "sequence");
    SequenceSpec seq;
    YAML::Node steps = s["steps"];
    if (!steps || !steps.IsSequence()) Fail(s, "a sequence needs `steps`: a list of 2 to 8 matchers");
    if (steps.size() < 2 || steps.size() > 8) Fail(steps, "a sequence has 2 to 8 steps");
    for (const YAML::Node& st : steps) {
      if (!st.IsMap()) Fail(st, "a sequence step must be a mapping of conditions");
      CheckKeys(st, MatchKeys(), "sequence step");
      seq.steps.push_back(ParseMatch(st));
    }
    if (YAML::Node w = s["within"]) {
      if (!w.IsMap()) Fail(w, "`within` must be a mapping {events: N, seconds: T}");
      CheckKeys(w, {"events", "seconds"}, "within");
      if (w["events"]) seq.within_events = Uint(w["events"], "within.events", 1ull << 40);
      if (w["seconds"]) seq.within_ns = static_cast<int64_t>(Number(w["seconds"], "within.seconds", 0, 1e9) * 1e9);
      if (seq.within_events == 0 && seq.within_ns == 0) Fail(w, "`within` needs events > 0 or seconds > 0");
    }
    if (YAML::Node b = s["same_resource"]) seq.same_resource = Bool(b, "same_resource");
    return seq;
  }

  BudgetSpec ParseBudget(const YAML::Node& b) {
    if (!b.IsMap()) Fail(b, "`budget` must be a mapping {max: N, per: session | {seconds: T} | {events: N}}");
    CheckKeys(b, {"max", "per"}, "budget");
    BudgetSpec spec;
    if (!b["max"]) Fail(b, "a budget needs `max`");
    spec.max = Uint(b["max"], "budget.max", 1ull << 40);
    if (YAML::Node per = b["per"]) {
      if (per.IsScalar()) {
        if (per.Scalar() != "session") Fail(per, "budget.per must be `session`, {seconds: T} or {events: N}");
      } else if (per.IsMap()) {
        CheckKeys(per, {"seconds", "events"}, "budget.per");
        if (per.size() != 1) Fail(per, "budget.per takes exactly one of seconds or events");
        if (per["seconds"]) {
          spec.per = BudgetSpec::Per::kSeconds;
          spec.window = Uint(per["seconds"], "budget.per.seconds", 1ull << 32);
        } else {
          spec.per = BudgetSpec::Per::kEvents;
          spec.window = Uint(per["events"], "budget.per.events", 1ull << 40);
        }
        if (spec.window == 0) Fail(per, "a budget window must be > 0");
      } else {
        Fail(per, "budget.per must be `session`, {seconds: T} or {events: N}");
      }
    }
    return spec;
  }

  void ParsePromotion(const YAML::Node& p) {
    if (!p.IsMap()) Fail(p, "`promotion` must be a mapping");
    CheckKeys(p,
              {"min_sessions", "max_violations", "max_asks", "min_stability", "allow_irreversible", "require_success",
               "success_exit_codes"},
              "promotion");
    Promotion& pr = policy_->promotion;
    if (p["min_sessions"]) pr.min_sessions = Uint(p["min_sessions"], "min_sessions", 1000000);
    if (p["max_violations"]) pr.max_violations = Uint(p["max_violations"], "max_violations", 1ull << 40);
    if (p["max_asks"]) pr.max_asks = Uint(p["max_asks"], "max_asks", 1ull << 40);
    if (p["min_stability"]) pr.min_stability = Number(p["min_stability"], "min_stability", 0.0, 1.0);
    if (p["allow_irreversible"]) pr.allow_irreversible = Bool(p["allow_irreversible"], "allow_irreversible");
    if (p["require_success"]) pr.require_success = Bool(p["require_success"], "require_success");
    if (YAML::Node codes = p["success_exit_codes"]) {
      if (!codes.IsSequence() || codes.size() == 0) {
        Fail(codes, "`success_exit_codes` must be a non-empty sequence of exit codes (0..255)");
      }
      pr.success_exit_codes.clear();
      for (const YAML::Node& c : codes) {
        pr.success_exit_codes.push_back(static_cast<int32_t>(Uint(c, "an exit code", 255)));
      }
    }
  }

  Policy* policy_;
  size_t nodes_ = 0;
};

}  // namespace

bool Promotion::IsSuccess(int32_t exit_code, int32_t exit_signal) const {
  if (exit_signal != 0 || exit_code < 0) return false;
  return std::find(success_exit_codes.begin(), success_exit_codes.end(), exit_code) != success_exit_codes.end();
}

Result<Policy> ParsePolicy(std::string_view yaml, std::string_view source) {
  std::string where = source.empty() ? "policy" : std::string(source);
  if (yaml.size() > kMaxPolicyBytes) {
    return Status::InvalidArgument(where + ": the policy is " + std::to_string(yaml.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxPolicyBytes));
  }
  Policy policy;
  policy.source = where;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    Parser parser(&policy);
    parser.Parse(root);
  } catch (const PolicyError& e) {
    std::string at = e.pos.line > 0 ? ":" + e.pos.ToString() : "";
    return Status::InvalidArgument(where + at + ": " + e.message);
  } catch (const YAML::Exception& e) {
    std::string at = e.mark.line >= 0 ? ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1)
                                      : "";
    return Status::InvalidArgument(where + at + ": YAML error: " + e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(where + ": " + e.what());
  }
  return policy;
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open policy file " + path);
  std::string data;
  data.resize(kMaxPolicyBytes + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.bad()) return Status::IOError("cannot read policy file " + path);
  data.resize(static_cast<size_t>(in.gcount()));
  return ParsePolicy(data, path);
}

}  // namespace agenttrace
