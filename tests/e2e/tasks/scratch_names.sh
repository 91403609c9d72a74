#!/usr/bin/env bash
# Scratch files with random names that a careful agent leaves in its workspace, and the temporary
# names tools derive from stable ones: mktemp -p . and mktemp -d -p . (kept), Python's tempfile with
# delete=False and mkdtemp (kept), Python's byte-code cache (NAME.pyc.ID renamed onto NAME.pyc).
set -euo pipefail
keep=$(mktemp -p . keep.XXXXXX)
echo result >"$keep"
dir=$(mktemp -d -p . work.XXXXXXXX)
echo part >"$dir/part.txt"
mkdir -p pkg
printf 'VALUE = 1\n' >pkg/mod.py
: >pkg/__init__.py
python3 - <<'PY'
import os, sys, tempfile
sys.path.insert(0, ".")
import pkg.mod
with tempfile.NamedTemporaryFile(dir=".", suffix=".json", delete=False) as f:
    f.write(b"{}")
d = tempfile.mkdtemp(dir=".")
with open(os.path.join(d, "out.csv"), "w") as f:
    f.write("a\n")
PY
