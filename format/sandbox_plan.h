// A kernel sandbox plan: what the agent may touch, in the terms Landlock enforces (file hierarchies
// per access right, TCP ports), handed from the policy side (replayer/landlock_plan.h builds it from a
// compiled policy) to the recorder (recorder/landlock.h applies it to the agent before exec). It sits
// on the ground floor so that neither side includes the other (docs/architecture.md).
//
// Semantics: for every right in `handled_fs`, the agent is denied that right everywhere except beneath
// the `paths` whose `access` contains it; rights outside `handled_fs` are not restricted at all. The
// same for TCP: when `restrict_connect`/`restrict_bind` is set, only the listed ports are allowed.
// A plan is an over-approximation of what the policy allows (the tracer decides inside it), so applying
// it never refuses what the policy allows, with the exceptions docs/policy.md lists.
//
// The access bits have the values of the Landlock ABI (include/uapi/linux/landlock.h), which the kernel
// keeps stable; the recorder drops those its kernel does not know.
//
// Thread-safety: a plain value.
#ifndef AGENTTRACE_FORMAT_SANDBOX_PLAN_H_
#define AGENTTRACE_FORMAT_SANDBOX_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

namespace agenttrace {

namespace sandbox {
inline constexpr uint64_t kExecute = 1ull << 0;
inline constexpr uint64_t kWriteFile = 1ull << 1;
inline constexpr uint64_t kReadFile = 1ull << 2;
inline constexpr uint64_t kReadDir = 1ull << 3;
inline constexpr uint64_t kRemoveDir = 1ull << 4;
inline constexpr uint64_t kRemoveFile = 1ull << 5;
inline constexpr uint64_t kMakeChar = 1ull << 6;
inline constexpr uint64_t kMakeDir = 1ull << 7;
inline constexpr uint64_t kMakeReg = 1ull << 8;
inline constexpr uint64_t kMakeSock = 1ull << 9;
inline constexpr uint64_t kMakeFifo = 1ull << 10;
inline constexpr uint64_t kMakeBlock = 1ull << 11;
inline constexpr uint64_t kMakeSym = 1ull << 12;
inline constexpr uint64_t kRefer = 1ull << 13;     // Landlock ABI 2: rename/link across directories
inline constexpr uint64_t kTruncate = 1ull << 14;  // ABI 3
// Rights that apply to a file itself (the others apply to directories: listing, making, removing
// entries in them).
inline constexpr uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate;
inline constexpr uint64_t kAllRights = (1ull << 15) - 1;

// "read_file,read_dir": the names of the bits, for messages.
std::string AccessNames(uint64_t access);
}  // namespace sandbox

struct SandboxPathRule {
  std::string path;     // absolute and normalised: the file, or the directory and everything beneath
  uint64_t access = 0;  // sandbox::k* bits allowed there
  bool operator==(const SandboxPathRule&) const = default;
};

struct SandboxPlan {
  uint64_t handled_fs = 0;              // rights denied except beneath `paths`
  std::vector<SandboxPathRule> paths;   // sorted by path, one entry per path
  bool restrict_connect = false;        // TCP connect allowed only to `connect_ports`
  std::vector<uint16_t> connect_ports;  // sorted, unique
  bool restrict_bind = false;           // TCP bind allowed only to `bind_ports`
  std::vector<uint16_t> bind_ports;
  bool empty() const { return handled_fs == 0 && !restrict_connect && !restrict_bind; }
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_SANDBOX_PLAN_H_
