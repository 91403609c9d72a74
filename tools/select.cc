#include "tools/select.h"

#include <sys/stat.h>

#include <cstdio>

#include "format/output_file.h"
#include "replayer/engine.h"
#include "tools/exit_codes.h"

namespace agenttrace {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

// Loads a policy; prints the error and returns the exit code (0 on success).
int LoadPolicy(const std::string& path, Policy* out) {
  auto p = LoadPolicyFile(path);
  if (!p.ok()) {
    std::fprintf(stderr, "agenttrace: %s\n", p.status().message().c_str());
    return p.status().code() == StatusCode::kIOError ? kExitUsage : kExitBadPolicy;
  }
  // Session-independent checks are done; compile once with placeholder directories to catch what only
  // compilation finds (matcher memory limits).
  auto cp = CompiledPolicy::Compile(*p, PathVars{"/workspace", "/home/user", "/tmp"});
  if (!cp.ok()) {
    std::fprintf(stderr, "agenttrace: %s\n", cp.status().message().c_str());
    return kExitBadPolicy;
  }
  *out = std::move(*p);
  return kExitOk;
}

bool WriteFile(const std::string& path, const std::string& data) {
  // Whole or not at all: a CI step must never read a half-written report as complete.
  Status st = WriteFileAtomically(path, data);
  if (!st.ok()) {
    std::fprintf(stderr, "agenttrace: cannot write %s: %s\n", path.c_str(), st.message().c_str());
    return false;
  }
  return true;
}

// Collects the inputs: JSON-lines files named on the command line and sessions of the store (by id
// or prefix, by label, or all when neither is given). Returns an exit code on failure.
int SelectSessions(const Cli& cli, const std::vector<std::string>& args, const std::string* label,
                   std::shared_ptr<Store>* store_out, std::vector<SessionInput>* inputs) {
  std::vector<std::string> ids;
  for (const std::string& a : args) {
    if (!IsRegularFile(a)) {
      ids.push_back(a);
      continue;
    }
    // Only the header is read now; the events are streamed (and checked) when the session is replayed.
    auto in = JsonlFileInput(a, a);
    if (!in.ok()) {
      std::fprintf(stderr, "agenttrace: %s\n", in.status().message().c_str());
      return in.status().code() == StatusCode::kCorruption ? kExitCorrupt : kExitUsage;
    }
    if (label != nullptr && in->info.label != *label) continue;
    inputs->push_back(std::move(*in));
  }
  bool need_store = !ids.empty() || args.empty();
  if (!need_store) return kExitOk;
  std::string dir = StoreDir(cli);
  if (!IsDirectory(dir)) {
    std::fprintf(stderr, "agenttrace: no trace store at %s\n", dir.c_str());
    return kExitUsage;
  }
  StoreOptions so;
  so.read_only = true;
  auto opened = Store::Open(dir, so);
  if (!opened.ok()) return ReportError(opened.status(), "store " + dir);
  std::shared_ptr<Store> store(std::move(*opened));
  *store_out = store;
  std::vector<SessionInfo> chosen;
  if (!ids.empty()) {
    for (const std::string& text : ids) {
      auto id = store->Resolve(text);
      if (!id.ok()) return ReportError(id.status(), "session \"" + text + "\"");
      auto info = store->GetSession(*id);
      if (!info.ok()) return ReportError(info.status(), "session " + text);
      if (label != nullptr && info->label != *label) continue;
      chosen.push_back(std::move(*info));
    }
  } else {
    auto all = store->ListSessions();
    if (!all.ok()) return ReportError(all.status(), "store " + dir);
    for (SessionInfo& s : *all) {
      if (label == nullptr || s.label == *label) chosen.push_back(std::move(s));
    }
  }
  for (SessionInfo& info : chosen) {
    SessionInput in;
    SessionId id = info.id;
    in.info = std::move(info);
    in.origin = "store";
    in.open = [store, id]() -> Result<std::unique_ptr<EventSource>> {
      auto r = store->OpenSession(id);
      if (!r.ok()) return r.status();
      return std::unique_ptr<EventSource>(std::move(*r));
    };
    inputs->push_back(std::move(in));
  }
  return kExitOk;
}

int SelectSomeSessions(const Cli& cli, const std::vector<std::string>& args, const std::string* label,
                       std::shared_ptr<Store>* store_out, std::vector<SessionInput>* inputs) {
  if (int rc = SelectSessions(cli, args, label, store_out, inputs); rc != kExitOk) return rc;
  if (inputs->empty()) {
    std::fprintf(stderr, "agenttrace: no sessions selected%s\n", label ? (" with label " + *label).c_str() : "");
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace agenttrace
