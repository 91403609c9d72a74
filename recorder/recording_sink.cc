#include "recorder/recording_sink.h"

#include <limits.h>
#include <pwd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace agenttrace {
namespace {

std::string GetEnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}

bool HasRedactableField(const Event& e) { return !e.argv.empty() || !e.json.empty() || !e.text.empty(); }

}  // namespace

SessionInfo NewSessionInfo(const RecordingOrigin& origin, const SecretScanner& secrets) {
  SessionInfo info;
  info.label = origin.label;
  info.agent_name = origin.agent_name;
  info.agent_version = origin.agent_version;
  info.recorder = origin.recorder;
  info.argv = origin.command;
  secrets.RedactArgv(&info.argv);
  info.env_names = secrets.env_names();
  info.secret_env_names = secrets.secret_env_names();
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof(buf)) != nullptr) info.cwd = buf;
  info.home = GetEnvOr("HOME", "");
  info.tmp = GetEnvOr("TMPDIR", "/tmp");
  if (gethostname(buf, sizeof(buf)) == 0) info.host.assign(buf, strnlen(buf, sizeof(buf)));
  passwd pw;
  passwd* found = nullptr;
  char pwbuf[4096];
  if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found != nullptr) {
    info.user = found->pw_name;
  } else {
    info.user = GetEnvOr("USER", "");
  }
  utsname u;
  if (uname(&u) == 0) {
    info.kernel = u.release;
    info.arch = u.machine;
  }
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  info.start_wall_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  return info;
}

bool RedactEvent(const SecretScanner& secrets, Event* e) {
  bool changed = false;
  if (!e->argv.empty()) changed = secrets.RedactArgv(&e->argv) || changed;
  if (!e->json.empty()) changed = secrets.Redact(&e->json) || changed;
  if (!e->text.empty()) changed = secrets.Redact(&e->text) || changed;
  return changed;
}

Result<std::unique_ptr<RecordingSink>> RecordingSink::Create(Store& store, SessionInfo info,
                                                             const SecretScanner* secrets,
                                                             const WriterOptions& options) {
  AT_CHECK(secrets != nullptr);
  secrets->RedactArgv(&info.argv);
  AT_ASSIGN_OR_RETURN(std::unique_ptr<SessionWriter> writer, store.CreateSession(std::move(info), options));
  AT_ASSIGN_OR_RETURN(std::unique_ptr<AsyncSessionWriter> async, AsyncSessionWriter::Start(std::move(writer), options));
  return std::unique_ptr<RecordingSink>(new RecordingSink(std::move(async), secrets));
}

Status RecordingSink::Append(const Event& event) {
  // Most events (file, process, network) have nothing to redact: no copy for them.
  if (!HasRedactableField(event)) return inner_->Append(event);
  Event copy = event;
  RedactEvent(*secrets_, &copy);
  return inner_->Append(copy);
}

Status RecordingSink::AppendDecision(const Event& request, const RequestDecision& decision, EnforceMode mode) {
  if (!HasRedactableField(request)) return inner_->AppendDecision(request, decision, mode);
  Event copy = request;
  RedactEvent(*secrets_, &copy);
  return inner_->AppendDecision(copy, decision, mode);
}

void RecordingSink::UpdateInfo(const std::function<void(SessionInfo*)>& fn) {
  const SecretScanner* secrets = secrets_;
  inner_->UpdateInfo([&fn, secrets](SessionInfo* info) {
    fn(info);
    secrets->RedactArgv(&info->argv);
  });
}

}  // namespace agenttrace
