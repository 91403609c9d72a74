// The key that fingerprints secret values (recorder/secrets.h), kept outside every store.
//
// A fingerprint "<secret:fp:...>" is BLAKE2b-256 keyed with this key. Whoever has the key can test
// guesses against fingerprints (a low-entropy password falls quickly), so the key never goes into a
// store: it comes from $AGENTTRACE_FINGERPRINT_KEY (64 hex digits; CI gives the same secret to every
// job so that fingerprints compare across their stores) or from a per-user file,
// $XDG_CONFIG_HOME/agenttrace/fingerprint.key (else ~/.config/agenttrace/), created on first use with
// mode 0600 and read only while it stays owner-only (format/key_file.h).
//
// Thread-safety: stateless.
#ifndef AGENTTRACE_RECORDER_FINGERPRINT_KEY_H_
#define AGENTTRACE_RECORDER_FINGERPRINT_KEY_H_

#include <string>

#include "format/session.h"
#include "format/status.h"

namespace agenttrace {

inline constexpr char kEnvFingerprintKey[] = "AGENTTRACE_FINGERPRINT_KEY";

// The fingerprint key: $AGENTTRACE_FINGERPRINT_KEY when set and non-empty (InvalidArgument unless it
// is 64 hex digits), else the per-user key file (created with 32 random bytes when missing).
Result<Hash256> LoadFingerprintKey();

// The path of the per-user key file.
Result<std::string> FingerprintKeyPath();

// A warning for stores made by versions that kept the key inside the store (<store>/fingerprint.key),
// or "" when there is none. The file is never read any more.
std::string LegacyStoreKeyWarning(const std::string& store_dir);

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_FINGERPRINT_KEY_H_
