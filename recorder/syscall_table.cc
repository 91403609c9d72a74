#include "recorder/syscall_table.h"

#include <sys/syscall.h>

#include <array>

namespace agenttrace {
namespace {

// Every number in the .def must be the system's number for that name. fchmodat2 (Linux 6.6),
// setxattrat and removexattrat (6.13) are newer than some C libraries' headers (Debian 12's glibc
// 2.36): their numbers are the kernel's
// (arch/x86/entry/syscalls/syscall_64.tbl), checked against the headers where they know it.
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat  // Linux 6.13
#define SYS_setxattrat 463
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif
#define AT_SYSCALL(name, nr, family, flags, decoder) \
  static_assert(SYS_##name == (nr), "syscall_table.def: wrong number for " #name);
#include "recorder/syscall_table.def"
#undef AT_SYSCALL

constexpr SyscallInfo kTable[] = {
#define AT_SYSCALL(name, nr, family, flags, decoder) \
  {#name, nr, SyscallFamily::family, (flags), Decoder::decoder},
#include "recorder/syscall_table.def"
#undef AT_SYSCALL
};

constexpr bool NumbersUniqueAndInRange() {
  std::array<bool, kMaxSyscallNr> seen{};
  for (const SyscallInfo& s : kTable) {
    if (s.nr >= kMaxSyscallNr || seen[s.nr]) return false;
    seen[s.nr] = true;
  }
  return true;
}
static_assert(NumbersUniqueAndInRange(), "syscall_table.def: duplicate or out-of-range number");

// nr -> index+1 into kTable (0 = not traced).
constexpr std::array<uint8_t, kMaxSyscallNr> BuildIndex() {
  std::array<uint8_t, kMaxSyscallNr> idx{};
  for (size_t i = 0; i < std::size(kTable); ++i) idx[kTable[i].nr] = static_cast<uint8_t>(i + 1);
  return idx;
}
static_assert(std::size(kTable) < 255, "index type too small");
constexpr std::array<uint8_t, kMaxSyscallNr> kIndex = BuildIndex();

}  // namespace

std::string_view SyscallFamilyName(SyscallFamily f) {
  switch (f) {
    case SyscallFamily::kFile: return "file";
    case SyscallFamily::kProcess: return "process";
    case SyscallFamily::kNet: return "net";
    case SyscallFamily::kEscape: return "escape";
  }
  return "unknown";
}

std::span<const SyscallInfo> SyscallTable() { return kTable; }

const SyscallInfo* LookupSyscall(uint64_t nr) {
  if (nr >= kMaxSyscallNr) return nullptr;
  uint8_t i = kIndex[nr];
  return i == 0 ? nullptr : &kTable[i - 1];
}

const SyscallInfo* LookupSyscallByName(std::string_view name) {
  for (const SyscallInfo& s : kTable) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

}  // namespace agenttrace
