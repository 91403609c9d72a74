#include "recorder/event_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "format/clock.h"
#include "format/event_json.h"
#include "format/sys.h"
#include "recorder/hook_payloads.h"
#include "recorder/jsonrpc_framing.h"
#include "recorder/secrets.h"

namespace agenttrace {
namespace {

constexpr size_t kMaxConnections = 64;  // each may buffer up to one maximal line
constexpr size_t kMaxPendingOutput = 1u << 20;  // a client that never reads its answers is dropped
constexpr size_t kReadChunk = 64u << 10;

// Kinds another process may add to a recording. Syscall kinds come only from the tracer: accepting
// them here would let the traced agent forge its own audit trail.
bool AcceptedOnSocket(EventKind k) {
  switch (k) {
    case EventKind::kToolCall:
    case EventKind::kToolResult:
    case EventKind::kToolDef:
    case EventKind::kMcpRequest:
    case EventKind::kMcpNotification:
    case EventKind::kMcpResponse:
    case EventKind::kAnnotation:
    case EventKind::kProtocolError:
    // A gap only ever makes a session fail the `complete` criterion (a nested `record --mcp` reports
    // tool events it could not deliver): nothing to forge.
    case EventKind::kGap:
      return true;
    default:
      return false;
  }
}

// Texts of the annotations only the recorder writes (format/decision_event.h): accepting them from
// another process would let the agent forge what was enforced.
bool IsReservedRecorderText(std::string_view text) {
  return text == kDecisionText || text == kDecisionAnswerText || text == kDecisionFailedText ||
         text == kPolicyReloadText || text == kEnforcementText;
}

Status MakeSockaddr(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr->sun_path) {
    return Status::InvalidArgument("event socket path \"" + path + "\" is empty or longer than " +
                                   std::to_string(sizeof addr->sun_path - 1) + " bytes");
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  return Status::Ok();
}

std::string ErrorAnswer(std::string_view msg) {
  std::string a = "{\"ok\":false,\"error\":";
  a.push_back('"');
  for (unsigned char c : msg) {
    if (c == '"' || c == '\\') {
      a.push_back('\\');
      a.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      a += "\\u00";
      a.push_back(kHex[c >> 4]);
      a.push_back(kHex[c & 15]);
    } else {
      a.push_back(static_cast<char>(c));
    }
  }
  a += "\"}\n";
  return a;
}

class ServerImpl;
struct Connection;

// Asks being answered on their own threads (a human may take minutes; other connections must keep
// flowing). Shared with those threads, which may outlive the server.
struct AskShared {
  struct Done {
    Connection* conn = nullptr;
    Event call;
    RequestDecision decision;
    AskAnswer answer;
  };
  std::mutex mu;
  std::vector<Done> done;
  UniqueFd fd;  // eventfd: readable when `done` has entries
};

struct Connection final : LineSink {
  ServerImpl* server = nullptr;
  UniqueFd fd;
  int32_t peer_pid = 0;
  LineSplitter splitter{kMaxJsonLineBytes};
  std::string out;
  bool eof = false;     // the client finished sending; answers may still be flushed
  bool closed = false;  // gone: drop it
  // An ask of this connection is being answered: its later lines wait, in order, so that answers
  // keep the order of the requests; the connection is neither read nor dropped meanwhile.
  bool waiting = false;
  std::deque<std::string> deferred;

