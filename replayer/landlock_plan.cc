#include "replayer/landlock_plan.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

namespace agenttrace {
namespace {

using namespace sandbox;  // NOLINT(build/namespaces): the access bits

// The rights each action class needs from the kernel. Content rights apply beneath the glob's prefix;
// make/remove rights apply to the directory that holds the new or removed entry.
constexpr uint64_t kReadGroup = kReadFile | kReadDir;
constexpr uint64_t kWriteGroup = kWriteFile | kTruncate;
constexpr uint64_t kMakeGroup = kMakeReg | kMakeDir | kMakeSym | kMakeFifo | kMakeSock | kMakeChar | kMakeBlock;
constexpr uint64_t kRemoveGroup = kRemoveFile | kRemoveDir;
// execve opens the program for reading too.
constexpr uint64_t kExecGroup = kExecute | kReadFile;

constexpr ActionClass kFileClasses[] = {ActionClass::kFileRead, ActionClass::kFileWrite, ActionClass::kFileDelete,
                                        ActionClass::kExec};

bool HasClass(const MatchSpec& m, ActionClass c) { return m.class_mask == 0 || (m.class_mask & ClassBit(c)) != 0; }

// Whether a spec can match a file or exec action at all: conditions that need a host, a tool, an
// environment variable or an escape text never hold for one (docs/policy.md, "Conditions").
bool CanMatchFile(const MatchSpec& m, ActionClass c) {
  if (!m.hosts.empty() || !m.not_hosts.empty() || !m.ports.empty() || !m.tools.empty() || !m.servers.empty() ||
      !m.args.empty() || !m.env.empty() || !m.text.empty()) {
    return false;
  }
  return m.argv.empty() || c == ActionClass::kExec;
}

// A unix-socket action has a path and no host.
bool CanMatchUnix(const MatchSpec& m) { return CanMatchFile(m, ActionClass::kNetListen); }

// A TCP action has a host and a port, no path.
bool CanMatchTcp(const MatchSpec& m) {
  return m.paths.empty() && m.argv.empty() && m.tools.empty() && m.servers.empty() && m.args.empty() && m.env.empty() &&
         m.text.empty();
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// a == b, or one beneath the other.
bool Overlaps(std::string_view a, std::string_view b) {
  auto beneath = [](std::string_view x, std::string_view dir) {
    if (dir == "/") return true;
    return x.size() > dir.size() && x.compare(0, dir.size(), dir) == 0 && x[dir.size()] == '/';
  };
  return a == b || beneath(a, b) || beneath(b, a);
}

bool IsProcPerProcess(std::string_view name) {
  if (name == "self" || name == "thread-self") return true;
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct Grant {
  std::string content;    // beneath which read/write/exec rights apply
  std::string container;  // the directory holding entries the glob names (make/remove rights)
};

class Builder {
 public:
  Builder(const Policy& policy, const PathVars& vars, const ExistingAncestorFn& existing, PolicyCache* cache)
      : policy_(policy), vars_(vars), existing_(existing), cache_(cache) {}

  Result<LandlockPlan> Build();

 private:
  // What one allow/ask spec did to the plan, for its rule's line.
  struct Contribution {
    std::vector<std::string> bounded;       // "file.read beneath /usr/lib, /etc"
    std::vector<std::string> unrestricted;  // "file.read (no path condition)"
    bool failed_only = false;
  };
  Status AddAllow(const MatchSpec& m, Contribution* out);
  void Give(const std::string& path, uint64_t access) {
    grants_[path] |= access;
    by_rule_[path][rule_] |= access;
  }
  Result<bool> Replaceable(const std::string& dir);
  Status WidenReplaceable(std::vector<LandlockWidening>* out);
  Result<std::vector<Grant>> Grants(const std::vector<PosString>& globs);
  void AddPorts(const MatchSpec& m, bool bind, Contribution* out);
  Result<RuleEnforcement> ClassifyDeny(size_t index, const Rule& r);
  void Finish(LandlockPlan* out);

  const Policy& policy_;
  const PathVars& vars_;
  const ExistingAncestorFn& existing_;
  std::map<std::string, std::string> widened_;  // missing path -> the ancestor used instead
  std::unordered_map<std::string, std::string> existing_at_;  // path -> existing_(path), asked once
  std::map<std::string, uint64_t> grants_;
  size_t rule_ = 0;                                            // the allow rule being added
  std::map<std::string, std::map<size_t, uint64_t>> by_rule_;  // path -> rule -> rights it granted
  PolicyCache* cache_;                                         // may be null
  std::shared_ptr<const CompiledPolicy> compiled_;             // for Replaceable
  std::map<std::string, bool> replaceable_;
  uint64_t unrestricted_ = 0;
  struct Ports {
    bool all = false;
    std::vector<PortRange> ranges;
  } connect_, bind_;
};

Result<std::vector<Grant>> Builder::Grants(const std::vector<PosString>& globs) {
  std::vector<Grant> out;
  for (const PosString& g : globs) {
    auto p = LiteralGlobPrefix(g.text, vars_);
    if (!p.ok()) return p.status().WithContext("line " + g.pos.ToString());
    if (p->relative) continue;
    Grant grant{p->path, p->exact ? Parent(p->path) : p->path};
    if (existing_) {
      // Many globs share a prefix (${workspace}, ${home}/.ssh...): ask the file system once per path.
      auto known = existing_at_.find(p->path);
      if (known == existing_at_.end()) known = existing_at_.emplace(p->path, existing_(p->path)).first;
      const std::string& at = known->second;
      if (at != p->path) {
        // Whatever appears there later is beneath `at`, its entries included.
        widened_.emplace(p->path, at);
        grant = {at, at};
      }
    }
    out.push_back(std::move(grant));
  }
  return out;
}

Status Builder::AddAllow(const MatchSpec& m, Contribution* out) {
  if (m.failed == true) {
    // A kernel refusal is itself a failed attempt, which is all the rule allows.
    out->failed_only = true;
    return Status::Ok();
  }
  for (ActionClass c : kFileClasses) {
    if (!HasClass(m, c) || !CanMatchFile(m, c)) continue;
    std::string name(ActionClassName(c));
    uint64_t groups = c == ActionClass::kFileRead     ? kReadGroup
                      : c == ActionClass::kFileWrite  ? kWriteGroup | kMakeGroup | kRefer
                      : c == ActionClass::kFileDelete ? kRemoveGroup | kRefer
                                                      : kExecGroup;
    if (m.paths.empty()) {
      unrestricted_ |= groups;
      out->unrestricted.push_back(name + " (no path condition)");
      continue;
    }
    AT_ASSIGN_OR_RETURN(std::vector<Grant> gs, Grants(m.paths));
    auto anywhere = std::find_if(gs.begin(), gs.end(), [&](const Grant& g) {
      return (c == ActionClass::kFileDelete ? g.container : g.content) == "/";
    });
    if (anywhere != gs.end()) {
      // A glob without a literal directory ("**/name") can match anywhere.
      unrestricted_ |= groups;
      out->unrestricted.push_back(name + " (a glob that can match anywhere; give it a directory, as in " +
                                  "${workspace}/**/name, to let the kernel bound it)");
      continue;
    }
    std::string where;
    for (const Grant& g : gs) {
      switch (c) {
        case ActionClass::kFileRead:
          Give(g.content, kReadGroup);
          break;
        case ActionClass::kFileWrite:
          Give(g.content, kWriteGroup);
          Give(g.container, kMakeGroup | kRefer);
          break;
        case ActionClass::kFileDelete:
          Give(g.container, kRemoveGroup | kRefer);
          break;
        default:
          Give(g.content, kExecGroup);
          break;
      }
      const std::string& shown = c == ActionClass::kFileDelete ? g.container : g.content;
      if (where.find(shown) == std::string::npos) where += (where.empty() ? "" : ", ") + shown;
    }
    if (!where.empty()) out->bounded.push_back(name + " beneath " + where);
  }
  if (HasClass(m, ActionClass::kNetListen) && CanMatchUnix(m)) {
    if (m.paths.empty()) {
      unrestricted_ |= kMakeSock;
      out->unrestricted.push_back("net.listen on unix sockets (no path condition)");
    } else {
      AT_ASSIGN_OR_RETURN(std::vector<Grant> gs, Grants(m.paths));
      for (const Grant& g : gs) Give(g.container, kMakeSock);
      if (!gs.empty()) out->bounded.push_back("net.listen on unix sockets beneath " + gs.front().container);
    }
  }
  if (HasClass(m, ActionClass::kNetConnect) && CanMatchTcp(m)) AddPorts(m, false, out);
  if (HasClass(m, ActionClass::kNetListen) && CanMatchTcp(m)) AddPorts(m, true, out);
  return Status::Ok();
}

void Builder::AddPorts(const MatchSpec& m, bool bind, Contribution* out) {
  Ports& p = bind ? bind_ : connect_;
  const char* what = bind ? "net.listen (TCP bind)" : "net.connect (TCP)";
  std::vector<PortRange> ranges;
  bool all = false;
  if (!m.ports.empty()) {
    for (const PosString& s : m.ports) {
      auto r = ParsePortRange(s.text);
      if (r.ok()) ranges.push_back(*r);
    }
  } else if (!m.hosts.empty()) {
    for (const PosString& h : m.hosts) {
      auto hp = HostPattern::Parse(h.text);
      if (!hp.ok() || !hp->has_port()) {
        all = true;
        break;
      }
      ranges.push_back(hp->ports());
    }
  } else {
    all = true;
  }
  if (all) {
    p.all = true;
    out->unrestricted.push_back(std::string(what) +
                                (m.hosts.empty() ? " (no port condition)" : " (a host without a port)"));
    return;
  }
  std::string list;
  for (const PortRange& r : ranges) {
    p.ranges.push_back(r);
    list += (list.empty() ? "" : ", ") + std::to_string(r.lo) + (r.hi != r.lo ? "-" + std::to_string(r.hi) : "");
  }
  out->bounded.push_back(std::string(what) + " to port " + list);
}

// The deny rule's file-side prefixes per class against the grants: the kernel enforces the rule alone
// when no granted hierarchy holding the class's rights overlaps any of them.
Result<RuleEnforcement> Builder::ClassifyDeny(size_t index, const Rule& r) {
  RuleEnforcement e{index, Enforcement::kTracer, ""};
  const MatchSpec& m = r.match;
  std::vector<std::string> carve_outs, kernel;
  bool other = false;  // classes the kernel has no say in
  uint32_t classes = m.class_mask == 0 ? ~0u : m.class_mask;
  for (int ci = 0; ci < kActionClassCount; ++ci) {
    auto c = static_cast<ActionClass>(ci);
    if ((classes & ClassBit(c)) == 0) continue;
    bool filelike = c == ActionClass::kFileRead || c == ActionClass::kFileWrite || c == ActionClass::kFileDelete ||
                    c == ActionClass::kExec || c == ActionClass::kSecretRead;
    if (!filelike) {
      // Only where the rule can match at all: a path-only rule never matches a tool call.
      bool can = m.class_mask != 0 ? true
                 : c == ActionClass::kNetConnect || c == ActionClass::kNetListen
                     ? CanMatchTcp(m) || CanMatchUnix(m)
                     : m.paths.empty() && m.hosts.empty() && m.not_hosts.empty() && m.ports.empty() && m.argv.empty() &&
                           m.env.empty();
      other = other || can;
      continue;
    }
    if (c == ActionClass::kSecretRead && !m.env.empty()) {
      other = true;  // only secrets from the environment
      continue;
    }
    if (!CanMatchFile(m, c == ActionClass::kSecretRead ? ActionClass::kFileRead : c)) continue;
    if (c == ActionClass::kSecretRead && m.paths.empty()) other = true;  // environment secrets as well
    std::vector<PosString> globs = m.paths;
    if (globs.empty() && c == ActionClass::kSecretRead) globs = policy_.secrets;
    std::vector<Grant> gs;
    if (globs.empty()) {
      gs.push_back({"/", "/"});
    } else {
      AT_ASSIGN_OR_RETURN(gs, Grants(globs));
    }
    uint64_t content = c == ActionClass::kFileRead || c == ActionClass::kSecretRead ? kReadFile
                       : c == ActionClass::kFileWrite                               ? kWriteFile
                       : c == ActionClass::kExec                                    ? kExecute
                                                                                    : 0;
    uint64_t container = c == ActionClass::kFileWrite ? kMakeReg : c == ActionClass::kFileDelete ? kRemoveFile : 0;
    std::string name(ActionClassName(c));
    if ((unrestricted_ & (content | container)) != 0) {
      carve_outs.push_back(name + ": the kernel does not restrict it");
      continue;
    }
    std::string overlap;
    for (const Grant& g : gs) {
      for (const auto& [path, access] : grants_) {
        bool hit = ((access & content) != 0 && Overlaps(path, g.content)) ||
                   ((access & container) != 0 && Overlaps(path, g.container));
        if (hit) {
          overlap = path;
          break;
        }
      }
      if (!overlap.empty()) break;
    }
    if (overlap.empty()) {
      kernel.push_back(name);
    } else {
      carve_outs.push_back(name + " inside the allowed hierarchy " + overlap);
    }
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : "; ") + x;
    return s;
  };
  if (!kernel.empty() && carve_outs.empty() && !other) {
    e.where = Enforcement::kKernel;
    e.why = "outside every hierarchy the kernel allows for " + join(kernel);
  } else if (!carve_outs.empty()) {
    e.why = "a carve-out the kernel cannot express (" + join(carve_outs) + ")";
    if (!kernel.empty()) e.why += "; the kernel alone covers " + join(kernel);
  } else if (!kernel.empty()) {
    e.why = "the kernel covers " + join(kernel) + "; the rest (hosts, tools, environment, escapes) is the tracer's";
  } else {
    e.why = "Landlock sees no hosts, UDP, unix-socket connects, tools, environment variables or escapes";
  }
  return e;
}

// Whether the engine lets the agent both remove `dir` and make it again, judged on a first request of
// each (a budget or sequence can only deny later ones). An ask counts as allowed: it may be answered so.
Result<bool> Builder::Replaceable(const std::string& dir) {
  auto it = replaceable_.find(dir);
  if (it != replaceable_.end()) return it->second;
  if (compiled_ == nullptr) {
    auto c = cache_ != nullptr ? cache_->Get(vars_) : CompiledPolicy::Compile(policy_, vars_);
    if (!c.ok()) return c.status();
    compiled_ = std::move(c).value();
  }
  auto allowed = [&](EventKind kind) {
    Event e;
    e.kind = kind;
    e.path = dir;
    SessionEvaluator ev(compiled_);
    const EventVerdict& v = ev.Evaluate(e);
    return v.evaluated && v.decision != Decision::kDeny;
  };
  bool r = allowed(EventKind::kFileRmdir) && allowed(EventKind::kFileMkdir);
  replaceable_.emplace(dir, r);
  return r;
}

Status Builder::WidenReplaceable(std::vector<LandlockWidening>* out) {
  const std::string start = vars_.workspace.empty() ? "" : NormalizePath(vars_.workspace);
  // "/" is one for any start directory (and the bound when the session has none).
  auto proper_ancestor_of_start = [&](const std::string& dir) {
    return dir == "/" || (!start.empty() && dir != start && Overlaps(dir, start) && dir.size() < start.size());
  };
  // The rights that survive the replacement of everything below `dir`: granted at it or above.
  auto kept = [&](const std::string& dir) {
    uint64_t k = 0;
    for (const auto& [path, access] : grants_) {
      if (Overlaps(path, dir) && path.size() <= dir.size()) k |= access;
    }
    return k;
  };
  std::vector<std::string> paths;
  for (const auto& [path, access] : grants_) paths.push_back(path);
  // Ancestors first (map order), so that a hierarchy inside another sees the rights already moved.
  for (const std::string& path : paths) {
    std::vector<std::string> chain;  // path and its ancestors; "/" cannot be replaced
    for (std::string d = path; d != "/"; d = Parent(d)) chain.push_back(d);
    chain.push_back("/");
    size_t high = chain.size();
    for (size_t i = 0; i + 1 < chain.size(); ++i) {
      AT_ASSIGN_OR_RETURN(bool r, Replaceable(chain[i]));
      if (r) high = i;
    }
    if (high == chain.size()) continue;
    LandlockWidening w;
    w.path = path;
    w.replaced = chain[high];
    size_t target = high + 1;
    if (proper_ancestor_of_start(chain[target])) {
      // Stop below the start directory's ancestors: at the start directory for a hierarchy inside it.
      w.capped = true;
      target = 0;
      while (target + 1 < chain.size() && !proper_ancestor_of_start(chain[target + 1])) ++target;
    }
    w.to = chain[target];
    w.access = grants_[path] & ~kept(chain[high + 1]);
    if (w.access == 0) continue;  // the directory that stays already grants them
    if (uint64_t moved = grants_[path] & ~kept(w.to); moved != 0 && w.to != path) {
      grants_[w.to] |= moved;
    }
    for (const auto& [rule, access] : by_rule_[path]) {
      if (access & w.access) w.rules.push_back(rule);
    }
    out->push_back(std::move(w));
  }
  return Status::Ok();
}

void Builder::Finish(LandlockPlan* out) {
  // Reading a file is enough to run it (a "#!" script, or the loader given the file), so execution is
  // never confined more narrowly than reading: every readable hierarchy is executable too.
  if (unrestricted_ & kReadFile) unrestricted_ |= kExecute;
  for (auto& [path, access] : grants_) {
    if (access & kReadFile) access |= kExecute;
  }
  // A rename or link across directories needs `refer` on both sides.
  if (unrestricted_ & (kMakeGroup | kRemoveGroup)) unrestricted_ |= kRefer;
  SandboxPlan& plan = out->plan;
  plan.handled_fs = kAllRights & ~unrestricted_;
  for (const auto& [path, access] : grants_) {
    uint64_t a = access & plan.handled_fs;
    if (a == 0) continue;
    // An ancestor already granting every right here makes the entry redundant (map order puts
    // ancestors first, and "/a" sorts before "/a/b" and "/a-b").
    bool covered = false;
    for (const SandboxPathRule& r : plan.paths) {
      if ((r.access & a) == a && Overlaps(r.path, path) && r.path.size() <= path.size()) covered = true;
    }
    if (!covered) plan.paths.push_back({path, a});
  }
  for (const auto& [missing, at] : widened_) {
    out->notes.push_back(missing + " does not exist: allowed beneath " + at + " instead");
  }
  if (unrestricted_ != 0 && plan.handled_fs != 0) {
    out->notes.push_back("not restricted by the kernel: " + AccessNames(unrestricted_));
  }
  auto ports = [&](Ports& p, bool* restrict, std::vector<uint16_t>* list, const char* what) {
    if (p.all) {
      out->notes.push_back(std::string(what) + ": not restricted by the kernel (an allow without a port)");
      return;
    }
    std::vector<uint16_t> v;
    for (const PortRange& r : p.ranges) {
      for (uint32_t x = r.lo; x <= r.hi && v.size() <= kMaxLandlockPorts; ++x) v.push_back(static_cast<uint16_t>(x));
    }
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    if (v.size() > kMaxLandlockPorts) {
      out->notes.push_back(std::string(what) + ": more than " + std::to_string(kMaxLandlockPorts) +
                           " allowed ports, left to the tracer");
      return;
    }
    *restrict = true;
    *list = std::move(v);
  };
  ports(connect_, &plan.restrict_connect, &plan.connect_ports, "TCP connect");
  ports(bind_, &plan.restrict_bind, &plan.bind_ports, "TCP bind");
}

Result<LandlockPlan> Builder::Build() {
  LandlockPlan out;
  if (policy_.default_decision != Decision::kDeny) {
    out.no_kernel_part = "default " + std::string(DecisionName(policy_.default_decision)) +
                         ": the kernel can only enforce allow lists (default: deny)";
    for (size_t i = 0; i < policy_.rules.size(); ++i) {
      out.rules.push_back({i, Enforcement::kTracer, "the policy has no kernel part"});
    }
    return out;
  }
  // Allow and ask rules first: they make the hierarchies deny rules are checked against. An ask can
  // be answered allow, so the kernel must let it through.
  std::vector<Contribution> contrib(policy_.rules.size());
  for (size_t i = 0; i < policy_.rules.size(); ++i) {
    const Rule& r = policy_.rules[i];
    // A sequence or budget can only raise an event's decision (the strongest wins), never allow
    // what the plain rules and the default deny.
    if (r.decision == Decision::kDeny || r.stateful()) continue;
    rule_ = i;
    Status st = AddAllow(r.match, &contrib[i]);
    if (!st.ok()) return st.WithContext("rule " + r.id);
  }
  AT_RETURN_IF_ERROR(WidenReplaceable(&out.widenings));
  Finish(&out);
  for (size_t i = 0; i < policy_.rules.size(); ++i) {
    const Rule& r = policy_.rules[i];
    if (r.stateful()) {
      out.rules.push_back({i, Enforcement::kTracer, "a sequence or budget: state the kernel does not keep"});
      continue;
    }
    if (r.decision == Decision::kDeny) {
      auto e = ClassifyDeny(i, r);
      if (!e.ok()) return e.status().WithContext("rule " + r.id);
      out.rules.push_back(std::move(*e));
      continue;
    }
    const Contribution& c = contrib[i];
    RuleEnforcement e{i, Enforcement::kTracer, ""};
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const std::string& x : v) s += (s.empty() ? "" : "; ") + x;
      return s;
    };
    if (c.failed_only) {
      e.why = "only failed attempts: the kernel grants nothing for it (a refusal is a failed attempt too)";
    } else if (!c.unrestricted.empty()) {
      e.why = "the kernel cannot bound " + join(c.unrestricted);
      if (!c.bounded.empty()) e.why += "; it bounds " + join(c.bounded);
    } else if (!c.bounded.empty()) {
      e.where = Enforcement::kKernelBounds;
      e.why = "the kernel allows " + join(c.bounded) + "; the tracer decides inside";
    } else {
      e.why = "Landlock sees no hosts, UDP, unix-socket connects, tools, environment variables or escapes";
    }
    if (r.decision == Decision::kAsk && e.where == Enforcement::kKernelBounds) {
      e.why += "; an ask the kernel lets through for the answer";
    }
    for (const LandlockWidening& w : out.widenings) {
      if (std::find(w.rules.begin(), w.rules.end(), i) == w.rules.end()) continue;
      if (w.capped) {
        e.why += "; a re-created " + w.replaced + " gets none of its rights from the kernel (" + w.replaced +
                 (w.replaced == NormalizePath(vars_.workspace) ? " is" : " holds") + " the start directory)";
      } else {
        e.why +=
            "; its rights beneath " + w.path + " widened to " + w.to + " (the agent may replace " + w.replaced + ")";
      }
    }
    out.rules.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::string_view EnforcementName(Enforcement e) {
  switch (e) {
    case Enforcement::kKernel:
      return "kernel";
    case Enforcement::kKernelBounds:
      return "kernel+tracer";
    case Enforcement::kTracer:
      return "tracer";
  }
  return "tracer";
}

Result<GlobPrefix> LiteralGlobPrefix(std::string_view glob, const PathVars& vars) {
  GlobPrefix out;
  bool wild = false;
  AT_ASSIGN_OR_RETURN(std::string lit, GlobLiteralPrefix(glob, vars, &wild));
  if (lit.empty() && wild) {
    out.path = "/";
    return out;
  }
  if (lit.empty() || lit[0] != '/') {
    out.relative = true;
    return out;
  }
  if (wild) {
    // The wildcard may complete the last component: only the directories before it are literal.
    lit.resize(lit.rfind('/') + 1);
  }
  out.exact = !wild;
  out.path = NormalizePath(lit);
  if (out.path.empty()) out.path = "/";
  // /proc/self, /proc/thread-self and /proc/PID name a different directory in each process.
  if (out.path.compare(0, 6, "/proc/") == 0) {
    std::string_view rest = std::string_view(out.path).substr(6);
    if (IsProcPerProcess(rest.substr(0, rest.find('/')))) {
      out.path = "/proc";
      out.exact = false;
    }
  }
  return out;
}

Result<LandlockPlan> PlanLandlock(const Policy& policy, const PathVars& vars, const ExistingAncestorFn& existing,
                                  PolicyCache* cache) {
  Builder b(policy, vars, existing, cache);
  return b.Build();
}

}  // namespace agenttrace
