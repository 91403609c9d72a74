// Secret classification and fingerprinting for the recorder and the MCP proxy.
//
// Environment variables are classified secret by name (patterns such as *_TOKEN, *_KEY, *SECRET*,
// *PASSWORD*, AWS_*) or by value (well-known token formats: GitHub, AWS access keys, Slack, OpenAI and
// Anthropic keys, JWTs, PEM private keys ...). A secret value never reaches the store: where one would
// appear (argv, tool arguments) it is replaced by a keyed fingerprint "<secret:fp:" + 64 hex digits +
// ">" — BLAKE2b-256 keyed with the recorder's fingerprint key (recorder/fingerprint_key.h, never kept
// in a store), so the same value gives the same fingerprint wherever the same key is used.
//
// Thread-safety: a SecretScanner is immutable after construction and may be shared.
#ifndef AGENTTRACE_RECORDER_SECRETS_H_
#define AGENTTRACE_RECORDER_SECRETS_H_

#include <string>
#include <string_view>
#include <vector>

#include "format/session.h"

namespace agenttrace {

// True when the variable name looks like it holds a secret.
bool IsSecretEnvName(std::string_view name);
// True when the value has the shape of a well-known credential format.
bool LooksLikeSecretValue(std::string_view value);

// Known secret values shorter than this are never redacted. A short value ("admin", "1234", "true")
// occurs by chance in paths, numbers and output, so replacing it everywhere would destroy evidence and,
// worse, mark every place the value happens to occur, which tells a reader what the secret is. Six
// bytes is the shortest length where chance matches in tool traffic stay rare; shorter secrets are
// still listed by name (secret_env_names) but are not protected by redaction.
inline constexpr size_t kMinSecretBytes = 6;

// The literal strings `value` turns into when a tool carries it, each at least kMinSecretBytes long
// and different from `value` (none when `value` itself is shorter than kMinSecretBytes): JSON string contents (quotes,
// backslashes and control characters escaped; with and without "\/"; raw UTF-8 or \u escapes; and escaped twice, for
// JSON inside a JSON string), percent-encodings (RFC 3986 with upper- and lower-case hex, encodeURIComponent's set,
// form encoding with '+'), and base64 / base64url: for each of the three alignments a value can have
// inside a 3-byte group, the characters that depend on the value's bytes alone (at most the first and
// last character of an encoded value mix in a neighbour's bits and stay).
std::vector<std::string> EncodedSecretForms(std::string_view value);

class SecretScanner {
 public:
  // `key`: the fingerprint key (recorder/fingerprint_key.h). `environ`: "NAME=value" entries (e.g. from the recorder's
  // own environment at start); the values of the secret ones are remembered so that they can be found later.
  SecretScanner(const Hash256& key, const std::vector<std::string>& environ);

  // The names of all variables in the environment given at construction, and the secret subset.
  const std::vector<std::string>& env_names() const { return env_names_; }
  const std::vector<std::string>& secret_env_names() const { return secret_env_names_; }

  // "<secret:fp:" + 64 hex digits of the keyed BLAKE2b-256 of `value` + ">".
  std::string Fingerprint(std::string_view value) const;

  // Replaces in *s every occurrence of a known secret value, in its raw form and in the encoded forms
  // of EncodedSecretForms, and every token that LooksLikeSecretValue, by the value's fingerprint.
  // Returns true if anything was replaced. Values shorter than kMinSecretBytes are never treated as
  // secrets (see there).
  bool Redact(std::string* s) const;

 private:
  struct EncodedForm {
    std::string form;         // an encoding of a known secret value
    std::string fingerprint;  // the fingerprint of the value itself
  };
  void BuildEncodedForms();
  bool RedactEncodedForms(std::string* s) const;

  Hash256 key_;
  std::vector<std::string> env_names_;
  std::vector<std::string> secret_env_names_;
  std::vector<std::string> secret_values_;  // longest first
  std::vector<EncodedForm> encoded_forms_;  // longest first
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_SECRETS_H_