  void OnLine(std::string_view line) override;
  void OnOversized(std::string_view head, uint64_t size, bool complete) override;
  void OnTrailingBytes(std::string_view bytes) override { OnLine(bytes); }
};

class ServerImpl final : public EventSocketServer {
 public:
  ServerImpl(std::string path, UniqueFd listen_fd, UniqueFd wake_fd, EventSink* sink,
             const SecretScanner* secrets, EventSocketDecisions decisions, std::shared_ptr<AskShared> asks)
      : path_(std::move(path)),
        listen_fd_(std::move(listen_fd)),
        wake_fd_(std::move(wake_fd)),
        sink_(sink),
        secrets_(secrets),
        decisions_(decisions),
        asks_(std::move(asks)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ServerImpl() override {
    Stop();
    ::unlink(path_.c_str());
  }
  const std::string& path() const override { return path_; }

  void Stop() override {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    (void)!::write(wake_fd_.get(), &one, sizeof one);
    thread_.join();
    listen_fd_.reset();
    conns_.clear();
  }

  void HandleLine(Connection* c, std::string_view line);
  void HandleOversized(Connection* c, std::string_view head, uint64_t size);

 private:
  // The event a line carries (an event or a hook payload), stamped, bounded and redacted; on failure
  // the line is recorded as a protocol.error and answered, and false is returned.
  bool ParseRequest(Connection* c, std::string_view line, Event* out);
  void HandleDecide(Connection* c, const nlohmann::json& request, std::string_view line);
  std::string DecisionAnswer(const RequestDecision& d, const AskAnswer* a) const;
  void FinishAsks();
  void Loop();
  void Accept();
  // Reads what is available; false when the connection is finished.
  bool ReadConn(Connection* c);
  void FlushConn(Connection* c);
  void Answer(Connection* c, std::string_view answer);
  void RecordError(Connection* c, std::string_view what, std::string_view bytes, uint64_t size);
  void Redact(std::string* s) const {
    if (secrets_ != nullptr && !s->empty()) secrets_->Redact(s);
  }

  std::string path_;
  UniqueFd listen_fd_;
  UniqueFd wake_fd_;
  EventSink* sink_;
  const SecretScanner* secrets_;
  const EventSocketDecisions decisions_;
  std::shared_ptr<AskShared> asks_;
  std::list<Connection> conns_;
  std::thread thread_;
  Event scratch_;
};

void Connection::OnLine(std::string_view line) { server->HandleLine(this, line); }
void Connection::OnOversized(std::string_view head, uint64_t size, bool complete) {
  server->HandleOversized(this, head, size);
}

void ServerImpl::Answer(Connection* c, std::string_view answer) {
  if (c->closed) return;
  c->out.append(answer);
  FlushConn(c);
}

void ServerImpl::FlushConn(Connection* c) {
  while (!c->out.empty() && !c->closed) {
    ssize_t n = RetryEintr([&] { return ::send(c->fd.get(), c->out.data(), c->out.size(), MSG_NOSIGNAL); });
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      c->closed = true;  // the client went away; what it sent is still recorded
      c->out.clear();
      return;
    }
    c->out.erase(0, static_cast<size_t>(n));
  }
  if (c->out.size() > kMaxPendingOutput) {
    c->closed = true;
    c->out.clear();
  }
}

void ServerImpl::RecordError(Connection* c, std::string_view what, std::string_view bytes, uint64_t size) {
  Event& e = scratch_;
  e.Clear();
  e.kind = EventKind::kProtocolError;
  e.mono_ns = ClockNs(CLOCK_MONOTONIC);
  e.wall_ns = ClockNs(CLOCK_REALTIME);
  e.pid = c->peer_pid;
  e.tid = c->peer_pid;
  e.server = "event-socket";
  e.text = "event socket: ";
  e.text.append(what);
  e.json.assign(bytes.substr(0, std::min(bytes.size(), kProtocolErrorSnippetBytes)));
  Redact(&e.json);
  e.size = static_cast<int64_t>(size);
  (void)sink_->Append(e);  // a failing writer is reported by whoever finishes it
}

void ServerImpl::HandleOversized(Connection* c, std::string_view head, uint64_t size) {
  std::string what = "line of " + std::to_string(size) + " bytes exceeds the maximum of " +
                     std::to_string(kMaxJsonLineBytes);
  RecordError(c, what, head, size);
  Answer(c, ErrorAnswer(what));
}

bool ServerImpl::ParseRequest(Connection* c, std::string_view line, Event* out) {
  Result<Event> parsed = Status::Internal("unparsed");
  bool hook = LooksLikeHookPayload(line);
  if (hook) {
    HookOptions o;
    if (secrets_ != nullptr) o.redact = [this](std::string* s) { Redact(s); };
    parsed = EventFromHookPayload(line, o);
  } else {
    parsed = EventFromJson(line, /*require_seq=*/false);
  }
  if (!parsed.ok()) {
    std::string what = (hook ? "bad hook payload: " : "bad event: ") + parsed.status().message();
    RecordError(c, what, line, line.size());
    Answer(c, ErrorAnswer(what));
    return false;
  }
  Event& e = parsed.value();
  if (e.kind == EventKind::kAnnotation && IsReservedRecorderText(e.text)) {
    std::string what = "annotation text \"" + e.text +
                       "\" is reserved for the recorder's own enforcement events and not accepted on the event socket";
    RecordError(c, what, line, line.size());
    Answer(c, ErrorAnswer(what));
    return false;
  }
  if (!AcceptedOnSocket(e.kind)) {
    std::string what = "kind \"" + std::string(EventKindName(e.kind)) +
                       "\" is recorded by the tracer and not accepted on the event socket";
    RecordError(c, what, line, line.size());
    Answer(c, ErrorAnswer(what));
    return false;
  }
  e.seq = 0;
  e.mono_ns = ClockNs(CLOCK_MONOTONIC);
  e.wall_ns = ClockNs(CLOCK_REALTIME);
  e.pid = c->peer_pid;
  e.tid = c->peer_pid;
  if (!hook) {
    // The bounds hook payloads and MCP messages get (recorder/jsonrpc_framing.h).
    const HookOptions bounds;
    const size_t max = e.kind == EventKind::kToolCall ? bounds.max_arguments_bytes : bounds.max_result_bytes;
    if ((e.kind == EventKind::kToolCall || e.kind == EventKind::kToolResult) && e.json.size() > max) {
      e.size = static_cast<int64_t>(e.json.size());
      e.json = TruncatedBodyJson(e.json);
    }
    Redact(&e.json);
    Redact(&e.text);
  }
  *out = std::move(e);
  return true;
}

void ServerImpl::HandleLine(Connection* c, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  if (c->waiting) {
    c->deferred.emplace_back(line);
    return;
  }
  // A decision request: {"decide": ...}. Events and hook payloads never have that top-level key.
  if (line.find("\"decide\"") != std::string_view::npos && !JsonNestingExceeds(line, kMaxJsonDepth)) {
    nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("decide")) {
      HandleDecide(c, j, line);
      return;
    }
  }
  Event e;
  if (!ParseRequest(c, line, &e)) return;
  Status st = sink_->Append(e);
  if (!st.ok()) {
    Answer(c, ErrorAnswer("recording failed: " + st.ToString()));
    return;
  }
  Answer(c, "{\"ok\":true}\n");
}

std::string ServerImpl::DecisionAnswer(const RequestDecision& d, const AskAnswer* a) const {
  nlohmann::json j = {{"ok", true},     {"policy", true},     {"decision", RequestVerdictName(d.verdict)},
                      {"rule", d.rule}, {"reason", d.reason}, {"mode", EnforceModeName(decisions_.mode)}};
  if (d.error) j["decider_error"] = true;
  if (a != nullptr) {
    j["answer"] = a->allow ? "allow" : "deny";
    j["by"] = a->who;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void ServerImpl::HandleDecide(Connection* c, const nlohmann::json& request, std::string_view line) {
  const nlohmann::json& x = request["decide"];
  if (!x.is_object()) {
    std::string what = "\"decide\" must be an object: a tool.call event or a pre-tool-use hook payload";
    RecordError(c, what, line, line.size());
    Answer(c, ErrorAnswer(what));
    return;
  }
  auto ra = request.find("resolve_ask");
  const bool resolve_ask = ra != request.end() && ra->is_boolean() && ra->get<bool>();
  Event e;
  if (!ParseRequest(c, x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), &e)) return;
  if (e.kind != EventKind::kToolCall) {
    std::string what = "only a tool.call (or a PreToolUse/BeforeTool hook payload) can be decided, not \"" +
                       std::string(EventKindName(e.kind)) + "\"";
    RecordError(c, what, line, line.size());
    Answer(c, ErrorAnswer(what));
    return;
  }
  // "record": false — the asker records the call itself (a nested proxy, through its own events).
  auto rec = request.find("record");
  const bool record = !(rec != request.end() && rec->is_boolean() && !rec->get<bool>());
  if (record) {
    Status st = sink_->Append(e);
    if (!st.ok()) {  // the asking side denies on an error answer
      Answer(c, ErrorAnswer("recording failed: " + st.ToString()));
      return;
    }
  }
  const EventSocketDecisions& decisions = decisions_;
  if (decisions.decider == nullptr) {
    Answer(c,
           "{\"ok\":true,\"policy\":false,\"decision\":\"allow\",\"rule\":\"\",\"reason\":\"this recording has no "
           "policy: nothing is enforced\"}\n");
    return;
  }
  RequestDecision d;
  try {
    d = decisions.decider->Decide(e);
  } catch (const std::exception& ex) {
    d = RequestDecision{};
    d.error = true;
    d.reason = std::string("the policy could not decide: ") + ex.what();
  }
  if (d.verdict == RequestVerdict::kAsk && resolve_ask && decisions.ask != nullptr &&
      decisions.mode == EnforceMode::kEnforce) {
    c->waiting = true;
    std::thread([asks = asks_, resolver = decisions.ask, conn = c, call = e, d]() mutable {
      AskAnswer a;
      try {
        a = resolver->Ask(call, d);
      } catch (const std::exception& ex) {
        a = AskAnswer{false, std::string("ask failed: ") + ex.what()};
      }
      std::lock_guard<std::mutex> lock(asks->mu);
      asks->done.push_back(AskShared::Done{conn, std::move(call), std::move(d), std::move(a)});
      uint64_t one = 1;
      (void)!::write(asks->fd.get(), &one, sizeof one);
    }).detach();
    return;
  }
  Answer(c, DecisionAnswer(d, nullptr));
}

void ServerImpl::FinishAsks() {
  uint64_t v;
  (void)!::read(asks_->fd.get(), &v, sizeof v);
  std::vector<AskShared::Done> done;
  {
    std::lock_guard<std::mutex> lock(asks_->mu);
    done.swap(asks_->done);
  }
  for (AskShared::Done& d : done) {
    (void)sink_->Append(MakeAnswerEvent(d.call, d.decision, decisions_.mode, d.answer));
    Connection* c = d.conn;
    Answer(c, DecisionAnswer(d.decision, &d.answer));
    c->waiting = false;
    while (!c->waiting && !c->deferred.empty()) {
      std::string line = std::move(c->deferred.front());
      c->deferred.pop_front();
      HandleLine(c, line);
    }
  }
}

void ServerImpl::Accept() {
  for (;;) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: poll again
    UniqueFd ufd(fd);
    if (conns_.size() >= kMaxConnections) continue;  // closes it
    ucred cred{};
    socklen_t len = sizeof cred;
    int32_t pid = 0;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) pid = cred.pid;
    Connection& c = conns_.emplace_back();
    c.server = this;
    c.fd = std::move(ufd);
    c.peer_pid = pid;
  }
}

