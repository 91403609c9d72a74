#include "replayer/normalize.h"

#include <errno.h>
#include <fcntl.h>

#include "format/event_json.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace agenttrace {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlpha(char c) { return IsLower(c) || IsUpper(c); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool DigitsAt(std::string_view s, size_t p, size_t n) {
  if (p + n > s.size()) return false;
  for (size_t k = 0; k < n; ++k) {
    if (!IsDigit(s[p + k])) return false;
  }
  return true;
}

bool AllDigitsAfter(std::string_view s, size_t p) {
  if (p >= s.size()) return false;
  for (size_t k = p; k < s.size(); ++k) {
    if (!IsDigit(s[k])) return false;
  }
  return true;
}

int TwoDigits(std::string_view s, size_t p) { return (s[p] - '0') * 10 + (s[p + 1] - '0'); }

bool PlausibleDate(std::string_view s, size_t month_at, size_t day_at) {
  int m = TwoDigits(s, month_at), d = TwoDigits(s, day_at);
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

// Length of a UUID (8-4-4-4-12 hex digits) starting at i, or 0.
size_t UuidLength(std::string_view s, size_t i) {
  static const int kGroups[] = {8, 4, 4, 4, 12};
  size_t p = i;
  for (int g = 0; g < 5; ++g) {
    for (int k = 0; k < kGroups[g]; ++k, ++p) {
      if (p >= s.size() || !IsHex(s[p])) return 0;
    }
    if (g < 4) {
      if (p >= s.size() || s[p] != '-') return 0;
      ++p;
    }
  }
  return p == s.size() || !IsAlnum(s[p]) ? p - i : 0;
}

// Length of an ISO-8601 date or date-time starting at i, or 0: YYYY-MM-DD, optionally followed by
// [T_ ]HH[:_-]MM([:_-]SS)?, a fraction [.,_]digits and a zone (Z, +HH:MM); or the compact
// YYYYMMDD[T_-]HHMMSS(Z)?. File names use '_' or '-' where ISO uses ':' (npm's
// 2026-11-29T22_34_08_673Z-debug-0.log). It must end where a letter or digit run ends.
size_t TimestampLength(std::string_view s, size_t i) {
  size_t p = i;
  bool has_time = false;
  auto is_sep = [&](size_t q) { return q < s.size() && (s[q] == ':' || s[q] == '_' || s[q] == '-'); };
  if (DigitsAt(s, p, 8) && p + 8 < s.size() && (s[p + 8] == 'T' || s[p + 8] == '_' || s[p + 8] == '-') &&
      DigitsAt(s, p + 9, 6) && PlausibleDate(s, p + 4, p + 6)) {
    p += 15;
    has_time = true;
  } else if (DigitsAt(s, p, 4) && p + 10 <= s.size() && s[p + 4] == '-' && DigitsAt(s, p + 5, 2) && s[p + 7] == '-' &&
             DigitsAt(s, p + 8, 2) && PlausibleDate(s, p + 5, p + 8)) {
    p += 10;
    if (p < s.size() && (s[p] == 'T' || s[p] == '_' || s[p] == ' ') && DigitsAt(s, p + 1, 2)) {
      size_t q = p + 3;
      if (is_sep(q)) ++q;
      if (DigitsAt(s, q, 2)) {
        q += 2;
        size_t r = q;
        if (is_sep(r)) ++r;
        if (DigitsAt(s, r, 2)) q = r + 2;
        p = q;
        has_time = true;
      }
    }
  } else {
    return 0;
  }
  if (has_time) {
    if (p + 1 < s.size() && (s[p] == '.' || s[p] == ',' || s[p] == '_') && IsDigit(s[p + 1])) {
      ++p;
      while (p < s.size() && IsDigit(s[p])) ++p;
    }
    if (p < s.size() && s[p] == 'Z') {
      ++p;
    } else if (p < s.size() && (s[p] == '+' || s[p] == '-') && DigitsAt(s, p + 1, 2)) {
      size_t q = p + 3;
      if (q < s.size() && s[q] == ':') ++q;
      if (DigitsAt(s, q, 2)) p = q + 2;
    }
  }
  if (p < s.size() && IsAlnum(s[p])) return 0;
  return p - i;
}

// Accumulates both renderings. Literal text is glob-escaped when a placeholder or the end comes.
class Out {
 public:
  Out(std::string* text, std::string* glob) : text_(text), glob_(glob) {}
  void Literal(std::string_view s) {
    text_->append(s);
    lit_.append(s);
    star_ = false;
  }
  void Literal(char c) { Literal(std::string_view(&c, 1)); }
  // A volatile part: `token` in the text, `*` in the glob. Consecutive `*` tokens merge.
  void Placeholder(std::string_view token) {
    FlushLiteral();
    if (star_ && token == "*") return;
    text_->append(token);
    if (!glob_star_) glob_->push_back('*');
    glob_star_ = true;
    star_ = token == "*";
  }
  // A volatile part with a narrower glob than `*` (a character class).
  void Placeholder(std::string_view token, std::string_view glob) {
    FlushLiteral();
    text_->append(token);
    glob_->append(glob);
    star_ = glob_star_ = false;
  }
  void Variable(std::string_view name) {
    FlushLiteral();
    text_->append(name);
    glob_->append(name);
    star_ = glob_star_ = false;
  }
  void Finish() { FlushLiteral(); }

 private:
  void FlushLiteral() {
    if (lit_.empty()) return;
    glob_->append(EscapeGlob(lit_));
    lit_.clear();
    glob_star_ = false;
  }
  std::string* text_;
  std::string* glob_;
  std::string lit_;
  bool star_ = false;       // the text ends with a `*` placeholder
  bool glob_star_ = false;  // the glob ends with a `*` wildcard
};

// A run of letters and digits that only a generator writes: 8+ hex digits mixing digits and letters
// (hashes, murmur slugs: 1a2b3c4d), or 6+ characters switching 3+ times between letters and digits
// (base-36 counters and random strings: k3j5l2m1). Words stay (Makefile, README, config, deadbeef),
// and so do names with a number in them (sha256sums, python311, ipv6addr: at most two switches);
// a number alone gets the rule that applies anywhere (N), as where the file is not temporary.
bool LooksGenerated(std::string_view run) {
  if (run.size() < 6) return false;
  bool hex = true, digit = false, letter = false;
  int switches = 0;
  for (size_t k = 0; k < run.size(); ++k) {
    hex &= IsHex(run[k]);
    digit |= IsDigit(run[k]);
    letter |= IsAlpha(run[k]);
    if (k > 0 && IsDigit(run[k]) != IsDigit(run[k - 1])) ++switches;
  }
  if (hex && digit && letter && run.size() >= 8) return true;
  return digit && letter && switches >= 3;
}

// The rules that apply anywhere (see the header). `named_temp`: `s` names a temporary file whose
// name was not generated (TempPaths::Generated), where runs that look generated become `*` too.
void Anywhere(std::string_view s, Out& o, bool named_temp = false) {
  size_t i = 0;
  while (i < s.size()) {
    bool at_start = i == 0 || !IsAlnum(s[i - 1]);
    if (at_start) {
      if (size_t n = UuidLength(s, i); n > 0) {
        o.Placeholder("<uuid>");
        i += n;
        continue;
      }
      if (size_t n = TimestampLength(s, i); n > 0) {
        o.Placeholder("<time>");
        i += n;
        continue;
      }
    }
    if (!IsAlnum(s[i])) {
      o.Literal(s[i]);
      ++i;
      continue;
    }
    size_t j = i;
    bool all_digit = true, all_hex = true;
    while (j < s.size() && IsAlnum(s[j])) {
      all_digit &= IsDigit(s[j]);
      all_hex &= IsHex(s[j]);
      ++j;
    }
    size_t len = j - i;
    // The inode of a kernel object as /proc/PID/fd shows it: pipe:[246751], socket:[N].
    bool bracketed = i >= 2 && s[i - 1] == '[' && s[i - 2] == ':' && j < s.size() && s[j] == ']';
    if (named_temp && LooksGenerated(s.substr(i, len))) {
      o.Placeholder("*");
    } else if (all_digit && (len >= 4 || bracketed)) {
      o.Placeholder("N");
    } else if (all_hex && len >= 16) {
      o.Placeholder("<hex>");
    } else {
      o.Literal(s.substr(i, len));
    }
    i = j;
  }
}

// Runs of a temporary name. `own`: the session generated the name (TempPaths::Generated) and removed
// it, so a run with a digit or of 6+ characters is random, whole (mkstemp's six characters can all be lower-case letters; and a
// template prefix glued to them, sedXXXXXX or gcc's ccXXXXXX, cannot be kept consistently: "cc9i55a0"
// and an eight-character Python name look alike). Otherwise (a name below ${tmp} that stays) only
// runs that look random are: 8+ characters, or 6+ mixing digits or cases; other numbers become N, so
// that stable names there (pytest-of-dev/pytest-3) stay readable.
void TempRuns(std::string_view s, bool own, Out& o) {
  size_t i = 0;
  while (i < s.size()) {
    bool at_start = i == 0 || !IsAlnum(s[i - 1]);
    if (at_start) {
      size_t n = UuidLength(s, i);
      if (n == 0) n = TimestampLength(s, i);
      if (n > 0) {
        o.Placeholder("*");
        i += n;
        continue;
      }
    }
    if (!IsAlnum(s[i])) {
      o.Literal(s[i]);
      ++i;
      continue;
    }
    size_t j = i;
    bool digit = false, upper = false, lower = false, all_digit = true;
    while (j < s.size() && IsAlnum(s[j])) {
      digit |= IsDigit(s[j]);
      upper |= IsUpper(s[j]);
      lower |= IsLower(s[j]);
      all_digit &= IsDigit(s[j]);
      ++j;
    }
    size_t len = j - i;
    if (own) {
      if (digit || len >= 6) {
        o.Placeholder("*");
      } else {
        o.Literal(s.substr(i, len));
      }
    } else if (all_digit) {
      o.Placeholder("N");
    } else if ((len >= 6 && (digit || (upper && lower))) || len >= 8) {
      o.Placeholder("*");
    } else {
      // Numbers inside a word (file12.log): each digit run becomes N.
      for (size_t k = i; k < j;) {
        if (IsDigit(s[k])) {
          while (k < j && IsDigit(s[k])) ++k;
          o.Placeholder("N");
        } else {
          size_t m = k;
          while (m < j && !IsDigit(s[m])) ++m;
          o.Literal(s.substr(k, m - k));
          k = m;
        }
      }
    }
    i = j;
  }
}

// Where the stem of a name ends: before an extension of 1-5 letters, which is kept apart (mkstemps
// and tempfile suffixes), or at its end.
size_t StemEnd(std::string_view c) {
  size_t dot = c.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || c.size() - dot - 1 < 1 || c.size() - dot - 1 > 5) return c.size();
  for (size_t k = dot + 1; k < c.size(); ++k) {
    if (!IsAlpha(c[k])) return c.size();
  }
  return dot;
}

