#include "recorder/mcp_http_proxy.h"

#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "format/clock.h"
#include "format/json_limits.h"
#include "recorder/first_failure_sink.h"
#include "recorder/http_listener.h"
#include "recorder/mcp_http_gate.h"
#include "recorder/server_signals.h"
#include "recorder/sse_splitter.h"

namespace agenttrace {
namespace {

constexpr auto kClientCheckInterval = std::chrono::milliseconds(250);

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What the exchanges hand to the recorder thread: complete messages, never raw stream bytes.
struct Record {
  enum class Type { kMessage, kOversized, kError, kEvent } type = Type::kMessage;
  Direction dir = Direction::kNone;
  std::string bytes;  // the message; the head of an oversized one; the offending bytes of an error
  uint64_t size = 0;  // oversized: the full size
  std::string what;   // error: what happened
  int64_t mono_ns = 0;
  int64_t wall_ns = 0;
  std::unique_ptr<Event> event;  // kEvent: an event of the proxy's own, recorded as it is
};

// Bounded like the stdio proxy's queue: producers wait when the recorder is kMaxQueuedBytes behind,
// nothing is dropped.
class RecordQueue {
 public:
  void Push(Record r) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return bytes_ < kMaxQueuedBytes || closed_; });
    bytes_ += r.bytes.size();
    q_.push_back(std::move(r));
    not_empty_.notify_one();
  }
  bool Pop(Record* out) {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    *out = std::move(q_.front());
    q_.pop_front();
    bytes_ -= out->bytes.size();
    not_full_.notify_all();
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Record> q_;
  size_t bytes_ = 0;
  bool closed_ = false;
};

Record Stamped(Record::Type type, Direction dir) {
  Record r;
  r.type = type;
  r.dir = dir;
  r.mono_ns = ClockNs(CLOCK_MONOTONIC);
  r.wall_ns = ClockNs(CLOCK_REALTIME);
  return r;
}

void PushMessage(RecordQueue* q, Direction dir, std::string_view body, uint64_t size, bool oversized) {
  Record r = Stamped(oversized ? Record::Type::kOversized : Record::Type::kMessage, dir);
  r.bytes.assign(body);
  r.size = size;
  q->Push(std::move(r));
}

void PushError(RecordQueue* q, Direction dir, std::string what, std::string_view bytes = {}) {
  Record r = Stamped(Record::Type::kError, dir);
  r.what = "http: " + std::move(what);
  r.bytes.assign(bytes.substr(0, std::min(bytes.size(), kProtocolErrorSnippetBytes)));
  q->Push(std::move(r));
}

void PushEvent(RecordQueue* q, Event e) {
  Record r = Stamped(Record::Type::kEvent, e.direction);
  if (e.mono_ns == 0) e.mono_ns = r.mono_ns;
  if (e.wall_ns == 0) e.wall_ns = r.wall_ns;
  r.event = std::make_unique<Event>(std::move(e));
  q->Push(std::move(r));
}

// Feeds one recorded HTTP body to the tracker: a JSON-RPC message, or a batch (allowed by the
// 2025-03-26 revision of Streamable HTTP) recorded message by message.
void FeedMessage(McpTracker* tracker, Direction dir, const std::string& body, int64_t mono, int64_t wall) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || body[first] != '[' || JsonNestingExceeds(body, kMaxJsonDepth)) {
    tracker->OnLine(dir, body, mono, wall);
    return;
  }
  nlohmann::json batch = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (batch.is_discarded() || !batch.is_array() || batch.empty()) {
    tracker->OnLine(dir, body, mono, wall);  // recorded as invalid
    return;
  }
  for (const nlohmann::json& m : batch) {
    tracker->OnLine(dir, m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), mono, wall);
  }
}

// Observes one response body as it streams by and queues the messages it carries.
class BodyObserver final : public SseEventSink {
 public:
  BodyObserver(RecordQueue* q, size_t max, McpHttpGate* gate) : q_(q), max_(max), gate_(gate), sse_(max) {}

