// Session identity and metadata.
//
// A SessionId is a UUIDv7: 48 bits of Unix milliseconds, then random bits, so that ids sort by start
// time and big-endian keys append at the end of the store. SessionInfo is the session's metadata record;
// it never holds an environment variable's value, only names (and which names were classified secret).
#ifndef AGENTTRACE_FORMAT_SESSION_H_
#define AGENTTRACE_FORMAT_SESSION_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/status.h"

namespace agenttrace {

struct SessionId {
  std::array<uint8_t, 16> bytes{};

  // A fresh UUIDv7 from the realtime clock and getrandom(2).
  static SessionId NewV7();
  // Parses the canonical form "0190b5c4-8e1a-7abc-9def-0123456789ab" (case-insensitive).
  static Result<SessionId> Parse(std::string_view text);
  // Canonical lower-case form with dashes.
  std::string ToString() const;
  // Milliseconds since the epoch encoded in the id.
  int64_t UnixMillis() const;

  auto operator<=>(const SessionId&) const = default;
  bool operator==(const SessionId&) const = default;
};

enum class SessionState : uint8_t {
  kRecording = 0,   // a writer is (or was, until it died) appending
  kComplete = 1,    // the writer finished it
  kIncomplete = 2,  // the writer died before finishing; every committed event is intact
};
std::string_view SessionStateName(SessionState s);

using Hash256 = std::array<uint8_t, 32>;
std::string HashToHex(const Hash256& h);

struct SessionInfo {
  SessionId id;
  std::string label;          // groups runs of the same task (stability is computed per label)
  std::string agent_name;
  std::string agent_version;
  std::vector<std::string> argv;
  std::string cwd;            // working directory at start; the policy's ${workspace}
  std::string home;           // $HOME at start; the policy's ${home}
  std::string tmp;            // $TMPDIR or /tmp; the policy's ${tmp}
  std::string host;
  std::string user;
  std::string kernel;         // uname -r
  std::string arch;           // uname -m
  int64_t start_wall_ns = 0;
  int64_t end_wall_ns = 0;    // 0 while recording
  int32_t exit_code = -1;     // -1 unknown
  int32_t exit_signal = 0;
  SessionState state = SessionState::kRecording;
  uint64_t event_count = 0;
  uint64_t chunk_count = 0;
  uint64_t raw_bytes = 0;     // uncompressed encoded event bytes
  uint64_t stored_bytes = 0;  // bytes of chunks as stored (headers included)
  Hash256 head_hash{};        // hash of the last chunk; all zero for an empty session
  std::vector<std::string> env_names;         // environment variable names seen at start
  std::vector<std::string> secret_env_names;  // the subset classified secret
  std::string recorder;       // "ptrace", "mcp", "import", "synthetic", ...
  // Ed25519 signature over the completed session's head (format/signing.h) and the public key that
  // made it; both empty when the session is not signed.
  std::string head_signature;  // 64 bytes or empty
  std::string signer_key;      // 32 bytes or empty

  bool operator==(const SessionInfo&) const = default;
};

// Copies what a recording says about the run it recorded (agent, argv, directories, host, kernel,
// times, exit status, environment names, recorder) from `from` into `to`, for a writer that rewrites
// a recorded session (import, import --join). Leaves alone what belongs to the copy: identity, label,
// state, counts, sizes, hashes and signature.
void CopyRunFacts(const SessionInfo& from, SessionInfo* to);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_SESSION_H_
