#include "format/signing.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "format/key_file.h"
#include "format/sys.h"

namespace agenttrace {
namespace {

constexpr size_t kMaxKeyFileBytes = 256;

void PutU64(uint64_t v, std::string* out) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(uint32_t v, std::string* out) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// "<tag> <hex>\n" (trailing whitespace tolerated) -> the hex part, or "" when the tag differs.
std::string_view TaggedHex(std::string_view text, std::string_view tag) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() <= tag.size() || text.substr(0, tag.size()) != tag || text[tag.size()] != ' ') return {};
  return text.substr(tag.size() + 1);
}

std::string KeyLine(std::string_view tag, const uint8_t* bytes, size_t n) {
  return std::string(tag) + " " + BytesToHex(bytes, n) + "\n";
}

// A short, stable name for a public key in messages: its first 16 hex digits.
std::string KeyName(const uint8_t* key) { return BytesToHex(key, 8); }

void InitSodium() { AT_CHECK(sodium_init() >= 0); }

}  // namespace

std::string SessionHeadMessage(const SessionInfo& info) {
  std::string m(kSessionHeadDomain);
  m.push_back('\0');
  m.append(reinterpret_cast<const char*>(info.id.bytes.data()), info.id.bytes.size());
  m.append(reinterpret_cast<const char*>(info.head_hash.data()), info.head_hash.size());
  PutU64(info.event_count, &m);
  PutU64(info.chunk_count, &m);
  m.push_back(static_cast<char>(info.state));
  PutU64(static_cast<uint64_t>(info.start_wall_ns), &m);
  PutU64(static_cast<uint64_t>(info.end_wall_ns), &m);
  PutU32(static_cast<uint32_t>(info.exit_code), &m);
  PutU32(static_cast<uint32_t>(info.exit_signal), &m);
  PutU32(static_cast<uint32_t>(info.label.size()), &m);
  m.append(info.label);
  return m;
}

std::shared_ptr<const SigningKey> SigningKey::FromSeed(const std::array<uint8_t, 32>& seed) {
  InitSodium();
  std::shared_ptr<SigningKey> k(new SigningKey());
  crypto_sign_seed_keypair(k->public_key_.data(), k->secret_.data(), seed.data());
  return k;
}

SigningKey::~SigningKey() { sodium_memzero(secret_.data(), secret_.size()); }

Result<std::shared_ptr<const SigningKey>> SigningKey::Load(const std::string& path) {
  AT_ASSIGN_OR_RETURN(std::string text, ReadPrivateKeyFile(path, kMaxKeyFileBytes, "signing key"));
  std::array<uint8_t, 32> seed{};
  std::string_view hex = TaggedHex(text, kSecretKeyTag);
  bool ok = !hex.empty() && ParseHexBytes(hex, &seed);
  bool is_public = !ok && !TaggedHex(text, kPublicKeyTag).empty();
  sodium_memzero(text.data(), text.size());
  if (!ok) {
    if (is_public) {
      return Status::InvalidArgument("signing key " + path + " is a public key; give the private (.key) file");
    }
    return Status::InvalidArgument("signing key " + path + " is not an agenttrace private key (\"" +
                                   std::string(kSecretKeyTag) + " <64 hex digits>\")");
  }
  auto k = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

std::string SigningKey::Sign(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(), secret_.data());
  return sig;
}

Result<PublicKey> GenerateKeyPair(const std::string& secret_path, const std::string& public_path) {
  InitSodium();
  struct stat st;
  for (const std::string& p : {secret_path, public_path}) {
    if (::lstat(p.c_str(), &st) == 0) return Status::InvalidArgument(p + " exists; refusing to overwrite a key");
  }
  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  auto key = SigningKey::FromSeed(seed);
  std::string line = KeyLine(kSecretKeyTag, seed.data(), seed.size());
  sodium_memzero(seed.data(), seed.size());
  Result<bool> created = CreateKeyFile(secret_path, line, "signing key");
  sodium_memzero(line.data(), line.size());
  if (!created.ok()) return created.status();
  if (!*created) return Status::InvalidArgument(secret_path + " exists; refusing to overwrite a key");
  std::string pub = KeyLine(kPublicKeyTag, key->public_key().data(), kPublicKeyBytes);
  Result<bool> pub_created = CreateKeyFile(public_path, pub, "public key");
  Status st2 =
      pub_created.ok()
          ? (*pub_created ? Status::Ok() : Status::InvalidArgument(public_path + " exists; refusing to overwrite"))
          : pub_created.status();
  if (!st2.ok()) {
    ::unlink(secret_path.c_str());  // a private key without its public half is of no use
    return st2;
  }
  // The public half is meant to be shared.
  if (::chmod(public_path.c_str(), 0644) != 0) return Status::FromErrno("chmod " + public_path, errno);
  return key->public_key();
}

Result<PublicKey> LoadPublicKey(const std::string& path_or_hex) {
  PublicKey k{};
  if (ParseHexBytes(path_or_hex, &k)) return k;
  AT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path_or_hex, kMaxKeyFileBytes));
  std::string_view hex = TaggedHex(text, kPublicKeyTag);
  if (hex.empty() || !ParseHexBytes(hex, &k)) {
    if (!TaggedHex(text, kSecretKeyTag).empty()) {
      return Status::InvalidArgument(path_or_hex + " is a private key; give the public (.pub) file");
    }
    return Status::InvalidArgument(path_or_hex + " is not an agenttrace public key (\"" + std::string(kPublicKeyTag) +
                                   " <64 hex digits>\")");
  }
  return k;
}

void SignSessionHead(const SigningKey& key, SessionInfo* info) {
  info->signer_key.assign(reinterpret_cast<const char*>(key.public_key().data()), kPublicKeyBytes);
  info->head_signature = key.Sign(SessionHeadMessage(*info));
}

Status VerifySessionHead(const SessionInfo& info, const PublicKey& expected) {
  InitSodium();
  if (info.head_signature.empty()) {
    return Status::Corruption(info.state == SessionState::kComplete
                                  ? "session head is not signed"
                                  : std::string("session head is not signed (the session is ") +
                                        std::string(SessionStateName(info.state)) + ")");
  }
  if (info.head_signature.size() != kSignatureBytes || info.signer_key.size() != kPublicKeyBytes) {
    return Status::Corruption("session head signature is malformed");
  }
  const auto* signer = reinterpret_cast<const uint8_t*>(info.signer_key.data());
  if (std::memcmp(signer, expected.data(), kPublicKeyBytes) != 0) {
    return Status::Corruption("session head is signed by another key (" + KeyName(signer) + "..., expected " +
                              KeyName(expected.data()) + "...)");
  }
  std::string m = SessionHeadMessage(info);
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(info.head_signature.data()),
                                  reinterpret_cast<const unsigned char*>(m.data()), m.size(), expected.data()) != 0) {
    return Status::Corruption(
        "session head signature does not match the head (the session was changed after "
        "it was signed)");
  }
  return Status::Ok();
}

}  // namespace agenttrace
