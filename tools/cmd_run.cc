// `agenttrace run --policy P -- CMD...`: records like `agenttrace record` (the same code path,
// tools/cmd_record.h) and decides every action of the agent's process tree at request time with the
// policy: replayer/live_decider.h implements format/request_decider.h, which the tracer asks at every
// seccomp stop; this file wires the two, the ask resolver (recorder/ask.h) and policy reloads.
// docs/cli.md ("run") documents options and exit codes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "format/chunk_codec.h"
#include "format/decision_event.h"
#include "format/key_file.h"
#include "format/sys.h"
#include "recorder/ask.h"
#include "recorder/recorder.h"
#include "replayer/live_decider.h"
#include "replayer/policy.h"
#include "tools/cli.h"
#include "tools/cmd_record.h"
#include "tools/duration.h"
#include "tools/exit_codes.h"
#include "tools/landlock_cli.h"

namespace agenttrace {
namespace {

struct RunFlags {
  RecordFlags record;
  std::string policy;
  std::string mode = "enforce";
  std::string ask;  // empty: tty with a terminal, deny without one or in CI
  std::string ask_timeout = "60s";
  bool watch_policy = false;
  bool require_landlock = false;  // refuse to run without the kernel backstop (tools/landlock_cli.h)
  bool no_landlock = false;       // enforce with the tracer alone
};

// A policy file read once: its text's digest identifies it in the session's events.
struct LoadedPolicy {
  std::shared_ptr<const Policy> policy;
  std::string digest;  // BLAKE2b-256 of the file, hex
};

// Reads and parses `path`. Status codes: IOError (unreadable), InvalidArgument (invalid policy).
Result<LoadedPolicy> LoadPolicy(const std::string& path) {
  AT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, kMaxPolicyBytes));
  AT_ASSIGN_OR_RETURN(Policy p, ParsePolicy(text, path));
  Hash256 h = Blake2b256(text);
  return LoadedPolicy{std::make_shared<const Policy>(std::move(p)), BytesToHex(h.data(), h.size())};
}

// The ask resolver --ask names. Without --ask: tty when there is a terminal and $CI is not set.
Result<std::unique_ptr<AskResolver>> MakeResolver(const std::string& spec, std::chrono::milliseconds timeout,
                                                  ExecAskResolver** exec) {
  std::string s = spec;
  if (s.empty()) {
    const char* ci = std::getenv("CI");
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    bool tty = fd >= 0;
    if (fd >= 0) close(fd);
    s = (tty && (ci == nullptr || *ci == '\0')) ? "tty" : "deny";
  }
  if (s == "deny") return std::unique_ptr<AskResolver>(new FixedAskResolver(false));
  if (s == "allow") return std::unique_ptr<AskResolver>(new FixedAskResolver(true));
  if (s == "tty") return std::unique_ptr<AskResolver>(new TtyAskResolver(timeout));
  if (s.rfind("exec:", 0) == 0 && s.size() > 5) {
    auto r = std::make_unique<ExecAskResolver>(s.substr(5), timeout, nullptr);
    *exec = r.get();
    return std::unique_ptr<AskResolver>(std::move(r));
  }
  return Status::InvalidArgument("--ask: '" + spec + "' is not one of deny, allow, tty, exec:PROG");
}

// Reloads of the policy file (SIGHUP, --watch-policy) into the running decider.
class Reloader {
 public:
  explicit Reloader(std::string path) : path_(std::move(path)) {}
  void set_decider(LiveDecider* d) { decider_.store(d); }

  // Rereads the file; an invalid policy is refused (and recorded) and the old one stays.
  void Reload(const char* why) {
    std::lock_guard lock(mu_);
    LiveDecider* d = decider_.load();
    if (d == nullptr) return;
    Result<LoadedPolicy> p = LoadPolicy(path_);
    if (!p.ok()) {
      d->RecordRefusedReload(path_, "", p.status().message());
      std::fprintf(stderr, "agenttrace: run: %s: the new policy is refused, the old one stays: %s\n", why,
                   p.status().message().c_str());
      return;
    }
    Status s = d->Reload(p->policy, path_, p->digest);
    if (!s.ok()) {
      std::fprintf(stderr, "agenttrace: run: %s: the new policy is refused, the old one stays: %s\n", why,
                   s.message().c_str());
      return;
    }
    std::fprintf(stderr, "agenttrace: run: %s: policy %s reloaded (%.12s)\n", why, path_.c_str(), p->digest.c_str());
  }