// One component of a temporary path (see TempRuns for `own`).
void TempName(std::string_view c, bool own, Out& o) {
  const size_t stem_end = StemEnd(c);
  // Python: eight characters of [a-z0-9_] after "tmp" or a separator. The '_' would otherwise split
  // them into runs too short to look random.
  size_t tail = std::string_view::npos;
  if (stem_end >= 8) {
    size_t t = stem_end - 8;
    bool ok = true;
    for (size_t k = t; k < stem_end; ++k) ok &= IsLower(c[k]) || IsDigit(c[k]) || c[k] == '_';
    bool after =
        t == 0 || c[t - 1] == '-' || c[t - 1] == '.' || c[t - 1] == '_' || (t >= 3 && c.substr(t - 3, 3) == "tmp");
    if (ok && after) tail = t;
  }
  TempRuns(c.substr(0, tail == std::string_view::npos ? stem_end : tail), own, o);
  if (tail != std::string_view::npos) o.Placeholder("*");
  TempRuns(c.substr(stem_end), own, o);
}

// A name made from a template is rendered as it is, but for Python's tmpXXXXXXXX and mkstemp's
// template tail: after a separator, the last run of 6 to 16 letters and digits before an optional
// extension of 1-5 letters (keep.McnM2z, tmp.JSlrl6eoWb, out-Ab12Cd.txt). `from_template`: the
// session created the name as mkstemp and mkdtemp do (KeptFromTemplate), so any such tail is random
// (keep.ujnwyj too); otherwise (the stem of a derived name) the tail must also mix at least two of
// digits, lower and upper case, since a real name may end that way (db.sqlite).
void KeptName(std::string_view c, bool from_template, Out& o) {
  const size_t stem_end = StemEnd(c);
  // Python's tempfile (mkstemp, mkdtemp, NamedTemporaryFile with delete=False): "tmp" and eight
  // characters of [a-z0-9_], which may contain '_' and so not be one run.
  if (stem_end == 11 && c.substr(0, 3) == "tmp") {
    bool python = true;
    for (size_t k = 3; k < stem_end; ++k) python &= IsLower(c[k]) || IsDigit(c[k]) || c[k] == '_';
    if (python) {
      o.Literal("tmp");
      o.Placeholder("*");
      Anywhere(c.substr(stem_end), o);
      return;
    }
  }
  size_t start = stem_end;
  while (start > 0 && IsAlnum(c[start - 1])) --start;
  size_t len = stem_end - start;
  int classes = 0;
  bool digit = false, lower = false, upper = false;
  for (size_t k = start; k < stem_end; ++k) {
    digit |= IsDigit(c[k]);
    lower |= IsLower(c[k]);
    upper |= IsUpper(c[k]);
  }
  classes = (digit ? 1 : 0) + (lower ? 1 : 0) + (upper ? 1 : 0);
  bool after_separator = start > 0 && (c[start - 1] == '.' || c[start - 1] == '-' || c[start - 1] == '_');
  if (!after_separator || len < 6 || len > 16 || (!from_template && classes < 2)) {
    Anywhere(c, o);
    return;
  }
  Anywhere(c.substr(0, start), o);
  o.Placeholder("*");
  Anywhere(c.substr(stem_end), o);
}

