#include "replayer/diff.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "format/event_text.h"
#include "replayer/engine.h"
#include "replayer/normalize.h"
#include "replayer/profile.h"

namespace agenttrace {
namespace {

// Replaces the session's directories inside free text (tool arguments, exec arguments that are not
// paths) by their variables, longest first so that a workspace inside $HOME wins, then applies the
// "anywhere" rules of the normaliser.
std::string NormalizeArgText(std::string_view text, const PathVars& vars) {
  std::vector<std::pair<std::string_view, std::string_view>> dirs = {
      {vars.workspace, "${workspace}"}, {vars.home, "${home}"}, {vars.tmp, "${tmp}"}};
  std::stable_sort(dirs.begin(), dirs.end(),
                   [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
  std::string cur(text);
  for (const auto& [dir, var] : dirs) {
    if (dir.size() < 2) continue;  // "" or "/": replacing would rewrite every path
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = cur.find(dir, pos)) != std::string::npos; pos = hit + dir.size()) {
      out.append(cur, pos, hit - pos);
      out.append(var);
    }
    out.append(cur, pos, std::string::npos);
    cur = std::move(out);
  }
  return NormalizeVolatileText(cur);
}

// Step keys are kept for up to kMaxDiffSteps steps per side, and tool arguments can be megabytes:
// a longer key keeps its first kMaxStepKeyBytes and a hash of the whole, which still tells keys apart.
constexpr size_t kMaxStepKeyBytes = 4096;

void BoundKey(std::string* key) {
  if (key->size() <= kMaxStepKeyBytes) return;
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : *key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "...#%016llx", static_cast<unsigned long long>(h));
  key->resize(kMaxStepKeyBytes);
  key->append(buf);
}

std::string StepKey(const Event& e, const PathVars& vars, const TempPaths& temps) {
  std::string key(EventKindName(e.kind));
  key.push_back(' ');
  if (e.kind == EventKind::kToolCall) {
    if (!e.server.empty()) key += e.server + "/";
    key += e.tool;
    key.push_back(' ');
    key += NormalizeArgText(e.json, vars);
    BoundKey(&key);
    return key;
  }
  key += NormalizeProfilePath(e.path, vars, &temps);
  key += " [";
  for (size_t i = 0; i < e.argv.size(); ++i) {
    if (i > 0) key.push_back(' ');
    const std::string& arg = e.argv[i];
    key += !arg.empty() && arg[0] == '/' ? NormalizeProfilePath(arg, vars, &temps) : NormalizeArgText(arg, vars);
  }
  key.push_back(']');
  BoundKey(&key);
  return key;
}

// A successful exec or any tool call is a step. Failed execs are left out: a shell's PATH search
// tries several directories, which depends on the machine, not on the agent.
bool IsStep(const Event& e) { return e.kind == EventKind::kToolCall || (e.kind == EventKind::kExec && e.result >= 0); }

// What one pass over a session collects besides what RunReplay gives.
struct Scan {
  std::vector<DiffStep> steps;
  bool truncated = false;
  std::map<std::string, uint8_t> decisions;  // "class resource" -> bit per Decision seen
  Status error;                              // a read failure: what came before it was scanned
};

// Reads `in` once: its steps (when `want_steps`) and, with `cache`, the decision on the deciding
// action of every evaluated event. Resources and step keys are normalised at the end, once the
// session's temporary paths are known.
Result<Scan> ScanSession(const SessionInput& in, PolicyCache* cache, bool want_steps) {
  PathVars vars{in.info.cwd, in.info.home, in.info.tmp};
  std::unique_ptr<SessionEvaluator> ev;
  if (cache != nullptr) {
    AT_ASSIGN_OR_RETURN(std::shared_ptr<const CompiledPolicy> cp, cache->Get(vars));
    ev = std::make_unique<SessionEvaluator>(cp);
  }
  Scan scan;
  auto src = in.open();
  if (!src.ok()) {
    scan.error = src.status();
    return scan;
  }
  TempPaths temps;
  std::vector<Event> step_events;
  std::map<std::string, uint8_t> raw_decisions;  // class letter, 'p' or 'r', raw resource
  std::string raw;
  for (;;) {
    Result<const Event*> next = (*src)->Next();
    if (!next.ok()) {
      scan.error = next.status();
      break;
    }
    const Event* e = *next;
    if (e == nullptr) break;
    temps.Observe(*e);
    if (want_steps && IsStep(*e)) {
      if (step_events.size() < kMaxDiffSteps) {
        step_events.push_back(*e);
      } else {
        scan.truncated = true;
      }
    }
    if (ev == nullptr) continue;
    const EventVerdict& v = ev->Evaluate(*e);
    if (!v.evaluated) continue;
    for (const Action& a : ev->actions()) {
      if (a.cls != v.cls) continue;
      bool is_path = ProfileRawResource(a, &raw);
      std::string key(1, static_cast<char>('A' + static_cast<int>(a.cls)));
      key.push_back(is_path ? 'p' : 'r');
      key += raw;
      raw_decisions[key] |= static_cast<uint8_t>(1u << static_cast<unsigned>(v.decision));
      break;
    }
  }
  for (const Event& e : step_events) scan.steps.push_back({StepKey(e, vars, temps), e.seq, DescribeEvent(e)});
  for (const auto& [k, bits] : raw_decisions) {
    std::string entry(ActionClassName(static_cast<ActionClass>(k[0] - 'A')));
    entry.push_back(' ');
    entry += ProfileResource(std::string_view(k).substr(2), k[1] == 'p', vars, &temps);
    scan.decisions[entry] |= bits;
  }
  return scan;
}

std::string DecisionsText(uint8_t bits) {
  std::string out;
  for (Decision d : {Decision::kAllow, Decision::kAsk, Decision::kDeny}) {
    if ((bits & (1u << static_cast<unsigned>(d))) == 0) continue;
    if (!out.empty()) out.push_back(',');
    out += DecisionName(d);
  }
  return out;
}

std::vector<std::string> Minus(const std::set<std::string>& x, const std::set<std::string>& y) {
  std::vector<std::string> out;
  std::set_difference(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(out));
  return out;
}

struct Side {
  DiffSideSummary summary;
  std::set<std::string> profile;
  BlastRadius blast;
  std::map<std::string, uint8_t> decisions;
  std::optional<Scan> only_scan;  // the scan of the side's only session, for the alignment
};

Status BuildSide(const Policy& replay_policy, const Policy* policy, std::vector<SessionInput> inputs, std::string name,
                 bool want_steps, Side* side, Status* first_error) {
  side->summary.name = std::move(name);
  PolicyCache cache(policy);
  for (const SessionInput& in : inputs) {
    if (!policy && !want_steps) break;
    // Fails only when the policy cannot be compiled for the session's directories; a read failure
    // is in scan->error and RunReplay reports it too.
    AT_ASSIGN_OR_RETURN(Scan scan, ScanSession(in, policy ? &cache : nullptr, want_steps));
    for (const auto& [k, bits] : scan.decisions) side->decisions[k] |= bits;
    if (want_steps) side->only_scan = std::move(scan);
  }
  ReplayOptions opt;
  AT_ASSIGN_OR_RETURN(ReplayReport rep, RunReplay(replay_policy, std::move(inputs), opt));
  for (const SessionResult& s : rep.sessions) {
    side->summary.sessions.push_back(s.info.id.ToString());
    side->profile.insert(s.profile.begin(), s.profile.end());
    side->blast.Merge(s.blast);
    if (!s.error.ok() && first_error->ok()) *first_error = s.error;
  }
  std::sort(side->summary.sessions.begin(), side->summary.sessions.end());
  side->summary.profile_size = side->profile.size();
  return Status::Ok();
}

}  // namespace

