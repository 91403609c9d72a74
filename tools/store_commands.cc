// Shared by the store commands (tools/store_commands.h).
#include "tools/store_commands.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>

#include "format/event_text.h"
#include "format/text_escape.h"

namespace agenttrace {

void RegisterStoreCommands(Cli& cli) {
  RegisterLsCommand(cli);
  RegisterShowCommand(cli);
  RegisterExportCommand(cli);
  RegisterImportCommand(cli);
  RegisterVerifyCommand(cli);
  RegisterStatsCommand(cli);
}

// ---------------------------------------------------------------------------------------------
// Store access.

namespace {

bool DirectoryExists(const std::string& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenStoreForRead(const Cli& cli) {
  std::string dir = StoreDir(cli);
  if (!DirectoryExists(dir)) return Status::NotFound("no trace store at " + dir);
  StoreOptions options;
  options.read_only = true;
  auto store = Store::Open(dir, options);
  if (!store.ok()) return store.status().WithContext("store " + dir);
  return store;
}

Result<SessionId> ResolveSession(Store& store, std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty session id");
  auto id = store.Resolve(text);
  if (id.ok()) return id;
  if (id.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("no session matches \"" + std::string(text) + "\" in " + store.dir());
  }
  if (id.status().code() != StatusCode::kInvalidArgument) return id.status();
  // Ambiguous (or otherwise rejected): list what the prefix matches, to help the user choose.
  std::string prefix = ToLower(text);
  std::string candidates;
  size_t n = 0;
  if (auto all = store.ListSessions(); all.ok()) {
    for (const SessionInfo& s : *all) {
      std::string sid = s.id.ToString();
      if (sid.compare(0, prefix.size(), prefix) != 0) continue;
      if (++n <= 20) candidates += "\n  " + sid + (s.label.empty() ? "" : "  " + s.label);
    }
  }
  if (n < 2) return id.status();
  if (n > 20) candidates += "\n  ... and " + std::to_string(n - 20) + " more";
  return Status::InvalidArgument("session prefix \"" + std::string(text) + "\" is ambiguous; it matches " +
                                 std::to_string(n) + " sessions:" + candidates);
}

// ---------------------------------------------------------------------------------------------
// Formatting for people.

std::string FormatUtc(int64_t wall_ns) {
  if (wall_ns == 0) return "-";
  int64_t secs = wall_ns / 1000000000;
  int64_t ms = (wall_ns % 1000000000) / 1000000;
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string ExitText(const SessionInfo& s) {
  if (s.exit_signal != 0) return SignalName(s.exit_signal);
  if (s.exit_code < 0) return "-";
  return std::to_string(s.exit_code);
}

std::string AgentText(const SessionInfo& s) {
  std::string out;
  AppendEscaped(s.agent_name.empty() ? std::string_view("-") : std::string_view(s.agent_name), &out);
  if (!s.agent_version.empty()) {
    out.push_back(' ');
    AppendEscaped(s.agent_version, &out);
  }
  return out;
}

std::string Printable(std::string_view s) { return Escaped(s); }

}  // namespace agenttrace
