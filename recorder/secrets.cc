#include "recorder/secrets.h"

#include <re2/re2.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "format/status.h"

namespace agenttrace {
namespace {

// Names are compared upper-cased; environment names are short, so a fixed buffer avoids allocating.
constexpr size_t kMaxNameBytes = 256;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Well-known credential shapes. Each capturing group is one kind of finding; the span to replace is
// the group's text. RE2 matches in linear time, so untrusted argv strings cannot make this slow.
enum Group {
  kToken = 1,    // a whole token of a known format
  kPem,          // a PEM private key block
  kUrlPassword,  // "user:password" (or ":password") of a URL; scheme and host stay readable
  kUrlKey,       // a random key used as a URL's user (Sentry DSN)
  kWebhook,      // the secret path of a Slack or Discord webhook URL
  kKeyword,      // the value of password=, AccountKey=, SharedAccessSignature= ... (quoted or not)
  kHeader,       // the value of an API-key header (X-Api-Key: ..., PRIVATE-TOKEN: ...)
  kQueryParam,   // the value of ?token=, &sig=, &api_key= ... in a URL
  kJsonField,    // the value of a JSON credential field ("password": "...")
  kBearer,       // the credential after "Bearer" / "Basic" / "token"
  kGroupCount,
  kWord = kGroupCount,  // not a group: NAME=value or a name-value pair found by FindWordSecret
};

constexpr char kSecretPattern[] =
    "\\b("
    "gh[pousr]_[A-Za-z0-9]{30,}"                        // GitHub classic tokens
    "|github_pat_[A-Za-z0-9_]{22,}"                     // GitHub fine-grained tokens
    "|glpat-[A-Za-z0-9_-]{20,}"                         // GitLab
    "|(?:AKIA|ASIA)[A-Z0-9]{16}"                        // AWS access key ids
    "|xox[abposre]-[A-Za-z0-9-]{10,}"                   // Slack
    "|xapp-[0-9]-[A-Za-z0-9-]{10,}"                     // Slack app-level tokens
    "|sk-ant-[A-Za-z0-9_-]{20,}"                        // Anthropic
    "|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"  // OpenAI
    "|AIza[0-9A-Za-z_-]{35}"                            // Google API keys
    "|ya29\\.[0-9A-Za-z_-]{20,}"                        // Google OAuth access tokens
    "|(?:sk|rk)_live_[0-9A-Za-z]{10,}"                  // Stripe
    "|whsec_[0-9A-Za-z]{20,}"
    "|tskey-[A-Za-z0-9-]{16,}"  // Tailscale                                        // Stripe webhook signing secrets
    "|npm_[A-Za-z0-9]{36}"      // npm
    "|dckr_pat_[A-Za-z0-9_-]{20,}"                                   // Docker Hub
    "|pypi-[A-Za-z0-9_-]{50,}"                                       // PyPI
    "|hf_[A-Za-z0-9]{30,}"                                           // Hugging Face
    "|SG\\.[A-Za-z0-9_-]{16,}\\.[A-Za-z0-9_-]{16,}"                  // SendGrid
    "|dop_v1_[a-f0-9]{64}"                                           // DigitalOcean
    "|dapi[a-f0-9]{32}"                                              // Databricks
    "|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"                            // Shopify
    "|eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}"  // JWT
    ")\\b"
    "|(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$))"
    "|[A-Za-z][A-Za-z0-9+.-]*://([^\\s/:@<>'\"]*:[^\\s/@<>'\"]+)@"
    "|[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9_-]{20,})@"
    "|(?:hooks\\.slack\\.com/(?:services|workflows|triggers)/|discord(?:app)?\\.com/api/webhooks/|"
    "webhook\\.office\\.com/webhookb2/|outlook\\.office\\.com/webhook/)"
    "([A-Za-z0-9/_@-]{20,})"
    "|(?i:accountkey|sharedaccesskey|sharedaccesssignature|password|passwd|pwd|_?authtoken|_auth)=[\"']?"
    "([^\\s;&'\"<>]{4,})"
    "|(?i:x-api-key|api-key|x-auth-token|private-token|x-access-token|x-goog-api-key):\\s*([A-Za-z0-9._~+/=-]{8,})"
    "|[?&](?i:token|access_token|api_key|apikey|key|sig|signature|secret|password|auth)=([^&\\s#'\"<>]{8,})"
    "|\"(?i:password|passwd|secret|client_secret|token|access_token|refresh_token|id_token|api_key|apikey|auth|"
    "private_key|secret_access_key|session_token)\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.){6,})\""
    "|(?i:bearer|basic|token)\\s+([A-Za-z0-9._~+/=-]{16,})";

const RE2& SecretRe() {
  static const RE2* re = [] {
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingLatin1);  // argv is bytes, not necessarily UTF-8
    options.set_log_errors(false);
    auto* r = new RE2(kSecretPattern, options);
    AT_CHECK(r->ok());
    AT_CHECK(r->NumberOfCapturingGroups() == kGroupCount - 1);
    return r;
  }();
  return *re;
}

bool HasDigit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool HasAlpha(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isalpha(c) != 0; });
}

