// The seccomp-bpf program the recorder installs in the traced agent, generated from the syscall table.
//
// Shape: x86_64 syscalls of the table -> SECCOMP_RET_TRACE (ret data kTraceDataRecorded); everything
// else on x86_64 -> ALLOW; any other architecture (i386 via int 0x80) and any x32 number
// (nr & 0x40000000) -> TRACE (ret data kTraceDataForeign), so that the tracer records them as
// "foreign-arch" escapes. The ALLOW path depends on the syscall number only, except for the two rows
// flagged kArgFiltered: sendto traps only with a destination address (argument 4 != NULL, so that
// send() on a connected TCP socket stays untraced) and prctl only for PR_SET_SECCOMP. Under
// SeccompFilterOptions::trap_cwd_changes, chdir and fchdir are trapped too.
// libseccomp builds the program as a binary tree (SCMP_FLTATR_CTL_OPTIMIZE = 2).
//
// The program is built once in the recorder (it allocates) and installed in the forked child, which
// may not allocate: InstallSeccompFilter is async-signal-safe. The child sets no_new_privs itself.
//
// A seccomp filter is permanent and inherited: with no tracer attached, a TRACE syscall fails with
// ENOSYS. The tracer therefore sets PTRACE_O_EXITKILL so that nothing runs on without it.
//
// Thread-safety: BuildSeccompFilter is reentrant; the result is an immutable value.
#ifndef AGENTTRACE_RECORDER_SECCOMP_FILTER_H_
#define AGENTTRACE_RECORDER_SECCOMP_FILTER_H_

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "format/status.h"

namespace agenttrace {

// SECCOMP_RET_DATA values of the recorder's TRACE actions (PTRACE_GETEVENTMSG / syscall info).
inline constexpr uint32_t kTraceDataRecorded = 1;
inline constexpr uint32_t kTraceDataForeign = 0xFFFF;

// chdir and fchdir: not in the table (nothing is recorded for them), trapped only when asked, so that a
// tracer that keeps each thread's cwd descriptor across stops (PathResolver's context cache, for
// request-time enforcement) sees every change of a cwd.
inline constexpr uint32_t kCwdChangeSyscalls[] = {80 /* chdir */, 81 /* fchdir */};

struct SeccompFilterOptions {
  bool trap_cwd_changes = false;  // also trap kCwdChangeSyscalls
};

struct SeccompProgram {
  std::vector<sock_filter> insns;
  bool traps_cwd_changes = false;  // built with SeccompFilterOptions::trap_cwd_changes
};

// Generates the program from recorder/syscall_table.def (and kCwdChangeSyscalls when asked).
Result<SeccompProgram> BuildSeccompFilter(const SeccompFilterOptions& options = {});

// Installs `prog` as a seccomp filter of the calling thread (SECCOMP_SET_MODE_FILTER, no flags).
// Does not set no_new_privs. Returns 0 or an errno value. Async-signal-safe: usable between fork and
// exec.
int InstallSeccompFilter(const SeccompProgram& prog);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_SECCOMP_FILTER_H_
