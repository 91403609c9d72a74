// Internals of the MCP stdio proxy (recorder/mcp_proxy.h), shared by nothing else: the two forwarding
// loops (one thread per direction) and what they hand to the proxy's recorder thread.
//
// Each loop reads its input into a bounded buffer (McpProxyOptions::max_buffered_bytes) and writes it
// out as its peer takes it, so reading never waits for the peer: a server that stops reading while it
// is blocked writing its answers, to an agent that stopped reading too, can no longer keep the proxy
// from seeing the end of the agent's input. Beyond the bound a loop stops reading (back-pressure);
// even then the agent closing its end is seen (POLLHUP on a pipe, POLLRDHUP on a socket), so the
// proxy's time-bounded shutdown starts.
//
// With a RequestDecider, the agent->server loop forwards whole lines only: each `tools/call` request
// is decided (on a worker thread, in request order) before it is forwarded; other messages flow
// meanwhile. A denied request is answered by the server->agent loop, which inserts the JSON-RPC error
// between the server's lines.
//
// Thread-safety: each class says which threads use it.
#ifndef AGENTTRACE_RECORDER_MCP_RELAY_H_
#define AGENTTRACE_RECORDER_MCP_RELAY_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "format/clock.h"
#include "format/decision_event.h"
#include "format/event.h"
#include "format/request_decider.h"
#include "format/unique_fd.h"
#include "recorder/jsonrpc_framing.h"
#include "recorder/mcp_decision.h"

namespace agenttrace::mcp_relay {

inline constexpr size_t kReadBytes = 256u << 10;

void Signal(int efd);

// A copy of forwarded bytes (or an event made by the proxy itself) on its way to the recorder thread.
struct Chunk {
  Direction dir = Direction::kNone;
  int64_t mono_ns = 0;
  int64_t wall_ns = 0;
  std::vector<char> buf;
  size_t len = 0;
  bool eof = false;
  std::unique_ptr<Event> event;  // given to the sink as it is, in stream order
};

// Forwarding threads push, the recorder thread pops. Push waits while kMaxQueuedBytes are queued
// (the recorder never drops bytes). Thread-safe.
class ChunkQueue {
 public:
  std::vector<char> GetBuffer();
  void Recycle(std::vector<char> b);
  void Push(Chunk c);
  void PushBytes(Direction dir, std::string_view bytes, int64_t mono_ns, int64_t wall_ns);
  void PushEvent(Event e);
  void PushEof(Direction dir);
  bool Pop(Chunk* out);  // false when closed and empty
  void Close();

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Chunk> q_;
  std::vector<std::vector<char>> pool_;
  size_t bytes_ = 0;
  bool closed_ = false;
};

// Where forwarded bytes go, written without ever blocking indefinitely (see mcp_relay.cc).
class Output {
 public:
  explicit Output(int fd);
  int fd() const { return fd_; }
  // One write; -1 with EAGAIN when it would block. Call after POLLOUT unless MayWriteAnytime().
  ssize_t Write(const char* data, size_t len);
  bool MayWriteAnytime() const { return socket_ || nonblocking_; }

 private:
  int fd_;
  bool socket_ = false;
  bool nonblocking_ = false;
};

// The server's name as the agent-bound loop learns it from the initialize answer.
using ServerName = McpServerName;

// Lines (each ending in '\n') the agent-bound loop must send to the agent between the server's lines.
// Thread-safe; fd() is readable while lines wait.
class Injector {
 public:
  Injector();
  void Add(std::string line);
  std::vector<std::string> Take();
  int fd() const { return fd_.get(); }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
  UniqueFd fd_;
};

struct RelayStats {
  uint64_t bytes = 0;  // read from the input
  // Read and never delivered, recorded as a gap: toward the server, any (the recording holds requests
  // the server never got); toward the agent, when the proxy stopped while the agent was not reading.
  uint64_t undelivered_bytes = 0;
  uint64_t undelivered_messages = 0;
  uint64_t lost_bytes = 0;  // toward the agent after it closed its end: not a gap
  uint64_t denied = 0;      // tools/call requests and undecidable messages refused (agent->server only)
  uint64_t asked = 0;       // of which asks, or asks answered
};

struct RelayOptions {
  int in_fd = -1;
  Output* out = nullptr;
  int stop_fd = -1;
  size_t max_buffered_bytes = 16u << 20;
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  ChunkQueue* queue = nullptr;
  ServerName* server_name = nullptr;
  Injector* injector = nullptr;
  // agent->server only:
  RequestDecider* decider = nullptr;         // null: forward bytes as they come
  AskResolver* ask = nullptr;                // null: an ask is denied
  EnforceMode mode = EnforceMode::kEnforce;  // audit: decided and recorded, never blocked
  McpTrackerOptions tracker;                 // how a tools/call becomes the event that is decided
  std::function<void()> on_input_end;        // the input ended (or its writer closed it); called once
};

// agent -> server. Runs on its own thread until the input ended and everything was delivered or
// dropped, or stop_fd fires.
void RunUp(const RelayOptions& o, RelayStats* stats);
// server -> agent. Idem; once stopped, drains what the server still wrote (recorded, not delivered).
void RunDown(const RelayOptions& o, RelayStats* stats);

}  // namespace agenttrace::mcp_relay

#endif  // AGENTTRACE_RECORDER_MCP_RELAY_H_
