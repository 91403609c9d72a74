// Applies a SandboxPlan (format/sandbox_plan.h) to the agent with Landlock, the kernel backstop of
// `agenttrace run --mode enforce`: the tracer reads a syscall's path from the agent's memory, which
// another thread of the agent can rewrite before the kernel reads it; Landlock checks the object the
// kernel actually opens, so what it denies stays denied whatever the agent's threads do.
//
// Two steps, because the child between fork and exec may not allocate: PrepareLandlock builds the
// ruleset in the recorder (it restricts nobody), and LandlockRestrictSelf, in the forked child after
// no_new_privs and before exec, enforces it on the agent and everything it will start.
//
// Best effort across kernels: the highest ABI the kernel offers is used, and rights it does not know
// are dropped from the plan (refer before ABI 2, truncate before 3, TCP ports before 4), each drop
// noted. A path of the plan that does not exist is replaced by its nearest existing ancestor (never
// narrower than the policy), noted too. When the plan restricts execution, the system's ELF loader
// (the PT_INTERP of this program) is added: the kernel opens it for every dynamic executable without
// the agent asking, so no policy names it.
//
// Thread-safety: free functions. PrepareLandlock may run on any thread; LandlockRestrictSelf
// restricts only the calling thread (call it in a single-threaded child).
#ifndef AGENTTRACE_RECORDER_LANDLOCK_H_
#define AGENTTRACE_RECORDER_LANDLOCK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "format/sandbox_plan.h"
#include "format/status.h"
#include "format/unique_fd.h"

namespace agenttrace {

// The Landlock ABI version of the running kernel: >= 1, or 0 when there is none, with `why` ("the
// kernel has no Landlock (ENOSYS): Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK" or
// "Landlock is disabled (EOPNOTSUPP): add landlock to the lsm= boot parameter").
struct LandlockSupport {
  int abi = 0;
  std::string why;
};
LandlockSupport ProbeLandlock();

struct PreparedLandlock {
  UniqueFd ruleset;         // close-on-exec; hand its number to SpawnSpec::landlock_ruleset_fd
  int abi = 0;              // the ABI the ruleset was built for
  uint64_t handled_fs = 0;  // the plan's rights this kernel enforces
  bool restrict_connect = false;
  bool restrict_bind = false;
  size_t path_rules = 0;           // rules added (paths, after widening and merging)
  std::vector<std::string> notes;  // rights dropped, paths widened or skipped, the loader added
};

// Builds the ruleset of `plan` for the running kernel. Unsupported (with ProbeLandlock's reason) when
// the kernel has no usable Landlock; IOError when a syscall fails. `abi_cap` > 0 pretends the kernel offers at
// most that ABI (tests of the downgrades).
Result<PreparedLandlock> PrepareLandlock(const SandboxPlan& plan, int abi_cap = 0);

// Enforces the ruleset on the calling thread; its future children and execs inherit it. Requires
// no_new_privs. Async-signal-safe (for the child between fork and exec). Returns 0 or an errno.
int LandlockRestrictSelf(int ruleset_fd);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_LANDLOCK_H_
