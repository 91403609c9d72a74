#include "format/event_json.h"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "format/text_escape.h"

namespace agenttrace {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kJsonFormatVersion = 1;

template <typename T>
void PutIf(Json& j, const char* key, const T& v, const T& def) {
  if (!(v == def)) j[key] = v;
}

void PutStrings(Json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kToServer: return "to_server";
    case Direction::kToAgent: return "to_agent";
    case Direction::kNone: break;
  }
  return "";
}

// Typed getters that report the field name on a type mismatch.
Status TypeError(const char* key, const char* want) {
  return Status::InvalidArgument(std::string("field \"") + key + "\" must be " + want);
}

template <typename T>
Status GetInt(const Json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_number_integer()) return TypeError(key, "an integer");
  if constexpr (std::is_unsigned_v<T>) {
    if (it->is_number_unsigned()) {
      auto v = it->get<uint64_t>();
      if (v > std::numeric_limits<T>::max()) return TypeError(key, "in range");
      *out = static_cast<T>(v);
      return Status::Ok();
    }
    auto v = it->get<int64_t>();
    if (v < 0 || static_cast<uint64_t>(v) > std::numeric_limits<T>::max()) return TypeError(key, "in range");
    *out = static_cast<T>(v);
  } else {
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return TypeError(key, "in range");
    }
    auto v = it->get<int64_t>();
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return TypeError(key, "in range");
    *out = static_cast<T>(v);
  }
  return Status::Ok();
}

Status GetStr(const Json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_string()) return TypeError(key, "a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status GetBool(const Json& j, const char* key, bool* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_boolean()) return TypeError(key, "true or false");
  *out = it->get<bool>();
  return Status::Ok();
}

Status GetStrings(const Json& j, const char* key, std::vector<std::string>* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_array()) return TypeError(key, "an array of strings");
  out->clear();
  for (const auto& s : *it) {
    if (!s.is_string()) return TypeError(key, "an array of strings");
    out->push_back(s.get<std::string>());
  }
  return Status::Ok();
}

Result<Json> ParseObject(std::string_view line) {
  AT_RETURN_IF_ERROR(CheckJsonBounds(line, "JSON line"));
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("not a JSON object");
  return j;
}

// The string fields of a record, for the escaping of non-UTF-8 text (docs/format.md, "Escaped text").
template <typename T>
struct TextField {
  const char* name;
  std::variant<std::string T::*, std::vector<std::string> T::*> member;
};

const TextField<Event> kEventTextFields[] = {
    {"path", &Event::path},       {"path2", &Event::path2},           {"resolved", &Event::resolved},
    {"resolved2", &Event::resolved2},
    {"argv", &Event::argv},       {"env_names", &Event::env_names},   {"secret_env_names", &Event::secret_env_names},
    {"address", &Event::address}, {"server", &Event::server},         {"tool", &Event::tool},
    {"method", &Event::method},   {"request_id", &Event::request_id}, {"json", &Event::json},
    {"text", &Event::text},
};

const TextField<SessionInfo> kSessionTextFields[] = {
    {"label", &SessionInfo::label},
    {"agent_name", &SessionInfo::agent_name},
    {"agent_version", &SessionInfo::agent_version},
    {"argv", &SessionInfo::argv},
    {"cwd", &SessionInfo::cwd},
    {"home", &SessionInfo::home},
    {"tmp", &SessionInfo::tmp},
    {"host", &SessionInfo::host},
    {"user", &SessionInfo::user},
    {"kernel", &SessionInfo::kernel},
    {"arch", &SessionInfo::arch},
    {"env_names", &SessionInfo::env_names},
    {"secret_env_names", &SessionInfo::secret_env_names},
    {"recorder", &SessionInfo::recorder},
};

constexpr const char* kEscapedKey = "escaped";

