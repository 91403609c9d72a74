// MCP cassettes: the recorded exchanges of stored sessions, served back to a live MCP client
// (`agenttrace replay --serve`, docs/cli.md "Replay tools from a cassette").
//
// Cassette is the index. It is built from the tool events the MCP proxy recorded (tool.call /
// tool.result, mcp.request / mcp.response, mcp.notification): each answered client-to-server request
// becomes one exchange holding its match key, the notifications the server sent while it was pending
// (progress, logging) and the answer body. The store keeps canonical JSON (keys sorted) of arguments,
// params and results, not the original bytes: a served answer is equal as JSON to the recorded one,
// not byte-identical. An exchange whose answer cannot be reproduced is kept with the reason (`unusable`)
// so that a matching request gets an error saying so instead of a wrong answer: a body stored as
// size + hash (above --max-result-bytes), a body with a secret fingerprint in it (redacted at recording),
// or an answer that depended on a server-to-client request (sampling, elicitation, roots), which a
// cassette cannot play.
//
// CassettePlayer is the transport-independent server: it takes one JSON-RPC message from the client
// and returns the messages to send back, in order (notifications first, then the answer carrying the
// live request's id). Match modes (MatchMode) and record modes (RecordMode) follow VCR/vcrpy; a miss
// goes to a LiveUpstream when the mode says so. The same player serves stdio and HTTP transports.
//
// Exchanges that a serving run itself replayed are marked in its recording (an annotation
// "cassette.served" after each answer, see kServedAnnotation); when such a session is loaded as a
// cassette only its live exchanges (new episodes) are indexed, so a cassette grows by appending.
//
// Thread-safety: none; one player per client connection, used from one thread. A Cassette is
// immutable once loaded and may be shared by players on different threads.
#ifndef AGENTTRACE_RECORDER_CASSETTE_H_
#define AGENTTRACE_RECORDER_CASSETTE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/event.h"
#include "format/event_source.h"
#include "format/status.h"

namespace agenttrace {

// Annotation text of the marker written after each answer of a serving run; its json:
// {"request_id":ID,"method":M,"tool":T,"served":"replayed"|"live"|"miss"|"unusable"|"local",
//  "source":"<session id>#<seq of the recorded answer>"}.
inline constexpr char kServedAnnotation[] = "cassette.served";
// Annotation text written once at the start of a serving run; json: {"sessions":[ids],"match":M,
// "record_mode":R,"server":S}. A gate tells replayed runs from live ones by it.
inline constexpr char kSourceAnnotation[] = "cassette.source";

// JSON-RPC error codes of the player's own answers (implementation-defined server error range).
inline constexpr int kCassetteMissCode = -32010;       // no recorded answer for this request
inline constexpr int kCassetteUnusableCode = -32011;   // recorded, but not reproducible (why in message)
inline constexpr int kCassetteLiveErrorCode = -32012;  // the live server failed (new_episodes / all)

enum class MatchMode {
  kMethodParams,  // method + params without _meta; identical requests in recorded order
  kStrict,        // method + all recorded params (initialize's included, _meta but its progressToken
                  // included), and every request must be the next recorded one
  kSequential,    // per method (and tool name): the recorded answers in order, whatever the params
};
enum class RecordMode {
  kNone,         // replay only; a miss is an error (the CI default)
  kOnce,         // no cassette: like kAll; else like kNone (decided by the caller, see docs)
  kNewEpisodes,  // misses go to the live server and are recorded
  kAll,          // everything goes to the live server and is recorded
};

std::optional<MatchMode> ParseMatchMode(std::string_view text);
std::optional<RecordMode> ParseRecordMode(std::string_view text);
std::string_view MatchModeName(MatchMode m);
std::string_view RecordModeName(RecordMode m);

struct CassetteNotification {
  std::string method;
  std::string params;  // canonical JSON, "" when the notification had none
};

struct CassetteExchange {
  std::string method;                               // "tools/call", "initialize", "tools/list", ...
  std::string tool;                                 // tools/call: the tool's name
  std::string params;                               // tools/call: arguments; else params (canonical JSON, "" when none)
  std::vector<CassetteNotification> notifications;  // sent by the server while the request was pending
  std::string answer;    // the result, or the error object when error is true (canonical JSON)
  bool error = false;    // a JSON-RPC error response (not a tool's isError result)
  std::string unusable;  // why the answer cannot be served; "" when it can
  std::string source;    // "<session id>#<seq of the answer event>"
  std::string server;    // the server name the recording gave it
};

// The exchanges of one MCP server, in recorded order (sessions in the order they were added).
class Cassette {
 public:
  // Adds the exchanges of one session's events. `server`: only events of this server ("" = any).
  // Events of other kinds are skipped. Errors: what `events` returns.
  Status AddSession(std::string_view session_id, EventSource& events, std::string_view server);

