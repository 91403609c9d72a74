#include "recorder/fingerprint_key.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>

#include "format/key_file.h"

namespace agenttrace {
namespace {

constexpr size_t kMaxKeyFileBytes = 256;

Result<Hash256> ParseKeyText(std::string_view text, const std::string& where) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  Hash256 key{};
  if (!ParseHexBytes(text, &key)) {
    return Status::InvalidArgument(where +
                                   " is not a fingerprint key (64 hex digits, e.g. from `openssl rand -hex 32`)");
  }
  if (key == Hash256{}) return Status::InvalidArgument(where + " is all zeros: not a key");
  return key;
}

}  // namespace

Result<std::string> FingerprintKeyPath() {
  AT_ASSIGN_OR_RETURN(std::string dir, UserConfigDir());
  return dir + "/fingerprint.key";
}

Result<Hash256> LoadFingerprintKey() {
  const char* env = std::getenv(kEnvFingerprintKey);
  if (env != nullptr && env[0] != '\0') return ParseKeyText(env, std::string("$") + kEnvFingerprintKey);
  auto path = FingerprintKeyPath();
  if (!path.ok()) {
    return Status::InvalidArgument(path.status().message() + "; set " + kEnvFingerprintKey +
                                   " to 64 hex digits instead");
  }
  auto text = ReadPrivateKeyFile(*path, kMaxKeyFileBytes, "fingerprint key");
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    AT_CHECK(sodium_init() >= 0);
    Hash256 fresh;
    randombytes_buf(fresh.data(), fresh.size());
    std::string line = HashToHex(fresh) + "\n";
    AT_RETURN_IF_ERROR(EnsurePrivateDir(path->substr(0, path->rfind('/'))));
    Result<bool> created = CreateKeyFile(*path, line, "fingerprint key");
    sodium_memzero(line.data(), line.size());
    if (!created.ok()) return created.status();
    if (*created) return fresh;
    // Another recorder created it first: use theirs.
    text = ReadPrivateKeyFile(*path, kMaxKeyFileBytes, "fingerprint key");
  }
  if (!text.ok()) return text.status();
  auto key = ParseKeyText(*text, *path);
  sodium_memzero(text->data(), text->size());
  return key;
}

std::string LegacyStoreKeyWarning(const std::string& store_dir) {
  std::string legacy = store_dir + "/fingerprint.key";
  struct stat st;
  if (::lstat(legacy.c_str(), &st) != 0) return "";
  return legacy +
         " is the fingerprint key of an older agenttrace, kept inside the store; it is no longer "
         "used. Delete it before sharing the store: with it, anyone can test guesses against the "
         "fingerprints of the sessions recorded before (docs/threat-model.md, \"Secrets\")";
}

}  // namespace agenttrace
