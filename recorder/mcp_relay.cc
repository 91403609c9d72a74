#include "recorder/mcp_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <thread>

#include "format/clock.h"
#include "format/decision_event.h"
#include "format/mcp_refusal.h"
#include "format/sys.h"
#include "recorder/mcp_proxy.h"

namespace agenttrace::mcp_relay {

void Signal(int efd) {
  uint64_t one = 1;
  (void)!::write(efd, &one, sizeof one);
}

namespace {

void Drain(int efd) {
  uint64_t v;
  (void)!::read(efd, &v, sizeof v);
}

uint64_t CountMessages(std::string_view s) {
  if (s.empty()) return 0;
  uint64_t n = static_cast<uint64_t>(std::count(s.begin(), s.end(), '\n'));
  return s.back() == '\n' ? n : n + 1;
}

// Bytes waiting for the peer. The reader bounds it (it stops reading at max_buffered_bytes).
class PendingBytes {
 public:
  size_t size() const { return buf_.size() - off_; }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return std::string_view(buf_).substr(off_); }
  void Append(std::string_view s) {
    if (off_ == buf_.size()) {
      buf_.clear();
      off_ = 0;
    }
    buf_.append(s);
  }
  // Writes what the peer takes now. False when the peer is gone.
  bool WriteSome(Output& out) {
    while (!empty()) {
      ssize_t n = RetryEintr([&] { return out.Write(buf_.data() + off_, size()); });
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      if (n == 0) return true;
      off_ += static_cast<size_t>(n);
      if (!out.MayWriteAnytime()) break;  // a blocking pipe takes one write per POLLOUT
    }
    if (off_ == buf_.size()) {
      buf_.clear();
      off_ = 0;
    } else if (off_ > (1u << 20) && off_ * 2 > buf_.size()) {
      buf_.erase(0, off_);
      off_ = 0;
    }
    return true;
  }
  void Clear() {
    buf_.clear();
    off_ = 0;
  }

 private:
  std::string buf_;
  size_t off_ = 0;
};

// One tools/call waiting for its decision.
struct DecisionItem : ToolCallDecision {
  std::string bytes;  // the request line as read (with its newline, if it had one)
};

// Decides tools/call requests in request order on its own thread, so that a slow decider (a human
// answering an ask, the enclosing session's socket) holds only the tool calls, not other messages.
// Submit/TakeDone/Outstanding from the relay's thread.
class DecisionWorker {
 public:
  DecisionWorker(RequestDecider* decider, AskResolver* ask, EnforceMode mode) : state_(std::make_shared<State>()) {
    state_->decider = decider;
    state_->ask = ask;
    state_->mode = mode;
    state_->fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    AT_CHECK(state_->fd.valid());
    thread_ = std::thread([s = state_] { Loop(*s); });
  }
  ~DecisionWorker() { Shutdown(); }
  int fd() const { return state_->fd.get(); }
  void Submit(std::unique_ptr<DecisionItem> item) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->todo.push_back(std::move(item));
    ++outstanding_;
    state_->cv.notify_one();
  }
  std::vector<std::unique_ptr<DecisionItem>> TakeDone() {
    Drain(fd());
    std::lock_guard<std::mutex> lock(state_->mu);
    std::vector<std::unique_ptr<DecisionItem>> out;
    out.swap(state_->done);
    outstanding_ -= out.size();
    return out;
  }
  size_t outstanding() const { return outstanding_; }
  // Items not decided yet (at shutdown), for the count of what was not delivered.
  std::vector<std::unique_ptr<DecisionItem>> TakeUndecided() {
    std::lock_guard<std::mutex> lock(state_->mu);
    std::vector<std::unique_ptr<DecisionItem>> out;
    for (auto& i : state_->todo) out.push_back(std::move(i));
    state_->todo.clear();
    for (auto& i : state_->done) out.push_back(std::move(i));
    state_->done.clear();
    return out;
  }
  // Stops the thread. A decision in progress (a human who never answers) must not hold the proxy's
  // shutdown: after a bounded wait the thread is left to finish on its own (it owns its state).
  void Shutdown() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->closed = true;
      state_->cv.notify_all();
    }
    std::unique_lock<std::mutex> lock(state_->mu);
    if (state_->exit_cv.wait_for(lock, kDecisionStopWait, [&] { return state_->exited; })) {
      lock.unlock();
      thread_.join();
    } else {
      lock.unlock();
      thread_.detach();
    }
  }

 private:
  struct State {
    RequestDecider* decider = nullptr;
    AskResolver* ask = nullptr;
    EnforceMode mode = EnforceMode::kEnforce;
    UniqueFd fd;
    std::mutex mu;
    std::condition_variable cv, exit_cv;
    std::deque<std::unique_ptr<DecisionItem>> todo;
    std::vector<std::unique_ptr<DecisionItem>> done;
    bool closed = false;
    bool exited = false;
  };

  static void Decide(State& s, DecisionItem& item) { DecideToolCall(s.decider, s.ask, s.mode, &item); }

  static void Loop(State& s) {
    for (;;) {
      std::unique_ptr<DecisionItem> item;
      {
        std::unique_lock<std::mutex> lock(s.mu);
        s.cv.wait(lock, [&] { return s.closed || !s.todo.empty(); });
        if (s.closed) break;
        item = std::move(s.todo.front());
        s.todo.pop_front();
      }
      Decide(s, *item);
      {
        std::lock_guard<std::mutex> lock(s.mu);
        s.done.push_back(std::move(item));
      }
      Signal(s.fd.get());
    }
    std::lock_guard<std::mutex> lock(s.mu);
    s.exited = true;
    s.exit_cv.notify_all();
  }

  std::shared_ptr<State> state_;
  std::thread thread_;
  size_t outstanding_ = 0;
};

