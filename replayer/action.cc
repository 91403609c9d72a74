#include "replayer/action.h"

#include <fcntl.h>
#include <sys/socket.h>

namespace agenttrace {

std::string_view ActionClassName(ActionClass c) {
  switch (c) {
#define AGENTTRACE_X(name, num, str) \
  case ActionClass::name:            \
    return str;
    AGENTTRACE_ACTION_CLASSES(AGENTTRACE_X)
#undef AGENTTRACE_X
  }
  return "unknown";
}

std::optional<ActionClass> ParseActionClass(std::string_view name) {
#define AGENTTRACE_X(n, num, str) \
  if (name == str) return ActionClass::n;
  AGENTTRACE_ACTION_CLASSES(AGENTTRACE_X)
#undef AGENTTRACE_X
  return std::nullopt;
}

std::string_view DecisionName(Decision d) {
  switch (d) {
    case Decision::kAllow: return "allow";
    case Decision::kAsk: return "ask";
    case Decision::kDeny: return "deny";
  }
  return "unknown";
}

std::optional<Decision> ParseDecision(std::string_view name) {
  if (name == "allow") return Decision::kAllow;
  if (name == "ask") return Decision::kAsk;
  if (name == "deny") return Decision::kDeny;
  return std::nullopt;
}

std::string_view Action::Resource() const {
  if (!env.empty()) return env;
  if (!resolved.empty()) return resolved;  // what was really accessed
  if (!path.empty()) return path;
  if (!host.empty()) return host;
  if (event == nullptr) return {};
  if (cls == ActionClass::kToolCall) return event->tool;
  if (cls == ActionClass::kEscape) return event->text;
  return {};
}

void DeriveBaseActions(const Event& e, std::vector<Action>* out) {
  out->clear();
  auto add = [&](ActionClass c, std::string_view path, std::string_view resolved) {
    Action a;
    a.cls = c;
    a.path = path;
    if (resolved != path) a.resolved = resolved;
    a.event = &e;
    out->push_back(a);
  };
  switch (e.kind) {
    case EventKind::kFileOpen: {
      unsigned acc = e.flags & O_ACCMODE;
      bool writes = acc == O_WRONLY || acc == O_RDWR || (e.flags & (O_CREAT | O_TRUNC)) != 0;
      bool reads = acc == O_RDONLY || acc == O_RDWR;
      if (reads) add(ActionClass::kFileRead, e.path, e.resolved);
      if (writes) add(ActionClass::kFileWrite, e.path, e.resolved);
      break;
    }
    case EventKind::kFileCreate:
    case EventKind::kFileChmod:
    case EventKind::kFileChown:
    case EventKind::kFileTruncate:
    case EventKind::kFileMkdir:
      add(ActionClass::kFileWrite, e.path, e.resolved);
      break;
    case EventKind::kFileDelete:
    case EventKind::kFileRmdir:
      add(ActionClass::kFileDelete, e.path, e.resolved);
      break;
    case EventKind::kFileRename:
      add(ActionClass::kFileDelete, e.path, {});
      add(ActionClass::kFileWrite, e.path2, {});
      break;
    case EventKind::kFileLink:
    case EventKind::kFileSymlink:
      add(ActionClass::kFileWrite, e.path2, {});
      break;
    case EventKind::kExec: {
      add(ActionClass::kExec, e.path, e.resolved);
      for (const std::string& name : e.secret_env_names) {
        Action a;
        a.cls = ActionClass::kSecretRead;
        a.env = name;
        a.event = &e;
        out->push_back(a);
      }
      break;
    }
    case EventKind::kNetConnect:
    case EventKind::kNetSend:
    case EventKind::kNetBind:
    case EventKind::kNetListen: {
      if (e.kind == EventKind::kNetSend && e.address.empty() && e.path.empty()) break;  // no address: a plain send
      // Netlink talks to the kernel (routing and interface tables: name resolution, libuv's
      // interface list), not to a host; it has no address a rule could name.
      if (e.family == AF_NETLINK) break;
      Action a;
      a.cls = (e.kind == EventKind::kNetBind || e.kind == EventKind::kNetListen) ? ActionClass::kNetListen
                                                                                 : ActionClass::kNetConnect;
      a.event = &e;
      if (e.family == AF_UNIX || (!e.path.empty() && e.address.empty())) {
        a.path = e.path;
      } else {
        a.host = e.address;
        a.port = e.port;
      }
      out->push_back(a);
      break;
    }
    case EventKind::kToolCall: {
      Action a;
      a.cls = ActionClass::kToolCall;
      a.event = &e;
      out->push_back(a);
      break;
    }
    case EventKind::kEscape: {
      Action a;
      a.cls = ActionClass::kEscape;
      a.event = &e;
      out->push_back(a);
      break;
    }
    default:
      break;
  }
}

}  // namespace agenttrace
