#include "recorder/landlock.h"

#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace agenttrace {
namespace {

// The kernel's ABI, defined here because the installed uapi header may predate it
// (include/uapi/linux/landlock.h; the values never change).
constexpr uint32_t kCreateRulesetVersion = 1u << 0;
constexpr int kRulePathBeneath = 1;
constexpr int kRuleNetPort = 2;
constexpr uint64_t kNetBindTcp = 1ull << 0;
constexpr uint64_t kNetConnectTcp = 1ull << 1;

struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
};

struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

struct NetPortAttr {
  uint64_t allowed_access;
  uint64_t port;
};

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

long CreateRuleset(const RulesetAttr* attr, size_t size, uint32_t flags) {
  return syscall(SYS_landlock_create_ruleset, attr, size, flags);
}
long AddRule(int fd, int type, const void* attr) { return syscall(SYS_landlock_add_rule, fd, type, attr, 0); }

// The rights each ABI introduced beyond the first.
uint64_t FsRightsOf(int abi) {
  uint64_t r = sandbox::kAllRights & ~(sandbox::kRefer | sandbox::kTruncate);
  if (abi >= 2) r |= sandbox::kRefer;
  if (abi >= 3) r |= sandbox::kTruncate;
  return r;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// The ELF interpreter of this program (the system's dynamic loader), or "" for a static build.
int FindInterp(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type == PT_INTERP) {
      *out = reinterpret_cast<const char*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    }
  }
  return 1;  // the first object is the main program
}

std::string SystemLoader() {
  std::string interp;
  dl_iterate_phdr(FindInterp, &interp);
  return interp;
}

}  // namespace

LandlockSupport ProbeLandlock() {
  LandlockSupport s;
  long abi = CreateRuleset(nullptr, 0, kCreateRulesetVersion);
  if (abi >= 1) {
    s.abi = static_cast<int>(abi);
    return s;
  }
  int e = errno;
  if (e == ENOSYS) {
    s.why = "the kernel has no Landlock (ENOSYS): it needs Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK";
  } else if (e == EOPNOTSUPP) {
    s.why = "Landlock is built in but disabled (EOPNOTSUPP): add landlock to the kernel's lsm= boot parameter";
  } else {
    s.why = std::string("Landlock is not usable: ") + std::strerror(e);
  }
  return s;
}

Result<PreparedLandlock> PrepareLandlock(const SandboxPlan& plan, int abi_cap) {
  LandlockSupport support = ProbeLandlock();
  if (support.abi == 0) return Status::Unsupported(support.why);
  PreparedLandlock out;
  out.abi = abi_cap > 0 ? std::min(abi_cap, support.abi) : support.abi;
  out.handled_fs = plan.handled_fs & FsRightsOf(out.abi);
  if (uint64_t dropped = plan.handled_fs & ~out.handled_fs) {
    out.notes.push_back("Landlock ABI " + std::to_string(out.abi) + " cannot restrict " +
                        sandbox::AccessNames(dropped) + ": left to the tracer");
  }
  if (out.abi < 2 && (plan.handled_fs & (sandbox::kMakeReg | sandbox::kRemoveFile))) {
    out.notes.push_back("Landlock ABI 1 refuses every rename or link across directories (EXDEV)");
  }
  bool net = out.abi >= 4;
  out.restrict_connect = net && plan.restrict_connect;
  out.restrict_bind = net && plan.restrict_bind;
  if (!net && (plan.restrict_connect || plan.restrict_bind)) {
    out.notes.push_back("Landlock ABI " + std::to_string(out.abi) +
                        " has no TCP port rules (ABI 4): left to the tracer");
  }
  if (out.handled_fs == 0 && !out.restrict_connect && !out.restrict_bind) return out;  // nothing to enforce
  RulesetAttr attr{out.handled_fs, (out.restrict_connect ? kNetConnectTcp : 0) | (out.restrict_bind ? kNetBindTcp : 0)};
  size_t attr_size = net ? sizeof(RulesetAttr) : sizeof(uint64_t);
  long fd = CreateRuleset(&attr, attr_size, 0);
  if (fd < 0) return Status::FromErrno("landlock_create_ruleset", errno);
  out.ruleset.reset(static_cast<int>(fd));

  auto add_path = [&](const std::string& wanted, uint64_t access) -> Status {
    access &= out.handled_fs;
    if (access == 0) return Status::Ok();
    std::string path = wanted;
    UniqueFd dir;
    while (true) {
      dir.reset(open(path.c_str(), O_PATH | O_CLOEXEC));
      if (dir.valid()) break;
      int e = errno;
      if ((e != ENOENT && e != ENOTDIR) || path == "/") {
        // Unreachable for the recorder (a directory it may not search) is unreachable for the agent.
        out.notes.push_back(wanted + ": " + std::strerror(e) + ", no rule");
        return Status::Ok();
      }
      path = Parent(path);
    }
    if (path != wanted) out.notes.push_back(wanted + " does not exist: allowed beneath " + path + " instead");
    struct stat st;
    if (fstat(dir.get(), &st) != 0) return Status::FromErrno("fstat " + path, errno);
    if (!S_ISDIR(st.st_mode)) access &= sandbox::kFileRights;
    if (access == 0) return Status::Ok();
    PathBeneathAttr pb{access, dir.get()};
    if (AddRule(out.ruleset.get(), kRulePathBeneath, &pb) != 0) {
      return Status::FromErrno("landlock_add_rule " + path + " (" + sandbox::AccessNames(access) + ")", errno);
    }
    ++out.path_rules;
    return Status::Ok();
  };
  for (const SandboxPathRule& r : plan.paths) AT_RETURN_IF_ERROR(add_path(r.path, r.access));
  if (out.handled_fs & sandbox::kExecute) {
    std::string loader = SystemLoader();
    if (!loader.empty()) {
      AT_RETURN_IF_ERROR(add_path(loader, sandbox::kExecute | sandbox::kReadFile));
      out.notes.push_back("the ELF loader " + loader +
                          " may be executed (the kernel runs it for every dynamic program)");
    }
  }
  auto add_ports = [&](const std::vector<uint16_t>& ports, uint64_t access) -> Status {
    for (uint16_t p : ports) {
      NetPortAttr np{access, p};
      if (AddRule(out.ruleset.get(), kRuleNetPort, &np) != 0) {
        return Status::FromErrno("landlock_add_rule port " + std::to_string(p), errno);
      }
    }
    return Status::Ok();
  };
  if (out.restrict_connect) AT_RETURN_IF_ERROR(add_ports(plan.connect_ports, kNetConnectTcp));
  if (out.restrict_bind) AT_RETURN_IF_ERROR(add_ports(plan.bind_ports, kNetBindTcp));
  return out;
}

int LandlockRestrictSelf(int ruleset_fd) {
  if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0) return errno;
  return 0;
}

}  // namespace agenttrace
