// Action classes: the policy's vocabulary for what an event did, and the mapping from recorded events
// to actions. One event can map to several actions (reading ~/.aws/credentials is file.read and
// secret.read; a rename deletes its source and writes its target; an exec handing secret environment
// variables to the child is exec plus one secret.read per variable).
//
// Thread-safety: free functions; ActionList is a reusable per-thread buffer.
#ifndef AGENTTRACE_REPLAYER_ACTION_H_
#define AGENTTRACE_REPLAYER_ACTION_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "format/event.h"

namespace agenttrace {

#define AGENTTRACE_ACTION_CLASSES(X)      \
  X(kFileRead, 0, "file.read")            \
  X(kFileWrite, 1, "file.write")          \
  X(kFileDelete, 2, "file.delete")        \
  X(kExec, 3, "exec")                     \
  X(kNetConnect, 4, "net.connect")        \
  X(kNetListen, 5, "net.listen")          \
  X(kSecretRead, 6, "secret.read")        \
  X(kToolCall, 7, "tool.call")            \
  X(kEscape, 8, "process.escape")

enum class ActionClass : uint8_t {
#define AGENTTRACE_X(name, num, str) name = num,
  AGENTTRACE_ACTION_CLASSES(AGENTTRACE_X)
#undef AGENTTRACE_X
};
inline constexpr int kActionClassCount = 9;

std::string_view ActionClassName(ActionClass c);
std::optional<ActionClass> ParseActionClass(std::string_view name);
inline uint32_t ClassBit(ActionClass c) { return 1u << static_cast<unsigned>(c); }

// Decisions, ordered by strength: deny wins over ask wins over allow.
enum class Decision : uint8_t { kAllow = 0, kAsk = 1, kDeny = 2 };
std::string_view DecisionName(Decision d);
std::optional<Decision> ParseDecision(std::string_view name);

// One action derived from an event. Views point into the event (or static storage) and live as long
// as it does.
struct Action {
  ActionClass cls = ActionClass::kFileRead;
  std::string_view path;      // file path, exec path, unix socket path; empty if none
  std::string_view resolved;  // symlink-resolved file path when it differs from `path`
  std::string_view host;      // net.*: IP address text
  uint16_t port = 0;
  std::string_view env;       // secret.read from an environment variable: its name
  const Event* event = nullptr;
  // The resource this action is about, for profiles and sequence binding: the resolved path if any,
  // else the path, host, env name, tool name or escape text.
  std::string_view Resource() const;
};

// Derives the actions of `event` into *out (cleared first; capacity kept). `is_secret_path` decides
// whether a read path is a secret (the policy's `secrets:` list); it is called with path and resolved.
template <typename SecretFn>
void DeriveActions(const Event& event, SecretFn&& is_secret_path, std::vector<Action>* out);

// Implementation detail of DeriveActions: everything but secret.read-from-files.
void DeriveBaseActions(const Event& event, std::vector<Action>* out);

template <typename SecretFn>
void DeriveActions(const Event& event, SecretFn&& is_secret_path, std::vector<Action>* out) {
  DeriveBaseActions(event, out);
  size_t n = out->size();
  for (size_t i = 0; i < n; ++i) {
    const Action& a = (*out)[i];
    if (a.cls != ActionClass::kFileRead) continue;
    if (is_secret_path(a.path) || (!a.resolved.empty() && is_secret_path(a.resolved))) {
      Action s = a;
      s.cls = ActionClass::kSecretRead;
      out->push_back(s);
      break;
    }
  }
}

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_ACTION_H_