// The shapes of names a tool derives from another, stable name: the stem is that name (kept, with the
// rules that apply anywhere), only the affix is fixed. Checked before the random-name rules, which
// would otherwise turn `config.lock` into `*.lock` while `index.lock` stays (a 6-letter run looks
// random in a temporary name, a 5-letter one does not) and `db.sqlite-journal` into `db.*-*`. The
// stem gets the rules of a kept name (KeptName).
struct DerivedShape {
  std::string_view prefix, suffix;
  bool letter_after;  // one lower-case letter follows the suffix (vim's .swp, .swo, ..., .swx)
};
constexpr DerivedShape kDerivedShapes[] = {
    {"", ".lock", false},     // lock files: git's index.lock, config.lock, objects/maintenance.lock
    {"", "-journal", false},  // SQLite's rollback journal, write-ahead log, shared memory
    {"", "-wal", false},     {"", "-shm", false},
    {".", ".sw", true},  // vim's swap files, .NAME.swp and the .swx it probes with
    {"", "~", false},    // backups (vim, emacs, patch -b)
    {"#", "#", false},   // emacs auto-save
    {".#", "", false},   // emacs lock
};

// Renders `c` when it has a derived shape, and says whether it did. Python's byte-code cache writes
// NAME.pyc.ID (the id of a string object, a number that changes from run to run) and renames it
// onto NAME.pyc: the number becomes N.
bool DerivedName(std::string_view c, Out& o) {
  size_t pyc = c.rfind(".pyc.");
  if (pyc != std::string_view::npos && pyc > 0 && AllDigitsAfter(c, pyc + 5)) {
    Anywhere(c.substr(0, pyc + 5), o);
    o.Placeholder("N");
    return true;
  }
  for (const DerivedShape& d : kDerivedShapes) {
    size_t tail = d.suffix.size() + (d.letter_after ? 1 : 0);
    if (c.size() <= d.prefix.size() + tail) continue;
    if (c.substr(0, d.prefix.size()) != d.prefix) continue;
    std::string_view suffix = c.substr(c.size() - tail, d.suffix.size());
    if (suffix != d.suffix || (d.letter_after && !IsLower(c.back()))) continue;
    o.Literal(d.prefix);
    // The stem of a name derived from a random one (tmpab_cd12e.lock) is itself random: the rules
    // for kept names apply to it.
    KeptName(c.substr(d.prefix.size(), c.size() - d.prefix.size() - tail), false, o);
    o.Literal(c.substr(c.size() - tail));
    return true;
  }
  return false;
}

