#include "replayer/live_decider.h"

#include <exception>

namespace agenttrace {

RequestDecision ToRequestDecision(const Policy& policy, const EventVerdict& v) {
  RequestDecision d;
  ToRequestDecision(policy, v, &d);
  return d;
}

void ToRequestDecision(const Policy& policy, const EventVerdict& v, RequestDecision* d) {
  d->verdict = static_cast<RequestVerdict>(static_cast<uint8_t>(v.decision));
  d->error = false;
  // assign() keeps the strings' capacity: no allocation per request once *d has seen the longest.
  if (v.rule >= 0 && static_cast<size_t>(v.rule) < policy.rules.size()) {
    const Rule& r = policy.rules[static_cast<size_t>(v.rule)];
    d->rule.assign(r.id);
    d->reason.assign(r.description);
  } else {
    d->rule.assign("default");
    d->reason.assign("no rule matched: the policy's default");
  }
}

LiveDecider::LiveDecider(std::shared_ptr<const Policy> policy, std::shared_ptr<const CompiledPolicy> compiled,
                         const PathVars& vars, LiveDeciderOptions options)
    : vars_(vars),
      options_(std::move(options)),
      policy_(std::move(policy)),
      compiled_(std::move(compiled)),
      evaluator_(std::make_unique<SessionEvaluator>(compiled_)) {}

Result<std::unique_ptr<LiveDecider>> LiveDecider::Create(std::shared_ptr<const Policy> policy, const PathVars& vars,
                                                         LiveDeciderOptions options) {
  if (!policy) return Status::InvalidArgument("no policy");
  AT_ASSIGN_OR_RETURN(std::shared_ptr<const CompiledPolicy> compiled, CompiledPolicy::Compile(*policy, vars));
  return std::unique_ptr<LiveDecider>(
      new LiveDecider(std::move(policy), std::move(compiled), vars, std::move(options)));
}

Result<std::unique_ptr<LiveDecider>> LiveDecider::Create(std::shared_ptr<const Policy> policy,
                                                         std::shared_ptr<const CompiledPolicy> compiled,
                                                         LiveDeciderOptions options) {
  if (!policy || !compiled) return Status::InvalidArgument("no policy");
  if (&compiled->policy() != policy.get()) return Status::InvalidArgument("the compiled policy is of another policy");
  PathVars vars = compiled->vars();
  return std::unique_ptr<LiveDecider>(
      new LiveDecider(std::move(policy), std::move(compiled), vars, std::move(options)));
}

RequestDecision LiveDecider::Decide(const Event& request) {
  RequestDecision d;
  DecideInto(request, &d);
  return d;
}

void LiveDecider::DecideInto(const Event& request, RequestDecision* out) {
  std::lock_guard lock(mu_);
  RequestDecision& d = *out;
  // Requests get their own dense sequence numbers: the session's are assigned later by the writer, and
  // `within: {events: N}` and per-events budgets count decided requests (docs/policy.md).
  // The evaluator takes the number beside the request; only the decision event, which carries it,
  // needs a numbered copy of the request.
  const uint64_t seq = next_seq_++;
  if (options_.record) {
    scratch_ = request;
    scratch_.seq = seq;
  }
  try {
    const EventVerdict& v = evaluator_->EvaluateNumbered(request, seq);
    if (!v.evaluated) {
      d.verdict = RequestVerdict::kAllow;
      d.rule.clear();
      d.reason.assign("not evaluated: the request maps to no action class");
      d.error = false;
      return;
    }
    ToRequestDecision(*policy_, v, &d);
  } catch (const std::exception& e) {
    d = RequestDecision{};
    d.verdict = RequestVerdict::kDeny;
    d.error = true;
    d.reason = std::string("the evaluator failed: ") + e.what();
  }
  switch (d.verdict) {
    case RequestVerdict::kAllow:
      ++counts_.allow;
      break;
    case RequestVerdict::kAsk:
      ++counts_.ask;
      break;
    case RequestVerdict::kDeny:
      ++counts_.deny;
      break;
  }
  if (d.error) ++counts_.errors;
  // Under `agenttrace run` the writer thread builds the decision event (DecisionRecorder::decision).
  options_.record.Record(scratch_, d, options_.mode, &decision_event_);
}

Status LiveDecider::Reload(std::shared_ptr<const Policy> policy, const std::string& name, const std::string& digest) {
  if (!policy) return Status::InvalidArgument("no policy");
  Result<std::shared_ptr<const CompiledPolicy>> compiled = CompiledPolicy::Compile(*policy, vars_);
  std::lock_guard lock(mu_);
  if (!compiled.ok()) {
    if (options_.record) options_.record(MakeReloadEvent(name, digest, compiled.status().message()));
    return compiled.status();
  }
  // The old evaluator and compilation point into the old policy: release them before it.
  evaluator_ = std::make_unique<SessionEvaluator>(*compiled);
  next_seq_ = 0;
  compiled_ = std::move(compiled).value();
  policy_ = std::move(policy);
  ++counts_.reloads;
  if (options_.record) options_.record(MakeReloadEvent(name, digest, ""));
  return Status::Ok();
}

void LiveDecider::RecordRefusedReload(const std::string& name, const std::string& digest, const std::string& error) {
  std::lock_guard lock(mu_);
  if (options_.record) options_.record(MakeReloadEvent(name, digest, error));
}

DecisionCounts LiveDecider::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::shared_ptr<const Policy> LiveDecider::policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

}  // namespace agenttrace
