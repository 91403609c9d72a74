#include "tools/export_policy.h"

#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

#include "replayer/replay.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/select.h"

namespace agenttrace {

int CollectExportMarks(const std::shared_ptr<Store>& store, const SessionId& id, const std::string& policy_path,
                       std::map<uint64_t, ExportMark>* marks) {
  Policy policy;
  if (int rc = LoadPolicy(policy_path, &policy); rc != kExitOk) return rc;
  auto info = store->GetSession(id);
  if (!info.ok()) return ReportError(info.status(), "export");
  SessionInput in;
  in.info = std::move(*info);
  in.origin = "store";
  in.open = [store, id]() -> Result<std::unique_ptr<EventSource>> {
    auto r = store->OpenSession(id);
    if (!r.ok()) return r.status();
    return std::unique_ptr<EventSource>(std::move(*r));
  };
  std::vector<SessionInput> inputs;
  inputs.push_back(std::move(in));
  ReplayOptions opt;
  opt.threads = 1;
  // Every decision is drawn, so none may be dropped; findings are bounded by the session's events.
  opt.max_findings_per_session = SIZE_MAX;
  auto report = RunReplay(policy, std::move(inputs), opt);
  if (!report.ok()) {  // a problem of the policy itself, as in replay and diff
    std::fprintf(stderr, "agenttrace: export: %s\n", report.status().message().c_str());
    return kExitBadPolicy;
  }
  if (report->sessions.size() != 1) return ReportError(Status::Internal("replay lost the session"), "export");
  const SessionResult& s = report->sessions[0];
  if (!s.error.ok()) return ReportError(s.error, "export");
  for (const Finding& f : s.findings) {
    if (f.decision == Decision::kAllow) continue;  // irreversible but allowed: not a decision to mark
    (*marks)[f.seq] = ExportMark{f.decision, f.rule_id};
  }
  return kExitOk;
}

int OpenExportSession(const std::shared_ptr<Store>& store, const SessionId& id, const std::string& policy_path,
                      ExportSession* out) {
  if (!policy_path.empty()) {
    if (int rc = CollectExportMarks(store, id, policy_path, &out->marks); rc != kExitOk) return rc;
  }
  auto info = store->GetSession(id);
  if (!info.ok()) return ReportError(info.status(), "export");
  auto reader = store->OpenSession(id);
  if (!reader.ok()) return ReportError(reader.status(), "export");
  out->info = std::move(*info);
  out->reader = std::move(*reader);
  return kExitOk;
}

}  // namespace agenttrace
