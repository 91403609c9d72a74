#include "format/clock.h"
#include "format/decision_event.h"

#include <time.h>

#include <nlohmann/json.hpp>

#include "format/event_json.h"
#include "format/text_escape.h"

namespace agenttrace {
namespace {

std::string Dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

Event Annotation(std::string_view text, const Event* like) {
  Event e;
  e.kind = EventKind::kAnnotation;
  e.text = text;
  if (like != nullptr) {
    e.pid = like->pid;
    e.tid = like->tid;
    e.mono_ns = like->mono_ns;
    e.wall_ns = like->wall_ns;
  }
  if (e.mono_ns == 0) {
    e.mono_ns = ClockNs(CLOCK_MONOTONIC);
    e.wall_ns = ClockNs(CLOCK_REALTIME);
  }
  return e;
}

}  // namespace

std::string_view EnforceModeName(EnforceMode m) { return m == EnforceMode::kAudit ? "audit" : "enforce"; }

std::optional<EnforceMode> ParseEnforceMode(std::string_view name) {
  if (name == "enforce") return EnforceMode::kEnforce;
  if (name == "audit") return EnforceMode::kAudit;
  return std::nullopt;
}

std::string_view RequestVerdictName(RequestVerdict v) {
  switch (v) {
    case RequestVerdict::kAllow:
      return "allow";
    case RequestVerdict::kAsk:
      return "ask";
    case RequestVerdict::kDeny:
      return "deny";
  }
  return "deny";
}

std::optional<RequestVerdict> ParseRequestVerdict(std::string_view name) {
  if (name == "allow") return RequestVerdict::kAllow;
  if (name == "ask") return RequestVerdict::kAsk;
  if (name == "deny") return RequestVerdict::kDeny;
  return std::nullopt;
}

namespace {

// `"key":"value"` after a comma, as nlohmann's dump() writes it (invalid UTF-8 is replaced as it does).
void AppendMember(std::string_view key, std::string_view value, std::string* out) {
  out->push_back(',');
  AppendDumpString(key, out);
  out->push_back(':');
  if (IsValidUtf8(value)) {
    AppendDumpString(value, out);
  } else {
    *out += Dump(nlohmann::json(std::string(value)));
  }
}

}  // namespace

Event MakeDecisionEvent(const Event& request, const RequestDecision& decision, EnforceMode mode) {
  Event e;
  AppendDecisionEvent(request, decision, mode, &e);
  return e;
}

void AppendDecisionEvent(const Event& request, const RequestDecision& decision, EnforceMode mode, Event* e) {
  e->Clear();
  e->kind = EventKind::kAnnotation;
  e->text = kDecisionText;
  e->pid = request.pid;
  e->tid = request.tid;
  e->mono_ns = request.mono_ns;
  e->wall_ns = request.wall_ns;
  if (e->mono_ns == 0) {
    e->mono_ns = ClockNs(CLOCK_MONOTONIC);
    e->wall_ns = ClockNs(CLOCK_REALTIME);
  }
  // Built by hand on a hot path (the writer thread of `agenttrace run`, once per decided request), with the keys in the
  // order nlohmann's dump() gave them (sorted), so that the bytes are those of earlier versions. The request goes in
  // its compact form: its pid, tid and times are the annotation's own (ParseDecisionEvent puts them back).
  std::string& j = e->json;
  j.assign("{\"decision\":");
  AppendDumpString(RequestVerdictName(decision.verdict), &j);
  if (decision.error) j += ",\"error\":true";
  j += ",\"mode\":";
  AppendDumpString(EnforceModeName(mode), &j);
  if (decision.verdict != RequestVerdict::kAllow && !decision.reason.empty())
    AppendMember("reason", decision.reason, &j);
  AppendMember("rule", decision.rule, &j);
  j += ",\"request\":";
  AppendRequestJson(request, &j);
  j += '}';
}

void DecisionRecorder::Record(const Event& request, const RequestDecision& d, EnforceMode mode, Event* scratch) const {
  if (decision) {
    decision(request, d, mode);
    return;
  }
  if (!event) return;
  AppendDecisionEvent(request, d, mode, scratch);
  event(*scratch);
}

bool IsDecisionEvent(const Event& e) { return e.kind == EventKind::kAnnotation && e.text == kDecisionText; }

Result<DecisionRecord> ParseDecisionEvent(const Event& e) {
  if (!IsDecisionEvent(e)) return Status::InvalidArgument("not a decision event");
  auto bad = [&](const std::string& what) {
    return Status::Corruption("decision event " + std::to_string(e.seq) + ": " + what);
  };
  nlohmann::json j = nlohmann::json::parse(e.json, nullptr, false);
  if (!j.is_object()) return bad("json is not an object");
  DecisionRecord r;
  auto d = j.find("decision");
  if (d == j.end() || !d->is_string()) return bad("no decision");
  auto verdict = ParseRequestVerdict(d->get_ref<const std::string&>());
  if (!verdict) return bad("unknown decision");
  r.decision.verdict = *verdict;
  auto rule = j.find("rule");
  if (rule != j.end() && rule->is_string()) r.decision.rule = *rule;
  auto reason = j.find("reason");
  if (reason != j.end() && reason->is_string()) r.decision.reason = *reason;
  auto err = j.find("error");
  r.decision.error = err != j.end() && err->is_boolean() && err->get<bool>();
  auto mode = j.find("mode");
  if (mode == j.end() || !mode->is_string()) return bad("no mode");
  auto m = ParseEnforceMode(mode->get_ref<const std::string&>());
  if (!m) return bad("unknown mode");
  r.mode = *m;
  auto req = j.find("request");
  if (req == j.end() || !req->is_object()) return bad("no request");
  Result<Event> request = EventFromJson(Dump(*req), /*require_seq=*/false);
  if (!request.ok()) return bad("request: " + request.status().message());
  r.request = std::move(request).value();
  // The compact form (since the request lost them) takes its identity and times from the annotation.
  if (!req->contains("pid")) r.request.pid = e.pid;
  if (!req->contains("tid")) r.request.tid = e.tid;
  if (!req->contains("mono_ns")) r.request.mono_ns = e.mono_ns;
  if (!req->contains("ts_ns")) r.request.wall_ns = e.wall_ns;
  return r;
}

Event MakeAnswerEvent(const Event& request, const RequestDecision& decision, EnforceMode mode,
                      const AskAnswer& answer) {
  Event e = Annotation(kDecisionAnswerText, &request);
  nlohmann::json j;
  j["answer"] = answer.allow ? "allow" : "deny";
  j["by"] = answer.who;
  j["rule"] = decision.rule;
  j["mode"] = EnforceModeName(mode);
  e.json = Dump(j);
  return e;
}

Event MakeDecisionFailedEvent(const Event& request, const RequestDecision& decision, std::string_view reason) {
  Event e = Annotation(kDecisionFailedText, &request);
  e.mono_ns = ClockNs(CLOCK_MONOTONIC);
  e.wall_ns = ClockNs(CLOCK_REALTIME);
  nlohmann::json j;
  j["reason"] = reason;
  j["rule"] = decision.rule;
  e.json = Dump(j);
  return e;
}

Event MakeReloadEvent(std::string_view policy, std::string_view digest, std::string_view error) {
  Event e = Annotation(kPolicyReloadText, nullptr);
  nlohmann::json j;
  j["ok"] = error.empty();
  j["policy"] = policy;
  j["digest"] = digest;
  if (!error.empty()) j["error"] = error;
  e.json = Dump(j);
  return e;
}

bool IsReloadEvent(const Event& e) { return e.kind == EventKind::kAnnotation && e.text == kPolicyReloadText; }

Event MakeEnforcementEvent(EnforceMode mode, std::string_view policy, std::string_view digest) {
  Event e = Annotation(kEnforcementText, nullptr);
  nlohmann::json j;
  j["mode"] = EnforceModeName(mode);
  j["policy"] = policy;
  j["digest"] = digest;
  e.json = Dump(j);
  return e;
}

}  // namespace agenttrace
