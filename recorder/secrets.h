// Secret classification and fingerprinting for the recorder and the MCP proxy.
//
// One function decides whether an environment variable holds a secret: IsSecretEnv(name, value). It
// looks at the name AND the shape of the value, because names lie both ways: PASSWORD_MIN_LENGTH=12,
// AWS_CA_BUNDLE=/etc/ssl/... and SECRET_SCANNING=enabled are configuration, while REDIS_URL=redis://:pw@h
// or SENTRY_DSN=https://<key>@... are credentials under harmless names. The rules, in order:
//   1. a value that contains a well-known credential shape (token formats, URLs with a password or a
//      key as user, webhook URLs, connection-string keys, PEM private keys, JSON credential fields)
//      is secret, whatever the name;
//   2. a value that is a path, a boolean, a small number, a URL without credentials or empty is not
//      a secret, whatever the name;
//   3. a name whose last word is a credential noun (*TOKEN, *SECRET, *PASSWORD, *_KEY, *_PASS, ...)
//      is secret;
//   4. a name with a credential word elsewhere (SECRET_KEY_BASE, SENTRY_DSN, SLACK_WEBHOOK_URL) is
//      secret only when the value contains a random-looking string of 20 or more characters.
// tests/recorder/data/secret_corpus.tsv measures it (docs/benchmarks.md has the figures).
//
// A secret value never reaches the store: where one would appear (argv, tool arguments, the session's
// command line) it is replaced by a keyed fingerprint "<secret:fp:" + 64 hex digits + ">" — BLAKE2b-256
// keyed with the recorder's fingerprint key (recorder/fingerprint_key.h, never kept in a store), so the
// same value gives the same fingerprint wherever the same key is used.
//
// Thread-safety: a SecretScanner is immutable after construction and may be shared.
#ifndef AGENTTRACE_RECORDER_SECRETS_H_
#define AGENTTRACE_RECORDER_SECRETS_H_

#include <string>
#include <string_view>
#include <vector>

#include "format/session.h"

namespace agenttrace {

// True when the variable `name` with `value` holds a secret (the rules above). Names longer than 256
// bytes are classified by their value alone.
bool IsSecretEnv(std::string_view name, std::string_view value);
// True when `text` contains a credential by shape alone (rule 1, or a NAME=value / --name=value
// assignment inside it that IsSecretEnv classifies secret).
bool LooksLikeSecretValue(std::string_view text);

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
  // `key`: the fingerprint key (recorder/fingerprint_key.h). `environ`: "NAME=value" entries (e.g.
  // from the recorder's own environment at start); the values of the secret ones, and the credential
  // parts inside them (the password of a database URL, an AccountKey), are remembered so that they can
  // be found later wherever they appear, even alone.
  SecretScanner(const Hash256& key, const std::vector<std::string>& environ);

  // The names of all variables in the environment given at construction, and the secret subset.
  const std::vector<std::string>& env_names() const { return env_names_; }
  const std::vector<std::string>& secret_env_names() const { return secret_env_names_; }

  // "<secret:fp:" + 64 hex digits of the keyed BLAKE2b-256 of `value` + ">".
  std::string Fingerprint(std::string_view value) const;

  // Replaces in *s every occurrence of a known secret value, in its raw form and in the encoded forms
  // of EncodedSecretForms, and every credential that LooksLikeSecretValue finds, by its fingerprint.
  // Returns true if anything was replaced. Known values shorter than kMinSecretBytes are never
  // remembered (see there).
  bool Redact(std::string* s) const;
  // Redacts a command line: each argument as Redact does, and an argument that is the value of the
  // argument before it (`--api-key VALUE`, `-u user:password`). Returns true if anything was replaced.
  bool RedactArgv(std::vector<std::string>* argv) const;

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