// agent -> server.
// At the proxy's stop: what is still readable on `o.in_fd` (at most max_buffered_bytes, since a
// grandchild may write for ever) is queued for the record, counted, and added to *undelivered.
void DrainForTheRecord(const RelayOptions& o, Direction dir, RelayStats* stats, std::string* undelivered) {
  std::vector<char> buf(kReadBytes);
  size_t drained = 0;
  while (drained < o.max_buffered_bytes) {
    pollfd p{o.in_fd, POLLIN, 0};
    if (RetryEintr([&] { return ::poll(&p, 1, 0); }) <= 0 || !(p.revents & POLLIN)) break;
    ssize_t n = RetryEintr([&] { return ::read(o.in_fd, buf.data(), buf.size()); });
    if (n <= 0) break;
    std::string_view d(buf.data(), static_cast<size_t>(n));
    o.queue->PushBytes(dir, d, ClockNs(CLOCK_MONOTONIC), ClockNs(CLOCK_REALTIME));
    stats->bytes += d.size();
    undelivered->append(d);
    drained += d.size();
  }
}

class UpRelay final : public LineSink {
 public:
  UpRelay(const RelayOptions& o, RelayStats* stats) : o_(o), stats_(stats), splitter_(o.max_message_bytes) {
    if (o_.decider != nullptr) worker_ = std::make_unique<DecisionWorker>(o_.decider, o_.ask, o_.mode);
  }

