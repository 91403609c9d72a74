// `agenttrace policy suggest`: the least-privilege policy that allows exactly what a set of sessions
// did. Paths are generalised against each session's directories (${workspace}/rel, ${home}/rel, and
// all of ${tmp}/** since temp names are random), hosts keep address and port (ephemeral ports become
// 32768-65535), tools and executables are listed by name, secrets read are allowed by name (and
// flagged in a comment), process escapes become `ask`. Default deny, standard secrets list,
// promotion defaults (min_sessions 3, max_violations 0, max_asks 0, min_stability 0.8).
//
// Invariant (tested): the output passes ParsePolicy, and replaying the same sessions against it
// yields no deny.
//
// Thread-safety: reentrant.
#ifndef AGENTTRACE_REPLAYER_SUGGEST_H_
#define AGENTTRACE_REPLAYER_SUGGEST_H_

#include <string>
#include <vector>

#include "format/status.h"
#include "replayer/replay.h"

namespace agenttrace {

// The secrets list a suggested policy starts with (path globs).
const std::vector<std::string>& DefaultSecretGlobs();

// Reads every session of `sessions` (in order) and returns the policy as YAML text. A read failure
// of a session fails the whole suggestion (a policy must not be derived from partial evidence
// silently).
// `irreversible`, when given, receives the globs of what the sessions deleted outside ${workspace},
// ${tmp} and their own temporary files: irreversible under the suggested policy, so the gate refuses
// to promote these very sessions until someone decides (the policy says so in a comment too).
Result<std::string> SuggestPolicy(const std::vector<SessionInput>& sessions, const std::string& label,
                                  std::vector<std::string>* irreversible = nullptr);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_SUGGEST_H_
