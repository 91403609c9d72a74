#include "replayer/suggest.h"

#include <map>
#include <set>

#include "replayer/engine.h"
#include "replayer/matchers.h"
#include "replayer/normalize.h"

namespace agenttrace {
namespace {

std::string Quote(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      o += buf;
    } else {
      o.push_back(static_cast<char>(c));
    }
  }
  return o + "\"";
}

// A glob matching `path` and the same task's path in a fresh run: the normalised form as a glob
// (replayer/normalize.h), or all of ${tmp}/** below the temporary directory. A secret is allowed by
// its exact path: a generalised one would allow reading other secrets (`${tmp}/**`, or
// `${home}/*/id_rsa` from a random directory name, matches `~/.ssh/id_rsa`).
std::string GeneralizePath(ActionClass cls, std::string_view raw, const PathVars& vars, const TempPaths& temps) {
  if (cls == ActionClass::kSecretRead) return LiteralPathGlob(raw, vars);
  std::string path = NeedsNormalization(raw) ? NormalizePath(raw) : std::string(raw);
  PathVarPrefix var = LongestPathVarPrefix(path, vars);
  if (var.is_tmp) return "${tmp}/**";
  return NormalizeVolatilePath(path, vars, &temps).glob;
}

// Whether deleting what `glob` matches (a file the sessions created and deleted themselves) may be
// exempted from `irreversible:`. Not for globs under ${workspace} or ${tmp} (exempt already), nor for
// a bare `*` less than two directories below the root or ${home}: sed -i on ~/.bashrc leaves
// ${home}/sedXXXXXX, globbed ${home}/*, and exempting that would exempt deleting any file there.
bool ExemptTempDelete(std::string_view glob) {
  if (glob.rfind("${workspace}", 0) == 0 || glob.rfind("${tmp}", 0) == 0) return false;
  size_t slash = glob.rfind('/');
  if (slash == std::string_view::npos) return false;
  if (glob.substr(slash + 1) != "*") return true;
  std::string_view rest = glob.rfind("${home}", 0) == 0 ? glob.substr(7) : glob;
  size_t depth = 0;
  for (char c : rest) depth += c == '/' ? 1 : 0;
  return depth >= 3;
}

// More than this many paths of one class directly in one directory are allowed as `DIR/*`. Such a
// list is beyond review, and `run` parses and compiles every entry before the agent starts: a task
// writing 2,000 files by name gave a 10,000-line policy that took 100 ms to load.
constexpr size_t kMaxSiblings = 32;

// Replaces each set of more than kMaxSiblings globs naming entries of the same directory (no `/`
// after it, not `**`) with `DIR/*`, which matches those entries and no deeper ones. The root is
// never widened to `/*`. Globs in `keep` stay as they are.
void CollapseSiblings(std::set<std::string>* globs, const std::set<std::string>& keep) {
  std::map<std::string, std::vector<std::string>> by_dir;
  for (const std::string& g : *globs) {
    if (keep.count(g) != 0) continue;
    size_t slash = g.rfind('/');
    if (slash == std::string::npos || slash == 0) continue;
    std::string_view name = std::string_view(g).substr(slash + 1);
    if (name.empty() || name == "**" || name == "*") continue;
    by_dir[g.substr(0, slash)].push_back(g);
  }
  for (const auto& [dir, members] : by_dir) {
    if (members.size() <= kMaxSiblings) continue;
    for (const std::string& m : members) globs->erase(m);
    globs->insert(dir + "/*");
  }
}

std::string HostEntry(std::string_view address, uint16_t port) {
  std::string host = address.find(':') != std::string_view::npos ? "[" + std::string(address) + "]" : std::string(address);
  return host + ":" + (port >= 32768 ? std::string("32768-65535") : std::to_string(port));
}

}  // namespace

const std::vector<std::string>& DefaultSecretGlobs() {
  static const std::vector<std::string> kGlobs = {
      "~/.ssh/**",          "~/.aws/**",   "~/.config/gcloud/**", "~/.azure/**", "~/.kube/config",
      "~/.docker/config.json", "~/.netrc", "~/.npmrc",           "~/.pypirc",   "~/.git-credentials",
      "~/.config/gh/hosts.yml", "~/.gnupg/**", "**/.env",         "**/.env.*",   "**/id_rsa*",
      "**/id_ed25519*",     "**/*.key",
      // Private keys in PEM files, not every .pem: public CA bundles (/etc/ssl/certs/*.pem, certifi's
      // cacert.pem) are read by every TLS client.
      "**/*key*.pem",       "/etc/ssl/private/**"};
  return kGlobs;
}