  void Run() {
    std::vector<char> buf(kReadBytes);
    bool in_done = false, hup_seen = false, stopping = false;
    for (;;) {
      if (in_done && pending_.empty() && Outstanding() == 0) break;
      const size_t held = pending_.size() + splitter_.buffered();
      const bool room = !in_done && held < o_.max_buffered_bytes;
      pollfd p[4] = {{in_done || (!room && hup_seen) ? -1 : o_.in_fd,
                      static_cast<short>(room ? POLLIN | POLLRDHUP : POLLRDHUP), 0},
                     {deliver_ && !pending_.empty() ? o_.out->fd() : -1, POLLOUT, 0},
                     {o_.stop_fd, POLLIN, 0},
                     {worker_ != nullptr ? worker_->fd() : -1, POLLIN, 0}};
      if (RetryEintr([&] { return ::poll(p, 4, -1); }) < 0) break;
      if (p[2].revents & POLLIN) {
        stopping = true;
        break;
      }
      if (p[3].revents & POLLIN) TakeDecisions();
      if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        PeerGone();
      } else if ((p[1].revents & POLLOUT) && !pending_.WriteSome(*o_.out)) {
        PeerGone();
      }
      if (p[0].revents == 0) continue;
      if (room) {
        ssize_t n = RetryEintr([&] { return ::read(o_.in_fd, buf.data(), buf.size()); });
        if (n > 0) {
          OnRead(std::string_view(buf.data(), static_cast<size_t>(n)));
          if (deliver_ && o_.out->MayWriteAnytime() && !pending_.WriteSome(*o_.out)) PeerGone();
        } else {
          in_done = true;
          if (o_.decider != nullptr) splitter_.Finish(this);
          InputEnded();
        }
      } else if (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR)) {
        // Full, and the agent closed its end: it will send nothing more than what is still unread.
        hup_seen = true;
        InputEnded();
      }
    }
    if (stopping) Stop();
    InputEnded();
    o_.queue->PushEof(Direction::kToServer);
  }

  // LineSink, with a decider only: whole lines are forwarded (or refused) one by one.
  void OnLine(std::string_view line) override { Complete(line, true); }
  void OnTrailingBytes(std::string_view bytes) override { Complete(bytes, false); }
  void OnOversized(std::string_view head, uint64_t size, bool complete) override {
    // Cannot be read whole, so cannot be decided: not forwarded.
    Event e = ProtocolError();
    e.text = "message of " + std::to_string(size) + " bytes exceeds the maximum" +
             (complete ? "" : " (stream ended before its newline)") + std::string(kRefusedOversizedSuffix);
    e.json.assign(head.substr(0, std::min(head.size(), kProtocolErrorSnippetBytes)));
    if (o_.tracker.redact) o_.tracker.redact(&e.json);
    e.size = static_cast<int64_t>(size);
    o_.queue->PushEvent(std::move(e));
  }

 private:
  size_t Outstanding() const { return worker_ != nullptr ? worker_->outstanding() : 0; }

  void InputEnded() {
    if (input_end_signalled_) return;
    input_end_signalled_ = true;
    if (o_.on_input_end) o_.on_input_end();
  }

  void PeerGone() {
    if (!deliver_) return;
    deliver_ = false;
    Undelivered(pending_.view());
    pending_.Clear();
  }

  void Forward(std::string_view bytes) {
    if (deliver_) {
      pending_.Append(bytes);
    } else {
      Undelivered(bytes);
    }
  }

  void Undelivered(std::string_view bytes) {
    stats_->undelivered_bytes += bytes.size();
    stats_->undelivered_messages += CountMessages(bytes);
  }

  void OnRead(std::string_view data) {
    stats_->bytes += data.size();
    mono_ns_ = ClockNs(CLOCK_MONOTONIC);
    wall_ns_ = ClockNs(CLOCK_REALTIME);
    if (o_.decider == nullptr) {
      // The copy is queued before the bytes go out, so the queue order is causal.
      o_.queue->PushBytes(Direction::kToServer, data, mono_ns_, wall_ns_);
      Forward(data);
      return;
    }
    splitter_.Feed(data, this);
  }

  void Complete(std::string_view line, bool newline) {
    std::string bytes(line);
    if (newline) bytes.push_back('\n');
    o_.queue->PushBytes(Direction::kToServer, bytes, mono_ns_, wall_ns_);
    auto item = std::make_unique<DecisionItem>();
    ClientMessageVerdict v = ClassifyClientMessage(line, o_.tracker, &item->call);
    switch (v.action) {
      case ClientMessageAction::kForward:
        Forward(bytes);
        return;
      case ClientMessageAction::kDecide:
        item->call.server = o_.server_name->Get();
        item->call.mono_ns = mono_ns_;
        item->call.wall_ns = wall_ns_;
        item->bytes = std::move(bytes);
        worker_->Submit(std::move(item));
        return;
      case ClientMessageAction::kRefuse:
        Refuse(line, bytes, v);
        return;
    }
  }

  // A protocol.error about what the agent sent, at the time of the read it came in.
  Event ProtocolError() const {
    Event e;
    e.kind = EventKind::kProtocolError;
    e.direction = Direction::kToServer;
    e.mono_ns = mono_ns_;
    e.wall_ns = wall_ns_;
    e.server = o_.server_name->Get();
    return e;
  }

  // A message that could be a tools/call but cannot be decided as the server would read it: recorded
  // as a protocol.error, answered when it has an id, never forwarded.
  void Refuse(std::string_view line, std::string_view bytes, const ClientMessageVerdict& v) {
    Event e = RefusalEvent(v, line, o_.mode, o_.tracker.redact);
    e.mono_ns = mono_ns_;
    e.wall_ns = wall_ns_;
    e.server = o_.server_name->Get();
    o_.queue->PushEvent(std::move(e));
    if (o_.mode == EnforceMode::kAudit) {  // recorded as it would have been refused; nothing blocked
      Forward(bytes);
      return;
    }
    ++stats_->denied;
    if (!v.answer_ids.empty()) o_.injector->Add(RefusalAnswer(v) + "\n");
  }

  void TakeDecisions() {
    for (auto& item : worker_->TakeDone()) {
      // The decider records its decision; the proxy records who answered an ask.
      if (item->asked) {
        o_.queue->PushEvent(MakeAnswerEvent(item->call, item->decision, o_.mode, item->answer));
      }
      if (item->asked) ++stats_->asked;
      if (item->allowed) {
        Forward(item->bytes);
      } else {
        ++stats_->denied;
        o_.injector->Add(DenialAnswer(*item) + "\n");
      }
    }
  }

  // The proxy stops (the server is gone and the agent-bound side is done): what was read and not
  // delivered is counted; what the agent still has in the pipe is read for the record (bounded).
  void Stop() {
    std::string undelivered(pending_.view());
    pending_.Clear();
    if (worker_ != nullptr) {
      for (auto& item : worker_->TakeUndecided()) undelivered += item->bytes;
    }
    DrainForTheRecord(o_, Direction::kToServer, stats_, &undelivered);
    if (splitter_.buffered() > 0) {
      // A partial line that was held for its decision: recorded as it is (the recorder reports it).
      LineSplitter tail;
      struct Keep final : LineSink {
        std::string s;
        void OnLine(std::string_view l) override { s.append(l); }
        void OnOversized(std::string_view h, uint64_t, bool) override { s.append(h); }
        void OnTrailingBytes(std::string_view b) override { s.append(b); }
      } keep;
      splitter_.Finish(&keep);
      o_.queue->PushBytes(Direction::kToServer, keep.s, ClockNs(CLOCK_MONOTONIC), ClockNs(CLOCK_REALTIME));
      undelivered += keep.s;
    }
    Undelivered(undelivered);
    if (worker_ != nullptr) worker_->Shutdown();
  }

  const RelayOptions& o_;
  RelayStats* stats_;
  PendingBytes pending_;
  LineSplitter splitter_;
  std::unique_ptr<DecisionWorker> worker_;
  bool deliver_ = true;
  bool input_end_signalled_ = false;
  int64_t mono_ns_ = 0, wall_ns_ = 0;
};

