#include "format/event_json.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "format/event_json_scan.h"
#include "format/text_escape.h"

namespace agenttrace {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kJsonFormatVersion = 1;

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

// Appends `s` (valid UTF-8) as a JSON string exactly as nlohmann::json's dump() writes it, so that the
// export's bytes stay those it always had: the short escapes, other control characters as \u00xx.
void AppendDumpString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  const char* run = s.data();
  const char* end = s.data() + s.size();
  for (const char* p = run; p < end; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(run, p - run);
    run = p + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(run, end - run);
  out->push_back('"');
}

namespace {

// Writes the event's fields in the order of the format (docs/format.md), each only when it differs
// from its default; a text field that is not valid UTF-8 is written escaped and named in "escaped".
class EventJsonWriter {
 public:
  explicit EventJsonWriter(std::string* out) : out_(out) {}
  void Key(const char* key) {
    out_->push_back(first_ ? '{' : ',');
    first_ = false;
    out_->push_back('"');
    out_->append(key);
    out_->append("\":");
  }
  void Int(const char* key, int64_t v) {
    Key(key);
    AppendNumber(v);
  }
  void Uint(const char* key, uint64_t v) {
    Key(key);
    AppendNumber(v);
  }
  template <typename T>
  void IntIf(const char* key, T v) {
    if (v == 0) return;
    if constexpr (std::is_unsigned_v<T>) {
      Uint(key, v);
    } else {
      Int(key, v);
    }
  }
  void Text(const char* key, const std::string& v) {
    if (v.empty()) return;
    Key(key);
    if (IsValidUtf8(v)) {
      AppendDumpString(v, out_);
    } else {
      AppendDumpString(Escaped(v), out_);
      escaped_.push_back(key);
    }
  }
  void Texts(const char* key, const std::vector<std::string>& v) {
    if (v.empty()) return;
    Key(key);
    bool valid = std::all_of(v.begin(), v.end(), [](const std::string& s) { return IsValidUtf8(s); });
    out_->push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out_->push_back(',');
      AppendDumpString(valid ? std::string_view(v[i]) : std::string_view(Escaped(v[i])), out_);
    }
    out_->push_back(']');
    if (!valid) escaped_.push_back(key);
  }
  void BoolIf(const char* key, bool v) {
    if (!v) return;
    Key(key);
    out_->append("true");
  }
  void Raw(const char* key, std::string_view json) {
    Key(key);
    out_->append(json);
  }
  // The "escaped" list goes last, in the order of kEventTextFields; then the object closes.
  void Close() {
    if (!escaped_.empty()) {
      std::vector<const char*> ordered;
      for (const TextField<Event>& f : kEventTextFields) {
        for (const char* k : escaped_) {
          if (std::string_view(k) == f.name) ordered.push_back(k);
        }
      }
      Key(kEscapedKey);
      out_->push_back('[');
      for (size_t i = 0; i < ordered.size(); ++i) {
        if (i > 0) out_->push_back(',');
        AppendDumpString(ordered[i], out_);
      }
      out_->push_back(']');
    }
    out_->push_back('}');
  }

 private:
  template <typename T>
  void AppendNumber(T v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_->append(buf, r.ptr - buf);
  }
  std::string* out_;
  bool first_ = true;
  std::vector<const char*> escaped_;
};

}  // namespace

namespace {

void AppendEventJsonForm(const Event& e, bool request_form, std::string* out) {
  EventJsonWriter w(out);
  w.Uint("seq", e.seq);
  if (!request_form) {
    w.Int("ts_ns", e.wall_ns);
    w.Int("mono_ns", e.mono_ns);
    w.Int("pid", e.pid);
    w.Int("tid", e.tid);
  }
  w.Key("kind");
  AppendDumpString(EventKindName(e.kind), out);
  if (IsSyscallKind(e.kind)) {
    w.Int("result", e.result);
    if (e.result < 0 && e.result > -4096) {
      auto name = ErrnoName(static_cast<int>(-e.result));
      if (!name.empty()) {
        w.Key("error");
        AppendDumpString(name, out);
      }
    }
  } else {
    w.IntIf("result", e.result);
  }
  w.Text("path", e.path);
  w.Text("path2", e.path2);
  w.Text("resolved", e.resolved);
  w.Text("resolved2", e.resolved2);
  w.IntIf("flags", e.flags);
  w.IntIf("mode", e.mode);
  w.IntIf("uid", e.uid);
  w.IntIf("gid", e.gid);
  w.IntIf("size", e.size);
  w.Texts("argv", e.argv);
  if (!request_form) w.Texts("env_names", e.env_names);
  w.Texts("secret_env_names", e.secret_env_names);
  w.IntIf("child_pid", e.child_pid);
  w.BoolIf("is_thread", e.is_thread);
  w.IntIf("exit_code", e.exit_code);
  w.IntIf("signal", e.signal);
  w.IntIf("family", e.family);
  w.Text("address", e.address);
  w.IntIf("port", e.port);
  w.Text("server", e.server);
  w.Text("tool", e.tool);
  w.Text("method", e.method);
  w.Text("request_id", e.request_id);
  w.Text("json", e.json);
  w.BoolIf("is_error", e.is_error);
  w.IntIf("duration_ns", e.duration_ns);
  if (e.direction != Direction::kNone) {
    w.Key("direction");
    AppendDumpString(DirectionName(e.direction), out);
  }
  if (request_form) {
    w.Text("text", e.text);
    w.Close();
    return;
  }
  w.IntIf("syscall_nr", e.syscall_nr);
  w.IntIf("arch", e.arch);
  if (e.args != std::array<uint64_t, 6>{}) {
    w.Key("args");
    out->push_back('[');
    for (size_t i = 0; i < e.args.size(); ++i) {
      if (i > 0) out->push_back(',');
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, e.args[i]);
      out->append(buf, r.ptr - buf);
    }
    out->push_back(']');
  }
  w.Text("text", e.text);
  w.Close();
}

}  // namespace

void AppendEventJson(const Event& e, std::string* out) { AppendEventJsonForm(e, false, out); }

void AppendRequestJson(const Event& e, std::string* out) { AppendEventJsonForm(e, true, out); }

std::string EventToJson(const Event& event) {
  std::string s;
  AppendEventJson(event, &s);
  return s;
}

Status ParseEventJson(std::string_view line, bool require_seq, Event* out) {
  std::string scratch;
  if (line.size() <= kMaxJsonBytes && ScanEventJson(line, require_seq, out, &scratch)) return Status::Ok();
  AT_ASSIGN_OR_RETURN(*out, EventFromJsonFull(line, require_seq));
  return Status::Ok();
}

Result<Event> EventFromJson(std::string_view line, bool require_seq) {
  Event e;
  AT_RETURN_IF_ERROR(ParseEventJson(line, require_seq, &e));
  return e;
}

// The full parser: every line the fast path (format/event_json_scan.cc) declines, and the source
// of every error message.
Result<Event> EventFromJsonFull(std::string_view line, bool require_seq) {
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
