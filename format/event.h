// The in-memory event model shared by every producer (tracer, MCP proxy, ingestion socket, import,
// synthetic tests) and every consumer (store codec, replay, export).
//
// An Event is a flat value: `kind` says which fields are meaningful (see the table below and
// docs/format.md). Fields that do not apply to a kind keep their default value; the codec stores only
// the fields of the kind, so a default-valued field round-trips as the default. Producers on a hot path
// reuse Event objects (Clear() keeps string capacity) so that steady-state recording does not allocate.
//
// Paths are absolute and lexically normalised ("/a/./b/../c" -> "/a/c") by the producer. `resolved` is
// the kernel's view after the call (symlinks followed) where it differs from `path`.
//
// Thread-safety: a value type; no shared state.
#ifndef AGENTTRACE_FORMAT_EVENT_H_
#define AGENTTRACE_FORMAT_EVENT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agenttrace {

// Stored as a number in the format: append new kinds at the end, never renumber.
// The dotted name is the stable external name (export, policy, reports).
#define AGENTTRACE_EVENT_KINDS(X)                                                         \
  X(kFileOpen, 0, "file.open")             /* path, resolved, flags, mode, result */        \
  X(kFileCreate, 1, "file.create")         /* creat/mknod: path, mode, result */            \
  X(kFileDelete, 2, "file.delete")         /* unlink: path, flags (AT_*), result */         \
  X(kFileRename, 3, "file.rename")         /* path -> path2, flags (RENAME_*), result */    \
  X(kFileLink, 4, "file.link")             /* hard link: existing path -> new path2 */      \
  X(kFileSymlink, 5, "file.symlink")       /* path = link text, path2 = link created */     \
  X(kFileChmod, 6, "file.chmod")           /* path, mode, result; or times, xattrs (kMeta*) */ \
  X(kFileChown, 7, "file.chown")           /* path, uid, gid, result */                     \
  X(kFileTruncate, 8, "file.truncate")     /* path, size, result */                         \
  X(kFileMkdir, 9, "file.mkdir")           /* path, mode, result */                         \
  X(kFileRmdir, 10, "file.rmdir")          /* path, result */                               \
  X(kExec, 11, "exec")                     /* path (resolved), argv, env_names, secret_env_names, result */ \
  X(kProcSpawn, 12, "proc.spawn")          /* child_pid, is_thread, flags (clone flags), result */ \
  X(kProcExit, 13, "proc.exit")            /* exit_code or signal */                        \
  X(kNetConnect, 14, "net.connect")        /* family, address, port or path (unix), result */ \
  X(kNetBind, 15, "net.bind")              /* idem */                                       \
  X(kNetListen, 16, "net.listen")          /* family, address, port of the bound socket if known */ \
  X(kNetSend, 17, "net.send")              /* sendto/sendmsg with an address: idem, size */ \
  X(kToolCall, 18, "tool.call")            /* server, tool, request_id, json = arguments */ \
  X(kToolResult, 19, "tool.result")        /* server, tool, request_id, json = result, is_error, duration_ns, size */ \
  X(kToolDef, 20, "tool.def")              /* server, tool, json = definition, text = content hash */ \
  X(kMcpRequest, 21, "mcp.request")        /* other JSON-RPC requests: server, method, request_id, json = params */ \
  X(kMcpNotification, 22, "mcp.notification") /* server, method, json = params */          \
  X(kMcpResponse, 23, "mcp.response")      /* responses to kMcpRequest: request_id, json, is_error, duration_ns */ \
  X(kAnnotation, 24, "annotation")         /* text, json (optional) */                      \
  X(kEscape, 25, "process.escape")         /* text = what (io_uring_setup, ptrace, foreign-arch, seccomp, ...), syscall_nr, arch, args, result */ \
  X(kRaw, 26, "raw")                       /* text = syscall name, syscall_nr, arch, args, result */ \
  X(kProtocolError, 27, "protocol.error")  /* server, text = what, json = offending bytes (bounded) */ \
  X(kGap, 28, "gap")                       /* size = events lost, text = why */

enum class EventKind : uint16_t {
#define AGENTTRACE_X(name, num, str) name = num,
  AGENTTRACE_EVENT_KINDS(AGENTTRACE_X)
#undef AGENTTRACE_X
};

inline constexpr uint16_t kEventKindCount = 29;

