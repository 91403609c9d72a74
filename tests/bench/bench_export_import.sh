#!/usr/bin/env bash
# Export/import speed: generates a JSON-lines session of N events (default 1,000,000: a mix of file,
# process, network and tool events shaped like a recorded agent run), imports it into a fresh store,
# exports it again, and prints the user+system CPU seconds and wall seconds of each step (and checks
# that the export reproduces the input byte for byte).
#
# Usage: tests/bench/bench_export_import.sh [AGENTTRACE_BINARY] [EVENTS]
#   AGENTTRACE_BINARY  default: build/tools/agenttrace under the source tree
#   EVENTS             default: 1000000 (or $N)
# Environment: TMPDIR (where the session and the store go; about 300 MB for 1 M events).
# Needs: python3. Everything is removed at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
at=${1:-$root/build/tools/agenttrace}
n=${2:-${N:-1000000}}
[[ -x "$at" ]] || { echo "bench_export_import: agenttrace binary not found at $at" >&2; exit 1; }
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench_export_import: EVENTS must be a positive integer" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/agenttrace-bench-io-XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 - "$n" > "$work/session.jsonl" <<'PY'
import json, sys
n = int(sys.argv[1])
t0 = 1767225600000000000
w = sys.stdout.write
d = lambda o: json.dumps(o, separators=(",", ":"))
w(d({"format": "agenttrace-jsonl", "version": 1, "session": {
    "id": "0190b5c4-8e1a-7abc-9def-0000000b3e7c", "label": "bench", "agent_name": "bench-agent",
    "agent_version": "1", "argv": ["bench-agent", "--task", "build"], "cwd": "/home/dev/repo",
    "home": "/home/dev", "tmp": "/tmp", "host": "bench", "user": "dev", "kernel": "6.1.0",
    "arch": "x86_64", "start_ns": t0, "end_ns": t0 + n * 20000, "exit_code": 0, "exit_signal": 0,
    "state": "complete", "event_count": n, "env_names": ["HOME", "PATH"], "secret_env_names": [],
    "recorder": "ptrace"}}) + "\n")
for i in range(n):
    ts, mono, pid = t0 + i * 20000, 5000000000 + i * 20000, 4000 + (i // 5000) % 50
    e = {"seq": i, "ts_ns": ts, "mono_ns": mono, "pid": pid, "tid": pid}
    k = i % 10
    if k < 6:
        e.update(kind="file.open", result=3 if k else -2)
        if not k: e["error"] = "ENOENT"
        e.update(path="/home/dev/repo/src/module_%d/file_%d.c" % (i % 97, i % 1013), flags=524288)
    elif k == 6:
        e.update(kind="exec", result=0, path="/usr/bin/cc", argv=["cc", "-O2", "-c", "file_%d.c" % (i % 1013), "-o", "file_%d.o" % (i % 1013)])
    elif k == 7:
        e.update(kind="net.connect", result=0, family=2, address="10.0.%d.%d" % (i % 7, i % 251), port=443)
    elif k == 8:
        e.update(kind="tool.call", pid=0, tid=0, server="fs", tool="read_file", request_id=str(i), json=d({"path": "/home/dev/repo/README_%d.md" % (i % 31)}))
    else:
        e.update(kind="tool.result", pid=0, tid=0, size=42, server="fs", tool="read_file", request_id=str(i - 1), json=d({"content": [{"type": "text", "text": "line %d" % i}]}), duration_ns=1500000)
    w(d(e) + "\n")
PY

measure() {  # measure LABEL CMD...: prints CPU (user+sys) and wall seconds of CMD
  local label=$1; shift
  /usr/bin/time -o "$work/time" -f '%U %S %e' "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r u s e <"$work/time"
  printf '%-8s %9d events  cpu %6.2f s (user %.2f, sys %.2f)  wall %6.2f s\n' "$label" "$n" \
    "$(echo "$u + $s" | bc)" "$u" "$s" "$e"
}
[[ -x /usr/bin/time ]] || { echo "bench_export_import: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
echo "input: $(du -h "$work/session.jsonl" | cut -f1) JSON lines"
measure import "$at" import --store "$work/store" "$work/session.jsonl"
measure export "$at" export --store "$work/store" 0190b5c4-8e1a-7abc-9def-0000000b3e7c -o "$work/out.jsonl"
cmp -s "$work/session.jsonl" "$work/out.jsonl" || { echo "bench_export_import: export differs from the input" >&2; exit 1; }
echo "round trip: export reproduces the input byte for byte"