  void Start(const httplib::Response& r) {
    std::string type = Lower(r.get_header_value("Content-Type"));
    std::string coding = Lower(r.get_header_value("Content-Encoding"));
    status_ = r.status;
    content_type_ = r.get_header_value("Content-Type");
    const std::string length = r.get_header_value("Content-Length");
    char* end = nullptr;
    unsigned long long v = length.empty() ? 0 : std::strtoull(length.c_str(), &end, 10);
    content_length_ = !length.empty() && end != nullptr && *end == '\0' ? std::optional<uint64_t>(v) : std::nullopt;
    if (!coding.empty() && coding != "identity") {
      mode_ = Mode::kIgnore;
      PushError(q_, Direction::kToAgent, "response body with Content-Encoding \"" + coding + "\" not recorded");
    } else if (type.rfind("text/event-stream", 0) == 0) {
      mode_ = Mode::kSse;
    } else if (type.rfind("application/json", 0) == 0) {
      mode_ = Mode::kJson;
    } else {
      mode_ = Mode::kOther;
    }
  }

  void Feed(const char* data, size_t n) {
    received_ += n;
    switch (mode_) {
      case Mode::kSse:
        sse_.Feed(std::string_view(data, n), this);
        break;
      case Mode::kJson:
      case Mode::kOther:
        if (body_.size() < max_) body_.append(data, std::min(n, max_ - body_.size()));
        // The last bytes of a JSON answer are recorded before the client can see them, as SSE events
        // are: a client that sends its next request as soon as it has this answer must not find that
        // request before this answer in the record. Without a Content-Length the end is known only
        // when the upstream request returns (Finish), and the client's chunked copy ends after that.
        if (mode_ == Mode::kJson && content_length_ && received_ == *content_length_) RecordJson();
        break;
      case Mode::kIgnore:
        break;
    }
  }

  // The upstream body ended: completely (ok), broken off (!ok), or because the client went away or
  // the proxy stopped (cancelled: not an upstream error).
  void Finish(bool ok, bool cancelled, const std::string& error) {
    if (mode_ == Mode::kSse) {
      uint64_t pending = sse_.Finish();
      if (pending > 0 && !cancelled) {
        PushError(q_, Direction::kToAgent,
                  "event stream ended inside an event (" + std::to_string(pending) + " bytes not recorded)");
      }
    } else if (mode_ == Mode::kJson && ok) {
      RecordJson();
    } else if (mode_ == Mode::kOther && ok && received_ > 0) {
      PushError(q_, Direction::kToAgent,
                "HTTP " + std::to_string(status_) + " body of type \"" + content_type_ + "\" (" +
                    std::to_string(received_) + " bytes) is not JSON-RPC",
                body_);
    }
    if (!ok && !cancelled) {
      PushError(q_, Direction::kToAgent,
                "upstream response broken off after " + std::to_string(received_) + " body bytes: " + error,
                std::string_view(body_).substr(0, kProtocolErrorSnippetBytes));
    }
  }

  // Queues the JSON answer for the record, once.
  void RecordJson() {
    if (json_recorded_) return;
    json_recorded_ = true;
    if (received_ > max_) {
      PushMessage(q_, Direction::kToAgent, std::string_view(body_).substr(0, kProtocolErrorSnippetBytes), received_,
                  true);
    } else if (!body_.empty()) {
      if (gate_ != nullptr) gate_->OnServerMessage(body_);
      PushMessage(q_, Direction::kToAgent, body_, received_, false);
    }
  }

  void OnEvent(const SseEvent& e) override {
    std::string_view d = e.data;
    if (d.find_first_not_of(" \t\r\n") == std::string_view::npos && !e.oversized) return;  // priming event
    if (gate_ != nullptr && !e.oversized) gate_->OnServerMessage(d);
    PushMessage(q_, Direction::kToAgent, d, e.data_size, e.oversized);
  }

 private:
  enum class Mode { kSse, kJson, kOther, kIgnore };
  RecordQueue* q_;
  size_t max_;
  McpHttpGate* gate_;  // may be null
  SseSplitter sse_;
  Mode mode_ = Mode::kOther;
  int status_ = 0;
  std::string content_type_;
  std::string body_;
  uint64_t received_ = 0;
  std::optional<uint64_t> content_length_;  // of the upstream's answer, when it declared one
  bool json_recorded_ = false;
};

