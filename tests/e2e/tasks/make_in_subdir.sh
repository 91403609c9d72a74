#!/usr/bin/env bash
# Makes w/ (where it is not there yet), writes w/Makefile, builds with make in w/ and cleans up.
# Whether w/ is made by the run or found there must not change what the run looks like: the runs
# that find it (the suite makes it before recording them) have the same profile as the one that made it.
set -euo pipefail
mkdir -p w
printf 'out.txt:\n\techo built >$@\n' >w/Makefile
make -s -C w
cat w/out.txt
rm w/Makefile w/out.txt
