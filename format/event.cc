#include "format/event.h"

#include <cerrno>

#include "format/event_json.h"

namespace agenttrace {

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
#define AGENTTRACE_X(name, num, str) \
  case EventKind::name:              \
    return str;
    AGENTTRACE_EVENT_KINDS(AGENTTRACE_X)
#undef AGENTTRACE_X
  }
  return "unknown";
}

std::optional<EventKind> ParseEventKind(std::string_view name) {
#define AGENTTRACE_X(n, num, str) \
  if (name == str) return EventKind::n;
  AGENTTRACE_EVENT_KINDS(AGENTTRACE_X)
#undef AGENTTRACE_X
  return std::nullopt;
}

bool IsValidEventKind(uint16_t raw) { return raw < kEventKindCount; }

#define AGENTTRACE_X(name, num, str) +1
static_assert(0 AGENTTRACE_EVENT_KINDS(AGENTTRACE_X) == kEventKindCount, "kEventKindCount out of date");
#undef AGENTTRACE_X

uint64_t EventStringBytes(const Event& e) {
  uint64_t n = e.path.size() + e.path2.size() + e.resolved.size() + e.address.size() + e.server.size() + e.tool.size() +
               e.method.size() + e.request_id.size() + e.json.size() + e.text.size();
  for (const auto* list : {&e.argv, &e.env_names, &e.secret_env_names}) {
    for (const auto& s : *list) n += s.size();
  }
  return n;
}

void Event::Clear() {
  seq = 0;
  mono_ns = wall_ns = 0;
  pid = tid = 0;
  kind = EventKind::kAnnotation;
  result = 0;
  path.clear();
  path2.clear();
  resolved.clear();
  resolved2.clear();
  flags = 0;
  mode = uid = gid = 0;
  size = 0;
  argv.clear();
  env_names.clear();
  secret_env_names.clear();
  child_pid = 0;
  is_thread = false;
  exit_code = signal = 0;
  family = 0;
  address.clear();
  port = 0;
  server.clear();
  tool.clear();
  method.clear();
  request_id.clear();
  json.clear();
  is_error = false;
  duration_ns = 0;
  direction = Direction::kNone;
  syscall_nr = arch = 0;
  args = {};
  text.clear();
}

bool IsConnectInProgress(const Event& e) { return e.kind == EventKind::kNetConnect && e.result == -EINPROGRESS; }

bool IsFailedAttempt(const Event& e) { return IsSyscallKind(e.kind) && e.result < 0 && !IsConnectInProgress(e); }

}  // namespace agenttrace
