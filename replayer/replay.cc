#include "replayer/replay.h"

#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_set>

#include "format/cassette_annotations.h"
#include "format/decision_event.h"
#include "format/jsonl_reader.h"
#include "replayer/engine.h"
#include "replayer/live_decider.h"
#include "replayer/profile.h"
#include "replayer/refusal.h"

namespace agenttrace {
namespace {

// Serving-run markers (format/cassette_annotations.h). A miss is found in the json text: the marker
// is written by agenttrace itself, compact, with "served" as a plain string.
void NoteCassette(const Event& e, SessionResult* res) {
  if (e.text == kSourceAnnotation) {
    res->cassette = true;
  } else if (e.text == kServedAnnotation && (e.json.find("\"served\":\"miss\"") != std::string::npos ||
                                             e.json.find("\"served\":\"unusable\"") != std::string::npos)) {
    ++res->cassette_misses;
  }
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

struct Shared {
  const Policy* policy;
  const ReplayOptions* options;
  PolicyCache cache;
  std::unique_ptr<RE2> side_effect_tools;
  explicit Shared(const Policy* p, const ReplayOptions* o) : policy(p), options(o), cache(p) {}
};

std::string DecisionText(const RequestDecision& d) {
  return std::string(RequestVerdictName(d.verdict)) + ":" + (d.rule.empty() ? "-" : d.rule);
}

// A "decision" event: re-evaluates its request with the request-time evaluator `*req_ev` and compares.
// A successful "policy.reload" starts that evaluator afresh, as the live decider did. Corruption for
// a malformed decision event.
Status ReplayDecision(const std::shared_ptr<const CompiledPolicy>& cp, const Policy& policy, const Event& e,
                      const ReplayOptions& opt, std::unique_ptr<SessionEvaluator>* req_ev, SessionResult* res) {
  if (IsReloadEvent(e)) {
    if (e.json.find("\"ok\":true") != std::string::npos) req_ev->reset();
    return Status::Ok();
  }
  if (!IsDecisionEvent(e)) return Status::Ok();
  AT_ASSIGN_OR_RETURN(DecisionRecord rec, ParseDecisionEvent(e));
  if (!*req_ev) *req_ev = std::make_unique<SessionEvaluator>(cp);
  ++res->request_decisions;
  const EventVerdict& v = (*req_ev)->Evaluate(rec.request);
  RequestDecision replayed;
  if (v.evaluated) {
    replayed = ToRequestDecision(policy, v);
  } else {
    replayed.verdict = RequestVerdict::kAllow;  // the live decider records only evaluated requests
  }
  if (replayed.verdict == rec.decision.verdict && replayed.rule == rec.decision.rule && !rec.decision.error) {
    ++res->request_same;
    return Status::Ok();
  }
  if (res->request_mismatches.size() >= opt.max_findings_per_session) {
    ++res->request_mismatches_dropped;
    return Status::Ok();
  }
  DecisionMismatch m;
  m.seq = e.seq;
  m.recorded = DecisionText(rec.decision) + (rec.decision.error ? " (decider error)" : "");
  m.replayed = v.evaluated ? DecisionText(replayed) : "not evaluated";
  m.what = DescribeEvent(rec.request);
  res->request_mismatches.push_back(std::move(m));
  return Status::Ok();
}

// Replays one session. A policy compilation failure is returned; read failures go into the result.
Status ReplayOne(Shared& shared, const SessionInput& in, SessionResult* res) {
  res->info = in.info;
  res->origin = in.origin;
  res->incomplete = in.info.state != SessionState::kComplete;
  PathVars vars{in.info.cwd, in.info.home, in.info.tmp};
  AT_ASSIGN_OR_RETURN(std::shared_ptr<const CompiledPolicy> cp, shared.cache.Get(vars));
  SessionEvaluator ev(cp);
  std::unique_ptr<SessionEvaluator> req_ev;  // request-time decisions, created at the first one
  auto src = in.open();
  if (!src.ok()) {
    res->error = src.status();
    return Status::Ok();
  }
  const ReplayOptions& opt = *shared.options;
  const auto& rules = shared.policy->rules;
  std::vector<uint64_t> hits(rules.size() + 2, 0);  // last slots: default, refused
  // The profile comes from the events alone (not from the evaluator's actions, which depend on the
  // policy's secrets and evaluate_failed), so stability is the same under any policy.
  ProfileBuilder profile(vars);
  // Blast radius: files written or deleted and hosts come from the profile's successful actions;
  // secrets (which depend on the policy's `secrets:`) and side-effecting tools are collected here
  // ("class letter, 'p' or 'r', text"), and normalised at the end like the profile.
  std::unordered_set<std::string, StringHash, std::equal_to<>> blast_raw;
  std::string key, raw;
  bool saw_exec = false;
  std::optional<TimelineBuilder> timeline;
  if (opt.timeline) timeline.emplace(opt.timeline_limits, &rules);
  for (;;) {
    Result<const Event*> next = (*src)->Next();
    if (!next.ok()) {
      res->error = next.status();
      break;
    }
    const Event* e = *next;
    if (e == nullptr) break;
    if (e->kind == EventKind::kAnnotation) {
      Status st = ReplayDecision(cp, *shared.policy, *e, opt, &req_ev, res);
      if (!st.ok()) {
        res->error = st;
        break;
      }
    }
    ++res->events;
    if (e->kind == EventKind::kGap) ++res->gaps;
    if (e->kind == EventKind::kAnnotation) NoteCassette(*e, res);
    if (e->kind == EventKind::kExec && e->result >= 0) saw_exec = true;
    std::vector<std::string>* explain =
        opt.explain_seq.has_value() && *opt.explain_seq == e->seq ? &res->explain : nullptr;
    if (timeline && explain == nullptr) explain = timeline->ExplainSink();
    // A message the deciding MCP proxy refused: a deny whatever the policy (replayer/refusal.h). The
    // evaluator never sees it (it has no action; its state is the live decider's, which never did).
    EventVerdict refusal;
    const bool refused = RefusalVerdict(*e, &refusal);
    if (refused && explain != nullptr) {
      explain->push_back("refused by the MCP proxy at request time (" + e->text +
                         "): a deny by \"refused\" whatever the policy");
    }
    const EventVerdict& v = refused ? refusal : ev.Evaluate(*e, explain);
    if (timeline) timeline->Add(*e, v, explain);
    profile.Add(*e);
    if (!v.evaluated) continue;
    ++res->evaluated;
    ++hits[v.rule >= 0 ? static_cast<size_t>(v.rule) : v.rule == kRefusedRule ? rules.size() + 1 : rules.size()];
    switch (v.decision) {
      case Decision::kAllow: ++res->allows; break;
      case Decision::kAsk: ++res->asks; break;
      case Decision::kDeny: ++res->denies; break;
    }
    if (v.irreversible) ++res->irreversible;
    if (v.decision != Decision::kAllow || v.irreversible) {
      if (res->findings.size() < opt.max_findings_per_session) {
        Finding f;
        f.seq = e->seq;
        f.wall_ns = e->wall_ns;
        f.pid = e->pid;
        f.decision = v.decision;
        f.rule_id = VerdictRuleId(rules, v.rule);
        f.cls = v.cls;
        f.irreversible = v.irreversible;
        f.what = DescribeEvent(*e);
        if (refused) {
          f.resource = RefusalResource(*e);
        } else {
          for (const Action& a : ev.actions()) {
            if (a.cls == v.cls) {
              f.resource = ProfileEntry(a, vars);
              break;
            }
          }
        }
        res->findings.push_back(std::move(f));
      } else {
        ++res->findings_dropped;
      }
    }
    if (refused) {
      // The proxy's refusal was its request-time decision (counted with its denials): replay must
      // report the same one.
      ++res->refused;
      ++res->request_decisions;
      if (v.decision == Decision::kDeny && v.rule == kRefusedRule) {
        ++res->request_same;
      } else if (res->request_mismatches.size() < opt.max_findings_per_session) {
        res->request_mismatches.push_back({e->seq, "deny:" + std::string(kRefusedRuleId),
                                           std::string(DecisionName(v.decision)) + ":" + VerdictRuleId(rules, v.rule),
                                           DescribeEvent(*e)});
      } else {
        ++res->request_mismatches_dropped;
      }
      continue;
    }
    if (IsFailedAttempt(*e)) continue;
    for (const Action& a : ev.actions()) {
      if (a.cls == ActionClass::kToolCall) {
        if (!LooksSideEffecting(e->tool) &&
            !(shared.side_effect_tools && RE2::FullMatch(e->tool, *shared.side_effect_tools))) {
          continue;
        }
      } else if (a.cls != ActionClass::kSecretRead) {
        continue;
      }
      bool is_path = ProfileRawResource(a, &raw);
      key.assign(1, static_cast<char>('A' + static_cast<int>(a.cls)));
      key.push_back(is_path ? 'p' : 'r');
      key += raw;
      if (blast_raw.find(std::string_view(key)) == blast_raw.end()) blast_raw.insert(key);
    }
  }
  if (timeline) res->timeline = timeline->Finish();
  res->profile = profile.Finish();
  profile.ForEachSucceeded([&](ActionClass cls, std::string resource) {
    if (cls == ActionClass::kNetConnect) {
      res->blast.hosts.insert(std::move(resource));
    } else if ((cls == ActionClass::kFileWrite || cls == ActionClass::kFileDelete) &&
               resource.rfind("${workspace}", 0) != 0) {
      res->blast.written_outside_workspace.insert(std::move(resource));
    }
  });
  for (const std::string& k : blast_raw) {
    std::string resource = ProfileResource(std::string_view(k).substr(2), k[1] == 'p', vars, &profile.temps());
    if (k[0] - 'A' == static_cast<int>(ActionClass::kSecretRead)) {
      res->blast.secrets.insert(std::move(resource));
    } else {
      res->blast.side_effect_tools.insert(std::move(resource));
    }
  }
  for (size_t r = 0; r < hits.size(); ++r) {
    if (hits[r] > 0) {
      res->rule_hits[r < rules.size() ? rules[r].id : r == rules.size() ? "default" : std::string(kRefusedRuleId)] =
          hits[r];
    }
  }
  // A read failure leaves the question open; the session already fails as unreadable.
  if (res->error.ok()) {
    if (res->events == 0) {
      res->agent_ran = false;
      res->not_run_reason = "no events were recorded";
    } else if (in.info.recorder == "ptrace" && !saw_exec) {
      res->agent_ran = false;
      res->not_run_reason = "no exec succeeded: the command was not found, not executable, or the recorder failed "
                            "before it ran (" + OutcomeText(in.info) + ")";
    }
  }
  return Status::Ok();
}

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

void BlastRadius::Merge(const BlastRadius& o) {
  written_outside_workspace.insert(o.written_outside_workspace.begin(), o.written_outside_workspace.end());
  hosts.insert(o.hosts.begin(), o.hosts.end());
  secrets.insert(o.secrets.begin(), o.secrets.end());
  side_effect_tools.insert(o.side_effect_tools.begin(), o.side_effect_tools.end());
}

Result<ReplayReport> RunReplay(const Policy& policy, std::vector<SessionInput> inputs, const ReplayOptions& options) {
  std::stable_sort(inputs.begin(), inputs.end(), [](const SessionInput& a, const SessionInput& b) {
    if (a.info.id != b.info.id) return a.info.id < b.info.id;
    return a.origin < b.origin;
  });
  Shared shared(&policy, &options);
  if (!policy.side_effect_tools.empty()) {
    std::string re;
    for (const PosString& g : policy.side_effect_tools) {
      AT_ASSIGN_OR_RETURN(std::string one, GlobToRegex(g.text, {}, GlobFlavor::kPlain));
      re += (re.empty() ? "(?:" : "|(?:") + one + ")";
    }
    shared.side_effect_tools = std::make_unique<RE2>(re, RE2::Quiet);
  }
  ReplayReport report;
  report.policy_source = policy.source;
  report.default_decision = policy.default_decision;
  for (const Rule& r : policy.rules) report.rules.push_back({r.id, r.decision, r.description});
  report.sessions.resize(inputs.size());
  std::vector<Status> errors(inputs.size());
  unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, std::max<size_t>(1, inputs.size()));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= inputs.size()) return;
      errors[i] = ReplayOne(shared, inputs[i], &report.sessions[i]);
    }
  };
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (std::thread& t : pool) t.join();
  }
  for (const Status& s : errors) {
    if (!s.ok()) return s;
  }
  for (const SessionResult& r : report.sessions) {
    if (!r.error.ok()) {
      report.first_error = r.error.WithContext("session " + r.info.id.ToString());
      break;
    }
  }
  Assess(options.promotion, &report);
  return report;
}