// Rewrites, in the already-filled object `j`, every field of `v` holding bytes that are not valid
// UTF-8 in its escaped form, and lists those fields under "escaped". A list field is escaped as a
// whole. Valid UTF-8 is left as it is, so exports of ordinary sessions do not change.
template <typename T, size_t N>
void PutEscapedFields(const T& v, const TextField<T> (&fields)[N], Json& j) {
  Json names = Json::array();
  for (const TextField<T>& f : fields) {
    if (const auto* str = std::get_if<std::string T::*>(&f.member)) {
      const std::string& s = v.**str;
      if (IsValidUtf8(s)) continue;
      j[f.name] = Escaped(s);
    } else {
      const auto& list = v.*std::get<std::vector<std::string> T::*>(f.member);
      if (std::all_of(list.begin(), list.end(), [](const std::string& s) { return IsValidUtf8(s); })) continue;
      Json arr = Json::array();
      for (const std::string& s : list) arr.push_back(Escaped(s));
      j[f.name] = std::move(arr);
    }
    names.push_back(f.name);
  }
  if (!names.empty()) j[kEscapedKey] = std::move(names);
}

// Reverses PutEscapedFields on a record read from `j`.
template <typename T, size_t N>
Status ApplyEscapedFields(const Json& j, const TextField<T> (&fields)[N], T* v) {
  auto it = j.find(kEscapedKey);
  if (it == j.end()) return Status::Ok();
  if (!it->is_array()) return TypeError(kEscapedKey, "an array of field names");
  for (const Json& name : *it) {
    if (!name.is_string()) return TypeError(kEscapedKey, "an array of field names");
    const std::string& n = name.get_ref<const std::string&>();
    const TextField<T>* f = nullptr;
    for (const TextField<T>& c : fields) {
      if (n == c.name) f = &c;
    }
    if (f == nullptr) return Status::InvalidArgument("field \"escaped\" names \"" + n + "\", not a text field");
    auto unescape = [&](std::string* s) -> Status {
      auto r = Unescape(*s);
      if (!r.ok()) return r.status().WithContext("field \"" + n + "\"");
      *s = std::move(*r);
      return Status::Ok();
    };
    if (const auto* str = std::get_if<std::string T::*>(&f->member)) {
      AT_RETURN_IF_ERROR(unescape(&(v->**str)));
    } else {
      for (std::string& s : v->*std::get<std::vector<std::string> T::*>(f->member)) AT_RETURN_IF_ERROR(unescape(&s));
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsSyscallKind(EventKind kind) {
  switch (kind) {
    case EventKind::kFileOpen:
    case EventKind::kFileCreate:
    case EventKind::kFileDelete:
    case EventKind::kFileRename:
    case EventKind::kFileLink:
    case EventKind::kFileSymlink:
    case EventKind::kFileChmod:
    case EventKind::kFileChown:
    case EventKind::kFileTruncate:
    case EventKind::kFileMkdir:
    case EventKind::kFileRmdir:
    case EventKind::kExec:
    case EventKind::kProcSpawn:
    case EventKind::kNetConnect:
    case EventKind::kNetBind:
    case EventKind::kNetListen:
    case EventKind::kNetSend:
    case EventKind::kEscape:
    case EventKind::kRaw:
      return true;
    default:
      return false;
  }
}

std::string_view ErrnoName(int err) {
  switch (err) {
#define E(x) \
  case x:    \
    return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF) E(ECHILD) E(EAGAIN)
    E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL)
    E(ENFILE) E(EMFILE) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE)
    E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL)
    E(ENETUNREACH) E(ECONNRESET) E(ECONNREFUSED) E(EHOSTUNREACH) E(EALREADY) E(EINPROGRESS) E(ETIMEDOUT)
    E(ENOTSOCK) E(EOPNOTSUPP) E(EPROTONOSUPPORT) E(EISCONN) E(ENOTCONN) E(EDQUOT)
#undef E
    default:
      return "";
  }
}

