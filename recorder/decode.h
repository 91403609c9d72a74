// Internal interface between the tracer's event loop (tracer.cc) and the per-family syscall decoders
// (decode_file.cc, decode_process.cc, decode_net.cc). Not used outside recorder/.
//
// A traced call is decoded in two steps: at the seccomp stop (entry) the decoder reads the arguments
// (tracee memory, /proc) into the thread's Event and says how to continue (EntryAction); at the
// syscall-exit stop it completes the Event from the result (e.g. Event::resolved from /proc/TID/fd/N
// after an open). The loop then appends the Event. Decoders never allocate in steady state: they
// write into the reused Event's strings.
//
// Thread-safety: called from the tracer thread only.
#ifndef AGENTTRACE_RECORDER_DECODE_H_
#define AGENTTRACE_RECORDER_DECODE_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/event.h"
#include "recorder/path_state.h"
#include "recorder/syscall_table.h"

namespace agenttrace {

// Bounds on what is read from a tracee per call (untrusted input).
inline constexpr size_t kMaxPathBytes = 4096;
inline constexpr size_t kMaxArgBytes = 64 * 1024;          // one argv entry
inline constexpr size_t kMaxArgvBytes = 1024 * 1024;       // all argv entries of one exec
inline constexpr size_t kMaxArgvEntries = 4096;
inline constexpr size_t kMaxEnvEntries = 4096;
inline constexpr size_t kMaxEnvEntryBytes = 4096;          // read to find the name and classify the value

struct SyscallCall {
  pid_t tid = 0;
  pid_t pid = 0;  // thread group
  uint32_t nr = 0;
  uint32_t arch = 0;
  std::array<uint64_t, 6> args{};
  const SyscallInfo* info = nullptr;
};

struct EntryAction {
  bool want_exit = true;        // resume with PTRACE_SYSCALL and complete the event at exit
  bool drop = false;            // nothing to record (e.g. sendmsg without an address)
  int deny_errno = 0;           // skip the syscall; it returns -deny_errno (event recorded at once)
  bool set_arg0 = false;        // replace argument 0 (clone: CLONE_UNTRACED stripped)
  uint64_t new_arg0 = 0;
  bool poke = false;            // write poke_value at poke_addr (clone3: CLONE_UNTRACED stripped)
  uint64_t poke_addr = 0;
  uint64_t poke_value = 0;
  bool untraced_clone = false;  // the call asked for CLONE_UNTRACED: also record an escape
  bool set_arg2 = false;        // replace argument 2 (sendmmsg: vlen cut to one destination)
  uint64_t new_arg2 = 0;
};

struct DecodeEnv {
  TraceeMemory* mem = nullptr;
  PathResolver* paths = nullptr;
  bool allow_io_uring = false;
  // run --mode enforce: calls whose object cannot be known before they run (open_by_handle_at) are
  // refused, since no rule could be applied to them.
  bool refuse_undecidable = false;
  // Request-time enforcement decides an open at entry, so its `resolved` (the object the kernel will
  // walk to, symlinks followed) is computed there too; a successful open's fd path replaces it at exit.
  bool resolve_opens_at_entry = false;
  std::string scratch;  // reused buffers
  std::string scratch2;
  std::vector<uint64_t> pointers;  // an exec's argv and envp entries
  // Set by an exit decoder (the tracer clears it before each): the entry-time reading of a pointer
  // argument disagrees with the kernel's fact after the call, which the event now carries instead.
  // The tracer records it as a process.escape with this text, "toctou: ...".
  std::string toctou;
  Event peer;                        // scratch of the connect check
  std::vector<std::string> cmdline;  // scratch of the exec check
};

// Per family. Exit decoders may set env.toctou (above). *ev arrives cleared with pid, tid, timestamps, syscall_nr, arch
// and args set.
EntryAction DecodeFileEntry(const SyscallCall& c, DecodeEnv& env, Event* ev);
void DecodeFileExit(const SyscallCall& c, int64_t result, DecodeEnv& env, Event* ev);
EntryAction DecodeProcessEntry(const SyscallCall& c, DecodeEnv& env, Event* ev);  // and escapes
void DecodeProcessExit(const SyscallCall& c, int64_t result, DecodeEnv& env, Event* ev);
EntryAction DecodeNetEntry(const SyscallCall& c, DecodeEnv& env, Event* ev);
void DecodeNetExit(const SyscallCall& c, int64_t result, DecodeEnv& env, Event* ev);

// Decodes a sockaddr (AF_INET, AF_INET6, AF_UNIX; others keep only the family) of `len` bytes into
// ev->family/address/port/path. An abstract unix address is written "@name". Returns false if `len`
// is too short for its family.
bool DecodeSockaddr(const void* addr, size_t len, Event* ev);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_DECODE_H_
