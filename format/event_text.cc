#include "format/event_text.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "format/decision_event.h"
#include "format/event_json.h"
#include "format/text_escape.h"

namespace agenttrace {
namespace {

// Longest prefix of the escaped text `s` of at most `max` bytes that splits neither a UTF-8 sequence
// nor an escape (`\\`, `\xNN`): a cut line still reads back to a prefix of the recorded bytes.
size_t EscapedPrefixLength(std::string_view s, size_t max) {
  size_t i = 0;
  while (i < s.size()) {
    size_t n = 1;
    if (s[i] == '\\' && i + 1 < s.size()) {
      n = s[i + 1] == '\\' ? 2 : (s[i + 1] == 'x' ? 4 : 1);
    } else {
      while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
    }
    if (i + n > max) break;
    i += n;
  }
  return i;
}

// A free-form payload: escaped, cut at `max` recorded bytes.
void AppendCut(std::string_view s, size_t max, std::string* out) {
  std::string_view head = Utf8Prefix(s, max);
  AppendEscaped(head, out);
  if (head.size() < s.size()) out->append("...");
}

bool IsShellSafe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("@%+=:,./_-", c) != nullptr;
}

void AppendEndpoint(const Event& e, std::string* out) {
  if (e.family == AF_UNIX || (!e.path.empty() && e.address.empty())) {
    out->append("unix:");
    AppendEscaped(e.path, out);
    return;
  }
  if (e.address.empty()) {
    // No address to show (netlink, packet, or the address could not be read): name the family.
    switch (e.family) {
      case 0:
        out->append("?");
        break;
      case AF_NETLINK:
        out->append("netlink");
        break;
      case AF_PACKET:
        out->append("packet");
        break;
      default:
        out->append("family " + std::to_string(e.family));
        break;
    }
    return;
  }
  bool v6 = e.address.find(':') != std::string::npos;
  if (v6) out->push_back('[');
  AppendEscaped(e.address, out);
  if (v6) out->push_back(']');
  out->push_back(':');
  out->append(std::to_string(e.port));
}

void AppendServerSlashTool(const Event& e, std::string* out) {
  if (!e.server.empty()) {
    AppendEscaped(e.server, out);
    out->push_back('/');
  }
  AppendEscaped(e.tool, out);
}

// " = -2 ENOENT" for a failed system call; a connect in progress says so (it is not a failure).
void AppendResult(const Event& e, std::string* out) {
  if (!IsSyscallKind(e.kind) || e.result >= 0) return;
  out->append(" = " + std::to_string(e.result));
  std::string_view name = e.result > -4096 ? ErrnoName(static_cast<int>(-e.result)) : std::string_view();
  if (!name.empty()) {
    out->push_back(' ');
    out->append(name);
  }
  if (IsConnectInProgress(e)) out->append(" (in progress)");
}

}  // namespace

void AppendShellQuoted(std::string_view word, std::string* out) {
  bool safe = !word.empty() &&
              std::all_of(word.begin(), word.end(), [](char c) { return IsShellSafe(static_cast<unsigned char>(c)); });
  if (safe) {
    out->append(word);
    return;
  }
  // Escaping never produces a quote, so quoting the escaped word is quoting the word.
  out->push_back('\'');
  for (char c : Escaped(word)) {
    if (c == '\'') {
      out->append("'\\''");
    } else {
      out->push_back(c);
    }
  }
  out->push_back('\'');
}

std::string ShellJoin(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out.push_back(' ');
    AppendShellQuoted(argv[i], &out);
  }
  return out;
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev != nullptr) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