  // Keeps only the exchanges of `server`.
  void RetainServer(std::string_view server);

  const std::vector<CassetteExchange>& exchanges() const { return exchanges_; }
  // Servers seen (tool events' server names) in the sessions added, with the number of exchanges.
  const std::map<std::string, size_t>& servers() const { return servers_; }
  // Server-to-client requests recorded while no request was pending (roots/list after initialize,
  // ...): not replayable, reported by the caller.
  const std::vector<std::string>& unplayed_server_requests() const { return unplayed_requests_; }

 private:
  std::vector<CassetteExchange> exchanges_;
  std::map<std::string, size_t> servers_;
  std::vector<std::string> unplayed_requests_;
};

// A live MCP server the player forwards to (new_episodes, all). Exchange() sends one client request
// (id already replaced by the upstream's own) and returns every message the server sent until the
// answer to it, the answer last. The upstream answers server-to-client requests itself (unsupported).
class LiveUpstream {
 public:
  virtual ~LiveUpstream() = default;
  // `request` is a JSON-RPC request object as compact JSON. Errors: the server could not be started,
  // exited or sent something that is not JSON-RPC.
  virtual Result<std::vector<std::string>> Exchange(const std::string& request) = 0;
  // Sends a notification (no answer expected).
  virtual Status Notify(const std::string& notification) = 0;
};

struct PlayerOptions {
  MatchMode match = MatchMode::kMethodParams;
  RecordMode record = RecordMode::kNone;  // kOnce must be resolved by the caller to kNone or kAll
  // Applied to the live request's params before they are compared with the recorded (redacted) ones:
  // the recording's secret redaction, so that a request carrying a secret still matches. May be empty.
  std::function<void(std::string*)> redact;
  // Starts the live server (called at most once, on the first request that goes live). Required for
  // kNewEpisodes and kAll.
  std::function<Result<std::unique_ptr<LiveUpstream>>()> start_live;
};

// What happened to one client message (for the serving run's recording and its summary).
struct PlayerStep {
  std::vector<std::string> replies;  // messages to send to the client, in order (compact JSON)
  bool request = false;              // the message was a request (replies end with its answer)
  std::string served;                // "replayed", "live", "miss", "unusable", "local"; "" if no request
  std::string request_id;            // the live id, as JSON text
  std::string method, tool;
  std::string source;  // the exchange served, for "replayed" and "unusable"
  std::string note;    // the error message for "miss" / "unusable" / live failures
};

class CassettePlayer {
 public:
  // `cassette` must outlive the player.
  CassettePlayer(const Cassette* cassette, PlayerOptions options);
  ~CassettePlayer();  // stops the live server, if one was started

  // One message from the client (a JSON-RPC line without its newline).
  PlayerStep OnClientMessage(std::string_view line);

  uint64_t misses() const { return misses_; }  // requests answered with a miss or unusable error
  uint64_t replayed() const { return replayed_; }
  uint64_t live() const { return live_; }

 private:
  struct Live;
  std::string Key(const std::string& method, const std::string& tool, const std::string& params) const;
  // The exchange to serve for a request, or -1.
  long Match(const std::string& method, const std::string& tool, const std::string& key);
  std::string NextExpected() const;
  void GoLive(const std::string& line_method, const std::string& id_text, const std::string& params_text,
              PlayerStep* step);

  const Cassette* cassette_;
  PlayerOptions options_;
  std::vector<std::string> keys_;  // per exchange
  std::vector<bool> used_;         // per exchange
  struct Slot {
    std::vector<size_t> exchanges;  // recorded order
    size_t next = 0;                // the first one not served yet (they are served in order)
  };
  std::map<std::string, Slot> by_key_;
  size_t next_ = 0;                // strict: the next exchange expected
  std::string initialize_params_;  // the client's initialize params, for a live server
  std::unique_ptr<Live> live_state_;
  uint64_t misses_ = 0, replayed_ = 0, live_ = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_CASSETTE_H_
