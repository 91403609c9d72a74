#include "replayer/matchers.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <vector>

namespace agenttrace {
namespace {

void AppendRegexLiteral(std::string_view s, std::string* out) {
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
        static_cast<unsigned char>(c) >= 0x80) {
      out->push_back(c);
    } else {
      out->push_back('\\');
      out->push_back(c);
    }
  }
}

// The value of the ${variable} that starts at glob[*i] ("${"), with *i moved past its '}'.
// InvalidArgument on an unterminated `${` or an unknown name.
Result<std::string_view> ExpandVariable(std::string_view glob, size_t* i, const PathVars& vars) {
  size_t end = glob.find('}', *i);
  if (end == std::string_view::npos) {
    return Status::InvalidArgument("glob \"" + std::string(glob) + "\": unterminated ${");
  }
  std::string_view name = glob.substr(*i + 2, end - *i - 2);
  *i = end + 1;
  if (name == "workspace") return std::string_view(vars.workspace);
  if (name == "home") return std::string_view(vars.home);
  if (name == "tmp") return std::string_view(vars.tmp);
  return Status::InvalidArgument("glob \"" + std::string(glob) + "\": unknown variable ${" + std::string(name) +
                                 "} (known: ${workspace}, ${home}, ${tmp})");
}

}  // namespace

Result<std::string> GlobToRegex(std::string_view glob, const PathVars& vars, GlobFlavor flavor) {
  std::string out;
  out.reserve(glob.size() * 2 + 8);
  const char* any_one = flavor == GlobFlavor::kPath ? "[^/]" : "(?s:.)";
  const char* any_run = flavor == GlobFlavor::kPath ? "[^/]*" : "(?s:.*)";
  int brace_depth = 0;
  size_t i = 0;
  if (flavor == GlobFlavor::kPath && (glob == "~" || glob.substr(0, 2) == "~/")) {
    AppendRegexLiteral(vars.home, &out);
    i = 1;
  }
  while (i < glob.size()) {
    char c = glob[i];
    if (c == '\\') {
      if (i + 1 >= glob.size()) return Status::InvalidArgument("glob \"" + std::string(glob) + "\" ends with '\\'");
      AppendRegexLiteral(glob.substr(i + 1, 1), &out);
      i += 2;
    } else if (c == '$' && i + 1 < glob.size() && glob[i + 1] == '{') {
      AT_ASSIGN_OR_RETURN(std::string_view value, ExpandVariable(glob, &i, vars));
      AppendRegexLiteral(value, &out);
    } else if (c == '*') {
      if (i + 1 < glob.size() && glob[i + 1] == '*') {
        i += 2;
        while (i < glob.size() && glob[i] == '*') ++i;
        if (flavor == GlobFlavor::kPath && i < glob.size() && glob[i] == '/') {
          out += "(?s:.*/)?";  // zero or more whole directories
          ++i;
        } else {
          out += "(?s:.*)";
        }
      } else {
        out += any_run;
        ++i;
      }
    } else if (c == '?') {
      out += any_one;
      ++i;
    } else if (c == '{') {
      if (++brace_depth > 16)
        return Status::InvalidArgument("glob \"" + std::string(glob) + "\": braces nested too deep");
      out += "(?:";
      ++i;
    } else if (c == ',' && brace_depth > 0) {
      out += "|";
      ++i;
    } else if (c == '}' && brace_depth > 0) {
      --brace_depth;
      out += ")";
      ++i;
    } else if (c == '[') {
      size_t j = i + 1;
      bool negate = false;
      if (j < glob.size() && (glob[j] == '!' || glob[j] == '^')) {
        negate = true;
        ++j;
      }
      size_t start = j;
      if (j < glob.size() && glob[j] == ']') ++j;  // a leading ']' is literal
      while (j < glob.size() && glob[j] != ']') ++j;
      if (j >= glob.size()) return Status::InvalidArgument("glob \"" + std::string(glob) + "\": unterminated '['");
      out += negate ? "[^" : "[";
      if (negate && flavor == GlobFlavor::kPath) out += "/";
      for (size_t k = start; k < j; ++k) {
        char d = glob[k];
        if (d == '\\' || d == '[' || d == ']' || d == '^') out.push_back('\\');
        out.push_back(d);
      }
      out += "]";
      i = j + 1;
    } else {
      AppendRegexLiteral(glob.substr(i, 1), &out);
      ++i;
    }
  }
  if (brace_depth != 0) return Status::InvalidArgument("glob \"" + std::string(glob) + "\": unbalanced '{'");
  return out;
}