bool IsHopByHop(const std::string& lower) {
  static const std::set<std::string> kHop = {
      "connection", "keep-alive",        "proxy-connection", "proxy-authorization", "proxy-authenticate", "te",
      "trailer",    "transfer-encoding", "upgrade"};
  return kHop.count(lower) > 0;
}

// Headers httplib's server adds to a Request for its handlers; they never came from the client.
bool IsHttplibPseudoHeader(const std::string& name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" || name == "LOCAL_PORT";
}

// One HTTP exchange in flight: the upstream request runs on its own thread and hands the response's
// head and body chunks to the client-facing side (httplib's connection thread) through this object.
struct Exchange {
  std::mutex mu;
  std::condition_variable cv;
  bool head_ready = false;  // status and headers known
  bool done = false;        // the upstream request returned
  bool ok = false;          // ... and the response was complete
  bool cancelled = false;   // the client side gave up or the proxy stops
  int status = 0;
  httplib::Headers headers;
  std::string error;
  std::deque<std::string> chunks;
  size_t buffered = 0;
  std::unique_ptr<httplib::Client> client;
  std::thread thread;
};

// One thread per connection (so that a slow or long-lived stream never waits for a pool thread), at
// most `max` at once; further connections wait in the listen backlog.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(size_t max) : max_(max) {}
  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return active_ < max_; });
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->finished->load()) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    ++active_;
    auto finished = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back({std::thread([this, fn = std::move(fn), finished] {
                          fn();
                          std::lock_guard<std::mutex> l(mu_);
                          --active_;
                          finished->store(true);
                          cv_.notify_all();
                        }),
                        finished});
  }
  void shutdown() override {
    std::list<Worker> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all.swap(workers_);
    }
    for (Worker& w : all) w.thread.join();
  }

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t active_ = 0;
  std::list<Worker> workers_;
};

class Proxy {
 public:
  Proxy(const McpHttpProxyOptions& o, UpstreamUrl url, RecordQueue* q, McpHttpGate* gate)
      : o_(o), url_(std::move(url)), q_(q), gate_(gate) {}

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader);

  // Ends every exchange in flight (their client connections are closed) and gives up on the tool
  // calls still being decided (they are answered "stopped", never forwarded).
  void Stop() {
    stopping_ = true;
    if (gate_ != nullptr) gate_->Stop();
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& x : live_) {
      {
        std::lock_guard<std::mutex> l(x->mu);
        x->cancelled = true;
      }
      x->cv.notify_all();
      if (x->client) x->client->stop();
    }
  }

  uint64_t exchanges() const { return exchanges_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  std::unique_ptr<httplib::Client> TakeClient();
  void GiveBackClient(std::unique_ptr<httplib::Client> c);
  void RunUpstream(const std::shared_ptr<Exchange>& x, httplib::Request up, const std::string& method);
  // Cancels `x`, waits for its upstream thread and forgets it.
  void Finish(const std::shared_ptr<Exchange>& x);
  void Refuse(httplib::Response& res, int status, const std::string& what);

  const McpHttpProxyOptions& o_;
  const UpstreamUrl url_;
  RecordQueue* q_;
  McpHttpGate* gate_;  // null: nothing is decided
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> active_{0};
  std::atomic<uint64_t> exchanges_{0}, refused_{0};
  std::mutex mu_;
  std::set<std::shared_ptr<Exchange>> live_;
  std::vector<std::unique_ptr<httplib::Client>> idle_clients_;
};

std::unique_ptr<httplib::Client> Proxy::TakeClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_clients_.empty()) {
      auto c = std::move(idle_clients_.back());
      idle_clients_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>(url_.Origin());
  auto ms = [](int64_t v) { return std::chrono::milliseconds(v); };
  c->set_connection_timeout(ms(o_.connect_timeout_ms));
  c->set_read_timeout(ms(o_.idle_timeout_ms));
  c->set_write_timeout(ms(o_.write_timeout_ms));
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);  // small SSE events must not wait for the peer's delayed ACK (Nagle)
  c->set_decompress(false);  // bytes pass through as the server coded them
  c->set_url_encode(false);  // the client's target, as sent
  c->set_follow_location(false);
  if (url_.tls) {
    c->enable_server_certificate_verification(true);
    if (!o_.ca_file.empty()) c->set_ca_cert_path(o_.ca_file);
  }
  return c;
}