// server -> agent.
class DownRelay final : public LineSink {
 public:
  DownRelay(const RelayOptions& o, RelayStats* stats) : o_(o), stats_(stats) {}

  void Run() {
    std::vector<char> buf(kReadBytes);
    bool in_done = false, stopping = false;
    for (;;) {
      if (in_done && pending_.empty() && waiting_.empty()) break;
      const bool room = !in_done && pending_.size() < o_.max_buffered_bytes;
      pollfd p[4] = {{room ? o_.in_fd : -1, POLLIN, 0},
                     {deliver_ && !pending_.empty() ? o_.out->fd() : -1, POLLOUT, 0},
                     {o_.stop_fd, POLLIN, 0},
                     {o_.injector != nullptr ? o_.injector->fd() : -1, POLLIN, 0}};
      if (RetryEintr([&] { return ::poll(p, 4, -1); }) < 0) break;
      if (p[2].revents & POLLIN) {
        stopping = true;
        break;
      }
      if (p[3].revents & POLLIN) {
        for (std::string& l : o_.injector->Take()) waiting_.push_back(std::move(l));
        if (boundary_) FlushWaiting();
      }
      if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        PeerGone();
      } else if ((p[1].revents & POLLOUT) && !pending_.WriteSome(*o_.out)) {
        PeerGone();
      }
      if (p[0].revents == 0) continue;
      ssize_t n = RetryEintr([&] { return ::read(o_.in_fd, buf.data(), buf.size()); });
      if (n > 0) {
        OnRead(std::string_view(buf.data(), static_cast<size_t>(n)));
        if (deliver_ && o_.out->MayWriteAnytime() && !pending_.WriteSome(*o_.out)) PeerGone();
      } else {
        in_done = true;
        boundary_ = true;  // the server is done: its last line is as complete as it will be
        FlushWaiting();
      }
    }
    if (stopping) Stop();
    o_.queue->PushEof(Direction::kToAgent);
  }

  // The initialize answer's serverInfo.name, for decisions (LineSink of the sniffing splitter).
  void OnLine(std::string_view line) override {
    if (auto name = ServerInfoName(line)) o_.server_name->Set(std::move(*name));
  }
  void OnOversized(std::string_view, uint64_t, bool) override {}
  void OnTrailingBytes(std::string_view) override {}

 private:
  static constexpr size_t kSniffBytes = 4u << 20;

  void PeerGone() {
    if (!deliver_) return;
    deliver_ = false;
    stats_->lost_bytes += pending_.size();
    pending_.Clear();
  }

  void Append(std::string_view bytes) {
    o_.queue->PushBytes(Direction::kToAgent, bytes, mono_ns_, wall_ns_);
    if (deliver_) {
      pending_.Append(bytes);
    } else {
      stats_->lost_bytes += bytes.size();
    }
  }

  void FlushWaiting() {
    mono_ns_ = ClockNs(CLOCK_MONOTONIC);
    wall_ns_ = ClockNs(CLOCK_REALTIME);
    for (const std::string& l : waiting_) Append(l);
    waiting_.clear();
  }

  void OnRead(std::string_view d) {
    stats_->bytes += d.size();
    mono_ns_ = ClockNs(CLOCK_MONOTONIC);
    wall_ns_ = ClockNs(CLOCK_REALTIME);
    if (o_.decider != nullptr && !o_.server_name->known() && sniffed_ < kSniffBytes) {
      sniffed_ += d.size();
      sniff_.Feed(d, this);
    }
    // Lines the proxy answers itself go in where a server line ends, never inside one.
    while (!d.empty()) {
      if (waiting_.empty()) {
        Append(d);
        boundary_ = d.back() == '\n';
        return;
      }
      size_t nl = d.find('\n');
      if (nl == std::string_view::npos) {
        Append(d);
        boundary_ = false;
        return;
      }
      Append(d.substr(0, nl + 1));
      d.remove_prefix(nl + 1);
      boundary_ = true;
      FlushWaiting();
    }
  }

  void Stop() {
    std::string undelivered(pending_.view());
    pending_.Clear();
    for (const std::string& l : waiting_) undelivered += l;
    waiting_.clear();
    // What the server (or a grandchild holding its stdout) still wrote is recorded, not delivered;
    // bounded, since a grandchild may write for ever.
    DrainForTheRecord(o_, Direction::kToAgent, stats_, &undelivered);
    if (deliver_) {
      stats_->undelivered_bytes += undelivered.size();
      stats_->undelivered_messages += CountMessages(undelivered);
    } else {
      stats_->lost_bytes += undelivered.size();
    }
  }

  const RelayOptions& o_;
  RelayStats* stats_;
  PendingBytes pending_;
  std::vector<std::string> waiting_;  // injected lines waiting for the end of a server line
  bool boundary_ = true;              // the server's bytes so far end at a line end
  bool deliver_ = true;
  LineSplitter sniff_{64u << 10};
  size_t sniffed_ = 0;
  int64_t mono_ns_ = 0, wall_ns_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------

