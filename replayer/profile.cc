#include "replayer/profile.h"

#include <algorithm>
#include <cctype>

namespace agenttrace {
namespace {

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool LooksLikeUuid(std::string_view s, size_t i) {
  static const int kGroups[] = {8, 4, 4, 4, 12};
  size_t p = i;
  for (int g = 0; g < 5; ++g) {
    for (int k = 0; k < kGroups[g]; ++k, ++p) {
      if (p >= s.size() || !IsHex(s[p])) return false;
    }
    if (g < 4) {
      if (p >= s.size() || s[p] != '-') return false;
      ++p;
    }
  }
  return p == s.size() || !IsHex(s[p]);
}

// Replaces volatile runs in `s`. `in_tmp`: also numbers and random-looking names.
std::string Scrub(std::string_view s, bool in_tmp) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    bool at_start = i == 0 || !IsAlnum(s[i - 1]);
    if (at_start && LooksLikeUuid(s, i)) {
      out += "<uuid>";
      i += 36;
      continue;
    }
    if (at_start && IsAlnum(s[i])) {
      size_t j = i;
      bool digit = false, upper = false, lower = false, all_hex = true, all_digit = true;
      while (j < s.size() && IsAlnum(s[j])) {
        char c = s[j];
        digit |= IsDigit(c);
        upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
        lower |= std::islower(static_cast<unsigned char>(c)) != 0;
        all_hex &= IsHex(c);
        all_digit &= IsDigit(c);
        ++j;
      }
      size_t len = j - i;
      if (all_digit && (len >= 9 || in_tmp)) {
        out += "N";
      } else if (all_hex && len >= 16) {
        out += "<hex>";
      } else if (in_tmp && ((len >= 6 && (digit || (upper && lower))) || len >= 8)) {
        // mkstemp-style names: a short prefix and six random characters ("cczywngj" from gcc is all
        // lower case, so case mixing alone does not catch it).
        out += "*";
      } else if (in_tmp && digit) {
        // Numbers inside a word (file12.log): digits become N.
        for (size_t k = i; k < j; ++k) {
          if (IsDigit(s[k])) {
            if (out.empty() || out.back() != 'N' || k == i || !IsDigit(s[k - 1])) out.push_back('N');
          } else {
            out.push_back(s[k]);
          }
        }
      } else {
        out.append(s.substr(i, len));
      }
      i = j;
      continue;
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}


}  // namespace

std::string NormalizeProfilePath(std::string_view path, const PathVars& vars) {
  std::string norm = NeedsNormalization(path) ? NormalizePath(path) : std::string(path);
  std::string out;
  std::string_view rest = norm;
  PathVarPrefix var = LongestPathVarPrefix(norm, vars);
  bool in_tmp = var.is_tmp;
  if (!var.name.empty()) {
    out = var.name;
    rest = std::string_view(norm).substr(var.dir_len);
  }
  if (!in_tmp && rest.substr(0, 6) == "/proc/" && rest.size() > 6 && IsDigit(rest[6])) {
    size_t j = 6;
    while (j < rest.size() && IsDigit(rest[j])) ++j;
    out += "/proc/N";
    rest = rest.substr(j);
  }
  out += Scrub(rest, in_tmp);
  return out;
}

std::string ProfileEntry(const Action& a, const PathVars& vars) {
  std::string out(ActionClassName(a.cls));
  out.push_back(' ');
  if (!a.env.empty()) {
    out += "env:";
    out += a.env;
  } else if (!a.resolved.empty()) {
    out += NormalizeProfilePath(a.resolved, vars);
  } else if (!a.path.empty()) {
    out += NormalizeProfilePath(a.path, vars);
  } else if (!a.host.empty()) {
    out += a.host;
    out.push_back(':');
    out += a.port >= 32768 ? std::string("ephemeral") : std::to_string(a.port);
  } else if (a.event != nullptr && a.cls == ActionClass::kToolCall) {
    if (!a.event->server.empty()) out += a.event->server + "/";
    out += a.event->tool;
  } else if (a.event != nullptr) {
    out += Scrub(a.Resource(), false);
  }
  return out;
}

double Jaccard(const std::set<std::string>& a, const std::set<std::string>& b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t inter = 0;
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++inter;
      ++i;
      ++j;
    }
  }
  size_t uni = a.size() + b.size() - inter;
  return static_cast<double>(inter) / static_cast<double>(uni);
}

bool LooksSideEffecting(std::string_view tool) {
  static const char* kWords[] = {"write", "delete", "remove", "rm", "exec", "run", "shell", "bash", "command",
                                 "create", "update", "edit", "move", "rename", "push", "commit", "deploy", "send",
                                 "post", "put", "kill", "install", "patch", "insert", "drop"};
  std::string lower;
  lower.reserve(tool.size());
  for (char c : tool) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  // Match whole words separated by non-letters, so "format" does not count as "rm".
  size_t i = 0;
  while (i < lower.size()) {
    while (i < lower.size() && !std::isalpha(static_cast<unsigned char>(lower[i]))) ++i;
    size_t j = i;
    while (j < lower.size() && std::isalpha(static_cast<unsigned char>(lower[j]))) ++j;
    std::string_view word = std::string_view(lower).substr(i, j - i);
    for (const char* w : kWords) {
      std::string_view kw(w);
      if (word == kw || (kw.size() >= 4 && word.substr(0, kw.size()) == kw)) return true;
    }
    i = j;
  }
  return false;
}

}  // namespace agenttrace