void Proxy::GiveBackClient(std::unique_ptr<httplib::Client> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_clients_.size() < 16 && !stopping_) idle_clients_.push_back(std::move(c));
}

void Proxy::Refuse(httplib::Response& res, int status, const std::string& what) {
  ++refused_;
  res.status = status;
  res.set_content("agenttrace: " + what + "\n", "text/plain");
}

void Proxy::RunUpstream(const std::shared_ptr<Exchange>& x, httplib::Request up, const std::string& method) {
  BodyObserver observer(q_, o_.max_message_bytes, gate_);
  up.response_handler = [&](const httplib::Response& r) {
    observer.Start(r);
    std::lock_guard<std::mutex> lock(x->mu);
    x->status = r.status;
    x->headers = r.headers;
    x->head_ready = true;
    x->cv.notify_all();
    return !x->cancelled;
  };
  up.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    observer.Feed(data, n);  // recorded before the client can see it
    std::unique_lock<std::mutex> lock(x->mu);
    x->cv.wait(lock, [&] { return x->buffered < kRelayBufferBytes || x->cancelled; });
    if (x->cancelled) return false;
    x->chunks.emplace_back(data, n);
    x->buffered += n;
    x->cv.notify_all();
    return true;
  };
  httplib::Response r;
  httplib::Error err = httplib::Error::Success;
  bool ok = x->client->send(up, r, err);
  if (o_.test_delay_after_upstream_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(o_.test_delay_after_upstream_ms));
  }
  bool cancelled;
  {
    std::lock_guard<std::mutex> lock(x->mu);
    cancelled = x->cancelled;
  }
  bool had_head;
  {
    std::lock_guard<std::mutex> lock(x->mu);
    had_head = x->head_ready;
  }
  if (had_head) {
    observer.Finish(ok, cancelled, httplib::to_string(err));
  } else if (ok) {
    // No body was read (204, 304, HEAD): the head is all there is.
    std::lock_guard<std::mutex> lock(x->mu);
    x->status = r.status;
    x->headers = r.headers;
    x->head_ready = true;
  } else if (!cancelled) {
    PushError(q_, Direction::kToServer,
              "upstream " + url_.Origin() + " unreachable or its answer unreadable (" + method +
                  "): " + httplib::to_string(err) + "; answered 502");
  }
  std::lock_guard<std::mutex> lock(x->mu);
  x->done = true;
  x->ok = ok;
  x->error = httplib::to_string(err);
  x->cv.notify_all();
}

void Proxy::Finish(const std::shared_ptr<Exchange>& x) {
  std::unique_lock<std::mutex> lock(x->mu);
  x->cancelled = true;
  x->cv.notify_all();
  // stop() shuts the socket down under the request; repeated in case the request was still connecting.
  while (!x->done) {
    lock.unlock();
    x->client->stop();
    lock.lock();
    x->cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return x->done; });
  }
  lock.unlock();
  x->thread.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    live_.erase(x);
  }
  bool reusable;
  {
    std::lock_guard<std::mutex> l(x->mu);
    reusable = x->ok && x->chunks.empty();
  }
  // A stream cut short leaves its connection in an unknown state: only complete exchanges reuse it.
  if (reusable) GiveBackClient(std::move(x->client));
  --active_;
}

