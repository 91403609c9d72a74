// Behaviour profiles: what a session did, as a set of "class resource" strings with the volatile
// parts of resources removed, so that two runs of the same task can be compared.
//
// Normalisation: paths under the session's workspace/tmp/home become ${workspace}/..., ${tmp}/...,
// ${home}/... (the longest prefix wins); under ${tmp}, numbers become N and random-looking names
// (tmp.XXXXXX, runs of 6+ letters/digits mixing digits or cases) become *; everywhere, /proc/<pid>
// becomes /proc/N, UUIDs become <uuid>, hex runs of 16+ digits become <hex> and digit runs of 9+
// (timestamps) become N; ports >= 32768 (ephemeral) become "ephemeral".
//
// Thread-safety: free functions over values.
#ifndef AGENTTRACE_REPLAYER_PROFILE_H_
#define AGENTTRACE_REPLAYER_PROFILE_H_

#include <set>
#include <string>
#include <string_view>

#include "replayer/action.h"
#include "replayer/matchers.h"

namespace agenttrace {

// Normalises a path (see above).
std::string NormalizeProfilePath(std::string_view path, const PathVars& vars);
// "class resource" for one action, normalised.
std::string ProfileEntry(const Action& a, const PathVars& vars);
// |A ∩ B| / |A ∪ B|; 1.0 when both are empty.
double Jaccard(const std::set<std::string>& a, const std::set<std::string>& b);
// True for tool names that look side-effecting (write, delete, exec, run, shell, ... case-insensitive).
bool LooksSideEffecting(std::string_view tool);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_PROFILE_H_