void AppendEventText(const Event& e, size_t max_field, std::string* out) {
  switch (e.kind) {
    case EventKind::kFileRename:
    case EventKind::kFileLink:  // from -> to
      AppendEscaped(e.path, out);
      out->append(" -> ");
      AppendEscaped(e.path2, out);
      break;
    case EventKind::kFileSymlink:  // path = link text, path2 = the link: shown like `ls -l`, link -> text
      AppendEscaped(e.path2, out);
      out->append(" -> ");
      AppendEscaped(e.path, out);
      break;
    case EventKind::kFileOpen: {
      AppendEscaped(e.path, out);
      char buf[32];
      std::snprintf(buf, sizeof buf, " flags=0%llo", static_cast<unsigned long long>(e.flags));
      out->append(buf);
      break;
    }
    case EventKind::kFileChmod: {
      AppendEscaped(e.path, out);
      if ((e.flags & (kMetaTimes | kMetaXattrSet | kMetaXattrRemove)) != 0) {
        out->append((e.flags & kMetaTimes) != 0      ? " times"
                    : (e.flags & kMetaXattrSet) != 0 ? " xattr set "
                                                     : " xattr remove ");
        AppendEscaped(e.path2, out);
        break;
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, " mode %04o", e.mode);
      out->append(buf);
      break;
    }
    case EventKind::kFileChown:
      AppendEscaped(e.path, out);
      out->append(" owner " + std::to_string(e.uid) + ":" + std::to_string(e.gid));
      break;
    case EventKind::kFileTruncate:
      AppendEscaped(e.path, out);
      out->append(" size " + std::to_string(e.size));
      break;
    case EventKind::kFileCreate:
    case EventKind::kFileDelete:
    case EventKind::kFileMkdir:
    case EventKind::kFileRmdir:
      AppendEscaped(e.path, out);
      break;
    case EventKind::kExec:
      AppendEscaped(e.path, out);
      if (!e.argv.empty()) {
        out->append(" [");
        out->append(ShellJoin(e.argv));
        out->push_back(']');
      }
      if (!e.secret_env_names.empty()) {
        out->append(" secret env:");
        for (const std::string& n : e.secret_env_names) {
          out->push_back(' ');
          AppendEscaped(n, out);
        }
      }
      break;
    case EventKind::kProcSpawn:
      out->append((e.is_thread ? "thread " : "child ") + std::to_string(e.child_pid));
      break;
    case EventKind::kProcExit:
      out->append(e.signal != 0 ? "killed by " + SignalName(e.signal) : "exit " + std::to_string(e.exit_code));
      break;
    case EventKind::kNetConnect:
    case EventKind::kNetBind:
    case EventKind::kNetListen:
      AppendEndpoint(e, out);
      break;
    case EventKind::kNetSend:
      AppendEndpoint(e, out);
      out->append(" " + std::to_string(e.size) + " bytes");
      break;
    case EventKind::kToolCall:
    case EventKind::kToolDef:
      AppendServerSlashTool(e, out);
      if (!e.json.empty()) {
        out->push_back(' ');
        AppendCut(e.json, max_field, out);
      }
      break;
    case EventKind::kToolResult: {
      AppendServerSlashTool(e, out);
      out->append(e.is_error ? " error" : " ok");
      if (e.duration_ns != 0) {
        char buf[48];
        std::snprintf(buf, sizeof buf, " in %.3fms", static_cast<double>(e.duration_ns) / 1e6);
        out->append(buf);
      }
      if (!e.json.empty()) {
        out->push_back(' ');
        AppendCut(e.json, max_field, out);
      }
      break;
    }
    case EventKind::kMcpRequest:
    case EventKind::kMcpNotification:
      if (!e.server.empty()) {
        AppendEscaped(e.server, out);
        out->push_back(' ');
      }
      AppendEscaped(e.method, out);
      if (!e.json.empty()) {
        out->push_back(' ');
        AppendCut(e.json, max_field, out);
      }
      break;
    case EventKind::kMcpResponse:
      out->append("id ");
      AppendEscaped(e.request_id, out);
      out->append(e.is_error ? " error " : " ");
      AppendCut(e.json, max_field, out);
      break;
    case EventKind::kAnnotation:
      AppendCut(e.text, max_field, out);
      // A request-time decision (agenttrace run) says what it decided on what: "decision deny by
      // no-secrets: file.open /home/u/.ssh/id_rsa flags=00". A malformed one shows as its text only.
      if (IsDecisionEvent(e)) {
        Result<DecisionRecord> d = ParseDecisionEvent(e);
        if (d.ok()) {
          out->push_back(' ');
          out->append(RequestVerdictName(d->decision.verdict));
          if (!d->decision.rule.empty()) {
            out->append(" by ");
            AppendEscaped(d->decision.rule, out);
          }
          out->append(": ");
          out->append(EventKindName(d->request.kind));
          out->push_back(' ');
          AppendEventText(d->request, max_field, out);
        }
      }
      break;
    case EventKind::kEscape:
    case EventKind::kRaw:
      AppendEscaped(e.text, out);
      out->append(" (syscall " + std::to_string(e.syscall_nr) + ")");
      break;
    case EventKind::kProtocolError:
      if (!e.server.empty()) {
        AppendEscaped(e.server, out);
        out->append(": ");
      }
      AppendCut(e.text, max_field, out);
      break;
    case EventKind::kGap:
      out->append(std::to_string(e.size) + " events lost");
      if (!e.text.empty()) {
        out->append(": ");
        AppendEscaped(e.text, out);
      }
      break;
  }
  if (!e.resolved.empty() && e.resolved != e.path) {
    out->append(" (resolved ");
    AppendEscaped(e.resolved, out);
    out->push_back(')');
  }
  if (!e.resolved2.empty() && e.resolved2 != e.path2) {
    out->append(" (destination resolved ");
    AppendEscaped(e.resolved2, out);
    out->push_back(')');
  }
  AppendResult(e, out);
}

std::string DescribeEvent(const Event& e, size_t max_len) {
  std::string s(EventKindName(e.kind));
  s.push_back(' ');
  AppendEventText(e, kNoFieldLimit, &s);
  if (s.size() > max_len) {
    s.resize(EscapedPrefixLength(s, max_len));
    s += "...";
  }
  return s;
}

}  // namespace agenttrace