void Proxy::Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
  ++exchanges_;
  // Accept-Encoding goes neither upstream (answers must come uncompressed to be recorded) nor to
  // httplib, which would otherwise gzip our relayed bodies on its own; Range would make it cut them.
  // The Request object is not const: httplib lends it to the handler const-qualified by convention.
  auto& mreq = const_cast<httplib::Request&>(req);
  mreq.ranges.clear();
  for (auto it = mreq.headers.begin(); it != mreq.headers.end();) {
    it = Lower(it->first) == "accept-encoding" ? mreq.headers.erase(it) : std::next(it);
  }
  if (stopping_) {
    Refuse(res, 503, "the proxy is stopping");
    return;
  }
  if (active_.fetch_add(1) >= o_.max_streams) {
    --active_;
    PushError(q_, Direction::kToServer,
              req.method + " " + req.path + " refused: " + std::to_string(o_.max_streams) +
                  " streams already in flight (--max-streams); answered 503");
    Refuse(res, 503, "too many concurrent streams through the proxy");
    return;
  }
  // Request body, bounded: the server never sees an oversized request.
  std::string body;
  uint64_t body_size = 0;
  bool read_ok = true;
  if (reader != nullptr) {
    read_ok = (*reader)([&](const char* data, size_t n) {
      body_size += n;
      if (body.size() + n > o_.max_message_bytes) return false;
      body.append(data, n);
      return true;
    });
    // httplib refuses a declared Content-Length over the bound itself (status 413) without reading.
    if (!read_ok && res.status == 413) {
      body_size =
          std::max<uint64_t>(body_size, std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10));
      body_size = std::max<uint64_t>(body_size, o_.max_message_bytes + 1);
    }
  } else {
    body = req.body;
    body_size = body.size();
  }
  if (body_size > o_.max_message_bytes) {
    --active_;
    PushMessage(q_, Direction::kToServer, std::string_view(body).substr(0, kProtocolErrorSnippetBytes), body_size,
                true);
    PushError(q_, Direction::kToServer,
              req.method + " body over " + std::to_string(o_.max_message_bytes) + " bytes refused; answered 413");
    mreq.headers.emplace("Connection", "close");  // the rest of the body may still be unread
    Refuse(res, 413, "request body over " + std::to_string(o_.max_message_bytes) + " bytes");
    return;
  }
  if (!read_ok) {
    --active_;
    PushError(q_, Direction::kToServer,
              req.method + " body unreadable after " + std::to_string(body_size) + " bytes; answered 400", body);
    mreq.headers.emplace("Connection", "close");
    Refuse(res, 400, "request body unreadable");
    return;
  }
  auto record_request = [&] {
    if (!body.empty()) PushMessage(q_, Direction::kToServer, body, body.size(), false);
  };
  if (gate_ == nullptr || body.empty()) {
    record_request();
  } else if (auto answer = gate_->Check(body, record_request, [this](Event e) { PushEvent(q_, std::move(e)); })) {
    // Denied, refused, or given up on at the stop: the upstream never hears of it.
    --active_;
    if (answer->is_response) PushMessage(q_, Direction::kToAgent, answer->body, answer->body.size(), false);
    res.status = answer->status;
    res.set_content(answer->body, "application/json");
    return;
  }

  httplib::Request up;
  up.method = req.method;
  up.path = req.target;
  up.body = std::move(body);
  bool decoded = false;
  {
    std::string coding = Lower(req.get_header_value("Content-Encoding"));
    // httplib's server inflates gzip/deflate/br request bodies before the handler sees them.
    decoded = coding == "gzip" || coding == "deflate" || coding.find("br") != std::string::npos;
  }
  for (const auto& [name, value] : req.headers) {
    std::string lower = Lower(name);
    if (IsHopByHop(lower) || IsHttplibPseudoHeader(name) || lower == "host" || lower == "content-length") continue;
    if (decoded && lower == "content-encoding") continue;
    up.headers.emplace(name, value);
  }
  if (!up.body.empty() && !up.has_header("Content-Type"))
    up.headers.emplace("Content-Type", "application/octet-stream");

  auto x = std::make_shared<Exchange>();
  x->client = TakeClient();
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_.insert(x);
  }
  if (stopping_) x->cancelled = true;
  x->thread = std::thread(
      [this, x, up = std::move(up), method = req.method]() mutable { RunUpstream(x, std::move(up), method); });

  {
    std::unique_lock<std::mutex> lock(x->mu);
    x->cv.wait(lock, [&] { return x->head_ready || x->done || x->cancelled; });
    if (!x->head_ready) {
      bool cancelled = x->cancelled;
      std::string error = x->error;
      lock.unlock();
      Finish(x);
      if (cancelled) {
        Refuse(res, 503, "the proxy is stopping");
      } else {
        Refuse(res, 502, "upstream " + url_.Origin() + " failed: " + error);
      }
      return;
    }
  }

  res.status = x->status;
  std::string content_type;
  int64_t length = -1;
  for (const auto& [name, value] : x->headers) {
    std::string lower = Lower(name);
    if (lower == "content-type") {
      content_type = value;
      continue;
    }
    if (lower == "content-length") {
      length = std::strtoll(value.c_str(), nullptr, 10);
      if (req.method != "HEAD") continue;
    }
    if (IsHopByHop(lower)) continue;
    res.headers.emplace(name, value);
  }
  bool no_body = req.method == "HEAD" || x->status == 204 || x->status == 304 || x->status < 200 || length == 0;
  if (no_body) {
    if (!content_type.empty()) res.headers.emplace("Content-Type", content_type);
    {
      // Let the (empty) exchange complete rather than cut it: its connection can then be reused.
      std::unique_lock<std::mutex> lock(x->mu);
      x->cv.wait_for(lock, std::chrono::seconds(1), [&] { return x->done; });
    }
    Finish(x);
    return;
  }

  // The releaser runs when httplib is done with the response, whatever happened: it ends the exchange.
  auto releaser = [this, x](bool) { Finish(x); };
  // One relayed chunk per call; false ends the client's connection (the upstream body broke off, the
  // client stopped reading, or the proxy stops).
  auto next = [x](httplib::DataSink& sink, bool* ended) {
    std::unique_lock<std::mutex> lock(x->mu);
    // A client that leaves a silent stream is noticed by polling its socket (is_writable peeks for
    // EOF): its slot and upstream request must not wait for the upstream's next event.
    while (!x->cv.wait_for(lock, kClientCheckInterval, [&] { return !x->chunks.empty() || x->done || x->cancelled; })) {
      lock.unlock();
      bool alive = sink.is_writable();
      lock.lock();
      if (!alive) return false;
    }
    if (x->cancelled) return false;
    if (x->chunks.empty()) {
      *ended = true;
      return x->ok;
    }
    std::string chunk = std::move(x->chunks.front());
    x->chunks.pop_front();
    x->buffered -= chunk.size();
    x->cv.notify_all();
    lock.unlock();
    return sink.write(chunk.data(), chunk.size());
  };
  if (length > 0) {
    res.set_content_provider(
        static_cast<size_t>(length), content_type,
        [next](size_t, size_t, httplib::DataSink& sink) {
          bool ended = false;
          bool ok = next(sink, &ended);
          return ok && !ended;  // ended before Content-Length bytes: the body is short
        },
        releaser);
  } else {
    res.set_chunked_content_provider(
        content_type,
        [next](size_t, httplib::DataSink& sink) {
          bool ended = false;
          bool ok = next(sink, &ended);
          if (ok && ended) sink.done();
          return ok;
        },
        releaser);
  }
}

}  // namespace