// A directory of git's object store fan-out: two hex digits (the first byte of an object id) right
// below a directory named `objects` (.git/objects/0a, a bare repository's objects/0a). Which ones
// exist depends on the ids of the objects written, and a commit's id on its time.
bool GitFanout(std::string_view norm, size_t pos, std::string_view comp) {
  if (comp.size() != 2 || !IsHex(comp[0]) || !IsHex(comp[1]) || IsUpper(comp[0]) || IsUpper(comp[1])) return false;
  constexpr std::string_view kObjects = "/objects/";
  return pos >= kObjects.size() && norm.substr(pos - kObjects.size(), kObjects.size()) == kObjects;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

}  // namespace

void TempPaths::Created(std::string_view path, bool from_template, bool generated) {
  if (path.empty()) return;
  // Created again after its removal: the name holds a file at the end, it is not temporary. A name
  // once generated stays so when it is used again (git makes .git/tXXXXXX exclusively, removes it
  // and makes a symlink of that name to probe for symlinks).
  if (auto it = temp_.find(path); it != temp_.end()) {
    generated |= it->second;
    temp_.erase(it);
  }
  if (auto it = created_.find(path); it != created_.end()) {
    it->second |= generated;
  } else if (created_.size() < kMaxTracked) {
    created_.emplace(path, generated);
  }
  if (from_template && template_.size() < kMaxTracked) template_.emplace(path);
}

