// The policy decisions an export draws on its timeline (`export --format chrome-trace|otlp --policy P`):
// the session is replayed against the policy (replayer/) and every deny and ask is kept by event seq.
#ifndef AGENTTRACE_TOOLS_EXPORT_POLICY_H_
#define AGENTTRACE_TOOLS_EXPORT_POLICY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "format/session.h"
#include "format/store.h"
#include "replayer/action.h"

namespace agenttrace {

struct ExportMark {
  Decision decision;
  std::string rule_id;
};

// Loads the policy at `policy_path` and collects its deny and ask decisions on session `id`, by event
// seq, into *marks. Returns the exit code (tools/exit_codes.h), having printed any error.
int CollectExportMarks(const std::shared_ptr<Store>& store, const SessionId& id, const std::string& policy_path,
                       std::map<uint64_t, ExportMark>* marks);

// What an export reads of session `id`: its record, a reader of its events and, when `policy_path` is
// not empty, the policy's marks (CollectExportMarks).
struct ExportSession {
  SessionInfo info;
  std::unique_ptr<SessionReader> reader;
  std::map<uint64_t, ExportMark> marks;
};
// Returns the exit code (tools/exit_codes.h), having printed any error.
int OpenExportSession(const std::shared_ptr<Store>& store, const SessionId& id, const std::string& policy_path,
                      ExportSession* out);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_EXPORT_POLICY_H_