Result<std::string> GlobLiteralPrefix(std::string_view glob, const PathVars& vars, bool* wildcard) {
  std::string lit;
  size_t i = 0;
  if (glob == "~" || glob.substr(0, 2) == "~/") {
    lit = vars.home;
    i = 1;
  }
  *wildcard = false;
  while (i < glob.size()) {
    char c = glob[i];
    if (c == '*' || c == '?' || c == '[' || c == '{') {
      *wildcard = true;
      break;
    }
    if (c == '\\') {
      if (i + 1 >= glob.size()) return Status::InvalidArgument("glob \"" + std::string(glob) + "\" ends with '\\'");
      lit += glob[i + 1];
      i += 2;
    } else if (c == '$' && i + 1 < glob.size() && glob[i + 1] == '{') {
      AT_ASSIGN_OR_RETURN(std::string_view value, ExpandVariable(glob, &i, vars));
      lit += value;
    } else {
      lit += c;
      ++i;
    }
  }
  return lit;
}

std::optional<std::string> GlobAsLiteral(std::string_view glob, const PathVars& vars) {
  bool wildcard = false;
  Result<std::string> lit = GlobLiteralPrefix(glob, vars, &wildcard);
  if (!lit.ok() || wildcard) return std::nullopt;
  for (char c : *lit) {
    if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
  }
  return std::move(lit).value();
}

Status ValidateGlob(std::string_view glob, const PathVars& vars, GlobFlavor flavor) {
  Result<std::string> re = GlobToRegex(glob, vars, flavor);
  if (!re.ok()) return re.status();
  // Outside classes every character becomes an escaped or plain ASCII literal, `.`, `[^/]`, a group or
  // `|`: syntax RE2 always accepts, far below its memory budget at this length (the equivalence with
  // compiling is tested on random globs in matchers_test.cc).
  constexpr size_t kAlwaysCompilesBelow = 1024;
  auto non_ascii = [](std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  };
  bool may_fail = glob.size() >= kAlwaysCompilesBelow || re->size() >= 8 * kAlwaysCompilesBelow ||
                  glob.find('[') != std::string_view::npos || non_ascii(glob) || non_ascii(vars.workspace) ||
                  non_ascii(vars.home) || non_ascii(vars.tmp);
  if (!may_fail) return Status::Ok();
  RE2 compiled(*re, RE2::Quiet);
  if (!compiled.ok()) {
    return Status::InvalidArgument("glob \"" + std::string(glob) + "\" does not compile: " + compiled.error());
  }
  return Status::Ok();
}

std::string EscapeGlob(std::string_view literal) {
  std::string out;
  out.reserve(literal.size());
  for (size_t i = 0; i < literal.size(); ++i) {
    char c = literal[i];
    bool special = c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' || c == '\\' || c == ',' ||
                   (c == '$' && i + 1 < literal.size() && literal[i + 1] == '{') || (c == '~' && i == 0);
    if (special) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool NeedsNormalization(std::string_view p) {
  if (p.size() > 1 && p.back() == '/') return true;
  for (size_t i = 0; i + 1 < p.size(); ++i) {
    if (p[i] != '/') continue;
    char n = p[i + 1];
    if (n == '/') return true;
    if (n == '.') {
      // "/." followed by end, '/', or ".", then end or '/'.
      if (i + 2 == p.size() || p[i + 2] == '/') return true;
      if (p[i + 2] == '.' && (i + 3 == p.size() || p[i + 3] == '/')) return true;
    }
  }
  return false;
}

std::string NormalizePath(std::string_view path) {
  bool absolute = !path.empty() && path[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
      // skip
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  if (absolute) out = "/";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out.push_back('/');
    out.append(parts[k]);
  }
  if (out.empty()) out = absolute ? "/" : ".";
  return out;
}

bool ParseIp(std::string_view text, IpAddress* out) {
  if (text.empty() || text.size() > 63) return false;
  char buf[64];
  std::copy(text.begin(), text.end(), buf);
  buf[text.size()] = 0;
  in_addr a4;
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    out->bytes = {};
    out->bytes[10] = out->bytes[11] = 0xff;
    std::memcpy(&out->bytes[12], &a4, 4);
    out->v4 = true;
    return true;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) == 1) {
    std::memcpy(out->bytes.data(), &a6, 16);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    out->v4 = std::memcmp(out->bytes.data(), kMapped, 12) == 0;
    return true;
  }
  return false;
}

Result<PortRange> ParsePortRange(std::string_view text) {
  auto parse_one = [](std::string_view s, uint16_t* v) {
    unsigned x = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty() || x > 65535) return false;
    *v = static_cast<uint16_t>(x);
    return true;
  };
  PortRange r;
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (!parse_one(text, &r.lo)) return Status::InvalidArgument("bad port \"" + std::string(text) + "\"");
    r.hi = r.lo;
  } else {
    if (!parse_one(text.substr(0, dash), &r.lo) || !parse_one(text.substr(dash + 1), &r.hi) || r.lo > r.hi) {
      return Status::InvalidArgument("bad port range \"" + std::string(text) + "\" (want LO-HI with LO <= HI)");
    }
  }
  return r;
}

