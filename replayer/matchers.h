// Low-level matchers of the policy language: path globs (compiled to RE2 syntax), lexical path
// normalisation, host patterns (exact, glob, CIDR) and port ranges.
//
// Globs: `**` matches any characters including '/', and `**/` also matches zero directories; `*` and
// `?` never cross '/'; `{a,b}` alternates (nestable); `[abc]` / `[!abc]` are character classes; a
// backslash escapes the next character. `${workspace}`, `${home}` and `${tmp}` expand to the session's
// directories (inserted literally), and a leading `~/` means `${home}/`. A glob matches a whole
// string (anchored at both ends).
//
// Thread-safety: free functions and immutable values.
#ifndef AGENTTRACE_REPLAYER_MATCHERS_H_
#define AGENTTRACE_REPLAYER_MATCHERS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "format/status.h"

namespace agenttrace {

// The directories that ${...} variables expand to, taken from a session's metadata.
struct PathVars {
  std::string workspace;
  std::string home;
  std::string tmp;
  bool operator==(const PathVars&) const = default;
  auto operator<=>(const PathVars&) const = default;
};

// The session directory that is the longest prefix of `path` (normalised, absolute), as the variable
// that names it: how profiles and suggested policies write paths relative to a session.
struct PathVarPrefix {
  std::string_view name;  // "${workspace}", "${tmp}" or "${home}"; empty when no directory contains path
  size_t dir_len = 0;     // length of the directory's path; path.substr(dir_len) is the rest ("" or "/...")
  bool is_tmp = false;
};
PathVarPrefix LongestPathVarPrefix(std::string_view path, const PathVars& vars);

enum class GlobFlavor {
  kPath,   // `*` and `?` do not match '/'
  kPlain,  // `*` and `?` match any character (command lines, tool names, hosts, JSON values)
};

// Translates a glob into an (unanchored) RE2 pattern. InvalidArgument on unbalanced braces/brackets,
// a trailing backslash, an unknown ${variable} or nesting deeper than 16 braces.
Result<std::string> GlobToRegex(std::string_view glob, const PathVars& vars, GlobFlavor flavor);

// The literal start of a path glob, up to its first wildcard (`*`, `?`, `[...]`, `{...}`): its `~`,
// ${variables} and `\` escapes expanded. *wildcard says whether a wildcard follows. InvalidArgument on
// a trailing `\`, an unterminated `${` or an unknown variable.
Result<std::string> GlobLiteralPrefix(std::string_view glob, const PathVars& vars, bool* wildcard);

// The one string a path glob (GlobFlavor::kPath) matches when it has no wildcard (`*`, `?`, `[...]`,
// `{...}`): its `~`, ${variables} and `\` escapes expanded. Nullopt for a glob with a wildcard, one
// GlobToRegex refuses, or one whose expansion has a byte outside ASCII (left to RE2, as UTF-8). The
// engine looks such paths up by hash instead of adding them to its RE2::Set, whose lazily built DFA
// costs microseconds for every new path through a long list of literal names.
std::optional<std::string> GlobAsLiteral(std::string_view glob, const PathVars& vars);

// Checks that `glob` translates (GlobToRegex with `vars`) into a pattern RE2 compiles with its
// default options; InvalidArgument says why not. Only a character class, a byte outside ASCII (RE2
// wants UTF-8) or a very long glob can produce a translation RE2 refuses: other globs are translated
// and not compiled, since the compiled regex could not be used for another session's ${...} anyway.
Status ValidateGlob(std::string_view glob, const PathVars& vars, GlobFlavor flavor);

// Escapes the glob metacharacters of a literal string so that it matches itself.
std::string EscapeGlob(std::string_view literal);

// Lexical normalisation of an absolute path: collapses "//", removes ".", resolves ".." (never above
// "/"), drops a trailing '/'. Relative input is returned with the same treatment (no leading '/').
// Differs from the recorder's NormalizePath(base, path, out) (recorder/path_state.h) only on relative
// and empty input: the recorder joins them to the tracee's cwd, which replay does not know, so here a
// relative path stays relative and keeps its leading ".." ("" -> "."): joining it to an invented base
// would let a policy match a path nobody named. Recorded paths are absolute and already normal, so the
// engine's defensive pass leaves them alone (tests/replayer/path_normalizers_test.cc).
std::string NormalizePath(std::string_view path);
// True when NormalizePath(path) would change it (cheap check used on the hot path).
bool NeedsNormalization(std::string_view path);

// An IP address (v4 stored as v4-mapped v6) parsed from text.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
};
bool ParseIp(std::string_view text, IpAddress* out);

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 65535;
  bool Contains(uint16_t p) const { return p >= lo && p <= hi; }
};
// "443" or "8000-8999". InvalidArgument otherwise.
Result<PortRange> ParsePortRange(std::string_view text);

// One host pattern: "example.com", "*.example.com", "10.0.0.0/8", "::1/128", "1.2.3.4", each with an
// optional port or port range: "10.0.0.0/8:443", "[::1]:8000-8999", "*.example.com:443".
class HostPattern {
 public:
  static Result<HostPattern> Parse(std::string_view text);
  // `host` is an IP address text or a name; `port` 0 means unknown (matches only port-less patterns).
  bool Matches(std::string_view host, uint16_t port) const;
  // The same with `host` already parsed by ParseIp (`ip` null when it is not an address), so that
  // one action checked against many patterns parses its address once.
  bool Matches(std::string_view host, uint16_t port, const IpAddress* ip) const;
  const std::string& text() const { return text_; }
  // The port or range the pattern names; false when it matches every port.
  bool has_port() const { return has_port_; }
  const PortRange& ports() const { return ports_; }

 private:
  enum class Kind { kExact, kGlob, kCidr } kind_ = Kind::kExact;
  std::string text_;
  std::string host_;  // lower-case name or glob; for kExact IPs the canonical text
  IpAddress net_;
  int prefix_ = 0;
  bool has_port_ = false;
  PortRange ports_;
};

// Glob matching of plain strings without RE2 (hosts): `*` and `?` match any character.
bool SimpleGlobMatch(std::string_view pattern, std::string_view text);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_MATCHERS_H_
