// `agenttrace export --format otlp [--policy P] [--otlp-endpoint URL]` (docs/cli.md, docs/otlp.md): the
// command path that writes a session as OTLP/JSON traces (format/otlp_json.h), to a file (one
// TracesData per line, the Collector's file-exporter form) or to an OTLP/HTTP receiver (one
// `POST {URL}/v1/traces` per line, Content-Type application/json, through libcurl).
#ifndef AGENTTRACE_TOOLS_EXPORT_OTLP_H_
#define AGENTTRACE_TOOLS_EXPORT_OTLP_H_

#include <memory>
#include <string>

#include "format/session.h"
#include "format/status.h"
#include "format/store.h"

namespace agenttrace {

// Writes session `id` of `store` as OTLP/JSON to `output` ("-" or "": standard output), whole or not
// at all, or, with a non-empty `endpoint`, POSTs it there. With a non-empty `policy_path`, the
// session's deny and ask decisions become span events. Returns the exit code (tools/exit_codes.h),
// having printed any error: a receiver that cannot be reached or answers other than 2xx is exit 2.
int ExportOtlp(std::shared_ptr<Store> store, const SessionId& id, const std::string& policy_path,
               const std::string& output, const std::string& endpoint);

// The URL to POST to: `endpoint` with "/v1/traces" appended when it names no path (or only "/").
// InvalidArgument unless it is an http:// or https:// URL.
Result<std::string> OtlpTracesUrl(const std::string& endpoint);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_EXPORT_OTLP_H_