bool SimpleGlobMatch(std::string_view pat, std::string_view s) {
  size_t p = 0, t = 0, star_p = std::string_view::npos, star_t = 0;
  while (t < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || pat[p] == s[t])) {
      ++p;
      ++t;
    } else if (p < pat.size() && pat[p] == '*') {
      star_p = p++;
      star_t = t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

Result<HostPattern> HostPattern::Parse(std::string_view text) {
  HostPattern hp;
  hp.text_ = std::string(text);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("bad host pattern \"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return bad("empty");
  std::string_view host = text;
  std::string_view port;
  if (text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("unterminated '['");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("expected ':' after ']'");
      port = rest.substr(1);
    }
  } else {
    size_t colons = std::count(text.begin(), text.end(), ':');
    if (colons == 1) {
      size_t c = text.find(':');
      host = text.substr(0, c);
      port = text.substr(c + 1);
    }
  }
  if (host.empty()) return bad("empty host");
  if (!port.empty() || (text[0] != '[' && text.back() == ':')) {
    auto pr = ParsePortRange(port);
    if (!pr.ok()) return bad(pr.status().message());
    hp.has_port_ = true;
    hp.ports_ = *pr;
  }
  size_t slash = host.find('/');
  if (slash != std::string_view::npos) {
    if (!ParseIp(host.substr(0, slash), &hp.net_)) return bad("CIDR base is not an IP address");
    std::string_view len = host.substr(slash + 1);
    int n = 0;
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    int max = hp.net_.v4 ? 32 : 128;
    if (ec != std::errc() || p != len.data() + len.size() || len.empty() || n < 0 || n > max) {
      return bad("prefix length must be 0.." + std::to_string(max));
    }
    hp.prefix_ = hp.net_.v4 ? n + 96 : n;
    hp.kind_ = Kind::kCidr;
    return hp;
  }
  IpAddress ip;
  if (ParseIp(host, &ip)) {
    hp.kind_ = Kind::kCidr;
    hp.net_ = ip;
    hp.prefix_ = 128;
    return hp;
  }
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '*' || c == '?')) {
      return bad(std::string("unexpected character '") + c + "'");
    }
  }
  hp.host_.reserve(host.size());
  for (char c : host) hp.host_.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  hp.kind_ = hp.host_.find_first_of("*?") == std::string::npos ? Kind::kExact : Kind::kGlob;
  return hp;
}

bool HostPattern::Matches(std::string_view host, uint16_t port) const {
  if (kind_ == Kind::kCidr) {
    IpAddress ip;
    return Matches(host, port, ParseIp(host, &ip) ? &ip : nullptr);
  }
  return Matches(host, port, nullptr);
}

bool HostPattern::Matches(std::string_view host, uint16_t port, const IpAddress* ip) const {
  if (has_port_ && !ports_.Contains(port)) return false;
  if (kind_ == Kind::kCidr) {
    if (ip == nullptr) return false;
    int full = prefix_ / 8, rem = prefix_ % 8;
    if (std::memcmp(ip->bytes.data(), net_.bytes.data(), full) != 0) return false;
    if (rem == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rem));
    return (ip->bytes[full] & mask) == (net_.bytes[full] & mask);
  }
  // Names compare case-insensitively; the stored pattern is lower-case.
  char buf[256];
  if (host.size() >= sizeof(buf)) return false;
  for (size_t i = 0; i < host.size(); ++i)
    buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(host[i])));
  std::string_view lower(buf, host.size());
  if (kind_ == Kind::kExact) return lower == host_;
  return SimpleGlobMatch(host_, lower);
}

namespace {
bool IsUnderDir(std::string_view path, std::string_view dir) {
  if (dir.empty() || dir == "/") return false;
  return path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (path.size() == dir.size() || path[dir.size()] == '/');
}
}  // namespace

PathVarPrefix LongestPathVarPrefix(std::string_view path, const PathVars& vars) {
  PathVarPrefix best;
  auto consider = [&](const std::string& dir, std::string_view name, bool is_tmp) {
    if (IsUnderDir(path, dir) && (best.name.empty() || dir.size() > best.dir_len)) best = {name, dir.size(), is_tmp};
  };
  consider(vars.workspace, "${workspace}", false);
  consider(vars.tmp, "${tmp}", true);
  consider(vars.home, "${home}", false);
  return best;
}

}  // namespace agenttrace