// A value that refers to something else instead of being a credential: a shell or template variable,
// a path, a fingerprint already put there.
bool IsReference(std::string_view v) {
  return v.empty() || v[0] == '$' || v[0] == '<' || v[0] == '/' || v[0] == '~' || v[0] == '%' || v[0] == '{' ||
         v[0] == '*';
}

// Shapes the pattern cannot check. OpenAI-, Slack-style and bearer tokens are random, so they contain
// a digit; "sk-some-long-kebab-case-name" does not.
bool Plausible(int group, std::string_view span) {
  switch (group) {
    case kToken:
      if (StartsWith(span, "sk-") || StartsWith(span, "xox")) return HasDigit(span);
      return true;
    case kUrlKey:
    case kBearer:
      return HasDigit(span) && HasAlpha(span);
    case kKeyword:
    case kHeader:
    case kQueryParam:
    case kJsonField:
      return !IsReference(span);
    default:
      return true;
  }
}

struct Hit {
  std::string_view span;  // empty: nothing found
  int group = 0;          // a Group, or kWord
};

Hit FindShapeSecret(std::string_view text, size_t pos);

enum class NameSignal { kNone, kWeak, kStrong };
NameSignal ClassifyName(std::string_view name);
bool LooksRandom(std::string_view s);

// Word separators of FindWordSecret (not std::isspace: a locale lookup per byte dominated the scan).
bool IsSpaceOrQuote(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\'' || c == '"';
}

// "mydb", "json", "main": what a boolean flag's next argument usually is. A value with digits,
// capitals or symbols, 6 bytes or more, is taken for the flag's value.
bool NotAPlainWord(std::string_view s) {
  return s.size() >= 6 && std::any_of(s.begin(), s.end(), [](unsigned char c) { return !std::islower(c) && c != '-'; });
}

bool IsNameChars(std::string_view s) {
  return !s.empty() && s.size() <= kMaxNameBytes &&
         s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
             std::string_view::npos;
}

