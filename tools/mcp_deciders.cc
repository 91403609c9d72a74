#include "tools/mcp_deciders.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "tools/exit_codes.h"

namespace agenttrace {
namespace {

// How long one nested decision may take (the session may be asking a human) before it is denied.
constexpr int kNestedDecisionTimeoutMs = 10 * 60 * 1000;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// What is never destroyed on purpose stays reachable from static storage, so that a leak checker
// (the sanitizer build's) does not report it; the lists themselves are never destroyed either.
template <typename T>
T* KeepUntilExit(std::unique_ptr<T> p) {
  static auto* mu = new std::mutex;
  static auto* kept = new std::vector<const void*>;
  std::lock_guard<std::mutex> lock(*mu);
  kept->push_back(p.get());
  return p.release();
}

}  // namespace

int CheckProxyDecisionFlags(const std::string& verb, const ProxyDecisionFlags& f) {
  if (!ParseEnforceMode(f.mode).has_value()) {
    std::fprintf(stderr, "agenttrace: %s --mode: '%s' is not one of enforce, audit\n", verb.c_str(), f.mode.c_str());
    return kExitUsage;
  }
  if (f.ask != "deny" && f.ask != "allow") {
    std::fprintf(stderr, "agenttrace: %s --ask: '%s' is not one of deny, allow\n", verb.c_str(), f.ask.c_str());
    return kExitUsage;
  }
  return kExitOk;
}

int LoadProxyPolicy(const std::string& verb, const std::string& path, std::shared_ptr<const Policy>* out) {
  auto p = LoadPolicyFile(path);
  if (!p.ok()) {
    std::fprintf(stderr, "agenttrace: %s: %s\n", verb.c_str(), p.status().message().c_str());
    return p.status().code() == StatusCode::kIOError ? kExitUsage : kExitBadPolicy;
  }
  *out = std::make_shared<const Policy>(std::move(*p));
  return kExitOk;
}

Status NestedAnswerRenamer::Append(const Event& e) {
  if (e.kind == EventKind::kAnnotation && e.text == kDecisionAnswerText) {
    Event mine = e;
    mine.text = "nested-proxy " + mine.text;
    return inner_->Append(mine);
  }
  return inner_->Append(e);
}

void SocketEventRecorder::Record(const Event& e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (client_ == nullptr) {
    auto c = EventSocketClient::Connect(path_);
    if (!c.ok()) {
      std::fprintf(stderr, "agenttrace: %s: a decision was not recorded: %s\n", verb_.c_str(),
                   c.status().message().c_str());
      return;
    }
    client_ = std::move(*c);
  }
  // The recording reserves the decision texts for its own decider: these are the proxy's.
  Event mine = e;
  mine.text = "nested-proxy " + mine.text;
  Status st = client_->SendEvent(mine);
  if (!st.ok()) {
    std::fprintf(stderr, "agenttrace: %s: a decision was not recorded: %s\n", verb_.c_str(), st.message().c_str());
    if (st.code() != StatusCode::kInvalidArgument) client_.reset();
  }
}

Status SessionUntilClosed::Append(const Event& e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (session_ == nullptr) return Status::IOError("the session is finished: a late decision is not recorded");
  return session_->Append(e);
}

void SessionUntilClosed::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  session_ = nullptr;
}

int SetUpNestedDeciders(const std::string& verb, const std::string& socket, const ProxyDecisionFlags& f,
                        const NestedDeciders** kept) {
  if (int rc = CheckProxyDecisionFlags(verb, f); rc != kExitOk) return rc;
  auto out = std::make_unique<NestedDeciders>();
  // One session, one state: a recording that decides has every tools/call decided by its own live
  // decider. Otherwise --policy, if given, decides here and its decisions join the recording.
  if (!Env(kEnvDecides).empty()) {
    if (!f.policy.empty()) {
      std::fprintf(stderr, "agenttrace: %s: the enclosing run's policy decides; --policy %s is not used\n",
                   verb.c_str(), f.policy.c_str());
    }
    out->session = std::make_unique<SocketDecider>(socket, kNestedDecisionTimeoutMs);
    out->decider = out->session.get();
  } else if (!f.policy.empty()) {
    std::shared_ptr<const Policy> policy;
    if (int rc = LoadProxyPolicy(verb, f.policy, &policy); rc != kExitOk) return rc;
    out->mode = *ParseEnforceMode(f.mode);
    out->recorder = std::make_unique<SocketEventRecorder>(verb, socket);
    LiveDeciderOptions lo;
    lo.mode = out->mode;
    lo.record = [r = out->recorder.get()](const Event& e) { r->Record(e); };
    char cwd[4096];
    PathVars vars{::getcwd(cwd, sizeof cwd) != nullptr ? cwd : "/", Env("HOME"),
                  Env("TMPDIR").empty() ? "/tmp" : Env("TMPDIR")};
    auto d = LiveDecider::Create(std::move(policy), vars, std::move(lo));
    if (!d.ok()) {
      std::fprintf(stderr, "agenttrace: %s: policy %s: %s\n", verb.c_str(), f.policy.c_str(),
                   d.status().message().c_str());
      return kExitBadPolicy;
    }
    out->local = std::move(*d);
    out->decider = out->local.get();
  }
  out->fixed_ask = std::make_unique<FixedAskResolver>(f.ask == "allow");
  out->ask = out->fixed_ask.get();
  *kept = KeepUntilExit(std::move(out));  // never destroyed (see the header)
  return kExitOk;
}

int CreateStandaloneDecider(const std::string& verb, std::shared_ptr<const Policy> policy, const ProxyDecisionFlags& f,
                            const PathVars& vars, EventSink* sink, std::unique_ptr<LiveDecider>* out) {
  const EnforceMode mode = *ParseEnforceMode(f.mode);
  LiveDeciderOptions lo;
  lo.mode = mode;
  lo.record = [sink](const Event& e) { (void)sink->Append(e); };  // a failing store is reported at Finish
  (void)sink->Append(MakeEnforcementEvent(mode, f.policy, ""));
  auto d = LiveDecider::Create(std::move(policy), vars, std::move(lo));
  if (!d.ok()) {
    std::fprintf(stderr, "agenttrace: %s: policy %s: %s\n", verb.c_str(), f.policy.c_str(),
                 d.status().message().c_str());
    return kExitBadPolicy;
  }
  *out = std::move(*d);
  return kExitOk;
}

int SetUpStandaloneDeciders(const std::string& verb, std::shared_ptr<const Policy> policy, const ProxyDecisionFlags& f,
                            const PathVars& vars, EventSink* session, StandaloneDeciders* out) {
  auto decisions = std::make_unique<SessionUntilClosed>(session);
  std::unique_ptr<LiveDecider> decider;
  if (int rc = CreateStandaloneDecider(verb, std::move(policy), f, vars, decisions.get(), &decider); rc != kExitOk) {
    return rc;
  }
  // Never destroyed (see the header): a decision abandoned at the stop may still be using them when
  // the process exits.
  out->decider = KeepUntilExit(std::move(decider));
  out->ask = KeepUntilExit(std::make_unique<FixedAskResolver>(f.ask == "allow"));
  out->mode = *ParseEnforceMode(f.mode);
  out->session = KeepUntilExit(std::move(decisions));
  return kExitOk;
}

}  // namespace agenttrace