  // Polls the file's identity (inode, size, mtime) until Stop().
  void Watch() {
    thread_ = std::thread([this] {
      std::string last = Identity();
      std::unique_lock lock(stop_mu_);
      while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_; })) {
        std::string now = Identity();
        if (now != last && !now.empty()) {
          last = now;
          Reload("the policy file changed");
        }
      }
    });
  }
  void Stop() {
    {
      std::lock_guard lock(stop_mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  ~Reloader() { Stop(); }

 private:
  std::string Identity() const {
    struct stat st;
    if (stat(path_.c_str(), &st) != 0) return {};
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec);
  }

  std::string path_;
  std::atomic<LiveDecider*> decider_{nullptr};
  std::mutex mu_;  // one reload at a time
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

int RunRunCommand(Cli& cli, const RunFlags& f) {
  if (f.record.command.empty()) {
    std::fprintf(stderr, "agenttrace: run: no command given (usage: agenttrace run --policy P -- CMD ARGS...)\n");
    return kExitUsage;
  }
  std::optional<EnforceMode> mode = ParseEnforceMode(f.mode);
  if (!mode) {
    std::fprintf(stderr, "agenttrace: run --mode: '%s' is not one of enforce, audit\n", f.mode.c_str());
    return kExitUsage;
  }
  Result<std::chrono::milliseconds> ask_timeout = ParseDuration(f.ask_timeout);
  if (!ask_timeout.ok()) return ReportError(ask_timeout.status(), "run --ask-timeout");
  ExecAskResolver* exec = nullptr;
  Result<std::unique_ptr<AskResolver>> resolver = MakeResolver(f.ask, *ask_timeout, &exec);
  if (!resolver.ok()) return ReportError(resolver.status(), "run");
  Result<LoadedPolicy> loaded = LoadPolicy(f.policy);
  if (!loaded.ok()) {
    std::fprintf(stderr, "agenttrace: run: %s\n", loaded.status().message().c_str());
    return loaded.status().code() == StatusCode::kInvalidArgument ? kExitBadPolicy : kExitUsage;
  }

  // The kernel backstop (enforce only: audit blocks nothing).
  RecordFlags record_flags = f.record;
  std::optional<PreparedLandlock> landlock;
  // The plan and the decider compile the policy for the same directories when the session's are this
  // process's (the usual case): once.
  PolicyCache compiled(loaded->policy.get());
  std::string landlock_why_not = f.no_landlock ? "--no-landlock: the tracer enforces alone" : "";
  if (f.record.allow_io_uring && *mode == EnforceMode::kEnforce) {
    // A ring's operations never pass a syscall stop: nothing in them could be decided (fail closed).
    std::fprintf(stderr,
                 "agenttrace: run: --allow-io-uring cannot be enforced: io_uring operations are neither seen nor "
                 "decided; leave it off, or use --mode audit\n");
    return kExitUsage;
  }
  if (f.require_landlock && (*mode != EnforceMode::kEnforce || f.no_landlock)) {
    std::fprintf(stderr, "agenttrace: run: --require-landlock needs --mode enforce (and no --no-landlock)\n");
    return kExitUsage;
  }
  if (*mode == EnforceMode::kEnforce && !f.no_landlock) {
    int landlock_rc = kExitOk;
    landlock = SetUpRunLandlock(*loaded->policy, PathVarsHere(), f.require_landlock, &landlock_rc, &landlock_why_not,
                                &compiled);
    if (landlock_rc != kExitOk) return landlock_rc;
    if (landlock) {
      record_flags.landlock_ruleset_fd = landlock->ruleset.get();
      if (!f.record.quiet) {
        std::fprintf(stderr,
                     "agenttrace: run: Landlock ABI %d backs the policy (%zu hierarchies; `policy check "
                     "--enforce` shows which rules the kernel enforces)\n",
                     landlock->abi, landlock->path_rules);
      }
    }
  }

  std::unique_ptr<LiveDecider> decider;
  Reloader reloader(f.policy);
  EnforceOptions e;
  e.mode = *mode;
  e.ask = resolver->get();
  bool compile_failed = false;
  e.start = [&](const SessionInfo& info, DecisionRecorder record) -> Result<RequestDecider*> {
    record(MakeEnforcementEvent(*mode, f.policy, loaded->digest));
    if (*mode == EnforceMode::kEnforce) record(MakeLandlockEvent(landlock, landlock_why_not));
    LiveDeciderOptions lo;
    lo.mode = *mode;
    lo.record = std::move(record);
    Result<std::shared_ptr<const CompiledPolicy>> cp = compiled.Get(PathVars{info.cwd, info.home, info.tmp});
    Result<std::unique_ptr<LiveDecider>> d = cp.ok() ? LiveDecider::Create(loaded->policy, *cp, std::move(lo))
                                                     : Result<std::unique_ptr<LiveDecider>>(cp.status());
    if (!d.ok()) {
      compile_failed = true;
      return Status::InvalidArgument(f.policy + ": " + d.status().message());
    }
    decider = std::move(d).value();
    reloader.set_decider(decider.get());
    if (f.watch_policy) reloader.Watch();
    return static_cast<RequestDecider*>(decider.get());
  };
  e.set_children = [exec](ChildRunner* children) {
    if (exec != nullptr) exec->set_children(children);
  };
  e.on_hangup = [&reloader] { reloader.Reload("SIGHUP"); };

  auto summary = [&](const RecordOutcome& r) {
    reloader.Stop();
    if (f.record.quiet || !decider) return;
    DecisionCounts n = decider->counts();
    // Calls refused whatever the policy (io_uring_setup, foreign ABIs, ...) are no decision of it: they
    // are counted apart, so that "deny" and "blocked" keep meaning what the policy did.
    std::string refused;
    if (r.refused > 0) refused = "; " + std::to_string(r.refused) + " more refused whatever the policy";
    if (*mode == EnforceMode::kAudit) {
      std::fprintf(stderr,
                   "agenttrace: run (audit): %llu decisions: would deny %llu (syscalls %llu), would ask %llu "
                   "(syscalls %llu), allow %llu; nothing was blocked by the policy%s\n",
                   static_cast<unsigned long long>(n.allow + n.ask + n.deny), static_cast<unsigned long long>(n.deny),
                   static_cast<unsigned long long>(r.would_deny), static_cast<unsigned long long>(n.ask),
                   static_cast<unsigned long long>(r.would_ask), static_cast<unsigned long long>(n.allow),
                   refused.c_str());
    } else {
      // Denied probes of paths that do not exist (execvp's PATH search) failed as they would have
      // without the policy; say how many of the blocked calls they are.
      std::string missing;
      if (r.denied_missing > 0) {
        missing = " (" + std::to_string(r.denied_missing) + " of them on paths that do not exist, failed with ENOENT " +
                  "as without the policy)";
      }
      std::fprintf(stderr,
                   "agenttrace: run (enforce): %llu decisions: deny %llu, ask %llu (allowed %llu, denied %llu), "
                   "allow %llu; %llu system calls blocked%s%s\n",
                   static_cast<unsigned long long>(n.allow + n.ask + n.deny), static_cast<unsigned long long>(n.deny),
                   static_cast<unsigned long long>(n.ask), static_cast<unsigned long long>(r.asks_allowed),
                   static_cast<unsigned long long>(r.asks_denied), static_cast<unsigned long long>(n.allow),
                   static_cast<unsigned long long>(r.denied), missing.c_str(), refused.c_str());
    }
    if (n.reloads > 0) {
      std::fprintf(stderr, "agenttrace: run: the policy was reloaded %llu time(s)\n",
                   static_cast<unsigned long long>(n.reloads));
    }
  };
  int rc = RunSyscallRecording(cli, record_flags, "run", std::move(e), summary);
  reloader.Stop();
  if (compile_failed) return kExitBadPolicy;
  return rc;
}

}  // namespace

void RegisterRunCommands(Cli& cli) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* sub = cli.app.add_subcommand(
      "run",
      "run a command under a policy: record it like `record` and decide every action of its process tree "
      "at request time (enforce: a denied call fails in the agent; audit: nothing is blocked)");
  AddStoreOption(sub, cli);
  sub->add_option("--policy", flags->policy, "the policy to enforce (docs/policy.md)")->required();
  sub->add_option("--mode", flags->mode,
                  "enforce (a denied call fails with EACCES or EPERM) or audit (nothing is blocked; the decisions "
                  "record what would have been)")
      ->capture_default_str();
  sub->add_option("--ask", flags->ask,
                  "who answers an `ask`: deny, allow, tty (prompt on the terminal) or exec:PROG (the request as "
                  "JSON on stdin; exit 0 allows). Default: tty with a terminal, deny without one or when $CI is set");
  sub->add_option("--ask-timeout", flags->ask_timeout, "an ask not answered within this time is denied")
      ->capture_default_str();
  sub->add_flag("--watch-policy", flags->watch_policy,
                "reload the policy when its file changes, as SIGHUP does (an invalid policy is refused)");
  sub->add_flag("--require-landlock", flags->require_landlock,
                "refuse to run when the kernel cannot back the policy with Landlock (old kernel, disabled LSM, "
                "a policy with no kernel part); by default the tracer then enforces alone");
  sub->add_flag("--no-landlock", flags->no_landlock, "enforce with the tracer alone, without the Landlock backstop");
  AddCommonRecordFlags(sub, &flags->record);
  sub->add_option("command", flags->record.command, "the command to run, after --")->required();
  sub->callback([&cli, flags] { cli.run = [&cli, flags] { return RunRunCommand(cli, *flags); }; });
}

}  // namespace agenttrace
