// The trace store's commands: ls, show, export, import, verify, stats (docs/cli.md), one file each
// (tools/cmd_<name>.cc), and what they share: opening the store for reading, resolving a session id
// or prefix, and the few ways a session's facts are written for people.
//
// Read commands open the store read-only and never create it: a missing directory is a usage error.
// Sessions are named by their full id or a unique prefix of it. Output files go through
// format/output_file.h (whole or not at all).
#ifndef AGENTTRACE_TOOLS_STORE_COMMANDS_H_
#define AGENTTRACE_TOOLS_STORE_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "format/session.h"
#include "format/status.h"
#include "format/store.h"
#include "tools/cli.h"

namespace agenttrace {

// Each registers one subcommand on `cli` (RegisterStoreCommands in tools/cli.h calls them in order).
void RegisterLsCommand(Cli& cli);      // cmd_ls.cc
void RegisterShowCommand(Cli& cli);    // cmd_show.cc
void RegisterExportCommand(Cli& cli);  // cmd_export.cc
void RegisterImportCommand(Cli& cli);  // cmd_import.cc
void RegisterVerifyCommand(Cli& cli);  // cmd_verify.cc
void RegisterStatsCommand(Cli& cli);   // cmd_stats.cc

// Opens the store for a read command; never creates it (NotFound when the directory is missing).
Result<std::unique_ptr<Store>> OpenStoreForRead(const Cli& cli);

// Resolves a full id or unique prefix. NotFound and ambiguity come back with messages for people
// (an ambiguous prefix lists its candidates); both map to exit 2.
Result<SessionId> ResolveSession(Store& store, std::string_view text);

// "2026-11-26T20:29:45.123Z"; "-" for 0.
std::string FormatUtc(int64_t wall_ns);
// The session's exit status: its code, its signal's name, or "-".
std::string ExitText(const SessionInfo& s);
// "name version", escaped; "-" when the agent is unnamed.
std::string AgentText(const SessionInfo& s);
// Recorded text for people, in the escaped form of format/text_escape.h.
std::string Printable(std::string_view s);

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_STORE_COMMANDS_H_
