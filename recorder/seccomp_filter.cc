#include "recorder/seccomp_filter.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "format/unique_fd.h"
#include "recorder/syscall_table.h"

namespace agenttrace {
namespace {

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using CtxPtr = std::unique_ptr<void, CtxDeleter>;

// libseccomp returns -errno.
Status Check(int rc, const std::string& what) {
  if (rc < 0) return Status::FromErrno("seccomp filter: " + what, -rc);
  return Status::Ok();
}

static_assert(kCwdChangeSyscalls[0] == SYS_chdir && kCwdChangeSyscalls[1] == SYS_fchdir);

}  // namespace

Result<SeccompProgram> BuildSeccompFilter(const SeccompFilterOptions& options) {
  CtxPtr ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return Status::Internal("seccomp filter: seccomp_init failed");
  // Foreign ABIs (i386, and x32 numbers under the x86_64 arch, which libseccomp routes to the
  // bad-arch action when x32 is not in the filter) are trapped, never allowed silently.
  AT_RETURN_IF_ERROR(Check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRACE(kTraceDataForeign)),
                           "bad-arch action"));
  AT_RETURN_IF_ERROR(Check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0), "nnp attribute"));
  AT_RETURN_IF_ERROR(Check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize"));

  const uint32_t trace = SCMP_ACT_TRACE(kTraceDataRecorded);
  for (const SyscallInfo& s : SyscallTable()) {
    int nr = static_cast<int>(s.nr);
    int rc;
    if (s.decoder == Decoder::kSendto) {
      // sendto(fd, buf, len, flags, dest_addr, addrlen): only with a destination.
      rc = seccomp_rule_add(ctx.get(), trace, nr, 1, SCMP_A4(SCMP_CMP_NE, 0));
    } else if (s.decoder == Decoder::kPrctl) {
      rc = seccomp_rule_add(ctx.get(), trace, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP));
    } else {
      AT_CHECK_MSG((s.flags & kArgFiltered) == 0, std::string("no argument rule for ") + s.name);
      rc = seccomp_rule_add(ctx.get(), trace, nr, 0);
    }
    AT_RETURN_IF_ERROR(Check(rc, std::string("rule for ") + s.name));
  }
  if (options.trap_cwd_changes) {
    for (uint32_t nr : kCwdChangeSyscalls) {
      AT_CHECK_MSG(LookupSyscall(nr) == nullptr, "a cwd change syscall is in the table");
      AT_RETURN_IF_ERROR(Check(seccomp_rule_add(ctx.get(), trace, static_cast<int>(nr), 0), "rule for chdir"));
    }
  }

  UniqueFd mem(static_cast<int>(syscall(SYS_memfd_create, "agenttrace-bpf", MFD_CLOEXEC)));
  if (!mem.valid()) return Status::FromErrno("seccomp filter: memfd_create", errno);
  AT_RETURN_IF_ERROR(Check(seccomp_export_bpf(ctx.get(), mem.get()), "export"));
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0 || size > (1 << 20)) {
    return Status::Internal("seccomp filter: exported program has size " + std::to_string(size));
  }
  SeccompProgram prog;
  prog.traps_cwd_changes = options.trap_cwd_changes;
  prog.insns.resize(size / sizeof(sock_filter));
  if (pread(mem.get(), prog.insns.data(), size, 0) != size) {
    return Status::FromErrno("seccomp filter: reading exported program", errno);
  }
  return prog;
}

int InstallSeccompFilter(const SeccompProgram& prog) {
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(prog.insns.size());
  fprog.filter = const_cast<sock_filter*>(prog.insns.data());
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) return errno;
  return 0;
}

}  // namespace agenttrace
