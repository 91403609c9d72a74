#!/usr/bin/env bash
# Python with a multiprocessing Pool (semaphores in /dev/shm) and tempfile (random names with '_').
set -euo pipefail
mkdir -p out
python3 - <<'PY'
import multiprocessing, os, tempfile

def square(x):
    return x * x

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        with tempfile.NamedTemporaryFile("w", dir=d, delete=False) as f:
            f.write("scratch\n")
        with open(f.name) as f2:
            f2.read()
    with tempfile.NamedTemporaryFile("w") as t:
        t.write("more scratch\n")
    with multiprocessing.Pool(2) as pool:
        result = pool.map(square, range(8))
    with open(os.path.join("out", "result.txt"), "w") as out:
        out.write(" ".join(map(str, result)) + "\n")
PY