Result<std::string> SuggestPolicy(const std::vector<SessionInput>& sessions, const std::string& label,
                                  std::vector<std::string>* irreversible) {
  // A policy with only the secrets list: used to derive actions exactly as replay will.
  Policy base;
  base.source = "suggest";
  for (const std::string& g : DefaultSecretGlobs()) base.secrets.push_back({g, {}});
  PolicyCache cache(&base);
  std::map<ActionClass, std::set<std::string>> paths, hosts;
  std::set<std::string> tools, envs, escapes;
  std::set<std::string> temp_deletes;  // globs of the sessions' own temporary files they deleted
  std::set<std::pair<ActionClass, std::string>> raw_paths;
  for (const SessionInput& in : sessions) {
    PathVars vars{in.info.cwd, in.info.home, in.info.tmp};
    AT_ASSIGN_OR_RETURN(auto cp, cache.Get(vars));
    SessionEvaluator ev(cp);
    TempPaths temps;
    raw_paths.clear();
    AT_ASSIGN_OR_RETURN(auto src, in.open());
    for (;;) {
      Result<const Event*> next = src->Next();
      if (!next.ok()) return next.status().WithContext("session " + in.info.id.ToString());
      if (*next == nullptr) break;
      ev.Evaluate(**next);
      temps.Observe(**next);
      for (const Action& a : ev.actions()) {
        switch (a.cls) {
          case ActionClass::kToolCall: tools.insert(EscapeGlob(a.event->tool)); break;
          case ActionClass::kEscape: escapes.insert(EscapeGlob(a.event->text)); break;
          default:
            if (!a.env.empty()) {
              envs.insert(EscapeGlob(a.env));
            } else if (!a.host.empty()) {
              hosts[a.cls].insert(HostEntry(a.host, a.port));
            } else if (!a.path.empty()) {
              raw_paths.emplace(a.cls, a.path);
              if (!a.resolved.empty()) raw_paths.emplace(a.cls, a.resolved);
            }
            break;
        }
      }
    }
    // Paths are generalised once the session's temporary files are known (a later delete makes an
    // earlier name temporary).
    for (const auto& [cls, raw] : raw_paths) {
      std::string glob = GeneralizePath(cls, raw, vars, temps);
      if (cls == ActionClass::kFileDelete && temps.Covers(NormalizePath(raw)) && ExemptTempDelete(glob)) {
        temp_deletes.insert(glob);
      }
      paths[cls].insert(std::move(glob));
    }
  }
  // Secrets stay exact (GeneralizePath), and so do deletes of the sessions' own temporary files, which
  // are exempt from `irreversible:` one by one (a `DIR/*` would exempt deleting anything there).
  for (auto& [cls, globs] : paths) {
    if (cls == ActionClass::kSecretRead) continue;
    CollapseSiblings(&globs, cls == ActionClass::kFileDelete ? temp_deletes : std::set<std::string>{});
  }
  std::string o;
  o += "# Suggested by `agenttrace policy suggest --label " + label + "` from " + std::to_string(sessions.size()) +
       " session(s): allows exactly what they did, denies everything else.\n";
  o += "# Review before use: every allowed secret and escape below was observed, not endorsed.\n";
  o += "version: 1\ndefault: deny\n";
  o += "secrets:\n";
  for (const std::string& g : DefaultSecretGlobs()) o += "  - " + Quote(g) + "\n";
  std::set<std::string> lasting;  // deletes the irreversible rule below will flag
  if (auto deletes = paths.find(ActionClass::kFileDelete); deletes != paths.end()) {
    for (const std::string& g : deletes->second) {
      if (g.rfind("${workspace}", 0) != 0 && g.rfind("${tmp}", 0) != 0 && temp_deletes.count(g) == 0) {
        lasting.insert(g);
      }
    }
  }
  if (!lasting.empty()) {
    o += "# These sessions deleted files outside ${workspace} and ${tmp}: irreversible below, so the gate\n"
         "# refuses to promote them until you decide (exempt a path in not_paths, or allow_irreversible):\n";
    for (const std::string& g : lasting) o += "#   " + Quote(g) + "\n";
  }
  if (irreversible != nullptr) irreversible->assign(lasting.begin(), lasting.end());
  o += "irreversible:\n";
  o += "  - {class: file.delete, not_paths: [\"${workspace}/**\", \"${tmp}/**\"";
  // Deleting a file the session itself created is not irreversible (Python's /dev/shm/sem.*).
  for (const std::string& g : temp_deletes) o += ", " + Quote(g);
  o += "]}\n";
  size_t rules_at = o.size();
  o += "rules:\n";
  auto list = [&](const char* key, const std::set<std::string>& items) {
    o += std::string("    ") + key + ":\n";
    for (const std::string& x : items) o += "      - " + Quote(x) + "\n";
  };
  for (const auto& [cls, items] : paths) {
    std::string name(ActionClassName(cls));
    for (char& c : name) c = c == '.' ? '-' : c;
    o += "  - id: allow-" + name + (cls == ActionClass::kNetConnect || cls == ActionClass::kNetListen ? "-unix" : "") + "\n";
    o += "    decision: allow\n    class: " + std::string(ActionClassName(cls)) + "\n";
    if (cls == ActionClass::kSecretRead) o += "    description: secrets these sessions read (review!)\n";
    list("paths", items);
  }
  for (const auto& [cls, items] : hosts) {
    std::string name(ActionClassName(cls));
    for (char& c : name) c = c == '.' ? '-' : c;
    o += "  - id: allow-" + name + "\n    decision: allow\n    class: " + std::string(ActionClassName(cls)) + "\n";
    list("hosts", items);
  }
  if (!envs.empty()) {
    o += "  - id: allow-secret-env\n    decision: allow\n    class: secret.read\n"
         "    description: secret environment variables handed to programs (review!)\n";
    list("env", envs);
  }
  if (!tools.empty()) {
    o += "  - id: allow-tool-call\n    decision: allow\n    class: tool.call\n";
    list("tools", tools);
  }
  if (!escapes.empty()) {
    o += "  - id: ask-process-escape\n    decision: ask\n    class: process.escape\n"
         "    description: escape attempts these sessions made\n";
    list("text", escapes);
  }
  if (o.size() == rules_at + 7) o.replace(rules_at, 7, "rules: []\n");
  o += "promotion:\n  min_sessions: 3\n  max_violations: 0\n  max_asks: 0\n  min_stability: 0.8\n"
       "  allow_irreversible: false\n";
  return o;
}

}  // namespace agenttrace
