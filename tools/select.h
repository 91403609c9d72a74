// Shared by the commands that read sessions and policies (replay, policy suggest, diff): selecting
// sessions from the store or JSON-lines files, loading a policy, writing a report file. Each prints
// its error ("agenttrace: ...") and returns the documented exit code (tools/exit_codes.h).
#ifndef AGENTTRACE_TOOLS_SELECT_H_
#define AGENTTRACE_TOOLS_SELECT_H_

#include <memory>
#include <string>
#include <vector>

#include "format/store.h"
#include "replayer/policy.h"
#include "replayer/replay.h"
#include "tools/cli.h"

namespace agenttrace {

// Loads and checks a policy; returns kExitOk, kExitUsage (unreadable) or kExitBadPolicy.
int LoadPolicy(const std::string& path, Policy* out);

// Writes `data` to `path`; false (after printing why) on failure.
bool WriteFile(const std::string& path, const std::string& data);

// Collects the inputs: JSON-lines files named in `args` and sessions of the store (by id or prefix,
// by `label` (may be null), or all when neither is given). The store, if opened, is kept alive in
// *store_out. Returns an exit code on failure.
int SelectSessions(const Cli& cli, const std::vector<std::string>& args, const std::string* label,
                   std::shared_ptr<Store>* store_out, std::vector<SessionInput>* inputs);

// SelectSessions for a command that needs at least one session: selecting none is a usage error
// ("no sessions selected [with label L]").
int SelectSomeSessions(const Cli& cli, const std::vector<std::string>& args, const std::string* label,
                       std::shared_ptr<Store>* store_out, std::vector<SessionInput>* inputs);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_SELECT_H_