std::string OutcomeText(const SessionInfo& info) {
  if (info.exit_signal != 0) {
    const char* abbrev = sigabbrev_np(info.exit_signal);
    return "killed by signal " + std::to_string(info.exit_signal) +
           (abbrev != nullptr ? std::string(" (SIG") + abbrev + ")" : std::string());
  }
  if (info.exit_code < 0) return "exit status unknown";
  return "exit " + std::to_string(info.exit_code);
}

void Assess(const Promotion& pr, ReplayReport* report) {
  report->promotion = pr;
  report->labels.clear();
  std::map<std::string, std::vector<size_t>> by_label;
  for (size_t i = 0; i < report->sessions.size(); ++i) by_label[report->sessions[i].info.label].push_back(i);
  report->promotable = !by_label.empty();
  for (auto& [label, idx] : by_label) {
    LabelResult L;
    L.label = label;
    L.sessions = idx;
    std::map<std::string, std::vector<size_t>> where;  // profile entry -> sessions having it
    std::vector<std::string> not_run_ids, failed_ids;
    for (size_t i : idx) {
      SessionResult& s = report->sessions[i];
      L.denies += s.denies;
      L.asks += s.asks;
      L.irreversible += s.irreversible;
      bool readable = s.error.ok() && !s.incomplete && s.gaps == 0;
      if (!readable) ++L.incomplete;
      s.task_succeeded = s.agent_ran && pr.IsSuccess(s.info.exit_code, s.info.exit_signal);
      if (!s.agent_ran) {
        ++L.not_run;
        not_run_ids.push_back(s.info.id.ToString().substr(0, 8));
      } else if (!s.task_succeeded) {
        ++L.task_failures;
        failed_ids.push_back(s.info.id.ToString().substr(0, 8) + " " + OutcomeText(s.info));
      }
      s.passed = readable && s.denies == 0 && s.agent_ran && (s.task_succeeded || !pr.require_success);
      if (s.passed) ++L.passed;
      L.blast.Merge(s.blast);
      for (const std::string& p : s.profile) where[p].push_back(i);
    }
    L.pass_k = L.passed == idx.size() && !idx.empty();
    if (idx.size() >= 2) {
      double sum = 0;
      size_t pairs = 0;
      for (size_t a = 0; a < idx.size(); ++a) {
        for (size_t b = a + 1; b < idx.size(); ++b) {
          const auto& pa = report->sessions[idx[a]].profile;
          const auto& pb = report->sessions[idx[b]].profile;
          // Two runs that did nothing observable are not evidence of stable behaviour.
          sum += pa.empty() && pb.empty() ? 0.0 : Jaccard(pa, pb);
          ++pairs;
        }
      }
      L.stability = sum / static_cast<double>(pairs);
      std::vector<std::pair<size_t, std::string>> uniq;
      for (const auto& [entry, ss] : where) {
        if (ss.size() == 1) uniq.emplace_back(ss[0], entry);
      }
      std::sort(uniq.begin(), uniq.end());
      for (auto& [i, entry] : uniq) L.unique_actions.push_back(report->sessions[i].info.id.ToString() + " " + entry);
    }
    uint64_t n = idx.size();
    auto joined = [](const std::vector<std::string>& v) {
      std::string out;
      for (size_t k = 0; k < v.size() && k < 10; ++k) out += (k ? ", " : ": ") + v[k];
      if (v.size() > 10) out += ", ...";
      return out;
    };
    L.criteria.push_back({"agent_ran", L.not_run == 0,
                          std::to_string(L.not_run) + " session(s) in which the agent never ran" + joined(not_run_ids)});
    std::string codes;
    for (int32_t c : pr.success_exit_codes) codes += (codes.empty() ? "" : ", ") + std::to_string(c);
    L.criteria.push_back({"task_outcome", !pr.require_success || L.task_failures == 0,
                          std::to_string(L.task_failures) + " session(s) whose agent did not exit with " +
                              (pr.success_exit_codes.size() == 1 ? "status " : "one of ") + codes +
                              (pr.require_success ? "" : " (not required)") + joined(failed_ids)});
    L.criteria.push_back({"min_sessions", n >= pr.min_sessions,
                          std::to_string(n) + " session(s), need >= " + std::to_string(pr.min_sessions)});
    L.criteria.push_back({"max_violations", L.denies <= pr.max_violations,
                          std::to_string(L.denies) + " deny(s), allowed <= " + std::to_string(pr.max_violations)});
    L.criteria.push_back({"max_asks", L.asks <= pr.max_asks,
                          std::to_string(L.asks) + " ask(s), allowed <= " + std::to_string(pr.max_asks)});
    L.criteria.push_back({"min_stability", L.stability + 1e-9 >= pr.min_stability,
                          "stability " + Fixed(L.stability) + ", need >= " + Fixed(pr.min_stability)});
    L.criteria.push_back({"irreversible", pr.allow_irreversible || L.irreversible == 0,
                          std::to_string(L.irreversible) + " irreversible action(s), " +
                              (pr.allow_irreversible ? "allowed" : "none allowed")});
    L.criteria.push_back({"complete", L.incomplete == 0,
                          std::to_string(L.incomplete) + " session(s) incomplete, unreadable or with gaps"});
    L.promotable = true;
    for (const Criterion& c : L.criteria) L.promotable = L.promotable && c.ok;
    report->promotable = report->promotable && L.promotable;
    report->labels.push_back(std::move(L));
  }
}

Result<SessionInput> JsonlFileInput(const std::string& path, std::string origin) {
  auto header = JsonlReader::Open(path);
  if (!header.ok()) return header.status();
  SessionInput in;
  in.info = (*header)->info();
  in.origin = std::move(origin);
  in.open = [path]() -> Result<std::unique_ptr<EventSource>> {
    auto r = JsonlReader::Open(path);
    if (!r.ok()) return r.status();
    return std::unique_ptr<EventSource>(std::move(*r));
  };
  return in;
}

SessionInput MemoryInput(SessionInfo info, std::shared_ptr<const std::vector<Event>> events, std::string origin) {
  SessionInput in;
  in.info = std::move(info);
  in.origin = std::move(origin);
  in.open = [events]() -> Result<std::unique_ptr<EventSource>> {
    struct Src final : EventSource {
      std::shared_ptr<const std::vector<Event>> keep;
      VectorEventSource inner;
      explicit Src(std::shared_ptr<const std::vector<Event>> e) : keep(std::move(e)), inner(keep.get()) {}
      Result<const Event*> Next() override { return inner.Next(); }
    };
    return std::unique_ptr<EventSource>(std::make_unique<Src>(events));
  };
  return in;
}

}  // namespace agenttrace
