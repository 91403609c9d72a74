// The kernel part of a policy: compiles the static file and TCP part of a `default: deny` policy into
// a SandboxPlan (format/sandbox_plan.h) that the recorder applies to the agent with Landlock, and says
// for each rule whether the kernel enforces it, bounds it, or leaves it to the tracer alone.
//
// The plan over-approximates what the policy allows: the union, per Landlock right, of the hierarchies
// that allow and ask rules name, each glob cut back to its literal directory prefix (`/usr/lib/**`
// -> /usr/lib, `${tmp}/cc*` -> ${tmp}); the tracer still decides every request inside. Make and remove
// rights are checked by the kernel on the parent directory, so an exact path grants them on its parent.
// A right that some allow rule grants without a path condition is not restricted at all. Deny rules are
// never compiled: the kernel enforces them only where they lie outside every allowed hierarchy.
//
// Landlock binds a rule to the inode that exists when the agent starts, not to its name. Where the
// policy lets the agent replace a granted hierarchy or one of its ancestors (remove or rename it away,
// then make a new one under the same name: `rm -rf build && mkdir build`), the new one would get none
// of the rights; so the rights the replacement would lose go to the parent of the highest replaceable
// directory above them, which the agent cannot replace (LandlockWidening). Every right Landlock
// checks is requested through a syscall the tracer decides, so inside that ancestor the tracer still
// refines. The widening never reaches a proper ancestor of the start directory (${workspace}): that
// would hand the kernel's part over the workspace's siblings (a home directory and its keys) for
// every run of the policy; a re-created start directory keeps no rights from the kernel instead, and
// the plan says so (`capped`). docs/policy.md has the mapping table.
//
// Thread-safety: free functions over immutable inputs.
#ifndef AGENTTRACE_REPLAYER_LANDLOCK_PLAN_H_
#define AGENTTRACE_REPLAYER_LANDLOCK_PLAN_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "format/sandbox_plan.h"
#include "format/status.h"
#include "replayer/engine.h"
#include "replayer/matchers.h"
#include "replayer/policy.h"

namespace agenttrace {

// Where a rule is enforced under `run --mode enforce` with Landlock.
enum class Enforcement {
  kKernel,        // the kernel alone already refuses everything the rule denies
  kKernelBounds,  // an allow/ask: the kernel confines it to the hierarchies or ports it names; the
                  // tracer decides inside them
  kTracer,        // only the tracer (or the MCP proxy / hook) can decide it
};
std::string_view EnforcementName(Enforcement e);  // "kernel", "kernel+tracer", "tracer"

struct RuleEnforcement {
  size_t rule = 0;  // index into Policy::rules
  Enforcement where = Enforcement::kTracer;
  std::string why;  // one line for people
};

// Rights of a hierarchy given to an ancestor because the policy lets the agent replace the hierarchy
// (or a directory between them). "Replace" means the engine does not deny both removing the
// directory (rmdir, unlink, rename's source: file.delete) and making it (mkdir, rename's
// destination, link, symlink: file.write), decided as the tracer would decide a first request.
struct LandlockWidening {
  std::string path;           // where the policy's rights are (after missing paths were widened)
  std::string replaced;       // the highest directory at or above `path` the agent may replace
  std::string to;             // where the kernel allows `access` now (an ancestor of `path`, or itself)
  uint64_t access = 0;        // the rights a re-created `replaced` would lack without this widening
  std::vector<size_t> rules;  // the allow/ask rules (indexes into Policy::rules) that grant them
  // The parent of `replaced` is a proper ancestor of the start directory: `to` stops at the start
  // directory (or the highest directory below that parent), and inside a re-created `replaced` the
  // kernel refuses `access` although the policy allows it.
  bool capped = false;
};

struct LandlockPlan {
  SandboxPlan plan;                         // empty when the policy has no kernel part
  std::string no_kernel_part;               // why the plan is empty (default allow/ask), else ""
  std::vector<RuleEnforcement> rules;       // one per policy rule, in policy order
  std::vector<std::string> notes;           // rights left unrestricted and why, bounds hit
  std::vector<LandlockWidening> widenings;  // hierarchies the agent may replace, in path order
};

// The literal directory prefix of a path glob with ${workspace}, ${home}, ${tmp} and `~/` expanded:
// `path` is what the glob can match beneath (normalised, absolute); `exact` is true when the glob has
// no wildcard (it names `path` itself). `relative` is true when the glob can only match relative
// paths (it starts with a literal other than '/'), which recorded events never have. Paths through a
// per-process name of /proc (self, thread-self, a pid) widen to /proc: each process of the agent sees
// its own there. InvalidArgument on an unknown ${variable} or an unterminated ${.
struct GlobPrefix {
  std::string path;
  bool exact = false;
  bool relative = false;
};
Result<GlobPrefix> LiteralGlobPrefix(std::string_view glob, const PathVars& vars);

// The nearest existing path at or above an absolute path (the path itself when it exists). Landlock
// can only name existing objects, so a hierarchy that does not exist yet is allowed beneath its
// nearest existing ancestor (never narrower than the policy). Supplied by the caller, which may look
// at the file system; without one, paths are taken as they are.
using ExistingAncestorFn = std::function<std::string(const std::string&)>;

// Builds the plan of `policy` for a session with `vars`. InvalidArgument on a glob the policy parser
// would have refused. The plan asks the engine whether directories are replaceable; with `cache`
// (a cache of `policy`, may be null) it takes the compiled policy from there, so that `run` compiles
// once for the plan and the decider when both see the same ${workspace}, ${home} and ${tmp}.
Result<LandlockPlan> PlanLandlock(const Policy& policy, const PathVars& vars,
                                  const ExistingAncestorFn& existing = nullptr, PolicyCache* cache = nullptr);
inline Result<LandlockPlan> PlanLandlock(const CompiledPolicy& compiled, const ExistingAncestorFn& existing = nullptr) {
  return PlanLandlock(compiled.policy(), compiled.vars(), existing);
}

// At most this many TCP ports per direction; beyond, the direction is left to the tracer.
inline constexpr size_t kMaxLandlockPorts = 1024;

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_LANDLOCK_PLAN_H_
