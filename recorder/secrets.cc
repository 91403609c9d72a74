#include "recorder/secrets.h"

#include <re2/re2.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "format/status.h"

namespace agenttrace {
namespace {

// Names are compared upper-cased; environment names are short, so a fixed buffer avoids allocating.
constexpr size_t kMaxNameBytes = 256;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool Contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// Variables that match a secret pattern but are known to hold configuration, not credentials.
constexpr std::string_view kNotSecretNames[] = {
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
};

// Suffix patterns (*_TOKEN is covered by *TOKEN, *_API_KEY by *_KEY).
constexpr std::string_view kSecretSuffixes[] = {"TOKEN", "_KEY", "_KEYS", "_PAT"};
// Substring patterns.
constexpr std::string_view kSecretParts[] = {"SECRET",     "PASSWORD", "PASSWD", "PASSPHRASE",
                                             "CREDENTIAL", "APIKEY",   "PRIVATE_KEY"};
// Whole names that no pattern catches.
constexpr std::string_view kSecretNames[] = {"GITHUB_TOKEN", "MYSQL_PWD"};

// Well-known credential formats. Each alternative is a whole token; word boundaries keep them from
// matching inside longer identifiers. Group 1: a token replaced whole. Group 2: the "user:password"
// part of a URL (the scheme and host stay readable). RE2 matches in linear time, so untrusted argv
// strings cannot make this slow.
constexpr char kSecretPattern[] =
    "(\\b(?:"
    "gh[pousr]_[A-Za-z0-9]{30,}"                       // GitHub classic tokens
    "|github_pat_[A-Za-z0-9_]{22,}"                    // GitHub fine-grained tokens
    "|(?:AKIA|ASIA)[A-Z0-9]{16}"                       // AWS access key ids
    "|xox[abposr]-[A-Za-z0-9-]{10,}"                   // Slack
    "|sk-ant-[A-Za-z0-9_-]{20,}"                       // Anthropic
    "|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}" // OpenAI
    "|AIza[0-9A-Za-z_-]{35}"                           // Google API keys
    "|(?:sk|rk)_live_[0-9A-Za-z]{10,}"                 // Stripe
    "|eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}"  // JWT
    ")\\b"
    "|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)"  // PEM
    ")"
    "|[A-Za-z][A-Za-z0-9+.-]*://([^\\s/:@<>]+:[^\\s/@<>]+)@";  // URL with credentials

const RE2& SecretRe() {
  static const RE2* re = [] {
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingLatin1);  // argv is bytes, not necessarily UTF-8
    options.set_log_errors(false);
    auto* r = new RE2(kSecretPattern, options);
    AT_CHECK(r->ok());
    return r;
  }();
  return *re;
}

bool HasDigit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Shapes the pattern cannot check: OpenAI- and Slack-style tokens are random, so they contain a
// digit; "sk-some-long-kebab-case-name" does not.
bool PlausibleToken(std::string_view token) {
  if (StartsWith(token, "sk-") || StartsWith(token, "xox")) return HasDigit(token);
  return true;
}

// Finds the next secret at or after `pos`. Returns the span to replace, or an empty view.
std::string_view FindSecret(std::string_view text, size_t pos) {
  const RE2& re = SecretRe();
  std::array<re2::StringPiece, 3> m;
  while (pos < text.size()) {
    if (!re.Match(re2::StringPiece(text.data(), text.size()), pos, text.size(), RE2::UNANCHORED, m.data(),
                  static_cast<int>(m.size()))) {
      return {};
    }
    if (m[1].data() != nullptr) {
      std::string_view token(m[1].data(), m[1].size());
      if (PlausibleToken(token)) return token;
    } else if (m[2].data() != nullptr) {
      return {m[2].data(), m[2].size()};
    }
    // An implausible token: continue after it.
    pos = static_cast<size_t>(m[0].data() - text.data()) + std::max<size_t>(m[0].size(), 1);
  }
  return {};
}

// An absolute path (e.g. AWS_SHARED_CREDENTIALS_FILE=/home/u/.aws/credentials) points at a secret but
// is not one; redacting it would hide which file an agent read.
bool IsPlainAbsolutePath(std::string_view v) {
  if (v.empty() || v[0] != '/') return false;
  return std::all_of(v.begin(), v.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

bool IsSecretEnvName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  std::array<char, kMaxNameBytes> buf;
  for (size_t i = 0; i < name.size(); ++i) {
    buf[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
  }
  std::string_view upper(buf.data(), name.size());
  for (auto n : kNotSecretNames) {
    if (upper == n) return false;
  }
  for (auto n : kSecretNames) {
    if (upper == n) return true;
  }
  if (StartsWith(upper, "AWS_")) return true;
  for (auto s : kSecretSuffixes) {
    if (EndsWith(upper, s)) return true;
  }
  for (auto p : kSecretParts) {
    if (Contains(upper, p)) return true;
  }
  return false;
}

bool LooksLikeSecretValue(std::string_view value) { return !FindSecret(value, 0).empty(); }

SecretScanner::SecretScanner(const Hash256& key, const std::vector<std::string>& environ) : key_(key) {
  AT_CHECK(sodium_init() >= 0);
  for (const std::string& entry : environ) {
    size_t eq = entry.find('=');
    if (eq == 0 || eq == std::string::npos) continue;  // not NAME=value
    std::string_view name(entry.data(), eq);
    std::string_view value = std::string_view(entry).substr(eq + 1);
    env_names_.emplace_back(name);
    // A *_URL such as DATABASE_URL is secret only when it carries credentials: the value check finds those.
    if (!IsSecretEnvName(name) && !LooksLikeSecretValue(value)) continue;
    secret_env_names_.emplace_back(name);
    if (value.size() >= kMinSecretBytes && !IsPlainAbsolutePath(value)) secret_values_.emplace_back(value);
  }
  // Longest first, so that a secret containing another is replaced whole.
  std::sort(secret_values_.begin(), secret_values_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  secret_values_.erase(std::unique(secret_values_.begin(), secret_values_.end()), secret_values_.end());
  BuildEncodedForms();
}

std::string SecretScanner::Fingerprint(std::string_view value) const {
  std::array<unsigned char, crypto_generichash_BYTES> digest;
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(value.data()), value.size(),
                     key_.data(), key_.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "<secret:fp:";
  // All 32 bytes: a truncated fingerprint would make collisions between distinct secrets plausible,
  // and the key, not the length, is what keeps the value from being guessed.
  for (size_t i = 0; i < digest.size(); ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  out.push_back('>');
  return out;
}

bool SecretScanner::Redact(std::string* s) const {
  bool changed = false;
  // Known values first: they may have any shape, and a fingerprint never matches a token pattern.
  for (const std::string& secret : secret_values_) {
    size_t pos = s->find(secret);
    if (pos == std::string::npos) continue;
    const std::string fp = Fingerprint(secret);
    do {
      s->replace(pos, secret.size(), fp);
      pos = s->find(secret, pos + fp.size());
    } while (pos != std::string::npos);
    changed = true;
  }
  changed |= RedactEncodedForms(s);
  // Then anything shaped like a credential. Common case (nothing found): no allocation.
  std::string_view hit = FindSecret(*s, 0);
  if (hit.empty()) return changed;
  std::string out;
  out.reserve(s->size());
  size_t done = 0;
  while (!hit.empty()) {
    size_t start = static_cast<size_t>(hit.data() - s->data());
    out.append(*s, done, start - done);
    out.append(Fingerprint(hit));
    done = start + hit.size();
    hit = FindSecret(*s, done);
  }
  out.append(*s, done, std::string::npos);
  *s = std::move(out);
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Encoded forms of known secret values. A tool argument or result carries a value the agent read in
// whatever form the tool used: inside JSON (escaped), in a URL (percent-encoded), in an
// Authorization header or a data blob (base64). Each form is a literal string found like the raw value.

namespace {

void AppendJsonEscaped(std::string_view v, bool escape_slash, bool ascii_only, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto u_escape = [&](uint32_t cp) {
    out->append("\\u");
    for (int shift = 12; shift >= 0; shift -= 4) out->push_back(kHex[(cp >> shift) & 0xF]);
  };
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        continue;
      case '\\':
        out->append("\\\\");
        continue;
      case '\n':
        out->append("\\n");
        continue;
      case '\r':
        out->append("\\r");
        continue;
      case '\t':
        out->append("\\t");
        continue;
      case '\b':
        out->append("\\b");
        continue;
      case '\f':
        out->append("\\f");
        continue;
      case '/':
        out->append(escape_slash ? "\\/" : "/");
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      u_escape(c);
    } else if (c < 0x80 || !ascii_only) {
      out->push_back(static_cast<char>(c));
    } else {
      // \uXXXX (surrogate pairs above the BMP) for a well-formed UTF-8 sequence; other bytes as they are.
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      uint32_t cp = len == 4 ? c & 0x07u : len == 3 ? c & 0x0Fu : c & 0x1Fu;
      bool ok = len > 1 && i + len <= v.size();
      for (size_t k = 1; ok && k < len; ++k) {
        unsigned char cc = static_cast<unsigned char>(v[i + k]);
        ok = (cc & 0xC0) == 0x80;
        cp = (cp << 6) | (cc & 0x3Fu);
      }
      if (!ok) {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        u_escape(0xD800 + (cp >> 10));
        u_escape(0xDC00 + (cp & 0x3FF));
      } else {
        u_escape(cp);
      }
      i += len - 1;
    }
  }
}

// Percent-encoding: `keep` lists the bytes besides [A-Za-z0-9] left as they are.
std::string PercentEncoded(std::string_view v, std::string_view keep, bool upper, bool space_as_plus) {
  const char* hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || (c != 0 && keep.find(static_cast<char>(c)) != std::string_view::npos)) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' && space_as_plus) {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}

// The base64 characters that depend only on `v`'s bytes when `v` starts `align` bytes (0..2) into a
// 3-byte group of an encoded blob: every other character also mixes in a neighbour's bits, so these
// are what any encoding of a blob containing `v` at that alignment has in common.
std::string Base64Core(std::string_view v, size_t align, bool url_safe) {
  const char* alphabet = url_safe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                  : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t first_bit = 8 * align, end_bit = first_bit + 8 * v.size();
  auto bit = [&](size_t b) -> unsigned {
    size_t byte = b / 8;
    if (byte < align) return 0;
    return (static_cast<unsigned char>(v[byte - align]) >> (7 - b % 8)) & 1u;
  };
  std::string out;
  for (size_t i = (first_bit + 5) / 6; 6 * i + 6 <= end_bit; ++i) {
    unsigned sextet = 0;
    for (size_t b = 6 * i; b < 6 * i + 6; ++b) sextet = (sextet << 1) | bit(b);
    out.push_back(alphabet[sextet]);
  }
  return out;
}

}  // namespace

std::vector<std::string> EncodedSecretForms(std::string_view value) {
  std::vector<std::string> forms;
  if (value.size() < kMinSecretBytes) return forms;
  auto add = [&](std::string f) {
    if (f.size() >= kMinSecretBytes && f != value && std::find(forms.begin(), forms.end(), f) == forms.end()) {
      forms.push_back(std::move(f));
    }
  };
  // JSON string contents, as serialisers write them (with and without \/, raw UTF-8 or \u escapes),
  // and once more for JSON carried inside a JSON string (a tool result's text holding JSON).
  for (bool slash : {false, true}) {
    for (bool ascii : {false, true}) {
      std::string once;
      AppendJsonEscaped(value, slash, ascii, &once);
      std::string twice;
      AppendJsonEscaped(once, slash, ascii, &twice);
      add(std::move(once));
      add(std::move(twice));
    }
  }
  // Percent-encoding: RFC 3986 unreserved kept (upper- and lower-case hex), encodeURIComponent's set,
  // and form encoding (space as '+').
  add(PercentEncoded(value, "-._~", true, false));
  add(PercentEncoded(value, "-._~", false, false));
  add(PercentEncoded(value, "-._~!*'()", true, false));
  add(PercentEncoded(value, "-._*", true, true));
  // base64 and base64url at the three alignments.
  for (bool url_safe : {false, true}) {
    for (size_t align = 0; align < 3; ++align) add(Base64Core(value, align, url_safe));
  }
  return forms;
}

void SecretScanner::BuildEncodedForms() {
  for (const std::string& secret : secret_values_) {
    const std::string fp = Fingerprint(secret);
    for (std::string& form : EncodedSecretForms(secret)) encoded_forms_.push_back({std::move(form), fp});
  }
  std::sort(encoded_forms_.begin(), encoded_forms_.end(),
            [](const EncodedForm& a, const EncodedForm& b) { return a.form.size() > b.form.size(); });
}

bool SecretScanner::RedactEncodedForms(std::string* s) const {
  bool changed = false;
  for (const EncodedForm& f : encoded_forms_) {
    size_t pos = s->find(f.form);
    while (pos != std::string::npos) {
      s->replace(pos, f.form.size(), f.fingerprint);
      pos = s->find(f.form, pos + f.fingerprint.size());
      changed = true;
    }
  }
  return changed;
}

}  // namespace agenttrace
