// The one normaliser of paths for behaviour profiles (stability), `policy suggest` and behaviour
// diffs: it rewrites the parts of a path that change from run to run of the same task (process ids,
// time stamps, random temporary names, inode numbers) so that two runs doing the same thing give the
// same string, while real, stable names stay as they are (out/report.txt and out/other.txt differ).
//
// One pass gives two renderings of the same normalised path: `text` for profiles and reports, with
// readable placeholders, and `glob` for policies, where every placeholder is `*` and the literal parts
// are glob-escaped, so that the glob matches the path and every path with the same normalised form
// (the same task's paths in a fresh run). docs/policy.md ("Normalisation") is the reference for
// the rules; in short:
//
//   - The longest of the session's directories that contains the path becomes ${workspace},
//     ${home} or ${tmp}.
//   - Anywhere: UUIDs -> <uuid>; ISO-8601 dates and times (2026-11-29T22_34_08_673Z, 20261129T223408Z)
//     -> <time>; runs of 16+ hex digits -> <hex>; runs of 4+ digits (pids, ports, epochs) -> N;
//     digits in ":[...]" (pipe:[246751], socket:[N]) -> N; under /proc and /dev/pts every all-digit
//     component -> N (/proc/9419/maps -> /proc/N/maps, /proc/N/task/N, /proc/N/fd/N).
//   - The session's own temporary files (TempPaths: created, then deleted or renamed away) whose name
//     a name generator picked (an exclusive create, a mkdir asking 0700, a link's new name): in each
//     component naming one, every run of letters and digits that contains a digit or has 6+
//     characters becomes `*`, as does the 8-character [a-z0-9_] tail Python's tempfile and
//     multiprocessing put after "tmp" or a separator (tmp_obj_8lKMUl -> tmp_obj_*, sem.mp-awo_wt4v ->
//     sem.mp-*, .tmp-16452-pack-<hex>.idx -> .tmp-*-pack-*.idx, sedvV8FQW -> *).
//   - Other temporary files (a plain O_CREAT, creat, mknod or rename target inside a directory the
//     session made, a mkdir asking another mode, a symlink): named as if they stayed, but for runs
//     that only a generator writes, 8+ hex digits or 6+ characters switching 3+ times between
//     letters and digits (w/Makefile stays, w/1a2b3c4d.tmp -> w/*.tmp): whether such a file counts as
//     the session's own depends on whether its directory existed before the run.
//   - Other names below ${tmp}: runs that look random (8+ characters, or 6+ mixing digits or cases)
//     become `*`, other numbers N, and the Python rule applies.
//   - Before those: git's object fan-out directories (two hex digits right below `objects/`) ->
//     <hex> (glob [0-9a-f][0-9a-f], which does not match objects/info); in a temporary name derived
//     from a stable one (NAME.lock, NAME-journal, -wal, -shm, vim's .NAME.swp, NAME~, emacs' #NAME#
//     and .#NAME, Python's NAME.pyc.ID) only the changing part is generalised (config.lock stays,
//     mod.cpython-311.pyc.140234 -> mod.cpython-311.pyc.N; the stem gets the kept-name rule below).
//   - In ${workspace}, a name the session made from a template and kept (an exclusive create with
//     mode 0600 or a mkdir with 0700, as mkstemp and mkdtemp do, still there at the end: mktemp -p .,
//     Python's tempfile with delete=False): Python's tmpXXXXXXXX and a template tail of 6-16
//     letters and digits after a separator become `*` (keep.McnM2z -> keep.*).
//
// Thread-safety: free functions over values; a TempPaths belongs to one thread while it is built and
// is read-only afterwards.
#ifndef AGENTTRACE_REPLAYER_NORMALIZE_H_
#define AGENTTRACE_REPLAYER_NORMALIZE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "format/event.h"
#include "replayer/matchers.h"

