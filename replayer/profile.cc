#include "replayer/profile.h"

#include <cctype>

#include "format/event_json.h"

namespace agenttrace {
bool ProfileRawResource(const Action& a, std::string* out) {
  out->clear();
  if (!a.env.empty()) {
    *out = "env:";
    out->append(a.env);
    return false;
  }
  if (!a.resolved.empty()) {
    out->assign(a.resolved);
    return true;
  }
  if (!a.path.empty()) {
    out->assign(a.path);
    return true;
  }
  if (!a.host.empty()) {
    out->assign(a.host);
    out->push_back(':');
    out->append(a.port >= 32768 ? std::string("ephemeral") : std::to_string(a.port));
    return false;
  }
  if (a.event != nullptr && a.cls == ActionClass::kToolCall) {
    if (!a.event->server.empty()) *out = a.event->server + "/";
    out->append(a.event->tool);
    return false;
  }
  if (a.event != nullptr) *out = NormalizeVolatileText(a.Resource());
  return false;
}

std::string ProfileResource(std::string_view raw, bool is_path, const PathVars& vars, const TempPaths* temps) {
  return is_path ? NormalizeProfilePath(raw, vars, temps) : std::string(raw);
}

std::string ProfileEntry(const Action& a, const PathVars& vars, const TempPaths* temps) {
  std::string out(ActionClassName(a.cls));
  out.push_back(' ');
  std::string raw;
  bool is_path = ProfileRawResource(a, &raw);
  out += ProfileResource(raw, is_path, vars, temps);
  return out;
}

void ProfileBuilder::Add(const Event& e) {
  temps_.Observe(e);
  DeriveBaseActions(e, &actions_);
  char ok = IsFailedAttempt(e) ? '-' : '+';  // a connect in progress reached its host
  for (const Action& a : actions_) {
    key_.assign(1, static_cast<char>('A' + static_cast<int>(a.cls)));
    // Paths, the common case, go into the key without an intermediate copy.
    std::string_view path = !a.env.empty() ? std::string_view() : !a.resolved.empty() ? a.resolved : a.path;
    if (!path.empty()) {
      key_.push_back('p');
      key_.push_back(ok);
      key_.append(path);
    } else {
      bool is_path = ProfileRawResource(a, &raw_text_);
      key_.push_back(is_path ? 'p' : 'r');
      key_.push_back(ok);
      key_ += raw_text_;
    }
    if (raw_.find(std::string_view(key_)) == raw_.end()) raw_.insert(key_);
  }
}

std::set<std::string> ProfileBuilder::Finish() const {
  std::set<std::string> out;
  for (const std::string& k : raw_) {
    auto cls = static_cast<ActionClass>(k[0] - 'A');
    std::string entry(ActionClassName(cls));
    entry.push_back(' ');
    entry += ProfileResource(std::string_view(k).substr(3), k[1] == 'p', vars_, &temps_);
    out.insert(std::move(entry));
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
