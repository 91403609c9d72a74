// Behaviour profiles: what a session did, as a set of "class resource" strings with the volatile
// parts of resources removed (replayer/normalize.h), so that two runs of the same task can be
// compared.
//
// A profile depends on the recorded events alone, never on the policy being replayed: actions are
// derived without the policy's `secrets:` list (a secret file read is its file.read entry) and failed
// attempts count whatever `evaluate_failed` says. Paths are normalised once the whole session has
// been seen, so that a file the session created and later removed (its own temporary file) is
// normalised as a temporary name wherever it appears.
//
// Entries: "file.read ${workspace}/src/a.c", "exec /usr/bin/make", "net.connect 10.0.0.1:443"
// (ports from 32768 up: "ephemeral"), "net.connect /run/dbus/socket", "secret.read env:GH_TOKEN",
// "tool.call server/tool", "process.escape io_uring_setup".
//
// Thread-safety: free functions over values; a ProfileBuilder belongs to one thread.
#ifndef AGENTTRACE_REPLAYER_PROFILE_H_
#define AGENTTRACE_REPLAYER_PROFILE_H_

#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "replayer/action.h"
#include "replayer/matchers.h"
#include "replayer/normalize.h"

namespace agenttrace {

// "class resource" for one action, normalised; `temps` as in NormalizeVolatilePath.
std::string ProfileEntry(const Action& a, const PathVars& vars, const TempPaths* temps = nullptr);

// The resource of an action before path normalisation, copied out of the event: lets a caller keep
// resources until the session's temporary paths are known. `is_path`: `text` is a path still to be
// normalised (ProfileResource); otherwise it is final (env:NAME, host:port, server/tool, escape).
bool ProfileRawResource(const Action& a, std::string* text);
// The normalised resource for a raw one.
std::string ProfileResource(std::string_view raw, bool is_path, const PathVars& vars, const TempPaths* temps);

// Builds one session's profile from its events, in recorded order.
class ProfileBuilder {
 public:
  explicit ProfileBuilder(PathVars vars) : vars_(std::move(vars)) {}
  void Add(const Event& e);
  // The profile of the events added so far.
  std::set<std::string> Finish() const;
  const TempPaths& temps() const { return temps_; }
  // Calls f(cls, resource) with the normalised resource of every distinct action of a successful
  // event (the blast radius is made of those).
  template <typename F>
  void ForEachSucceeded(F&& f) const {
    for (const std::string& k : raw_) {
      if (k[2] != '+') continue;
      f(static_cast<ActionClass>(k[0] - 'A'),
        ProfileResource(std::string_view(k).substr(3), k[1] == 'p', vars_, &temps_));
    }
  }
  const PathVars& vars() const { return vars_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  PathVars vars_;
  TempPaths temps_;
  std::vector<Action> actions_;  // scratch buffers, reused from event to event
  std::string key_, raw_text_;
  // Distinct raw entries: class letter, 'p' (path, normalised at the end) or 'r' (final resource),
  // '+' (the event succeeded) or '-', then the text.
  std::unordered_set<std::string, Hash, std::equal_to<>> raw_;
};

// Similarity of two profiles: |A ∩ B| / |A ∪ B|; 1.0 when both are empty.
double Jaccard(const std::set<std::string>& a, const std::set<std::string>& b);
// True for tool names that look side-effecting (write, delete, exec, run, shell, ... case-insensitive).
bool LooksSideEffecting(std::string_view tool);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_PROFILE_H_
