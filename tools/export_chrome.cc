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
  ExportSession in;
  if (int rc = OpenExportSession(store, id, policy_path, &in); rc != kExitOk) return rc;
  auto out = OutputFile::Open(output);
  if (!out.ok()) return ReportError(out.status(), context);
  ChromeTraceWriter writer(in.info, (*out)->buffer());
  for (;;) {
    auto next = in.reader->Next();
    if (!next.ok()) return ReportError(next.status(), context);  // a file output is removed
    const Event* e = *next;
    if (e == nullptr) break;
    writer.AddEvent(*e);
    if (auto m = in.marks.find(e->seq); m != in.marks.end()) {
      writer.AddDecision(*e, DecisionName(m->second.decision), m->second.rule_id);
    }
    if (Status s = (*out)->MaybeFlush(); !s.ok()) return ReportError(s, context);
  }
  writer.Finish();
  Status s = (*out)->Commit();
  return s.ok() ? kExitOk : ReportError(s, context);
}

}  // namespace agenttrace
