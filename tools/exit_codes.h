// Exit codes of the agenttrace CLI (documented in docs/cli.md). Only tools/ chooses exit codes.
#ifndef AGENTTRACE_TOOLS_EXIT_CODES_H_
#define AGENTTRACE_TOOLS_EXIT_CODES_H_

namespace agenttrace {

inline constexpr int kExitOk = 0;              // success; replay: promotable
inline constexpr int kExitNotPromotable = 1;   // replay: the gate failed (the agent, not the tool)
inline constexpr int kExitDifferent = 1;       // diff: the two sides behave differently
inline constexpr int kExitServeMiss = 1;       // replay --serve: a request had no usable recorded answer
inline constexpr int kExitUsage = 2;           // bad usage, or an I/O error (unreadable file, store)
inline constexpr int kExitCorrupt = 3;         // invalid or corrupt trace data (verify, import, replay)
inline constexpr int kExitBadPolicy = 4;       // the policy file is invalid
inline constexpr int kExitInternal = 70;       // a bug in agenttrace (EX_SOFTWARE)
// `agenttrace record` exits with the agent's own status (128+n for signal n). Its own failures use
// the codes of env(1)/timeout(1), which agents rarely return:
inline constexpr int kExitTimeout = 124;       // agenttrace record --timeout stopped the recording
inline constexpr int kExitRecordFailed = 125;  // agenttrace record itself failed (store, ptrace not permitted)
inline constexpr int kExitCannotExec = 126;    // the command was found but could not be executed
inline constexpr int kExitNotFound = 127;      // the command was not found

}  // namespace agenttrace

#endif  // AGENTTRACE_TOOLS_EXIT_CODES_H_
