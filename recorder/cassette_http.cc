#include "recorder/cassette_http.h"
#include "format/clock.h"

#include <httplib.h>
#include <sodium.h>

#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "recorder/http_listener.h"
#include "recorder/server_signals.h"

namespace agenttrace {
namespace {

constexpr size_t kMaxNotes = 100;

std::string NewSessionId() {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < sizeof b; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

bool IsInitialize(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  auto m = j.find("method");
  return m != j.end() && m->is_string() && m->get<std::string>() == "initialize";
}

void Plain(httplib::Response& res, int status, const std::string& what) {
  res.status = status;
  nlohmann::json err = {{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", {{"code", -32000}, {"message", what}}}};
  res.set_content(err.dump(), "application/json");
}

class HttpServer {
 public:
  HttpServer(const HttpServeOptions& o, const std::function<std::unique_ptr<CassettePlayer>()>& make,
             ServedRecorder* recorder)
      : o_(o), make_(make), recorder_(recorder) {}

  void Post(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string sid = req.get_header_value("Mcp-Session-Id");
    CassettePlayer* player = nullptr;
    std::string new_sid;
    if (IsInitialize(req.body)) {
      if (sessions_.size() >= o_.max_sessions) return Plain(res, 503, "too many MCP sessions open");
      new_sid = NewSessionId();
      player = (sessions_[new_sid] = make_()).get();
    } else if (sid.empty()) {
      return Plain(res, 400, "Bad Request: no Mcp-Session-Id header (send initialize first)");
    } else {
      auto it = sessions_.find(sid);
      if (it == sessions_.end()) return Plain(res, 404, "Session not found");
      player = it->second.get();
    }
    if (recorder_ != nullptr) recorder_->OnClientLine(req.body, ClockNs(CLOCK_MONOTONIC), ClockNs(CLOCK_REALTIME));
    PlayerStep step = player->OnClientMessage(req.body);
    if (recorder_ != nullptr) recorder_->OnStep(step);
    if (!new_sid.empty()) res.set_header("Mcp-Session-Id", new_sid);
    if (!step.request) {
      res.status = 202;
      return;
    }
    ++result_.requests;
    if (!step.note.empty() && result_.notes.size() < kMaxNotes) {
      std::string what = step.method + (step.tool.empty() ? "" : " " + step.tool);
      result_.notes.push_back(step.served + ": " + what + ": " + step.note);
    }
    res.status = 200;
    if (step.replies.size() <= 1) {
      res.set_content(step.replies.empty() ? std::string() : step.replies.back(), "application/json");
      return;
    }
    // Notifications, then the answer, as one SSE stream written at once. No pause is needed before the
    // answer, unlike on stdio (recorder/cassette_serve.cc): there the TypeScript SDK dispatches every
    // message of one read synchronously and runs progress handlers in a later microtask, after the
    // answer has removed them; its Streamable HTTP transport instead awaits each SSE event's read, so
    // the handler of a notification runs before the next event, here the answer, is dispatched.
    std::string stream;
    for (const std::string& r : step.replies) stream += "event: message\ndata: " + r + "\n\n";
    res.set_content(stream, "text/event-stream");
  }

  void Delete(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(req.get_header_value("Mcp-Session-Id"));
    if (it == sessions_.end()) return Plain(res, 404, "Session not found");
    sessions_.erase(it);
    res.status = 200;
  }

  StdioServeResult Result() {
    std::lock_guard<std::mutex> lock(mu_);
    StdioServeResult r = result_;
    // Counted by the players; a finished session's player is gone, so count as they end.
    for (const auto& [sid, p] : sessions_) {
      r.replayed += p->replayed();
      r.live += p->live();
      r.misses += p->misses();
    }
    r.replayed += ended_.replayed;
    r.live += ended_.live;
    r.misses += ended_.misses;
    return r;
  }

  // Keeps the counts of sessions that end (DELETE) before their players go.
  void EndSession(const std::string& sid) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) return;
    ended_.replayed += it->second->replayed();
    ended_.live += it->second->live();
    ended_.misses += it->second->misses();
  }

  std::mutex& mu() { return mu_; }

 private:
  const HttpServeOptions& o_;
  const std::function<std::unique_ptr<CassettePlayer>()>& make_;
  ServedRecorder* recorder_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<CassettePlayer>> sessions_;
  StdioServeResult result_;
  StdioServeResult ended_;
};

}  // namespace

Result<StdioServeResult> RunHttpServe(const HttpServeOptions& options,
                                      const std::function<std::unique_ptr<CassettePlayer>()>& make_player,
                                      ServedRecorder* recorder) {
  ServerSignals signals;
  AT_RETURN_IF_ERROR(signals.status());

  HttpServer serve(options, make_player, recorder);
  httplib::Server server;
  server.set_tcp_nodelay(true);
  server.set_keep_alive_timeout(2);
  server.set_payload_max_length(options.max_message_bytes);
  server.Post(".*", [&](const httplib::Request& req, httplib::Response& res) { serve.Post(req, res); });
  server.Delete(".*", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(serve.mu());
      serve.EndSession(req.get_header_value("Mcp-Session-Id"));
    }
    serve.Delete(req, res);
  });
  server.Get(".*", [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST, DELETE");
  });
  HttpListenOptions listen;
  listen.host = options.listen_host;
  listen.port = options.listen_port;
  listen.on_listening = options.on_listening;
  listen.stop_fd = options.stop_fd;
  AT_RETURN_IF_ERROR(ServeHttpUntilStopped(&server, listen, signals).status());
  return serve.Result();
}

}  // namespace agenttrace
