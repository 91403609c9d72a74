#include "recorder/cassette.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "format/json_limits.h"
#include "recorder/jsonrpc_framing.h"

namespace agenttrace {
namespace {

// Sorted keys (std::map objects): the same canonical form the MCP tracker stores.
using Json = nlohmann::json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json Parse(std::string_view text) {
  if (text.empty() || JsonNestingExceeds(text, kMaxJsonDepth)) return Json(Json::value_t::discarded);
  return Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

// The marker the tracker stores instead of a body above its bound (recorder/jsonrpc_framing.h).
bool IsTruncationMarker(const Json& j) {
  return j.is_object() && j.size() == 3 && j.contains("truncated") && j.contains("size") && j.contains("blake2b") &&
         j["truncated"].is_boolean() && j["truncated"].get<bool>();
}

constexpr std::string_view kSecretMarker = "<secret:fp:";

// Why a recorded body cannot be served as it is, or "".
std::string BodyProblem(std::string_view what, std::string_view body) {
  if (body.empty()) return "";
  if (body.find(kSecretMarker) != std::string_view::npos) {
    return "the recorded " + std::string(what) +
           " was redacted at recording (it held a secret); replaying it "
           "would serve a fingerprint instead of the value";
  }
  Json j = Parse(body);
  if (IsTruncationMarker(j)) {
    return "the recorded " + std::string(what) + " was truncated at recording (" + Dump(j["size"]) +
           " bytes, above --max-result-bytes); only its size and hash are stored";
  }
  return "";
}

// Exact JSON-RPC error objects are {code, message[, data]}; a tool result has content.
bool LooksLikeErrorObject(const Json& j) {
  return j.is_object() && j.contains("code") && j["code"].is_number_integer() && j.contains("message") &&
         !j.contains("content");
}

std::string ErrorReply(const std::string& id, int code, const std::string& message, const Json& data) {
  Json e = {{"code", code}, {"message", message}};
  if (!data.is_null()) e["data"] = data;
  return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"error\":" + Dump(e) + "}";
}

std::string Reply(const std::string& id, bool error, const std::string& body) {
  return "{\"jsonrpc\":\"2.0\",\"id\":" + id + (error ? ",\"error\":" : ",\"result\":") + body + "}";
}

}  // namespace

std::optional<MatchMode> ParseMatchMode(std::string_view t) {
  if (t == "method_params") return MatchMode::kMethodParams;
  if (t == "strict") return MatchMode::kStrict;
  if (t == "sequential") return MatchMode::kSequential;
  return std::nullopt;
}

std::optional<RecordMode> ParseRecordMode(std::string_view t) {
  if (t == "none") return RecordMode::kNone;
  if (t == "once") return RecordMode::kOnce;
  if (t == "new_episodes") return RecordMode::kNewEpisodes;
  if (t == "all") return RecordMode::kAll;
  return std::nullopt;
}

std::string_view MatchModeName(MatchMode m) {
  switch (m) {
    case MatchMode::kMethodParams:
      return "method_params";
    case MatchMode::kStrict:
      return "strict";
    case MatchMode::kSequential:
      return "sequential";
  }
  return "?";
}

std::string_view RecordModeName(RecordMode m) {
  switch (m) {
    case RecordMode::kNone:
      return "none";
    case RecordMode::kOnce:
      return "once";
    case RecordMode::kNewEpisodes:
      return "new_episodes";
    case RecordMode::kAll:
      return "all";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------------
// Cassette

Status Cassette::AddSession(std::string_view session_id, EventSource& events, std::string_view server) {
  struct Open {
    CassetteExchange x;
    std::string request_id;
  };
  std::vector<Open> open;              // requests awaiting their answer, oldest first
  std::vector<CassetteExchange> done;  // completed, in answer order
  std::vector<std::string> done_ids;
  std::vector<std::string> skip_reason;  // per done: "" keep, else why not indexed
  const std::string sid(session_id);
  for (;;) {
    AT_ASSIGN_OR_RETURN(const Event* e, events.Next());
    if (e == nullptr) break;
    bool tool_kind = e->kind == EventKind::kToolCall || e->kind == EventKind::kToolResult ||
                     e->kind == EventKind::kMcpRequest || e->kind == EventKind::kMcpResponse ||
                     e->kind == EventKind::kMcpNotification;
    if (tool_kind && !server.empty() && e->server != server) continue;
    switch (e->kind) {
      case EventKind::kToolCall:
      case EventKind::kMcpRequest: {
        if (e->direction == Direction::kToAgent) {
          // The server asked the client something. Inside a pending request the answer depended on
          // the client's reply, which a cassette cannot give.
          std::string what = e->method.empty() ? "a server-to-client request" : e->method;
          if (!open.empty()) {
            CassetteExchange& x = open.back().x;
            if (x.unusable.empty()) {
              x.unusable = "the recorded answer depended on a server-to-client request (" + what +
                           "), which replay --serve does not support";
            }
          } else {
            unplayed_requests_.push_back(what + " (" + sid + "#" + std::to_string(e->seq) + ")");
          }
          break;
        }
        if (e->direction != Direction::kToServer) break;
        Open o;
        o.request_id = e->request_id;
        if (e->kind == EventKind::kToolCall) {
          o.x.method = "tools/call";
          o.x.tool = e->tool;
        } else {
          o.x.method = e->method;
        }
        o.x.server = e->server;
        // Stored arguments may be a size + hash marker (above 1 MiB) or hold fingerprints: the live
        // request is reduced the same way before matching (PlayerOptions::redact), so both still match.
        o.x.params = e->json;
        open.push_back(std::move(o));
        break;
      }
      case EventKind::kMcpNotification: {
        if (e->direction != Direction::kToAgent || open.empty()) break;
        // Progress names its request by token; the SDKs use the request id as the token. Other
        // notifications go with the latest pending request.
        Open* target = &open.back();
        if (e->method == "notifications/progress") {
          Json p = Parse(e->json);
          if (p.is_object() && p.contains("progressToken")) {
            std::string tok = Dump(p["progressToken"]);
            for (Open& o : open) {
              if (o.request_id == tok) target = &o;
            }
          }
        }
        if (std::string p = BodyProblem("notification", e->json); !p.empty() && target->x.unusable.empty()) {
          target->x.unusable = p;
        }
        target->x.notifications.push_back({e->method, e->json});
        break;
      }
      case EventKind::kToolResult:
      case EventKind::kMcpResponse: {
        if (e->direction != Direction::kToAgent) break;
        auto it =
            std::find_if(open.rbegin(), open.rend(), [&](const Open& o) { return o.request_id == e->request_id; });
        if (it == open.rend()) break;  // unmatched, or an answer to a server-to-client request
        CassetteExchange x = std::move(it->x);
        open.erase(std::next(it).base());
        x.answer = e->json;
        if (e->kind == EventKind::kMcpResponse) {
          x.error = e->is_error;
        } else if (e->text == "JSON-RPC error") {
          x.error = true;
        } else if (e->is_error) {
          x.error = LooksLikeErrorObject(Parse(e->json));  // after a cancel the text says only that
        }
        if (std::string p = BodyProblem(x.error ? "error" : "answer", e->json); !p.empty() && x.unusable.empty()) {
          x.unusable = p;
        }
        x.source = sid + "#" + std::to_string(e->seq);
        done_ids.push_back(e->request_id);
        done.push_back(std::move(x));
        skip_reason.emplace_back();
        break;
      }
      case EventKind::kAnnotation: {
        if (e->text != kServedAnnotation) break;
        Json a = Parse(e->json);
        if (!a.is_object() || !a.contains("request_id") || !a.contains("served")) break;
        std::string id = Dump(a["request_id"]);
        std::string served = a["served"].is_string() ? a["served"].get<std::string>() : "";
        // The marker follows its answer: it names the latest completed exchange with that id.
        for (size_t i = done.size(); i-- > 0;) {
          if (done_ids[i] != id) continue;
          if (served != "live") skip_reason[i] = served;
          break;
        }
        break;
      }
      default:
        break;
    }
  }
  for (size_t i = 0; i < done.size(); ++i) {
    if (!skip_reason[i].empty()) continue;
    ++servers_[done[i].server];
    exchanges_.push_back(std::move(done[i]));
  }
  return Status::Ok();
}

void Cassette::RetainServer(std::string_view server) {
  std::erase_if(exchanges_, [&](const CassetteExchange& x) { return x.server != server; });
  std::erase_if(servers_, [&](const auto& kv) { return kv.first != server; });
}

// ---------------------------------------------------------------------------------------------------
// CassettePlayer

struct CassettePlayer::Live {
  std::unique_ptr<LiveUpstream> up;
  bool initialized = false;
  Status failed;  // the live server could not be started: every later live request fails fast
  int64_t next_id = 1;
};

CassettePlayer::CassettePlayer(const Cassette* cassette, PlayerOptions options)
    : cassette_(cassette), options_(std::move(options)) {
  const auto& xs = cassette_->exchanges();
  used_.assign(xs.size(), false);
  for (size_t i = 0; i < xs.size(); ++i) {
    const CassetteExchange& x = xs[i];
    // Recorded params are already redacted; the key is rebuilt from them as the live one is.
    keys_.push_back(Key(x.method, x.tool, x.params));
    by_key_[keys_.back()].exchanges.push_back(i);
  }
}

CassettePlayer::~CassettePlayer() = default;

std::string CassettePlayer::Key(const std::string& method, const std::string& tool, const std::string& params) const {
  std::string key = method;
  key.push_back('\0');
  key += tool;
  key.push_back('\0');
  if (options_.match == MatchMode::kSequential) return key;
  // initialize describes the client (name, version, capabilities), it asks nothing of the server:
  // outside strict mode it is answered as recorded whoever asks.
  if (method == "initialize" && options_.match != MatchMode::kStrict) return key;
  if (method == "tools/call") {
    key += params.empty() ? "{}" : params;  // arguments, canonical as recorded
    return key;
  }
  Json p = Parse(params);
  if (p.is_discarded()) {
    key += params;
    return key;
  }
  if (p.is_object()) {
    auto m = p.find("_meta");
    if (m != p.end()) {
      if (options_.match == MatchMode::kStrict && m->is_object()) {
        m->erase("progressToken");  // per request, like the id
        if (m->empty()) p.erase("_meta");
      } else {
        p.erase("_meta");
      }
    }
  }
  std::string d = Dump(p);
  key += d == "{}" ? "" : d;  // no params and empty params are the same question
  return key;
}

long CassettePlayer::Match(const std::string& method, const std::string& tool, const std::string& key) {
  if (options_.match == MatchMode::kStrict) {
    while (next_ < used_.size() && used_[next_]) ++next_;
    if (next_ >= used_.size() || keys_[next_] != key) return -1;
    used_[next_] = true;
    return static_cast<long>(next_++);
  }
  (void)method;
  (void)tool;
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return -1;
  Slot& slot = it->second;
  if (slot.next >= slot.exchanges.size()) {
    return -1;  // every recorded answer to this request was served already: a call more is new behaviour
  }
  size_t i = slot.exchanges[slot.next++];
  used_[i] = true;
  return static_cast<long>(i);
}

std::string CassettePlayer::NextExpected() const {
  const auto& xs = cassette_->exchanges();
  for (size_t i = 0; i < xs.size(); ++i) {
    if (used_[i]) continue;
    const CassetteExchange& x = xs[i];
    std::string s = x.method;
    if (!x.tool.empty()) s += " " + x.tool;
    std::string p = x.params.size() > 200 ? x.params.substr(0, 200) + "..." : x.params;
    if (!p.empty()) s += " " + p;
    return s;
  }
  return "";
}

PlayerStep CassettePlayer::OnClientMessage(std::string_view line) {
  PlayerStep step;
  Json j = Parse(line);
  if (!j.is_object()) return step;  // not ours to judge: the recording shows it as a protocol error
  auto mit = j.find("method");
  auto iit = j.find("id");
  if (mit == j.end() || !mit->is_string()) return step;  // a response (we never ask) or junk
  const std::string method = mit->get<std::string>();
  static const Json kNone = Json(nullptr);
  auto pit = j.find("params");
  const Json& params = pit != j.end() ? *pit : kNone;
  if (iit == j.end()) {
    // A notification. In `all` mode the live server sees everything the client says.
    if (options_.record == RecordMode::kAll && live_state_ && live_state_->up && live_state_->initialized) {
      (void)live_state_->up->Notify(std::string(line));
    }
    return step;
  }
  step.request = true;
  step.request_id = Dump(*iit);
  step.method = method;
  std::string params_text = params.is_null() ? "" : Dump(params);
  if (method == "initialize") initialize_params_ = params_text;
  if (method == "tools/call" && params.is_object()) {
    auto n = params.find("name");
    if (n != params.end() && n->is_string()) step.tool = n->get<std::string>();
  }
  if (options_.record == RecordMode::kAll) {
    GoLive(method, step.request_id, params_text, &step);
    return step;
  }
  if (method == "ping") {
    // A liveness check, sent whenever the client likes: answered here, never matched.
    step.served = "local";
    step.replies.push_back(Reply(step.request_id, false, "{}"));
    return step;
  }
  std::string key_params;
  if (method == "tools/call") {
    Json args = params.is_object() && params.contains("arguments") ? params["arguments"] : Json::object();
    key_params = Dump(args);
    // Stored the way the tracker stores arguments: above the bound, as size + hash.
    if (key_params.size() > kMaxRecordedArgumentsBytes) key_params = TruncatedBodyJson(key_params);
  } else {
    key_params = params_text;
  }
  if (options_.redact) options_.redact(&key_params);
  long idx = Match(method, step.tool, Key(method, step.tool, key_params));
  const bool unusable = idx >= 0 && !cassette_->exchanges()[static_cast<size_t>(idx)].unusable.empty();
  if (idx < 0 || (unusable && options_.record == RecordMode::kNewEpisodes)) {
    if (options_.record == RecordMode::kNewEpisodes) {
      GoLive(method, step.request_id, params_text, &step);
      return step;
    }
    ++misses_;
    step.served = "miss";
    std::string what =
        method == "tools/call" ? "tools/call " + step.tool + " with these arguments" : method + " with these params";
    step.note = "no recorded answer for " + what;
    Json data = {{"method", method}};
    if (!step.tool.empty()) data["tool"] = step.tool;
    std::string next = NextExpected();
    data["next_expected"] = next.empty() ? Json(nullptr) : Json(next);
    step.replies.push_back(ErrorReply(step.request_id, kCassetteMissCode, step.note, data));
    return step;
  }
  const CassetteExchange& x = cassette_->exchanges()[static_cast<size_t>(idx)];
  step.source = x.source;
  if (!x.unusable.empty()) {
    ++misses_;
    step.served = "unusable";
    step.note = x.unusable;
    step.replies.push_back(ErrorReply(step.request_id, kCassetteUnusableCode, x.unusable, Json{{"source", x.source}}));
    return step;
  }
  // Progress goes to the token the live request chose; a request without one gets none (the server
  // would not have sent any).
  const Json* live_token = nullptr;
  if (params.is_object()) {
    auto m = params.find("_meta");
    if (m != params.end() && m->is_object()) {
      auto t = m->find("progressToken");
      if (t != m->end()) live_token = &*t;
    }
  }
  for (const CassetteNotification& n : x.notifications) {
    Json msg = {{"jsonrpc", "2.0"}, {"method", n.method}};
    if (!n.params.empty()) msg["params"] = Parse(n.params);
    if (n.method == "notifications/progress") {
      if (live_token == nullptr) continue;
      if (msg["params"].is_object()) msg["params"]["progressToken"] = *live_token;
    }
    step.replies.push_back(Dump(msg));
  }
  step.replies.push_back(Reply(step.request_id, x.error, x.answer.empty() ? "{}" : x.answer));
  step.served = "replayed";
  ++replayed_;
  return step;
}

void CassettePlayer::GoLive(const std::string& method, const std::string& id_text, const std::string& params_text,
                            PlayerStep* step) {
  step->served = "live";
  auto fail = [&](const std::string& why) {
    ++misses_;
    step->served = "miss";
    step->note = "the live server failed: " + why;
    step->replies.push_back(ErrorReply(id_text, kCassetteLiveErrorCode, step->note, Json(nullptr)));
  };
  if (!live_state_) {
    live_state_ = std::make_unique<Live>();
    if (!options_.start_live) {
      live_state_->failed = Status::InvalidArgument("no live server command given (after --)");
    } else {
      auto up = options_.start_live();
      if (up.ok()) {
        live_state_->up = std::move(*up);
      } else {
        live_state_->failed = up.status();
      }
    }
  }
  Live& L = *live_state_;
  if (!L.failed.ok()) return fail(L.failed.message());
  auto request = [&](const std::string& m, const std::string& p) {
    std::string r = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(L.next_id++) + ",\"method\":" + Dump(Json(m));
    if (!p.empty()) r += ",\"params\":" + p;
    return r + "}";
  };
  if (!L.initialized && method != "initialize") {
    // new_episodes: the client's handshake was answered from the cassette; the live server gets the
    // same initialize before its first request.
    if (initialize_params_.empty()) return fail("the client sent no initialize to start it with");
    auto init = L.up->Exchange(request("initialize", initialize_params_));
    if (!init.ok()) {
      L.failed = init.status();
      return fail(init.status().message());
    }
    Json last = init->empty() ? Json() : Parse(init->back());
    if (!last.is_object() || !last.contains("result")) {
      L.failed = Status::IOError("the live server refused initialize: " + (init->empty() ? "" : init->back()));
      return fail(L.failed.message());
    }
    (void)L.up->Notify("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    L.initialized = true;
  }
  auto out = L.up->Exchange(request(method, params_text));
  if (!out.ok()) return fail(out.status().message());
  if (method == "initialize") L.initialized = true;
  for (size_t i = 0; i < out->size(); ++i) {
    if (i + 1 < out->size()) {
      Json m = Parse((*out)[i]);
      if (m.is_object() && m.contains("id") && m.contains("method")) {
        // The upstream answered it as unsupported; say so rather than drop it silently.
        std::string what = m["method"].is_string() ? m["method"].get<std::string>() : "?";
        step->note += (step->note.empty() ? "" : "; ") + std::string("the live server asked ") + what +
                      ", answered as unsupported";
        continue;
      }
      step->replies.push_back((*out)[i]);  // notifications, as the server sent them
      continue;
    }
    // The answer, with the live request's id.
    Json a = Parse((*out)[i]);
    if (!a.is_object()) return fail("an answer that is not JSON");
    bool err = a.contains("error");
    step->replies.push_back(Reply(id_text, err,
                                  Dump(err                    ? a["error"]
                                       : a.contains("result") ? a["result"]
                                                              : Json::object())));
  }
  ++live_;
}

}  // namespace agenttrace