void AppendEventJson(const Event& e, std::string* out) {
  Json j;
  j["seq"] = e.seq;
  j["ts_ns"] = e.wall_ns;
  j["mono_ns"] = e.mono_ns;
  j["pid"] = e.pid;
  j["tid"] = e.tid;
  j["kind"] = EventKindName(e.kind);
  if (IsSyscallKind(e.kind)) {
    j["result"] = e.result;
    if (e.result < 0 && e.result > -4096) {
      auto name = ErrnoName(static_cast<int>(-e.result));
      if (!name.empty()) j["error"] = name;
    }
  } else {
    PutIf<int64_t>(j, "result", e.result, 0);
  }
  PutIf<std::string>(j, "path", e.path, "");
  PutIf<std::string>(j, "path2", e.path2, "");
  PutIf<std::string>(j, "resolved", e.resolved, "");
  PutIf<std::string>(j, "resolved2", e.resolved2, "");
  PutIf<uint64_t>(j, "flags", e.flags, 0);
  PutIf<uint32_t>(j, "mode", e.mode, 0);
  PutIf<uint32_t>(j, "uid", e.uid, 0);
  PutIf<uint32_t>(j, "gid", e.gid, 0);
  PutIf<int64_t>(j, "size", e.size, 0);
  PutStrings(j, "argv", e.argv);
  PutStrings(j, "env_names", e.env_names);
  PutStrings(j, "secret_env_names", e.secret_env_names);
  PutIf<int32_t>(j, "child_pid", e.child_pid, 0);
  PutIf<bool>(j, "is_thread", e.is_thread, false);
  PutIf<int32_t>(j, "exit_code", e.exit_code, 0);
  PutIf<int32_t>(j, "signal", e.signal, 0);
  PutIf<uint16_t>(j, "family", e.family, 0);
  PutIf<std::string>(j, "address", e.address, "");
  PutIf<uint16_t>(j, "port", e.port, 0);
  PutIf<std::string>(j, "server", e.server, "");
  PutIf<std::string>(j, "tool", e.tool, "");
  PutIf<std::string>(j, "method", e.method, "");
  PutIf<std::string>(j, "request_id", e.request_id, "");
  PutIf<std::string>(j, "json", e.json, "");
  PutIf<bool>(j, "is_error", e.is_error, false);
  PutIf<int64_t>(j, "duration_ns", e.duration_ns, 0);
  if (e.direction != Direction::kNone) j["direction"] = DirectionName(e.direction);
  PutIf<uint32_t>(j, "syscall_nr", e.syscall_nr, 0);
  PutIf<uint32_t>(j, "arch", e.arch, 0);
  if (e.args != std::array<uint64_t, 6>{}) j["args"] = e.args;
  PutIf<std::string>(j, "text", e.text, "");
  PutEscapedFields(e, kEventTextFields, j);
  out->append(j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

std::string EventToJson(const Event& event) {
  std::string s;
  AppendEventJson(event, &s);
  return s;
}

Result<Event> EventFromJson(std::string_view line, bool require_seq) {
  AT_ASSIGN_OR_RETURN(Json j, ParseObject(line));
  Event e;
  auto kit = j.find("kind");
  if (kit == j.end() || !kit->is_string()) return Status::InvalidArgument("missing string field \"kind\"");
  auto kind = ParseEventKind(kit->get<std::string>());
  if (!kind) return Status::InvalidArgument("unknown kind \"" + kit->get<std::string>() + "\"");
  e.kind = *kind;
  if (require_seq) {
    for (const char* k : {"seq", "ts_ns"}) {
      if (!j.contains(k)) return Status::InvalidArgument(std::string("missing field \"") + k + "\"");
    }
  }
  AT_RETURN_IF_ERROR(GetInt(j, "seq", &e.seq));
  AT_RETURN_IF_ERROR(GetInt(j, "ts_ns", &e.wall_ns));
  AT_RETURN_IF_ERROR(GetInt(j, "mono_ns", &e.mono_ns));
  AT_RETURN_IF_ERROR(GetInt(j, "pid", &e.pid));
  AT_RETURN_IF_ERROR(GetInt(j, "tid", &e.tid));
  AT_RETURN_IF_ERROR(GetInt(j, "result", &e.result));
  AT_RETURN_IF_ERROR(GetStr(j, "path", &e.path));
  AT_RETURN_IF_ERROR(GetStr(j, "path2", &e.path2));
  AT_RETURN_IF_ERROR(GetStr(j, "resolved", &e.resolved));
  AT_RETURN_IF_ERROR(GetStr(j, "resolved2", &e.resolved2));
  AT_RETURN_IF_ERROR(GetInt(j, "flags", &e.flags));
  AT_RETURN_IF_ERROR(GetInt(j, "mode", &e.mode));
  AT_RETURN_IF_ERROR(GetInt(j, "uid", &e.uid));
  AT_RETURN_IF_ERROR(GetInt(j, "gid", &e.gid));
  AT_RETURN_IF_ERROR(GetInt(j, "size", &e.size));
  AT_RETURN_IF_ERROR(GetStrings(j, "argv", &e.argv));
  AT_RETURN_IF_ERROR(GetStrings(j, "env_names", &e.env_names));
  AT_RETURN_IF_ERROR(GetStrings(j, "secret_env_names", &e.secret_env_names));
  AT_RETURN_IF_ERROR(GetInt(j, "child_pid", &e.child_pid));
  AT_RETURN_IF_ERROR(GetBool(j, "is_thread", &e.is_thread));
  AT_RETURN_IF_ERROR(GetInt(j, "exit_code", &e.exit_code));
  AT_RETURN_IF_ERROR(GetInt(j, "signal", &e.signal));
  AT_RETURN_IF_ERROR(GetInt(j, "family", &e.family));
  AT_RETURN_IF_ERROR(GetStr(j, "address", &e.address));
  AT_RETURN_IF_ERROR(GetInt(j, "port", &e.port));
  AT_RETURN_IF_ERROR(GetStr(j, "server", &e.server));
  AT_RETURN_IF_ERROR(GetStr(j, "tool", &e.tool));
  AT_RETURN_IF_ERROR(GetStr(j, "method", &e.method));
  AT_RETURN_IF_ERROR(GetStr(j, "request_id", &e.request_id));
  AT_RETURN_IF_ERROR(GetStr(j, "json", &e.json));
  if (e.kind == EventKind::kToolCall && JsonNestingExceeds(e.json)) {
    return Status::InvalidArgument("field \"json\" (tool arguments) nests arrays/objects deeper than " +
                                   std::to_string(kMaxJsonDepth));
  }
  AT_RETURN_IF_ERROR(GetBool(j, "is_error", &e.is_error));
  AT_RETURN_IF_ERROR(GetInt(j, "duration_ns", &e.duration_ns));
  std::string dir;
  AT_RETURN_IF_ERROR(GetStr(j, "direction", &dir));
  if (dir == "to_server") {
    e.direction = Direction::kToServer;
  } else if (dir == "to_agent") {
    e.direction = Direction::kToAgent;
  } else if (!dir.empty()) {
    return Status::InvalidArgument("field \"direction\" must be \"to_server\" or \"to_agent\"");
  }
  AT_RETURN_IF_ERROR(GetInt(j, "syscall_nr", &e.syscall_nr));
  AT_RETURN_IF_ERROR(GetInt(j, "arch", &e.arch));
  if (auto it = j.find("args"); it != j.end()) {
    if (!it->is_array() || it->size() != 6) return TypeError("args", "an array of 6 integers");
    for (size_t i = 0; i < 6; ++i) {
      if (!(*it)[i].is_number_unsigned() && !(*it)[i].is_number_integer()) return TypeError("args", "integers");
      e.args[i] = (*it)[i].get<uint64_t>();
    }
  }
  AT_RETURN_IF_ERROR(GetStr(j, "text", &e.text));
  AT_RETURN_IF_ERROR(ApplyEscapedFields(j, kEventTextFields, &e));
  return e;
}

std::string SessionHeaderToJson(const SessionInfo& s) {
  Json h;
  h["format"] = "agenttrace-jsonl";
  h["version"] = kJsonFormatVersion;
  Json j;
  j["id"] = s.id.ToString();
  j["label"] = s.label;
  j["agent_name"] = s.agent_name;
  j["agent_version"] = s.agent_version;
  j["argv"] = s.argv;
  j["cwd"] = s.cwd;
  j["home"] = s.home;
  j["tmp"] = s.tmp;
  j["host"] = s.host;
  j["user"] = s.user;
  j["kernel"] = s.kernel;
  j["arch"] = s.arch;
  j["start_ns"] = s.start_wall_ns;
  j["end_ns"] = s.end_wall_ns;
  j["exit_code"] = s.exit_code;
  j["exit_signal"] = s.exit_signal;
  j["state"] = SessionStateName(s.state);
  j["event_count"] = s.event_count;
  j["env_names"] = s.env_names;
  j["secret_env_names"] = s.secret_env_names;
  j["recorder"] = s.recorder;
  PutEscapedFields(s, kSessionTextFields, j);
  h["session"] = std::move(j);
  return h.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<SessionInfo> SessionHeaderFromJson(std::string_view line) {
  AT_ASSIGN_OR_RETURN(Json h, ParseObject(line));
  auto fmt = h.find("format");
  if (fmt == h.end() || *fmt != "agenttrace-jsonl") {
    return Status::InvalidArgument("first line is not an agenttrace-jsonl header");
  }
  int version = 0;
  AT_RETURN_IF_ERROR(GetInt(h, "version", &version));
  if (version != kJsonFormatVersion) {
    return Status::Unsupported("agenttrace-jsonl version " + std::to_string(version) + " (this build reads " +
                               std::to_string(kJsonFormatVersion) + ")");
  }
  auto sit = h.find("session");
  if (sit == h.end() || !sit->is_object()) return Status::InvalidArgument("header has no \"session\" object");
  const Json& j = *sit;
  SessionInfo s;
  std::string id;
  AT_RETURN_IF_ERROR(GetStr(j, "id", &id));
  if (!id.empty()) {
    AT_ASSIGN_OR_RETURN(s.id, SessionId::Parse(id));
  }
  AT_RETURN_IF_ERROR(GetStr(j, "label", &s.label));
  AT_RETURN_IF_ERROR(GetStr(j, "agent_name", &s.agent_name));
  AT_RETURN_IF_ERROR(GetStr(j, "agent_version", &s.agent_version));
  AT_RETURN_IF_ERROR(GetStrings(j, "argv", &s.argv));
  AT_RETURN_IF_ERROR(GetStr(j, "cwd", &s.cwd));
  AT_RETURN_IF_ERROR(GetStr(j, "home", &s.home));
  AT_RETURN_IF_ERROR(GetStr(j, "tmp", &s.tmp));
  AT_RETURN_IF_ERROR(GetStr(j, "host", &s.host));
  AT_RETURN_IF_ERROR(GetStr(j, "user", &s.user));
  AT_RETURN_IF_ERROR(GetStr(j, "kernel", &s.kernel));
  AT_RETURN_IF_ERROR(GetStr(j, "arch", &s.arch));
  AT_RETURN_IF_ERROR(GetInt(j, "start_ns", &s.start_wall_ns));
  AT_RETURN_IF_ERROR(GetInt(j, "end_ns", &s.end_wall_ns));
  AT_RETURN_IF_ERROR(GetInt(j, "exit_code", &s.exit_code));
  AT_RETURN_IF_ERROR(GetInt(j, "exit_signal", &s.exit_signal));
  std::string state;
  AT_RETURN_IF_ERROR(GetStr(j, "state", &state));
  if (state == "complete") {
    s.state = SessionState::kComplete;
  } else if (state == "incomplete" || state == "recording") {
    s.state = SessionState::kIncomplete;
  } else if (!state.empty()) {
    return Status::InvalidArgument("unknown session state \"" + state + "\"");
  }
  AT_RETURN_IF_ERROR(GetInt(j, "event_count", &s.event_count));
  AT_RETURN_IF_ERROR(GetStrings(j, "env_names", &s.env_names));
  AT_RETURN_IF_ERROR(GetStrings(j, "secret_env_names", &s.secret_env_names));
  AT_RETURN_IF_ERROR(GetStr(j, "recorder", &s.recorder));
  AT_RETURN_IF_ERROR(ApplyEscapedFields(j, kSessionTextFields, &s));
  return s;
}

}  // namespace agenttrace
