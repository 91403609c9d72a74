// Files that hold key material: created owner-only and exclusively, read only when still owner-only.
//
// A key file must never be replaced under its user's feet nor read by anyone else, so creation refuses
// to follow a symlink or overwrite an existing file, and reading refuses a file that is a symlink, not
// a regular file, owned by another user, or readable or writable by group or others (the rule ssh
// applies to private keys). Hex helpers for keys given on the command line or in the environment.
//
// Thread-safety: stateless.
#ifndef AGENTTRACE_FORMAT_KEY_FILE_H_
#define AGENTTRACE_FORMAT_KEY_FILE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "format/status.h"

namespace agenttrace {

// Creates `path` with `data` and mode 0600, atomically: written to a temporary file in the same
// directory, synced, then hard-linked into place (link(2) never follows nor replaces `path`), so that
// a concurrent reader never sees a partial key. Returns false (and writes nothing) when `path` exists
// already. `what` names the key in errors ("signing key").
Result<bool> CreateKeyFile(const std::string& path, std::string_view data, std::string_view what);

// Reads a private key file of at most `max_bytes` bytes, refusing (InvalidArgument, saying how to fix
// it) a symlink, a non-regular file, another user's file or one with any group/other permission bit.
// NotFound when it does not exist.
Result<std::string> ReadPrivateKeyFile(const std::string& path, size_t max_bytes, std::string_view what);

// agenttrace's per-user directory for keys: $XDG_CONFIG_HOME/agenttrace, else $HOME/.config/agenttrace.
// InvalidArgument when neither variable is set (give a path or a key explicitly then).
Result<std::string> UserConfigDir();
// Creates `dir` and missing parents; a directory created here gets mode 0700.
Status EnsurePrivateDir(const std::string& dir);

// Lower-case hex of `bytes`.
std::string BytesToHex(const uint8_t* bytes, size_t n);
// Parses exactly 2*N hex digits (either case) into `out`; false on any other input.
template <size_t N>
bool ParseHexBytes(std::string_view hex, std::array<uint8_t, N>* out);
bool ParseHexInto(std::string_view hex, uint8_t* out, size_t n);

template <size_t N>
bool ParseHexBytes(std::string_view hex, std::array<uint8_t, N>* out) {
  return ParseHexInto(hex, out->data(), N);
}

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_KEY_FILE_H_
