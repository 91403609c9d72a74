// The command-line side of the Landlock backstop: `agenttrace policy check --enforce P` (which rules
// the kernel enforces and which only the tracer) and the set-up `agenttrace run` does before starting
// the agent (plan, probe, prepare; say so and continue with the tracer alone, or refuse under
// --require-landlock). Plan: replayer/landlock_plan.h; applying: recorder/landlock.h.
#ifndef AGENTTRACE_TOOLS_LANDLOCK_CLI_H_
#define AGENTTRACE_TOOLS_LANDLOCK_CLI_H_

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "format/event.h"
#include "recorder/landlock.h"
#include "replayer/engine.h"
#include "replayer/matchers.h"
#include "replayer/policy.h"

namespace agenttrace {

// ${workspace}, ${home} and ${tmp} as a session started here would record them: the working
// directory, $HOME and $TMPDIR (or /tmp).
PathVars PathVarsHere();

// Prints the kernel part of `policy` for `vars` to `out`: the plan, what this kernel's Landlock can
// apply of it, and one line per rule (kernel, kernel+tracer, tracer). Returns an exit code.
int PrintLandlockEnforcement(const Policy& policy, const PathVars& vars, std::FILE* out);

// For `run --mode enforce`: the prepared ruleset of `policy`, or nullopt when there is none to apply
// (no kernel part, or no Landlock: said on stderr, the tracer enforces alone; `*why_not` says why).
// `*exit_code` is set to non-zero when the run must not start: --require-landlock without a usable
// Landlock, or a failure to build the ruleset.
// `cache` (of `policy`, may be null) serves the compiled policy the plan needs (PlanLandlock).
std::optional<PreparedLandlock> SetUpRunLandlock(const Policy& policy, const PathVars& vars, bool require,
                                                 int* exit_code, std::string* why_not, PolicyCache* cache = nullptr);

// The "landlock" annotation of a run (docs/format.md, "Decision events"): whether the kernel backstop
// was applied, and what it restricts, or why not.
Event MakeLandlockEvent(const std::optional<PreparedLandlock>& applied, std::string_view why_not);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_LANDLOCK_CLI_H_
