#include "tools/landlock_cli.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "replayer/landlock_plan.h"
#include "tools/exit_codes.h"

namespace agenttrace {
namespace {

std::string PortList(const std::vector<uint16_t>& ports) {
  if (ports.empty()) return "none";
  std::string s;
  for (size_t i = 0; i < ports.size(); ++i) {
    // Runs of consecutive ports as ranges.
    size_t j = i;
    while (j + 1 < ports.size() && ports[j + 1] == ports[j] + 1) ++j;
    if (!s.empty()) s += ", ";
    s += std::to_string(ports[i]);
    if (j > i) s += "-" + std::to_string(ports[j]);
    i = j;
  }
  return s;
}

// The nearest existing path at or above `path`, as the kernel will find it when the agent starts.
std::string ExistingAncestor(const std::string& path) {
  std::string p = path;
  struct stat st;
  while (p != "/" && stat(p.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
    size_t slash = p.rfind('/');
    p = slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
  }
  return p;
}

// "rule ws" or "rules a, b".
std::string RuleNames(const Policy& policy, const std::vector<size_t>& rules) {
  std::string s = rules.size() == 1 ? "rule " : "rules ";
  for (size_t i = 0; i < rules.size(); ++i) s += (i ? ", " : "") + policy.rules[rules[i]].id;
  return s;
}

// One line per hierarchy the agent may replace: where its rights went. Those that could not go (the
// start directory) are said once per directory replaced, with every right and rule concerned; only
// those with `not_widened_only`.
std::vector<std::string> DescribeWidenings(const Policy& policy, const std::vector<LandlockWidening>& widenings,
                                           bool not_widened_only) {
  std::vector<std::string> lines;
  std::map<std::string, std::pair<uint64_t, std::set<size_t>>> capped;  // replaced -> rights, rules
  for (const LandlockWidening& w : widenings) {
    if (w.capped) {
      auto& [access, rules] = capped[w.replaced];
      access |= w.access;
      rules.insert(w.rules.begin(), w.rules.end());
      continue;
    }
    if (not_widened_only) continue;
    lines.push_back("widened: " + RuleNames(policy, w.rules) + ": " + sandbox::AccessNames(w.access) + " of " + w.path +
                    " go to " + w.to + " (the policy lets the agent remove " + w.replaced +
                    " and make it again, which Landlock would leave without them): the kernel allows them beneath " +
                    w.to + " as an over-approximation, the tracer decides every request there");
  }
  for (const auto& [replaced, what] : capped) {
    lines.push_back("not widened: " + RuleNames(policy, {what.second.begin(), what.second.end()}) +
                    ": the policy lets the agent remove " + replaced +
                    " and make it again, but its parent holds the start directory: inside a re-created " + replaced +
                    " the kernel refuses " + sandbox::AccessNames(what.first) +
                    " (stricter than the policy; run such an agent with --no-landlock)");
  }
  return lines;
}

}  // namespace

PathVars PathVarsHere() {
  PathVars v;
  char buf[4096];
  if (getcwd(buf, sizeof(buf)) != nullptr) v.workspace = buf;
  const char* home = std::getenv("HOME");
  v.home = home != nullptr ? home : "";
  const char* tmp = std::getenv("TMPDIR");
  v.tmp = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  return v;
}

int PrintLandlockEnforcement(const Policy& policy, const PathVars& vars, std::FILE* out) {
  auto lp = PlanLandlock(policy, vars, ExistingAncestor);
  if (!lp.ok()) {
    std::fprintf(stderr, "agenttrace: %s: %s\n", policy.source.c_str(), lp.status().message().c_str());
    return kExitBadPolicy;
  }
  std::fprintf(out, "kernel backstop (Landlock) under `run --mode enforce`, for ${workspace}=%s ${home}=%s ${tmp}=%s\n",
               vars.workspace.c_str(), vars.home.c_str(), vars.tmp.c_str());
  LandlockSupport support = ProbeLandlock();
  if (support.abi > 0) {
    std::fprintf(out, "  this kernel: Landlock ABI %d\n", support.abi);
  } else {
    std::fprintf(out,
                 "  this kernel: no Landlock (%s): run enforces with the tracer alone, or refuses with "
                 "--require-landlock\n",
                 support.why.c_str());
  }
  const SandboxPlan& plan = lp->plan;
  if (plan.empty()) {
    std::fprintf(out, "  no kernel part: %s\n",
                 lp->no_kernel_part.empty() ? "no right can be restricted" : lp->no_kernel_part.c_str());
  } else {
    std::fprintf(out, "  restricted: %s\n",
                 plan.handled_fs ? sandbox::AccessNames(plan.handled_fs).c_str() : "no file right");
    if (uint64_t free = sandbox::kAllRights & ~plan.handled_fs) {
      std::fprintf(out, "  not restricted: %s\n", sandbox::AccessNames(free).c_str());
    }
    for (const SandboxPathRule& r : plan.paths) {
      std::fprintf(out, "  allowed beneath %s: %s\n", r.path.c_str(), sandbox::AccessNames(r.access).c_str());
    }
    auto tcp = [](bool restricted, const std::vector<uint16_t>& ports) -> std::string {
      if (!restricted) return "not restricted";
      if (ports.empty()) return "refused on every port (no allow rule names a TCP port)";
      return "only to port " + PortList(ports);
    };
    std::fprintf(out, "  TCP connect: %s\n", tcp(plan.restrict_connect, plan.connect_ports).c_str());
    std::fprintf(out, "  TCP bind: %s\n", tcp(plan.restrict_bind, plan.bind_ports).c_str());
  }
  for (const std::string& n : lp->notes) std::fprintf(out, "  note: %s\n", n.c_str());
  for (const std::string& line : DescribeWidenings(policy, lp->widenings, false)) {
    std::fprintf(out, "  %s\n", line.c_str());
  }
  if (support.abi > 0 && !plan.empty()) {
    // What applying it here would do: rights this kernel lacks, paths that do not exist.
    auto prepared = PrepareLandlock(plan);
    if (!prepared.ok()) {
      std::fprintf(out, "  cannot be applied here: %s\n", prepared.status().message().c_str());
    } else {
      for (const std::string& n : prepared->notes) std::fprintf(out, "  note (this machine): %s\n", n.c_str());
    }
  }
  size_t counts[3] = {0, 0, 0};
  std::fprintf(out, "  rules:\n");
  for (const RuleEnforcement& e : lp->rules) {
    ++counts[static_cast<int>(e.where)];
    std::fprintf(out, "    %-13s %s: %s\n", std::string(EnforcementName(e.where)).c_str(),
                 policy.rules[e.rule].id.c_str(), e.why.c_str());
  }
  std::fprintf(out,
               "  %zu rule(s) enforced by the kernel, %zu bounded by the kernel and decided by the tracer, %zu by "
               "the tracer only\n",
               counts[0], counts[1], counts[2]);
  return kExitOk;
}

std::optional<PreparedLandlock> SetUpRunLandlock(const Policy& policy, const PathVars& vars, bool require,
                                                 int* exit_code, std::string* why_not, PolicyCache* cache) {
  *exit_code = kExitOk;
  auto lp = PlanLandlock(policy, vars, ExistingAncestor, cache);
  if (!lp.ok()) {
    std::fprintf(stderr, "agenttrace: run: %s: %s\n", policy.source.c_str(), lp.status().message().c_str());
    *exit_code = kExitBadPolicy;
    return std::nullopt;
  }
  if (lp->plan.empty()) {
    std::string why = lp->no_kernel_part.empty() ? "no right of the policy can be restricted" : lp->no_kernel_part;
    *why_not = why;
    if (require) {
      std::fprintf(stderr, "agenttrace: run: --require-landlock: the policy has no kernel part (%s)\n", why.c_str());
      *exit_code = kExitUsage;
    } else {
      std::fprintf(stderr, "agenttrace: run: no Landlock backstop: %s; the tracer enforces alone\n", why.c_str());
    }
    return std::nullopt;
  }
  for (const std::string& line : DescribeWidenings(policy, lp->widenings, true)) {
    std::fprintf(stderr, "agenttrace: run: warning: Landlock: %s\n", line.c_str());
  }
  auto prepared = PrepareLandlock(lp->plan);
  if (!prepared.ok()) {
    bool missing = prepared.status().code() == StatusCode::kUnsupported;
    *why_not = prepared.status().message();
    if (missing && !require) {
      std::fprintf(stderr,
                   "agenttrace: run: warning: %s; the tracer enforces alone (paths read from the agent's memory can "
                   "race: docs/threat-model.md); --require-landlock refuses to run without it\n",
                   prepared.status().message().c_str());
      return std::nullopt;
    }
    std::fprintf(stderr, "agenttrace: run: %s%s\n", require && missing ? "--require-landlock: " : "",
                 prepared.status().message().c_str());
    *exit_code = kExitRecordFailed;
    return std::nullopt;
  }
  if (!prepared->ruleset.valid()) {
    *why_not = "Landlock ABI " + std::to_string(prepared->abi) + " can apply nothing of the policy's kernel part";
    std::fprintf(stderr, "agenttrace: run: Landlock ABI %d can apply nothing of the policy's kernel part%s\n",
                 prepared->abi, require ? "" : "; the tracer enforces alone");
    if (require) *exit_code = kExitRecordFailed;
    return std::nullopt;
  }
  return std::move(prepared).value();
}

}  // namespace agenttrace

namespace agenttrace {

Event MakeLandlockEvent(const std::optional<PreparedLandlock>& applied, std::string_view why_not) {
  Event e;
  e.kind = EventKind::kAnnotation;
  e.text = "landlock";
  timespec mono, wall;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &wall);
  e.mono_ns = static_cast<int64_t>(mono.tv_sec) * 1000000000 + mono.tv_nsec;
  e.wall_ns = static_cast<int64_t>(wall.tv_sec) * 1000000000 + wall.tv_nsec;
  nlohmann::json j;
  j["applied"] = applied.has_value();
  if (applied) {
    j["abi"] = applied->abi;
    j["restricted"] = sandbox::AccessNames(applied->handled_fs);
    j["hierarchies"] = applied->path_rules;
    j["tcp_connect"] = applied->restrict_connect;
    j["tcp_bind"] = applied->restrict_bind;
  } else {
    j["why"] = why_not;
  }
  e.json = j.dump();
  return e;
}

}  // namespace agenttrace