std::string UpstreamUrl::Origin() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

Result<UpstreamUrl> ParseUpstreamUrl(const std::string& url) {
  UpstreamUrl u;
  std::string_view rest = url;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("upstream URL \"" + url + "\": " + why +
                                   " (expected http://HOST[:PORT][/PATH] or https://...)");
  };
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("https://", 0) == 0) {
    u.tls = true;
    rest.remove_prefix(8);
  } else {
    return bad("unsupported scheme");
  }
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return bad("credentials in the URL are not supported");
  if (tail.find('#') != std::string_view::npos) return bad("a fragment is not allowed");
  u.port = u.tls ? 443 : 80;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority[0] != ':') return bad("garbage after the IPv6 address");
  } else {
    size_t colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (u.host.empty()) return bad("no host");
  if (!authority.empty()) {
    authority.remove_prefix(1);  // ':'
    if (authority.empty() || authority.size() > 5 ||
        !std::all_of(authority.begin(), authority.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("bad port");
    }
    u.port = std::stoi(std::string(authority));
    if (u.port < 1 || u.port > 65535) return bad("bad port");
  }
  u.path = tail.empty() ? "/" : std::string(tail);
  return u;
}

Result<McpHttpProxyResult> RunMcpHttpProxy(const McpHttpProxyOptions& options, EventSink& sink) {
  AT_ASSIGN_OR_RETURN(UpstreamUrl url, ParseUpstreamUrl(options.upstream));
  if (options.max_streams == 0) return Status::InvalidArgument("--max-streams must be at least 1");

  // Before any thread starts, so that every thread inherits the mask and the signalfd sees them all.
  ServerSignals signals;
  AT_RETURN_IF_ERROR(signals.status());

  McpHttpProxyResult result;
  RecordQueue queue;
  FirstFailureSink recorded(sink);  // the recorder thread's until it is joined
  std::string server_name;
  McpTrackerOptions topts;
  topts.max_result_bytes = options.max_result_bytes;
  topts.fallback_server_name = url.host;
  topts.redact = options.redact;
  std::thread recorder([&] {
    McpTracker tracker(topts, recorded);
    Record r;
    while (queue.Pop(&r)) {
      switch (r.type) {
        case Record::Type::kMessage:
          FeedMessage(&tracker, r.dir, r.bytes, r.mono_ns, r.wall_ns);
          break;
        case Record::Type::kOversized:
          tracker.OnOversized(r.dir, r.bytes, r.size, true, r.mono_ns, r.wall_ns);
          break;
        case Record::Type::kEvent:
          if (r.event->server.empty()) r.event->server = tracker.server_name();
          (void)recorded.Append(*r.event);  // a failure stops recording, never relaying
          break;
        case Record::Type::kError: {
          // Through the tracker's own error path, so that redaction and naming apply alike.
          Event e;
          e.kind = EventKind::kProtocolError;
          e.direction = r.dir;
          e.mono_ns = r.mono_ns;
          e.wall_ns = r.wall_ns;
          e.text = r.what;
          e.json = r.bytes;
          e.size = static_cast<int64_t>(r.bytes.size());
          if (options.redact) {
            options.redact(&e.text);
            options.redact(&e.json);
          }
          e.server = tracker.server_name();
          (void)recorded.Append(e);  // a failure stops recording, never relaying
          break;
        }
      }
    }
    tracker.Flush();
    server_name = tracker.server_name();
  });
  auto stop_recorder = [&] {
    queue.Close();
    recorder.join();
  };

  std::unique_ptr<McpHttpGate> gate;
  if (options.decider != nullptr) {
    McpHttpGateOptions g;
    g.decider = options.decider;
    g.ask = options.ask;
    g.mode = options.mode;
    g.tracker = topts;
    gate = std::make_unique<McpHttpGate>(std::move(g));
  }
  Proxy proxy(options, url, &queue, gate.get());
  httplib::Server server;
  const size_t max_connections = options.max_streams * 2 + 16;
  server.new_task_queue = [max_connections] { return new ConnectionThreads(max_connections); };
  server.set_tcp_nodelay(true);      // a relayed event goes out at once, not after a delayed ACK
  server.set_keep_alive_timeout(2);  // also bounds how long stopping waits for idle connections
  server.set_keep_alive_max_count(1000);
  server.set_read_timeout(std::chrono::seconds(30));
  server.set_write_timeout(std::chrono::milliseconds(options.write_timeout_ms));
  server.set_payload_max_length(options.max_message_bytes);
  auto plain = [&proxy](const httplib::Request& req, httplib::Response& res) { proxy.Handle(req, res, nullptr); };
  auto with_body = [&proxy](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& rd) {
    proxy.Handle(req, res, &rd);
  };
  server.Get(".*", plain);
  server.Options(".*", plain);
  server.Post(".*", with_body);
  server.Put(".*", with_body);
  server.Patch(".*", with_body);
  server.Delete(".*", with_body);
  server.Delete(".*", plain);

  HttpListenOptions listen;
  listen.host = options.listen_host;
  listen.port = options.listen_port;
  listen.on_listening = options.on_listening;
  listen.stop_fd = options.stop_fd;
  listen.before_stop = [&proxy] { proxy.Stop(); };
  Result<int32_t> stop_signal = ServeHttpUntilStopped(&server, listen, signals);
  // Every connection thread has returned. A decision in progress gets a bounded wait: what a decider
  // records within it joins the session; one still deciding afterwards is left to finish alone.
  if (gate != nullptr) gate->Shutdown();
  if (!stop_signal.ok()) {
    stop_recorder();
    return stop_signal.status();
  }
  stop_recorder();

  result.stop_signal = *stop_signal;
  result.server_name = server_name;
  result.events = recorded.appended();
  result.exchanges = proxy.exchanges();
  result.refused = proxy.refused();
  result.denied = gate != nullptr ? gate->denied() : 0;
  result.asked = gate != nullptr ? gate->asked() : 0;
  result.stopped = gate != nullptr ? gate->stopped() : 0;
  result.sink_status = recorded.status();
  return result;
}

}  // namespace agenttrace
