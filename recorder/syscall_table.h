// The table of syscalls the recorder traps (x86_64), generated from recorder/syscall_table.def.
//
// Invariants: every row's number equals SYS_<name> of <sys/syscall.h> (static_assert in
// syscall_table.cc); numbers are unique and below kMaxSyscallNr; every row names a decoder. The seccomp
// filter (seccomp_filter.h) traps exactly the rows of this table, so "is it recorded" has one answer.
//
// Thread-safety: immutable data.
#ifndef AGENTTRACE_RECORDER_SYSCALL_TABLE_H_
#define AGENTTRACE_RECORDER_SYSCALL_TABLE_H_

#include <cstdint>
#include <span>
#include <string_view>

namespace agenttrace {

enum class SyscallFamily : uint8_t { kFile, kProcess, kNet, kEscape };
std::string_view SyscallFamilyName(SyscallFamily f);

// Row flags (bit set).
enum SyscallFlag : uint32_t {
  kPathArg = 1u << 0,       // takes a path argument
  kFdArg = 1u << 1,         // acts on a descriptor given as argument 0
  kFdResult = 1u << 2,      // returns a new descriptor
  kSpawn = 1u << 3,         // creates a process or thread
  kDirfd = 1u << 4,         // path relative to a dirfd argument
  kArgFiltered = 1u << 5,   // the filter traps only some argument values (see seccomp_filter.cc)
};

// One decoder per irregular argument shape; implemented in decode_{file,process,net}.cc by family.
enum class Decoder : uint8_t {
  kOpen, kOpenat, kOpenat2, kCreat, kMknod, kMknodat, kUnlink, kUnlinkat, kRmdir, kRename, kRenameat,
  kRenameat2, kLink, kLinkat, kSymlink, kSymlinkat, kMkdir, kMkdirat, kChmod, kFchmod, kFchmodat, kChown,
  kFchown, kFchownat, kTruncate, kFtruncate, kUtime, kUtimensat, kXattr, kFxattr, kXattrat,
  kFork, kVfork, kClone, kClone3, kExecve, kExecveat,
  kConnect, kBind, kListen, kSendto, kSendmsg, kSendmmsg,
  kIoUringSetup, kSeccomp, kPrctl, kOpenByHandle, kEscapeGeneric,
};

struct SyscallInfo {
  const char* name;
  uint32_t nr;  // x86_64 number
  SyscallFamily family;
  uint32_t flags;
  Decoder decoder;
};

// Syscall numbers of x86_64 are below this (the x32 bit 0x40000000 excluded).
inline constexpr uint32_t kMaxSyscallNr = 512;
// Set in seccomp_data.nr for x32-ABI syscalls entered from a 64-bit process.
inline constexpr uint32_t kX32SyscallBit = 0x40000000u;

// All rows, in .def order.
std::span<const SyscallInfo> SyscallTable();
// The row for an x86_64 syscall number, or nullptr if it is not in the table. O(1).
const SyscallInfo* LookupSyscall(uint64_t nr);
// The row with this name, or nullptr. Linear; for tests and tools.
const SyscallInfo* LookupSyscallByName(std::string_view name);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_SYSCALL_TABLE_H_
