#!/usr/bin/env bash
# A git flow: init, commits, a branch and a merge, then gc (loose objects packed, temporary pack and
# index names, the .git/tXXXXXX symlink probe). Fixed identities and dates make every object id the
# same on every run.
set -euo pipefail
export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@example.com
export GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@example.com
export GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
export GIT_CONFIG_NOSYSTEM=1
git init -q -b main repo
cd repo
for i in 1 2 3; do
  printf 'line %s\n' "$i" >"f$i.txt"
  git add "f$i.txt"
  git commit -q -m "commit $i"
done
git checkout -q -b feature
printf 'more\n' >>f1.txt
git commit -q -am "feature"
git checkout -q main
git merge -q --no-edit feature
git gc -q
git log --oneline >../log.txt