namespace agenttrace {

// The paths a session created and later removed (deleted, or renamed away): its own temporary files
// and directories. Built from the session's events in recorded order, before the paths are
// normalised (a later delete makes an earlier name temporary).
//
// A path counts as created by a successful mkdir, an open with O_CREAT|O_EXCL, the new name of a
// link or symlink, or an open with O_CREAT, creat/mknod or the target of a rename inside a directory
// the session created (a plain O_CREAT may reuse an existing file, which is not the session's own).
// An exclusive create (O_CREAT|O_EXCL) that failed with ENOENT also counts: the name never existed.
//
// A created path is also classed by who picked its name. Generated: an exclusive create (what
// mkstemp, Python's tempfile and git do, whatever the mode), a mkdir asking for mode 0700 (mkdtemp)
// or the new name of a link (sem_open publishes its exclusively made file so). Named: the others (a
// plain O_CREAT, creat/mknod or rename target inside a created directory, a mkdir asking another
// mode, a symlink), which a program or a person named (w/Makefile, build/, out.txt). Only a
// generated name is taken for random whole; a named one only where it looks generated.
// At most kMaxTracked created paths, and as many temporary ones and template-made ones, are
// remembered; beyond, names stay as they are, which can only lower stability, never hide a
// difference.
class TempPaths {
 public:
  static constexpr size_t kMaxTracked = 1u << 18;

  // Feeds the next event of the session (any kind; failed calls are ignored but for the failed
  // exclusive create above).
  void Observe(const Event& e);
  // True when `path` (normalised, absolute) was created and later removed by the session.
  bool Contains(std::string_view path) const;
  // True when `path` is temporary (Contains) and its name was generated (see above).
  bool Generated(std::string_view path) const;
  // True when `path` or one of its parent directories is temporary.
  bool Covers(std::string_view path) const;
  // True when the session created `path` as mkstemp and mkdtemp do (an exclusive create with mode
  // 0600, a mkdir with mode 0700) and it still exists at the end.
  bool KeptFromTemplate(std::string_view path) const { return template_.find(path) != template_.end(); }
  bool empty() const { return temp_.empty(); }
  size_t size() const { return temp_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using Set = std::unordered_set<std::string, Hash, std::equal_to<>>;
  // Path -> whether its name was generated.
  using Map = std::unordered_map<std::string, bool, Hash, std::equal_to<>>;
  void Created(std::string_view path, bool from_template, bool generated);
  void Removed(std::string_view path);
  bool InCreatedDir(std::string_view path) const;
  Map created_;   // created and still present
  Set template_;  // those created as mkstemp and mkdtemp do
  Map temp_;      // created, then removed
};

struct NormalizedPath {
  std::string text;  // "${workspace}/repo/.git/objects/0a/tmp_obj_*", "/proc/N/maps", "pipe:[N]"
  std::string glob;  // "${workspace}/repo/.git/objects/0a/tmp_obj_*", "/proc/*/maps", "pipe:\[*\]"
};

// Normalises `path` (absolute or a kernel pseudo-name such as "pipe:[N]"; "." and ".." are resolved
// first) for a session with directories `vars` and temporary paths `temps` (may be null: no path is
// known to be temporary).
NormalizedPath NormalizeVolatilePath(std::string_view path, const PathVars& vars, const TempPaths* temps = nullptr);

// The glob that matches `path` alone, for what must be allowed by its exact name (a secret read):
// the longest session directory containing it becomes its variable, the rest is glob-escaped and
// nothing is generalised, not even a name that looks random (`${home}/*/id_rsa` would also match
// `~/.ssh/id_rsa`).
std::string LiteralPathGlob(std::string_view path, const PathVars& vars);

// The profile text of NormalizeVolatilePath.
std::string NormalizeProfilePath(std::string_view path, const PathVars& vars, const TempPaths* temps = nullptr);

// The "anywhere" rules alone, for resources that are not paths (escape descriptions).
std::string NormalizeVolatileText(std::string_view text);

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_NORMALIZE_H_