// Credentials that only their name gives away, word by word (words end at whitespace and quotes):
//  - NAME=value and --name=value, classified by IsSecretEnv (a credential shape inside the value is
//    left to FindShapeSecret, which replaces only that part: DATABASE_URL=postgres://app:<fp>@db);
//  - a value given as the word after its name: `--api-key VALUE`, `aws configure set
//    aws_secret_access_key VALUE`, `curl -u user:password`. Prose ("fix the token refresh") is not a
//    name: it must be a flag or contain '_', and the value must look random.
// Done here rather than in the shape pattern: words with '=' are common, and a pattern alternative
// matching each of them would run RE2's slow submatch engine on every one.
Hit FindWordSecret(std::string_view text, size_t pos) {
  std::string_view prev;
  size_t i = pos;
  while (i < text.size()) {
    while (i < text.size() && IsSpaceOrQuote(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsSpaceOrQuote(text[i])) ++i;
    if (start == i) break;
    std::string_view word = text.substr(start, i - start);
    size_t eq = word.find('=');
    if (eq != std::string_view::npos) {
      size_t dashes = std::min<size_t>(word.find_first_not_of('-'), 2);
      std::string_view name = word.substr(dashes, eq - dashes);
      std::string_view value = word.substr(eq + 1);
      if (IsNameChars(name) && !std::isdigit(static_cast<unsigned char>(name[0])) && name[0] != '-' &&
          !IsReference(value) && FindShapeSecret(value, 0).span.empty() && IsSecretEnv(name, value)) {
        return {value, kWord};
      }
    } else if (!prev.empty() && word[0] != '-' && !IsReference(word)) {
      const bool flag = prev[0] == '-';
      std::string_view name = prev.substr(prev.find_first_not_of('-'));
      if ((name == "u" || name == "user") && flag) {
        size_t colon = word.find(':');
        if (colon != std::string_view::npos && colon + 1 < word.size() && !IsReference(word.substr(colon + 1)) &&
            word.find("://") == std::string_view::npos) {
          return {word, kWord};
        }
      } else if ((flag || name.find('_') != std::string_view::npos) && IsNameChars(name) &&
                 ClassifyName(name) == NameSignal::kStrong && (LooksRandom(word) || (flag && NotAPlainWord(word)))) {
        return {word, kWord};
      }
    }
    prev = (eq != std::string_view::npos || word.find_first_not_of('-') == std::string_view::npos) ? std::string_view()
                                                                                                   : word;
  }
  return {};
}

// Finds the next credential at or after `pos`. With `words` false, only shapes (IsSecretEnv uses this
// on a value: no recursion through names).
Hit FindSecret(std::string_view text, size_t pos, bool words) {
  Hit shape = FindShapeSecret(text, pos);
  if (!words) return shape;
  Hit word = FindWordSecret(text, pos);
  if (word.span.empty()) return shape;
  if (shape.span.empty() || word.span.data() < shape.span.data()) return word;
  return shape;
}

Hit FindShapeSecret(std::string_view text, size_t pos) {
  const RE2& re = SecretRe();
  std::array<re2::StringPiece, kGroupCount> m;
  while (pos < text.size()) {
    if (!re.Match(re2::StringPiece(text.data(), text.size()), pos, text.size(), RE2::UNANCHORED, m.data(),
                  static_cast<int>(m.size()))) {
      return {};
    }
    for (int g = 1; g < kGroupCount; ++g) {
      if (m[g].data() == nullptr) continue;
      std::string_view span(m[g].data(), m[g].size());
      if (Plausible(g, span)) return {span, g};
      break;
    }
    // An implausible match: continue after it.
    pos = static_cast<size_t>(m[0].data() - text.data()) + std::max<size_t>(m[0].size(), 1);
  }
  return {};
}

// ---- Names -------------------------------------------------------------------------------------

// Whole names that no word rule catches.
constexpr std::string_view kSecretNames[] = {"MYSQL_PWD", "AWS_ACCESS_KEY_ID", "NPM_CONFIG__AUTH"};

// A last word ending like this names the credential itself (SLACKTOKEN, PGPASSWORD, MAPSAPIKEY).
constexpr std::string_view kStrongEndings[] = {"TOKEN",      "SECRET",  "PASSWORD",   "PASSWD",
                                               "PASSPHRASE", "APIKEY",  "PRIVATEKEY", "ACCESSKEY",
                                               "SECRETKEY",  "AUTHKEY", "JWT"};
// A last word equal to one of these, after at least one other word (STRIPE_KEY; but not KEY, PWD).
constexpr std::string_view kStrongWords[] = {"KEY",  "KEYS",       "PAT",         "AUTH",  "PWD",
                                             "PASS", "CREDENTIAL", "CREDENTIALS", "COOKIE"};
// Words that make a name credential-related without saying the variable is the credential
// (SECRET_KEY_BASE, SENTRY_DSN, SLACK_WEBHOOK_URL, PASSWORD_MIN_LENGTH, KEY_VAULT_NAME).
constexpr std::string_view kWeakParts[] = {"TOKEN",  "SECRET",     "PASSWORD", "PASSWD",  "PASSPHRASE",
                                           "APIKEY", "CREDENTIAL", "PRIVATE",  "SIGNING", "ENCRYPTION"};
constexpr std::string_view kWeakWords[] = {"KEY", "AUTH", "DSN", "WEBHOOK", "PAT", "PASS", "COOKIE", "JWT"};
// Words before KEY that make it public (STRIPE_PUBLISHABLE_KEY, SSH_PUBLIC_KEY).
constexpr std::string_view kPublicWords[] = {"PUBLIC", "PUBLISHABLE", "PUB"};

NameSignal ClassifyName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return NameSignal::kNone;
  std::array<char, kMaxNameBytes> buf;
  for (size_t i = 0; i < name.size(); ++i) {
    buf[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
  }
  std::string_view upper(buf.data(), name.size());
  for (auto n : kSecretNames) {
    if (upper == n) return NameSignal::kStrong;
  }
  // Words: split on _ - . : / (npm spells "//registry/:_authToken").
  std::array<std::string_view, 32> words;
  size_t count = 0;
  size_t start = 0;
  for (size_t i = 0; i <= upper.size() && count < words.size(); ++i) {
    if (i == upper.size() || upper[i] == '_' || upper[i] == '-' || upper[i] == '.' || upper[i] == ':' ||
        upper[i] == '/') {
      if (i > start) words[count++] = upper.substr(start, i - start);
      start = i + 1;
    }
  }
  if (count == 0) return NameSignal::kNone;
  std::string_view last = words[count - 1];
  bool public_key = count >= 2 && std::find(std::begin(kPublicWords), std::end(kPublicWords), words[count - 2]) !=
                                      std::end(kPublicWords);
  if (public_key) return NameSignal::kNone;
  for (auto e : kStrongEndings) {
    if (EndsWith(last, e)) return NameSignal::kStrong;
  }
  if (count >= 2) {
    for (auto w : kStrongWords) {
      if (last == w) return NameSignal::kStrong;
    }
  }
  for (size_t i = 0; i < count; ++i) {
    for (auto p : kWeakParts) {
      if (words[i].find(p) != std::string_view::npos) return NameSignal::kWeak;
    }
    for (auto w : kWeakWords) {
      if (words[i] == w) return NameSignal::kWeak;
    }
  }
  return NameSignal::kNone;
}

// ---- Values ------------------------------------------------------------------------------------

enum class ValueShape { kEmpty, kBoolean, kShortNumber, kNumber, kPath, kUrl, kOther };

constexpr std::string_view kBooleanWords[] = {"true", "false", "yes",     "no",       "on",      "off",
                                              "y",    "n",     "enabled", "disabled", "enable",  "disable",
                                              "none", "null",  "nil",     "auto",     "default", "unset"};

ValueShape ShapeOf(std::string_view v) {
  if (v.empty()) return ValueShape::kEmpty;
  for (auto w : kBooleanWords) {
    if (EqualsIgnoreCase(v, w)) return ValueShape::kBoolean;
  }
  if (v.find_first_not_of("0123456789.-") == std::string_view::npos && HasDigit(v)) {
    return v.size() < 6 ? ValueShape::kShortNumber : ValueShape::kNumber;
  }
  bool spaces = std::any_of(v.begin(), v.end(), [](unsigned char c) { return std::isspace(c) != 0; });
  if (!spaces && (v[0] == '/' || StartsWith(v, "~/") || StartsWith(v, "./") || StartsWith(v, "../"))) {
    return ValueShape::kPath;
  }
  if (!spaces) {
    size_t colon = v.find("://");
    if (colon != std::string_view::npos && colon > 0 && std::isalpha(static_cast<unsigned char>(v[0]))) {
      bool scheme = std::all_of(v.begin(), v.begin() + static_cast<ptrdiff_t>(colon),
                                [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '.' || c == '-'; });
      if (scheme) return ValueShape::kUrl;
    }
  }
  return ValueShape::kOther;
}

// Random-looking: letters and digits mixed (or both cases over a long run), and a high character
// entropy. Words, kebab-case names, version strings and the like are not.
bool LooksRandom(std::string_view s) {
  if (s.size() < 20) return false;
  bool lower = false, upper = false, digit = false;
  std::array<int, 256> freq{};
  for (unsigned char c : s) {
    lower = lower || std::islower(c);
    upper = upper || std::isupper(c);
    digit = digit || std::isdigit(c);
    ++freq[c];
  }
  if (!((digit && (lower || upper)) || (lower && upper && s.size() >= 24))) return false;
  double entropy = 0;
  for (int f : freq) {
    if (f == 0) continue;
    double p = static_cast<double>(f) / static_cast<double>(s.size());
    entropy -= p * std::log2(p);
  }
  return entropy >= 3.0;
}

// A run of 20+ token characters that looks random, anywhere in the value (a key inside a URL).
bool HasRandomSegment(std::string_view v) {
  size_t start = 0;
  for (size_t i = 0; i <= v.size(); ++i) {
    bool token_char = i < v.size() && (std::isalnum(static_cast<unsigned char>(v[i])) || v[i] == '+' || v[i] == '=' ||
                                       v[i] == '_' || v[i] == '-');
    if (token_char) continue;
    if (LooksRandom(v.substr(start, i - start))) return true;
    start = i + 1;
  }
  return false;
}

}  // namespace

