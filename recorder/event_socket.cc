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
#include <list>
#include <thread>
#include <vector>

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

int64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

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

struct Connection final : LineSink {
  ServerImpl* server = nullptr;
  UniqueFd fd;
  int32_t peer_pid = 0;
  LineSplitter splitter{kMaxJsonLineBytes};
  std::string out;
  bool eof = false;     // the client finished sending; answers may still be flushed
  bool closed = false;  // gone: drop it

  void OnLine(std::string_view line) override;
  void OnOversized(std::string_view head, uint64_t size, bool complete) override;
  void OnTrailingBytes(std::string_view bytes) override { OnLine(bytes); }
};

class ServerImpl final : public EventSocketServer {
 public:
  ServerImpl(std::string path, UniqueFd listen_fd, UniqueFd wake_fd, AsyncSessionWriter* sink,
             const SecretScanner* secrets)
      : path_(std::move(path)),
        listen_fd_(std::move(listen_fd)),
        wake_fd_(std::move(wake_fd)),
        sink_(sink),
        secrets_(secrets) {
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
  AsyncSessionWriter* sink_;
  const SecretScanner* secrets_;
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
  e.mono_ns = NowNs(CLOCK_MONOTONIC);
  e.wall_ns = NowNs(CLOCK_REALTIME);
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

void ServerImpl::HandleLine(Connection* c, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
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
    return;
  }
  Event& e = parsed.value();
  if (!AcceptedOnSocket(e.kind)) {
    std::string what = "kind \"" + std::string(EventKindName(e.kind)) +
                       "\" is recorded by the tracer and not accepted on the event socket";
    RecordError(c, what, line, line.size());
    Answer(c, ErrorAnswer(what));
    return;
  }
  e.seq = 0;
  e.mono_ns = NowNs(CLOCK_MONOTONIC);
  e.wall_ns = NowNs(CLOCK_REALTIME);
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
  Status st = sink_->Append(e);
  if (!st.ok()) {
    Answer(c, ErrorAnswer("recording failed: " + st.ToString()));
    return;
  }
  Answer(c, "{\"ok\":true}\n");
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
    for (Connection& c : conns_) {
      short ev = c.eof ? 0 : POLLIN;
      if (!c.out.empty()) ev |= POLLOUT;
      fds.push_back({c.fd.get(), ev, 0});
      order.push_back(&c);
    }
    int r = RetryEintr([&] { return ::poll(fds.data(), fds.size(), -1); });
    if (r < 0) continue;
    bool stopping = (fds[0].revents & POLLIN) != 0;
    if (!stopping && (fds[1].revents & POLLIN)) Accept();
    for (size_t i = 0; i < order.size(); ++i) {
      Connection* c = order[i];
      short re = fds[i + 2].revents;
      if (re & POLLOUT) FlushConn(c);
      // When stopping, read every connection once more: drain what was already sent.
      if (!c->eof && ((re & (POLLIN | POLLHUP | POLLERR)) || stopping)) {
        if (!ReadConn(c)) c->eof = true;
      }
      if ((re & POLLERR) && c->eof) c->closed = true;
    }
    conns_.remove_if([](const Connection& c) { return c.closed || (c.eof && c.out.empty()); });
    if (stopping) return;
  }
}

}  // namespace

Result<std::unique_ptr<EventSocketServer>> EventSocketServer::Start(const std::string& path,
                                                                   AsyncSessionWriter* sink,
                                                                   const SecretScanner* secrets) {
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
  return std::unique_ptr<EventSocketServer>(
      new ServerImpl(path, std::move(fd), std::move(wake), sink, secrets));
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

Status EventSocketClient::Await(int timeout_ms, bool* timed_out) {
  if (timed_out != nullptr) *timed_out = false;
  for (;;) {
    size_t nl = in_.find('\n');
    if (nl != std::string::npos) {
      std::string answer = in_.substr(0, nl);
      in_.erase(0, nl + 1);
      if (answer.find("\"ok\":true") != std::string::npos) return Status::Ok();
      std::string msg = answer;
      auto p = answer.find("\"error\":\"");
      if (p != std::string::npos) {
        msg = answer.substr(p + 9);
        if (msg.size() >= 2 && msg.compare(msg.size() - 2, 2, "\"}") == 0) msg.resize(msg.size() - 2);
      }
      return Status::InvalidArgument("the recorder refused the event: " + msg);
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

Status EventSocketClient::SendEvent(const Event& event, int timeout_ms) {
  std::string line;
  AppendEventJson(event, &line);
  return SendLine(line, timeout_ms);
}

}  // namespace agenttrace
