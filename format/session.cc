#include "format/session.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>

namespace agenttrace {

SessionId SessionId::NewV7() {
  SessionId id;
  uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  for (int i = 0; i < 6; ++i) id.bytes[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  uint8_t rnd[10];
  size_t got = 0;
  while (got < sizeof rnd) {
    ssize_t n = ::getrandom(rnd + got, sizeof rnd - got, 0);
    if (n < 0) {
      AT_CHECK_MSG(errno == EINTR, "getrandom failed");
      continue;
    }
    got += static_cast<size_t>(n);
  }
  for (int i = 0; i < 10; ++i) id.bytes[6 + i] = rnd[i];
  id.bytes[6] = static_cast<uint8_t>(0x70 | (id.bytes[6] & 0x0F));  // version 7
  id.bytes[8] = static_cast<uint8_t>(0x80 | (id.bytes[8] & 0x3F));  // RFC 4122 variant
  return id;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

Result<SessionId> SessionId::Parse(std::string_view text) {
  SessionId id;
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '-' && (i == 8 || i == 13 || i == 18 || i == 23)) continue;
    int v = HexValue(c);
    if (v < 0 || n >= 32) return Status::InvalidArgument("not a session id: \"" + std::string(text) + "\"");
    id.bytes[n / 2] = static_cast<uint8_t>(id.bytes[n / 2] | (n % 2 == 0 ? v << 4 : v));
    ++n;
  }
  if (n != 32) return Status::InvalidArgument("not a session id: \"" + std::string(text) + "\"");
  return id;
}

std::string SessionId::ToString() const {
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[bytes[i] >> 4]);
    s.push_back(kHex[bytes[i] & 0xF]);
  }
  return s;
}

int64_t SessionId::UnixMillis() const {
  uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | bytes[i];
  return static_cast<int64_t>(ms);
}

std::string_view SessionStateName(SessionState s) {
  switch (s) {
    case SessionState::kRecording: return "recording";
    case SessionState::kComplete: return "complete";
    case SessionState::kIncomplete: return "incomplete";
  }
  return "unknown";
}

std::string HashToHex(const Hash256& h) {
  std::string s;
  s.reserve(64);
  for (uint8_t b : h) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 0xF]);
  }
  return s;
}

void CopyRunFacts(const SessionInfo& from, SessionInfo* to) {
  to->agent_name = from.agent_name;
  to->agent_version = from.agent_version;
  to->argv = from.argv;
  to->cwd = from.cwd;
  to->home = from.home;
  to->tmp = from.tmp;
  to->host = from.host;
  to->user = from.user;
  to->kernel = from.kernel;
  to->arch = from.arch;
  to->start_wall_ns = from.start_wall_ns;
  to->end_wall_ns = from.end_wall_ns;
  to->exit_code = from.exit_code;
  to->exit_signal = from.exit_signal;
  to->env_names = from.env_names;
  to->secret_env_names = from.secret_env_names;
  to->recorder = from.recorder;
}

}  // namespace agenttrace