Result<std::vector<DiffStep>> SessionSteps(const SessionInput& in, bool* truncated) {
  AT_ASSIGN_OR_RETURN(Scan scan, ScanSession(in, nullptr, true));
  if (!scan.error.ok()) return scan.error;
  if (truncated != nullptr) *truncated = scan.truncated;
  return std::move(scan.steps);
}

StepAlignment AlignSteps(const std::vector<DiffStep>& a, const std::vector<DiffStep>& b, bool truncated) {
  StepAlignment out;
  out.steps_a = a.size();
  out.steps_b = b.size();
  out.truncated = truncated;
  // Keys as small integers: the quadratic loop below compares them n*m times.
  std::unordered_map<std::string_view, uint32_t> ids;
  auto intern = [&](const std::vector<DiffStep>& v) {
    std::vector<uint32_t> r;
    r.reserve(v.size());
    for (const DiffStep& s : v) r.push_back(ids.emplace(s.key, static_cast<uint32_t>(ids.size())).first->second);
    return r;
  };
  std::vector<uint32_t> x = intern(a), y = intern(b);
  size_t p = 0;
  while (p < x.size() && p < y.size() && x[p] == y[p]) ++p;
  out.common_prefix = p;
  size_t n = x.size() - p, m = y.size() - p;
  if (n == 0 && m == 0) return out;
  Divergence d;
  d.index_a = p;
  d.index_b = p;
  if (n == 0 || m == 0) {
    out.edit_distance = n + m;
    d.kind = n == 0 ? "only_in_b" : "only_in_a";
    if (n == 0)
      d.b = b[p];
    else
      d.a = a[p];
    out.divergence = std::move(d);
    return out;
  }
  // Edit distance of the suffixes after the common prefix, computed from the end, two rows at a
  // time: next = distances from row i+1, cur = from row i. At row 0 the first operation of an optimal
  // alignment can be read off.
  std::vector<size_t> next(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) next[j] = m - j;
  for (size_t i = n; i-- > 0;) {
    cur[m] = n - i;
    for (size_t j = m; j-- > 0;) {
      if (x[p + i] == y[p + j]) {
        cur[j] = next[j + 1];
      } else {
        cur[j] = 1 + std::min({next[j + 1], next[j], cur[j + 1]});
      }
    }
    if (i > 0) std::swap(next, cur);
  }
  // Here cur is row 0 and next row 1 (n >= 1, so the last swap was skipped).
  out.edit_distance = cur[0];
  if (cur[0] == next[1] + 1) {
    d.kind = "changed";
    d.a = a[p];
    d.b = b[p];
  } else if (cur[0] == cur[1] + 1) {
    d.kind = "only_in_b";
    d.b = b[p];
  } else {
    d.kind = "only_in_a";
    d.a = a[p];
  }
  out.divergence = std::move(d);
  return out;
}