std::vector<char> ChunkQueue::GetBuffer() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pool_.empty()) return {};
  std::vector<char> b = std::move(pool_.back());
  pool_.pop_back();
  return b;
}

void ChunkQueue::Recycle(std::vector<char> b) {
  if (b.capacity() > kReadBytes) return;  // keep only ordinary buffers
  std::lock_guard<std::mutex> lock(mu_);
  if (pool_.size() < 64) pool_.push_back(std::move(b));
}

void ChunkQueue::Push(Chunk c) {
  std::unique_lock<std::mutex> lock(mu_);
  not_full_.wait(lock, [&] { return bytes_ < kMaxQueuedBytes || closed_; });
  bytes_ += c.len;
  q_.push_back(std::move(c));
  not_empty_.notify_one();
}

void ChunkQueue::PushBytes(Direction dir, std::string_view bytes, int64_t mono_ns, int64_t wall_ns) {
  if (bytes.empty()) return;
  Chunk c;
  c.dir = dir;
  c.mono_ns = mono_ns;
  c.wall_ns = wall_ns;
  c.buf = GetBuffer();
  c.buf.assign(bytes.begin(), bytes.end());
  c.len = bytes.size();
  Push(std::move(c));
}

void ChunkQueue::PushEvent(Event e) {
  Chunk c;
  c.dir = e.direction;
  c.event = std::make_unique<Event>(std::move(e));
  Push(std::move(c));
}

