#include "tools/export_chrome.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "format/chrome_trace.h"
#include "format/output_file.h"
#include "replayer/action.h"
#include "replayer/replay.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/select.h"

namespace agenttrace {
namespace {

struct Mark {
  Decision decision;
  std::string rule_id;
};

// The deny and ask decisions of `policy` on the session, by event seq. Returns an exit code.
int CollectDecisions(const std::shared_ptr<Store>& store, const SessionId& id, const Policy& policy,
                     std::map<uint64_t, Mark>* marks) {
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
    (*marks)[f.seq] = Mark{f.decision, f.rule_id};
  }
  return kExitOk;
}

}  // namespace

int ExportChromeTrace(std::shared_ptr<Store> store, const SessionId& id, const std::string& policy_path,
                      const std::string& output) {
  const std::string context = "export";
  std::map<uint64_t, Mark> marks;
  if (!policy_path.empty()) {
    Policy policy;
    if (int rc = LoadPolicy(policy_path, &policy); rc != kExitOk) return rc;
    if (int rc = CollectDecisions(store, id, policy, &marks); rc != kExitOk) return rc;
  }
  auto info = store->GetSession(id);
  if (!info.ok()) return ReportError(info.status(), context);
  auto reader = store->OpenSession(id);
  if (!reader.ok()) return ReportError(reader.status(), context);
  auto out = OutputFile::Open(output);
  if (!out.ok()) return ReportError(out.status(), context);
  ChromeTraceWriter writer(*info, (*out)->buffer());
  for (;;) {
    auto next = (*reader)->Next();
    if (!next.ok()) return ReportError(next.status(), context);  // a file output is removed
    const Event* e = *next;
    if (e == nullptr) break;
    writer.AddEvent(*e);
    if (auto m = marks.find(e->seq); m != marks.end()) {
      writer.AddDecision(*e, DecisionName(m->second.decision), m->second.rule_id);
    }
    if (Status s = (*out)->MaybeFlush(); !s.ok()) return ReportError(s, context);
  }
  writer.Finish();
  Status s = (*out)->Commit();
  return s.ok() ? kExitOk : ReportError(s, context);
}

}  // namespace agenttrace
