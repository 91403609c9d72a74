// Signed session heads: an Ed25519 signature (libsodium) over a completed session's head, so that a
// store rewritten with a recomputed hash chain no longer verifies against its owner's public key.
//
// The signed message (docs/format.md, "Signed session heads") is the domain prefix
// "agenttrace-session-head-v1" and a NUL byte, then the session id (16 bytes), the head hash (32),
// event count and chunk count (u64), state (u8), start and end wall time (i64), exit code and exit
// signal (i32), all integers big-endian, then the label as a u32 length and its bytes. The prefix
// keeps a signature over a session head from ever being valid for any other message signed with the
// same key; its version is bumped whenever the message changes.
//
// Key files (docs/cli.md, "agenttrace key"): the private file is one line
// "agenttrace-ed25519-secret-v1 <64 hex digits of the 32-byte seed>", mode 0600; the public file one
// line "agenttrace-ed25519-public-v1 <64 hex digits>".
//
// Thread-safety: a SigningKey is immutable after loading and may be shared.
#ifndef AGENTTRACE_FORMAT_SIGNING_H_
#define AGENTTRACE_FORMAT_SIGNING_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "format/session.h"
#include "format/status.h"

namespace agenttrace {

inline constexpr std::string_view kSessionHeadDomain = "agenttrace-session-head-v1";
inline constexpr std::string_view kSecretKeyTag = "agenttrace-ed25519-secret-v1";
inline constexpr std::string_view kPublicKeyTag = "agenttrace-ed25519-public-v1";
inline constexpr size_t kSignatureBytes = 64;
inline constexpr size_t kPublicKeyBytes = 32;
// The environment variable naming the private key file `record` signs with (when --sign-key is not
// given). The recorder removes it from the recorded agent's environment.
inline constexpr char kEnvSignKey[] = "AGENTTRACE_SIGN_KEY";

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;

// The bytes a session head signature covers (see the file comment).
std::string SessionHeadMessage(const SessionInfo& info);

class SigningKey {
 public:
  // Reads a private key file (format/key_file.h rules: owner-only, no symlink).
  static Result<std::shared_ptr<const SigningKey>> Load(const std::string& path);
  // A key from its 32-byte seed (tests, and Generate).
  static std::shared_ptr<const SigningKey> FromSeed(const std::array<uint8_t, 32>& seed);
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  const PublicKey& public_key() const { return public_key_; }
  // The 64-byte detached signature of `message`.
  std::string Sign(std::string_view message) const;

 private:
  SigningKey() = default;
  std::array<uint8_t, 64> secret_{};  // libsodium's seed || public key form
  PublicKey public_key_{};
};

// Writes a fresh key pair: `secret_path` (0600, created exclusively, never overwritten) and
// `public_path` (0644). InvalidArgument when either file exists.
Result<PublicKey> GenerateKeyPair(const std::string& secret_path, const std::string& public_path);

// Reads a public key file, or a public key given inline as its 64 hex digits.
Result<PublicKey> LoadPublicKey(const std::string& path_or_hex);

// Signs `info`'s head with `key`: sets info->head_signature and info->signer_key.
void SignSessionHead(const SigningKey& key, SessionInfo* info);

// Checks that `info` carries a valid signature by `expected` over its head. Returns Corruption naming
// what is wrong: unsigned, signed by another key (its fingerprint), or a signature that does not match
// the head (the record or the chunks were changed after signing).
Status VerifySessionHead(const SessionInfo& info, const PublicKey& expected);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_SIGNING_H_
