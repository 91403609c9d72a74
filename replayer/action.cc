#include "replayer/action.h"

#include <fcntl.h>
#include <sys/socket.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

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
    case EventKind::kFileRename:  // resolved, resolved2: source and destination as the kernel walks them
      add(ActionClass::kFileDelete, e.path, e.resolved);
      add(ActionClass::kFileWrite, e.path2, e.resolved2);
      // The content moves to a name the source's rules do not cover: reading it there is reading the
      // source (mv ~/.ssh/id_rsa ws/k; cat ws/k).
      add(ActionClass::kFileRead, e.path, e.resolved);
      if ((e.flags & RENAME_EXCHANGE) != 0) {  // both names are replaced: each is deleted, written and read
        add(ActionClass::kFileDelete, e.path2, e.resolved2);
        add(ActionClass::kFileWrite, e.path, e.resolved);
        add(ActionClass::kFileRead, e.path2, e.resolved2);
      }
      break;
    case EventKind::kFileLink:  // resolved: the new name as the kernel walks it; resolved2: the source
      add(ActionClass::kFileWrite, e.path2, e.resolved);
      // A second name for the same file: what it allows (reading, writing) is done to the source.
      add(ActionClass::kFileRead, e.path, e.resolved2);
      add(ActionClass::kFileWrite, e.path, e.resolved2);
      break;
    case EventKind::kFileSymlink:
      add(ActionClass::kFileWrite, e.path2, e.resolved);
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
      if (e.family == AF_NETLINK) break;  // talks to the kernel (glibc's getaddrinfo binds one), not to a host
      // Only an inet, inet6 or unix socket serves clients by bind alone (datagrams); a stream server of
      // another family (vsock, ...) is still caught by its listen(). A bind of family 0 (the address
      // could not be read) stays a listen: unknown is not harmless.
      if (e.kind == EventKind::kNetBind && e.family != 0 && e.family != AF_INET && e.family != AF_INET6 &&
          e.family != AF_UNIX) {
        break;
      }
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
