#!/usr/bin/env bash
# A careful agent's git work in its current directory: init, a few commits, gc. The commit dates come
# from the run number, as a real agent's come from the clock: the commit objects, and so git's
# object fan-out directories (.git/objects/NN/) and the temporary names inside them, differ from run
# to run while the behaviour is the same. GC=0 leaves the loose objects (and their directories) in
# place instead of packing them.
set -euo pipefail
export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@example.com
export GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@example.com
export GIT_AUTHOR_DATE="2026-01-0${RUN}T00:00:00Z" GIT_COMMITTER_DATE="2026-01-0${RUN}T00:00:00Z"
export GIT_CONFIG_NOSYSTEM=1
git init -q -b main
for i in 1 2 3 4 5; do
  printf 'line %s\n' "$i" >"f$i.txt"
  git add .
  git commit -q -m "commit $i"
done
if [[ "${GC:-1}" != 0 ]]; then git gc -q; fi
git log --oneline >/dev/null