void TempPaths::Removed(std::string_view path) {
  if (auto e = template_.find(path); e != template_.end()) template_.erase(e);
  auto it = created_.find(path);
  if (it == created_.end()) return;
  auto node = created_.extract(it);
  if (temp_.size() < kMaxTracked) temp_.insert(std::move(node));
}

bool TempPaths::InCreatedDir(std::string_view path) const {
  if (created_.empty()) return false;
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  return created_.find(path.substr(0, slash)) != created_.end();
}

void TempPaths::Observe(const Event& e) {
  if (IsSyscallKind(e.kind) && e.result < 0) {
    // An exclusive create that failed because the directory was missing: the name never existed,
    // the session made it up (git retries tmp_obj_XXXXXX after creating objects/XX/).
    if (e.kind == EventKind::kFileOpen && e.result == -ENOENT && (e.flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) &&
        temp_.size() < kMaxTracked) {
      temp_.emplace(e.path, true);
    }
    return;
  }
  switch (e.kind) {
    case EventKind::kFileOpen:
      if ((e.flags & O_CREAT) != 0 && ((e.flags & O_EXCL) != 0 || InCreatedDir(e.path))) {
        // glibc's mkstemp family and Python's tempfile create with exactly 0600, mkdtemp with 0700
        // (the mode asked for, before the umask). Any exclusive create is a generated name (git's
        // tmp_obj_XXXXXX asks 0444, its packs_XXXXXX 0666); a plain one was named by its writer.
        bool exclusive = (e.flags & O_EXCL) != 0;
        Created(e.path, exclusive && (e.mode & 07777) == 0600, exclusive);
      }
      break;
    case EventKind::kFileCreate:
      if (InCreatedDir(e.path)) Created(e.path, false, false);
      break;
    case EventKind::kFileMkdir:
      // mkdtemp asks 0700; `mkdir build` asks 0777.
      Created(e.path, (e.mode & 07777) == 0700, (e.mode & 07777) == 0700);
      break;
    case EventKind::kFileLink:  // sem_open publishes its exclusively made sem.XXXXXX under the name
      Created(e.path2, false, true);
      break;
    case EventKind::kFileSymlink:
      Created(e.path2, false, false);
      break;
    case EventKind::kFileRename:
      if ((e.flags & RENAME_EXCHANGE) != 0) break;
      Removed(e.path);
      // The new name is the old file's: an exclusive creation renamed into place (sed -i, git's
      // lock files) is an ordinary file under a chosen name.
      if (InCreatedDir(e.path2)) Created(e.path2, false, false);
      break;
    case EventKind::kFileDelete:
    case EventKind::kFileRmdir:
      Removed(e.path);
      break;
    default:
      break;
  }
}