void ChunkQueue::PushEof(Direction dir) {
  Chunk c;
  c.dir = dir;
  c.eof = true;
  c.mono_ns = ClockNs(CLOCK_MONOTONIC);
  c.wall_ns = ClockNs(CLOCK_REALTIME);
  Push(std::move(c));
}

bool ChunkQueue::Pop(Chunk* out) {
  std::unique_lock<std::mutex> lock(mu_);
  not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
  if (q_.empty()) return false;
  *out = std::move(q_.front());
  q_.pop_front();
  bytes_ -= out->len;
  not_full_.notify_all();
  return true;
}

void ChunkQueue::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  not_empty_.notify_all();
  not_full_.notify_all();
}

// Written without ever blocking indefinitely: a peer that stops reading must not hold a forwarding
// thread, since the proxy's shutdown joins it.
//   - A non-blocking descriptor (our end of the server's stdin) is written as it is.
//   - A socket (node's stdio pipes are socket pairs) is written with MSG_DONTWAIT.
//   - Anything else, a pipe above all, is written at most PIPE_BUF bytes after each POLLOUT: a pipe
//     reports POLLOUT only with a free page, which such a write fills without blocking, as long as
//     nobody else writes to that pipe meanwhile (the agent's stdout is ours alone). The descriptor's
//     flags are not changed: O_NONBLOCK would leak to whoever shares its open file description (the
//     agent, a terminal), and reopening it through /proc would show up in a traced session. A
//     terminal stopped by flow control can still block such a write (docs/cli.md).
Output::Output(int fd) : fd_(fd) {
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) socket_ = true;
  nonblocking_ = (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

ssize_t Output::Write(const char* data, size_t len) {
  if (socket_) return ::send(fd_, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (!nonblocking_ && len > PIPE_BUF) len = PIPE_BUF;
  return ::write(fd_, data, len);
}

Injector::Injector() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) { AT_CHECK(fd_.valid()); }

void Injector::Add(std::string line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(std::move(line));
  }
  Signal(fd_.get());
}

std::vector<std::string> Injector::Take() {
  Drain(fd_.get());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.swap(lines_);
  return out;
}

void RunUp(const RelayOptions& o, RelayStats* stats) { UpRelay(o, stats).Run(); }
void RunDown(const RelayOptions& o, RelayStats* stats) { DownRelay(o, stats).Run(); }

}  // namespace agenttrace::mcp_relay
