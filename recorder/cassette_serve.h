// Serving a cassette (recorder/cassette.h) over stdio, and recording what the client saw.
//
// ServedRecorder turns the serving run into events exactly as the MCP proxy records a live one (the
// same McpTracker on the client's messages and on the answers sent back), and adds after each answer a
// "cassette.served" annotation saying where the answer came from. Transport-independent: an HTTP
// server feeds it the same way.
//
// RunStdioServe reads newline-delimited JSON-RPC from in_fd, answers on out_fd through the player,
// until in_fd ends. StdioUpstream is the live server of new_episodes/all: a child process spoken to over
// its stdin/stdout; its stderr is inherited.
//
// Thread-safety: none; each object is used from one thread.
#ifndef AGENTTRACE_RECORDER_CASSETTE_SERVE_H_
#define AGENTTRACE_RECORDER_CASSETTE_SERVE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/event.h"
#include "format/event_sink.h"
#include "format/status.h"
#include "format/unique_fd.h"
#include "recorder/cassette.h"
#include "recorder/jsonrpc_framing.h"

namespace agenttrace {

class ServedRecorder {
 public:
  // `sink` receives every event (server, direction, times set; seq and pid left to the writer) and must
  // outlive the recorder. Serving never depends on what it answers (see McpTracker).
  ServedRecorder(McpTrackerOptions options, EventSink& sink);
  // The client's message, read at the given times (recorded after it is answered, so that recording
  // does not delay the answer; call before OnStep of its answer).
  void OnClientLine(std::string_view line, int64_t mono_ns, int64_t wall_ns);
  // What the player did with it: the replies sent, then the served marker when it was a request.
  void OnStep(const PlayerStep& step);
  // At the end of the run.
  void Flush() { tracker_.Flush(); }
  // An annotation event (text, json) stamped now.
  void Annotate(std::string_view text, std::string json);

 private:
  McpTracker tracker_;
  EventSink& sink_;
};

// A live MCP server as a child process. Server-to-client requests are answered with a JSON-RPC error
// (-32601, unsupported by replay --serve) and are still returned to the caller so that it can say so.
class StdioUpstream final : public LiveUpstream {
 public:
  // Errors: NotFound / PermissionDenied when the command cannot be run, IOError for pipes and fork.
  static Result<std::unique_ptr<StdioUpstream>> Start(const std::vector<std::string>& command);
  ~StdioUpstream() override;  // closes the server's stdin; SIGTERM after 2 s, SIGKILL after 5 s

  Result<std::vector<std::string>> Exchange(const std::string& request) override;
  Status Notify(const std::string& notification) override;

 private:
  StdioUpstream(pid_t pid, UniqueFd in, UniqueFd out) : pid_(pid), in_(std::move(in)), out_(std::move(out)) {}
  Status WriteLine(const std::string& line);
  // The next complete line from the server; IOError when it exits or sends more than the maximum.
  Result<std::string> ReadLine();

  pid_t pid_;
  UniqueFd in_;   // the server's stdin
  UniqueFd out_;  // the server's stdout
  std::string buf_;
};

struct StdioServeOptions {
  int in_fd = 0;
  int out_fd = 1;
  size_t max_message_bytes = kDefaultMaxMessageBytes;
};

struct StdioServeResult {
  uint64_t requests = 0;
  uint64_t replayed = 0;
  uint64_t live = 0;
  uint64_t misses = 0;             // miss + unusable answers
  std::vector<std::string> notes;  // one line per miss / unusable / live problem (bounded)
};

// Serves until in_fd ends (or out_fd is gone). Every client line and every step goes to `recorder`
// (may be null) on a recording thread of its own, in order; its sink is written from that thread.
Result<StdioServeResult> RunStdioServe(const StdioServeOptions& options, CassettePlayer& player,
                                       ServedRecorder* recorder);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_CASSETTE_SERVE_H_