bool IsSecretEnv(std::string_view name, std::string_view value) {
  if (value.empty() || StartsWith(value, "<secret:fp:")) return false;
  if (!FindSecret(value, 0, false).span.empty()) return true;  // rule 1
  const ValueShape shape = ShapeOf(value);
  const NameSignal signal = ClassifyName(name);
  if (signal == NameSignal::kNone) return false;
  switch (shape) {  // rule 2
    case ValueShape::kEmpty:
    case ValueShape::kBoolean:
    case ValueShape::kShortNumber:
    case ValueShape::kPath:
      return false;
    case ValueShape::kUrl:  // a capability URL under a credential-ish name carries a random key
      return signal == NameSignal::kWeak && HasRandomSegment(value);
    case ValueShape::kNumber:  // a PIN under a credential's name; a count or a port otherwise
      return signal == NameSignal::kStrong;
    case ValueShape::kOther:
      break;
  }
  if (signal == NameSignal::kStrong) return true;  // rule 3
  return HasRandomSegment(value);                  // rule 4
}

bool LooksLikeSecretValue(std::string_view text) { return !FindSecret(text, 0, true).span.empty(); }

SecretScanner::SecretScanner(const Hash256& key, const std::vector<std::string>& environ) : key_(key) {
  AT_CHECK(sodium_init() >= 0);
  auto remember = [this](std::string_view v) {
    if (v.size() >= kMinSecretBytes) secret_values_.emplace_back(v);
  };
  for (const std::string& entry : environ) {
    size_t eq = entry.find('=');
    if (eq == 0 || eq == std::string::npos) continue;  // not NAME=value
    std::string_view name(entry.data(), eq);
    std::string_view value = std::string_view(entry).substr(eq + 1);
    env_names_.emplace_back(name);
    if (!IsSecretEnv(name, value)) continue;
    secret_env_names_.emplace_back(name);
    remember(value);
    // The credential parts too: a database password typed alone in argv (`mysql -pPASSWORD`, a
    // libpq keyword string) is the same secret as the URL it came from.
    for (Hit h = FindSecret(value, 0, true); !h.span.empty();) {
      remember(h.span);
      if (h.group == kUrlPassword) remember(h.span.substr(h.span.find(':') + 1));
      size_t next = static_cast<size_t>(h.span.data() - value.data()) + h.span.size();
      h = FindSecret(value, next, true);
    }
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
  // Known values first: they may have any shape, and a fingerprint never matches a credential shape.
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
  Hit hit = FindSecret(*s, 0, true);
  if (hit.span.empty()) return changed;
  std::string out;
  out.reserve(s->size());
  size_t done = 0;
  while (!hit.span.empty()) {
    size_t start = static_cast<size_t>(hit.span.data() - s->data());
    out.append(*s, done, start - done);
    out.append(Fingerprint(hit.span));
    done = start + hit.span.size();
    hit = FindSecret(*s, done, true);
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

bool SecretScanner::RedactArgv(std::vector<std::string>* argv) const {
  bool changed = false;
  std::string pair;
  for (size_t i = 0; i < argv->size(); ++i) {
    std::string& arg = (*argv)[i];
    changed = Redact(&arg) || changed;
    if (i == 0 || arg.empty()) continue;
    // The pair as one string: a hit inside the second word is this argument's value.
    const std::string& prev = (*argv)[i - 1];
    pair.assign(prev).push_back(' ');
    const size_t offset = pair.size();
    pair.append(arg);
    size_t last_word = prev.size();
    while (last_word > 0 && !IsSpaceOrQuote(prev[last_word - 1])) --last_word;
    Hit hit = FindWordSecret(pair, last_word);
    if (hit.span.empty() || static_cast<size_t>(hit.span.data() - pair.data()) < offset) continue;
    const size_t start = static_cast<size_t>(hit.span.data() - pair.data()) - offset;
    arg.replace(start, hit.span.size(), Fingerprint(hit.span));
    changed = true;
  }
  return changed;
}

}  // namespace agenttrace