bool ServerImpl::ReadConn(Connection* c) {
  char buf[kReadChunk];
  for (;;) {
    ssize_t n = RetryEintr([&] { return ::read(c->fd.get(), buf, sizeof buf); });
    if (n > 0) {
      c->splitter.Feed(std::string_view(buf, static_cast<size_t>(n)), c);
      if (c->closed) return false;
      if (c->waiting) return true;  // read on once its ask is answered
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    c->splitter.Finish(c);  // EOF or error: a last line without newline still counts
    return false;
  }
}

void ServerImpl::Loop() {
  std::vector<pollfd> fds;
  std::vector<Connection*> order;
  for (;;) {
    fds.clear();
    order.clear();
    fds.push_back({wake_fd_.get(), POLLIN, 0});
    fds.push_back({listen_fd_.get(), POLLIN, 0});
    fds.push_back({asks_->fd.get(), POLLIN, 0});
    for (Connection& c : conns_) {
      short ev = c.eof || c.waiting ? 0 : POLLIN;
      if (!c.out.empty()) ev |= POLLOUT;
      fds.push_back({c.fd.get(), ev, 0});
      order.push_back(&c);
    }
    int r = RetryEintr([&] { return ::poll(fds.data(), fds.size(), -1); });
    if (r < 0) continue;
    bool stopping = (fds[0].revents & POLLIN) != 0;
    if (!stopping && (fds[1].revents & POLLIN)) Accept();
    if (fds[2].revents & POLLIN) FinishAsks();
    for (size_t i = 0; i < order.size(); ++i) {
      Connection* c = order[i];
      short re = fds[i + 3].revents;
      if (re & POLLOUT) FlushConn(c);
      // When stopping, read every connection once more: drain what was already sent.
      if (!c->eof && !c->waiting && ((re & (POLLIN | POLLHUP | POLLERR)) || stopping)) {
        if (!ReadConn(c)) c->eof = true;
      }
      if ((re & POLLERR) && c->eof) c->closed = true;
    }
    // A connection whose ask is being answered stays: the answering thread refers to it.
    conns_.remove_if([](const Connection& c) { return !c.waiting && (c.closed || (c.eof && c.out.empty())); });
    if (stopping) return;
  }
}

}  // namespace