bool TempPaths::Contains(std::string_view path) const { return temp_.find(path) != temp_.end(); }

bool TempPaths::Generated(std::string_view path) const {
  auto it = temp_.find(path);
  return it != temp_.end() && it->second;
}

bool TempPaths::Covers(std::string_view path) const {
  if (temp_.empty()) return false;
  for (;;) {
    if (Contains(path)) return true;
    size_t slash = path.rfind('/');
    if (slash == std::string_view::npos || slash == 0) return false;
    path = path.substr(0, slash);
  }
}

NormalizedPath NormalizeVolatilePath(std::string_view path, const PathVars& vars, const TempPaths* temps) {
  std::string storage;
  std::string_view norm = path;
  if (NeedsNormalization(path)) {
    storage = NormalizePath(path);
    norm = storage;
  }
  NormalizedPath r;
  Out o(&r.text, &r.glob);
  PathVarPrefix var = LongestPathVarPrefix(norm, vars);
  size_t pos = 0;
  if (!var.name.empty()) {
    o.Variable(var.name);
    pos = var.dir_len;
  }
  bool check_temps = temps != nullptr && !temps->empty();
  // Kept template names are generalised in the workspace only, where an agent's scratch files are:
  // elsewhere a private exclusive create is as likely a key (~/.ssh/id_ed25519, mode 0600).
  bool in_workspace = var.name == "${workspace}";
  bool numeric_dirs = var.name.empty() && (norm.substr(0, 6) == "/proc/" || norm.substr(0, 9) == "/dev/pts/");
  while (pos < norm.size()) {
    if (norm[pos] == '/') {
      o.Literal('/');
      ++pos;
      continue;
    }
    size_t end = norm.find('/', pos);
    if (end == std::string_view::npos) end = norm.size();
    std::string_view comp = norm.substr(pos, end - pos);
    if (numeric_dirs && AllDigits(comp)) {
      o.Placeholder("N");
    } else if (GitFanout(norm, pos, comp)) {
      // Not `*`: objects/info and objects/pack are other things.
      o.Placeholder("<hex>", "[0-9a-f][0-9a-f]");
    } else if (check_temps && temps->Generated(norm.substr(0, end))) {
      if (!DerivedName(comp, o)) TempName(comp, true, o);
    } else if (var.is_tmp) {
      // A named temporary file below ${tmp} too: as if it stayed, whether or not its directory was
      // the session's own.
      TempName(comp, false, o);
    } else if (check_temps && temps->Contains(norm.substr(0, end))) {
      // Named: rendered as if it stayed (as it is in a run where its directory already existed), but
      // for runs that look generated.
      if (!DerivedName(comp, o)) Anywhere(comp, o, true);
    } else if (in_workspace && temps != nullptr && temps->KeptFromTemplate(norm.substr(0, end))) {
      KeptName(comp, true, o);
    } else {
      Anywhere(comp, o);
    }
    pos = end;
  }
  o.Finish();
  return r;
}

std::string LiteralPathGlob(std::string_view path, const PathVars& vars) {
  std::string norm = NeedsNormalization(path) ? NormalizePath(path) : std::string(path);
  PathVarPrefix var = LongestPathVarPrefix(norm, vars);
  if (var.name.empty()) return EscapeGlob(norm);
  return std::string(var.name) + EscapeGlob(std::string_view(norm).substr(var.dir_len));
}

std::string NormalizeProfilePath(std::string_view path, const PathVars& vars, const TempPaths* temps) {
  return NormalizeVolatilePath(path, vars, temps).text;
}

std::string NormalizeVolatileText(std::string_view text) {
  std::string t, g;
  Out o(&t, &g);
  Anywhere(text, o);
  o.Finish();
  return t;
}

}  // namespace agenttrace
