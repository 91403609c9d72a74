#include "tools/export_chrome.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "format/chrome_trace.h"
#include "format/output_file.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/export_policy.h"

namespace agenttrace {

int ExportChromeTrace(std::shared_ptr<Store> store, const SessionId& id, const std::string& policy_path,
                      const std::string& output) {
  const std::string context = "export";
  std::map<uint64_t, ExportMark> marks;
  if (!policy_path.empty()) {
    if (int rc = CollectExportMarks(store, id, policy_path, &marks); rc != kExitOk) return rc;
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