Result<std::unique_ptr<EventSocketServer>> EventSocketServer::Start(const std::string& path, EventSink* sink,
                                                                    const SecretScanner* secrets,
                                                                    EventSocketDecisions decisions) {
  AT_CHECK(sink != nullptr);
  sockaddr_un addr;
  AT_RETURN_IF_ERROR(MakeSockaddr(path, &addr));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::FromErrno("event socket: socket", errno);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Status::FromErrno("event socket: bind " + path, errno);
  }
  // Only this user may talk to the recording (the socket lives in a 0700 directory too, ideally).
  (void)::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), 128) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return Status::FromErrno("event socket: listen " + path, err);
  }
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) {
    int err = errno;
    ::unlink(path.c_str());
    return Status::FromErrno("event socket: eventfd", err);
  }
  auto asks = std::make_shared<AskShared>();
  asks->fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!asks->fd.valid()) {
    int err = errno;
    ::unlink(path.c_str());
    return Status::FromErrno("event socket: eventfd", err);
  }
  return std::unique_ptr<EventSocketServer>(
      new ServerImpl(path, std::move(fd), std::move(wake), sink, secrets, decisions, std::move(asks)));
}

// ---------------------------------------------------------------------------------------------------
// Client

Result<std::unique_ptr<EventSocketClient>> EventSocketClient::Connect(const std::string& path) {
  sockaddr_un addr;
  AT_RETURN_IF_ERROR(MakeSockaddr(path, &addr));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::FromErrno("event socket: socket", errno);
  if (RetryEintr([&] { return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr); }) != 0) {
    return Status::FromErrno("event socket: connect " + path, errno);
  }
  return std::unique_ptr<EventSocketClient>(new EventSocketClient(std::move(fd)));
}