Result<DiffReport> RunDiff(std::vector<SessionInput> a, std::string a_name, std::vector<SessionInput> b,
                           std::string b_name, const Policy* policy) {
  bool want_steps = a.size() == 1 && b.size() == 1;
  // Without a policy, replay only builds profiles and blast radius: those do not depend on rules.
  Policy empty;
  const Policy& replay_policy = policy != nullptr ? *policy : empty;
  DiffReport r;
  Side sa, sb;
  Status err_a, err_b;
  AT_RETURN_IF_ERROR(BuildSide(replay_policy, policy, std::move(a), std::move(a_name), want_steps, &sa, &err_a));
  AT_RETURN_IF_ERROR(BuildSide(replay_policy, policy, std::move(b), std::move(b_name), want_steps, &sb, &err_b));
  r.first_error = !err_a.ok() ? err_a : err_b;
  r.a = sa.summary;
  r.b = sb.summary;
  r.only_a = Minus(sa.profile, sb.profile);
  r.only_b = Minus(sb.profile, sa.profile);
  auto reach = [&](const char* kind, const std::set<std::string>& x, const std::set<std::string>& y) {
    ReachChange c;
    c.kind = kind;
    c.added = Minus(y, x);
    c.removed = Minus(x, y);
    if (!c.added.empty() || !c.removed.empty()) r.reach.push_back(std::move(c));
  };
  reach("written_outside_workspace", sa.blast.written_outside_workspace, sb.blast.written_outside_workspace);
  reach("hosts", sa.blast.hosts, sb.blast.hosts);
  reach("secrets", sa.blast.secrets, sb.blast.secrets);
  reach("side_effect_tools", sa.blast.side_effect_tools, sb.blast.side_effect_tools);
  if (want_steps && sa.only_scan && sb.only_scan) {
    r.steps = AlignSteps(sa.only_scan->steps, sb.only_scan->steps, sa.only_scan->truncated || sb.only_scan->truncated);
  }
  if (policy != nullptr) {
    r.policy_used = true;
    r.policy_source = policy->source;
    // Resources on both sides whose decisions differ, and resources of one side only that were asked
    // about or denied there (an allowed new action is already in only_in_a / only_in_b).
    constexpr uint8_t kNotAllow =
        (1u << static_cast<unsigned>(Decision::kAsk)) | (1u << static_cast<unsigned>(Decision::kDeny));
    auto ia = sa.decisions.begin(), ib = sb.decisions.begin();
    while (ia != sa.decisions.end() || ib != sb.decisions.end()) {
      if (ib == sb.decisions.end() || (ia != sa.decisions.end() && ia->first < ib->first)) {
        if (ia->second & kNotAllow) r.decisions.push_back({ia->first, DecisionsText(ia->second), "-"});
        ++ia;
      } else if (ia == sa.decisions.end() || ib->first < ia->first) {
        if (ib->second & kNotAllow) r.decisions.push_back({ib->first, "-", DecisionsText(ib->second)});
        ++ib;
      } else {
        if (ia->second != ib->second) {
          r.decisions.push_back({ia->first, DecisionsText(ia->second), DecisionsText(ib->second)});
        }
        ++ia;
        ++ib;
      }
    }
  }
  return r;
}

}  // namespace agenttrace