// file.chmod also records the other writes of a file's metadata; these bits of `flags`, above every
// AT_* flag the call was given, say which (docs/format.md, "Metadata writes"). An extended
// attribute's name is then in `path2`.
inline constexpr uint64_t kMetaTimes = 1ull << 32;        // utime, utimes, futimesat, utimensat
inline constexpr uint64_t kMetaXattrSet = 1ull << 33;     // setxattr, lsetxattr, fsetxattr, setxattrat
inline constexpr uint64_t kMetaXattrRemove = 1ull << 34;  // removexattr, lremovexattr, fremovexattr, removexattrat

// "file.open" for kFileOpen; "unknown" for a number outside the table.
std::string_view EventKindName(EventKind kind);
// Inverse of EventKindName.
std::optional<EventKind> ParseEventKind(std::string_view name);
bool IsValidEventKind(uint16_t raw);

// Direction of an MCP message relative to the agent.
enum class Direction : uint8_t { kNone = 0, kToServer = 1, kToAgent = 2 };

struct Event {
  // Common to every kind.
  uint64_t seq = 0;        // 0-based, dense within a session; assigned by the session writer
  int64_t mono_ns = 0;     // CLOCK_MONOTONIC of the recording host
  int64_t wall_ns = 0;     // CLOCK_REALTIME, ns since the epoch (the syscall recorder stamps mono_ns plus
                           // an offset to CLOCK_REALTIME re-sampled at least every 100 ms)
  int32_t pid = 0;         // process (thread group) id; 0 for tool events without a process
  int32_t tid = 0;         // thread id
  EventKind kind = EventKind::kAnnotation;
  int64_t result = 0;      // syscall result: value (fd, pid, 0) or -errno

  // Files.
  std::string path;        // absolute, normalised; unix socket path for net.* on AF_UNIX
  std::string path2;       // second path (rename/link destination, symlink location)
  std::string resolved;    // target after following symlinks, when it differs from path (link and
                           // symlink: of path2, the new name)
  std::string resolved2;   // rename: path2 as the kernel walks it, when it differs
  uint64_t flags = 0;      // open flags, clone flags, RENAME_* or AT_* flags
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t size = 0;        // truncate length, bytes sent, result bytes, events lost

  // Processes.
  std::vector<std::string> argv;
  std::vector<std::string> env_names;         // names only, never values
  std::vector<std::string> secret_env_names;  // the subset of env_names classified secret
  int32_t child_pid = 0;
  bool is_thread = false;
  int32_t exit_code = 0;
  int32_t signal = 0;      // killing signal for proc.exit, 0 for a normal exit

  // Network.
  uint16_t family = 0;     // AF_INET, AF_INET6, AF_UNIX, ...
  std::string address;     // textual IP address
  uint16_t port = 0;

  // Tools (MCP and agent-framework hooks).
  std::string server;
  std::string tool;
  std::string method;
  std::string request_id;  // the JSON-RPC id as its JSON text (1, "abc")
  std::string json;        // compact JSON (arguments, result, params, definition)
  bool is_error = false;
  int64_t duration_ns = 0;
  Direction direction = Direction::kNone;

  // Raw syscalls, escapes, annotations, errors.
  uint32_t syscall_nr = 0;
  uint32_t arch = 0;       // AUDIT_ARCH_* of the syscall
  std::array<uint64_t, 6> args{};
  std::string text;

  // Resets every field to its default but keeps string and vector capacity.
  void Clear();
  bool operator==(const Event&) const = default;
};

// Bytes of string data the event carries (every string field and list entry, not capacity): what the
// chunk codec bounds per event when decoding and what AsyncSessionWriter counts against its pending
// byte budget.
uint64_t EventStringBytes(const Event& event);

// A non-blocking connect answered EINPROGRESS: the kernel has started the connection (a TCP SYN is on
// its way), so the host is being contacted. Node, npm and every asynchronous client connect this way;
// the process learns the outcome later (poll, then getsockopt SO_ERROR), which is not recorded.
bool IsConnectInProgress(const Event& e);

// Whether `e` is a system call that failed, i.e. had no effect: a negative result, except a connect in
// progress. Replay counts only attempts that did not fail in the blast radius and as irreversible, and
// a policy's `failed:` condition and `evaluate_failed` setting use this test (docs/policy.md).
bool IsFailedAttempt(const Event& e);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_EVENT_H_