Status EventSocketClient::SendLine(std::string_view line, int timeout_ms) {
  AT_RETURN_IF_ERROR(Send(line));
  return Await(timeout_ms);
}

Status EventSocketClient::Send(std::string_view line) {
  if (line.find('\n') != std::string_view::npos) {
    return Status::InvalidArgument("event socket: a message must be one line");
  }
  out_.assign(line);
  out_.push_back('\n');
  size_t off = 0;
  while (off < out_.size()) {
    ssize_t n = RetryEintr([&] { return ::send(fd_.get(), out_.data() + off, out_.size() - off, MSG_NOSIGNAL); });
    if (n < 0) return Status::FromErrno("event socket: send", errno);
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<std::string> EventSocketClient::AwaitLine(int timeout_ms, bool* timed_out) {
  if (timed_out != nullptr) *timed_out = false;
  for (;;) {
    size_t nl = in_.find('\n');
    if (nl != std::string::npos) {
      std::string answer = in_.substr(0, nl);
      in_.erase(0, nl + 1);
      return answer;
    }
    if (in_.size() > 65536) return Status::IOError("event socket: answer too long");
    pollfd p{fd_.get(), POLLIN, 0};
    int r = RetryEintr([&] { return ::poll(&p, 1, timeout_ms); });
    if (r == 0) {
      if (timed_out != nullptr) *timed_out = true;
      return Status::IOError("event socket: no answer within " + std::to_string(timeout_ms) + " ms");
    }
    if (r < 0) return Status::FromErrno("event socket: poll", errno);
    char buf[4096];
    ssize_t n = RetryEintr([&] { return ::read(fd_.get(), buf, sizeof buf); });
    if (n == 0) return Status::IOError("event socket: the recorder closed the connection");
    if (n < 0) return Status::FromErrno("event socket: read", errno);
    in_.append(buf, static_cast<size_t>(n));
  }
}

Status EventSocketClient::Await(int timeout_ms, bool* timed_out) {
  AT_ASSIGN_OR_RETURN(std::string answer, AwaitLine(timeout_ms, timed_out));
  if (answer.find("\"ok\":true") != std::string::npos) return Status::Ok();
  std::string msg = answer;
  auto p = answer.find("\"error\":\"");
  if (p != std::string::npos) {
    msg = answer.substr(p + 9);
    if (msg.size() >= 2 && msg.compare(msg.size() - 2, 2, "\"}") == 0) msg.resize(msg.size() - 2);
  }
  return Status::InvalidArgument("the recorder refused the event: " + msg);
}

Result<EventSocketClient::Decision> EventSocketClient::Decide(std::string_view request_json, bool resolve_ask,
                                                              int timeout_ms, bool record) {
  std::string line = "{\"decide\":";
  line.append(request_json);
  line += resolve_ask ? ",\"resolve_ask\":true" : ",\"resolve_ask\":false";
  line += record ? "}" : ",\"record\":false}";
  AT_RETURN_IF_ERROR(Send(line));
  AT_ASSIGN_OR_RETURN(std::string answer, AwaitLine(timeout_ms));
  using Json = nlohmann::json;
  Json j = Json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::IOError("event socket: the answer is not a JSON object: " + answer.substr(0, 200));
  auto ok = j.find("ok");
  if (ok == j.end() || !ok->is_boolean() || !ok->get<bool>()) {
    std::string err = j.value("error", std::string("(no reason given)"));
    return Status::InvalidArgument("the recorder refused the request: " + err);
  }
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Decision d;
  auto pol = j.find("policy");
  d.policy = pol != j.end() && pol->is_boolean() && pol->get<bool>();
  auto verdict = ParseRequestVerdict(str("decision"));
  if (!verdict) return Status::IOError("event socket: the answer has no valid \"decision\": " + answer.substr(0, 200));
  d.decision.verdict = *verdict;
  d.decision.rule = str("rule");
  d.decision.reason = str("reason");
  auto de = j.find("decider_error");
  d.decision.error = de != j.end() && de->is_boolean() && de->get<bool>();
  d.mode = ParseEnforceMode(str("mode")).value_or(EnforceMode::kEnforce);
  if (j.contains("answer")) {
    d.answered = true;
    d.answer.allow = str("answer") == "allow";
    d.answer.who = str("by");
  }
  return d;
}

Status EventSocketClient::SendEvent(const Event& event, int timeout_ms) {
  std::string line;
  AppendEventJson(event, &line);
  return SendLine(line, timeout_ms);
}

}  // namespace agenttrace
