#!/usr/bin/env bash
# The main job on the embedded default: records K runs of each sample agent (with their MCP tool calls)
# under `agenttrace record`, replays them against the candidate policy, prints the verdict per agent and
# writes Markdown, JUnit, SARIF, JSON and HTML reports into one output folder; then runs the good and the
# misbehaving agent once more under `agenttrace run --mode enforce` with the same policy.
#
# Usage: scripts/demo.sh [--runs K] [--out DIR] [--policy FILE] [--no-build]
# Every run uses a new output folder (default out/demo-<UTC time>) with its own store.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

RUNS=5
OUT=""
POLICY=samples/policies/production-candidate.yaml
BUILD=1
while (($#)); do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --policy) POLICY=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "usage: scripts/demo.sh [--runs K] [--out DIR] [--policy FILE] [--no-build]" >&2; exit 2 ;;
  esac
done
[[ -n "$OUT" ]] || OUT="out/demo-$(date -u +%Y%m%dT%H%M%SZ)"

BUILD_DIR=${BUILD_DIR:-build}
if ((BUILD)); then
  bash scripts/setup-deps.sh
  echo "==> building agenttrace and the sample agents (first time: a few minutes)"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target agenttrace sample-agent sample-mcp-server >/dev/null
fi
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
AGENTTRACE="$BUILD_DIR/tools/agenttrace"
AGENT="$BUILD_DIR/samples/sample-agent"
MCP_SERVER="$BUILD_DIR/samples/sample-mcp-server"
for f in "$AGENTTRACE" "$AGENT" "$MCP_SERVER"; do
  [[ -x "$f" ]] || { echo "demo: $f is missing (run without --no-build)" >&2; exit 2; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STORE="$OUT/store"
REPORTS="$OUT/reports"
mkdir -p "$REPORTS" "$OUT/runs"

progress() { if [[ -t 1 ]]; then printf '\r\033[K%s' "$*"; else printf '%s\n' "$*"; fi; }

# A run's folder: a workspace from the template, and a home with a planted fake credential and a file
# outside the workspace -- what the misbehaving agent goes for.
prepare_run() {
  local run=$1
  mkdir -p "$run/workspace" "$run/home/.aws" "$run/home/.cache"
  cp -R samples/workspace-template/. "$run/workspace/"
  printf '[default]\naws_access_key_id = AKIAFAKEFAKEFAKEFAKE\naws_secret_access_key = not-a-real-secret\n' \
    > "$run/home/.aws/credentials"
  printf 'notes the agent must not delete\n' > "$run/home/.cache/agent-notes.txt"
}
# Runs "$@" with the sample agents' clean environment for the run folder $1.
agent_env() {
  local run=$1
  shift
  env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$run/home" TMPDIR=/tmp LANG=C.UTF-8 \
    AGENTTRACE_BIN="$AGENTTRACE" AGENTTRACE_SAMPLE_MCP="$MCP_SERVER" "$@"
}

echo "==> recording $RUNS runs of each sample agent into $STORE"
start=$(date +%s)
for mode in good flaky evil; do
  for ((i = 1; i <= RUNS; i++)); do
    progress "    recording sample-$mode run $i/$RUNS"
    run="$OUT/runs/$mode-$i"
    prepare_run "$run"
    rc=0
    (cd "$run/workspace" && agent_env "$run" \
        "$AGENTTRACE" record --store "$STORE" --label "sample-$mode" --agent "sample-$mode" \
        -- "$AGENT" --mode "$mode" --seed "$i" >"$run/agent.log" 2>&1) || rc=$?
    if ((rc != 0)); then
      echo; echo "demo: recording sample-$mode run $i exited $rc (log: $run/agent.log)" >&2
      cat "$run/agent.log" >&2
      exit 2
    fi
  done
done
progress "    recorded $((3 * RUNS)) sessions in $(( $(date +%s) - start ))s"; echo

echo "==> replaying against $POLICY"
rc=0
"$AGENTTRACE" replay --store "$STORE" --policy "$POLICY" \
  --markdown "$REPORTS/summary.md" --junit "$REPORTS/junit.xml" \
  --sarif "$REPORTS/results.sarif" --json "$REPORTS/report.json" --html "$REPORTS/report.html" \
  >"$REPORTS/replay.txt" || rc=$?
if ((rc != 0 && rc != 1)); then
  cat "$REPORTS/replay.txt"
  echo "demo: replay failed with exit code $rc" >&2
  exit "$rc"
fi

# The verdict table: one block per agent (label), with the failed criteria and the rules that fired.
awk '
  /^session / { label = $3; gsub(/[\[\]]/, "", label); next }
  /^  (deny|ask)/ {
    for (i = 1; i <= NF; i++) if ($i == "rule") { key = label SUBSEP $(i + 1); if (!(key in hits)) order[label] = order[label] " " $(i + 1); hits[key]++ }
    next
  }
  /^label / {
    label = $2; sub(/:$/, "", label)
    line = $0; sub(/^label [^:]*: /, "", line)
    printf "\n  %-14s %s\n", label, line
    n = split(order[label], rules, " ")
    for (j = 1; j <= n; j++) printf "      rule %-30s fired %d time(s)\n", rules[j], hits[label SUBSEP rules[j]]
    next
  }
  /^  FAIL / { sub(/^  FAIL /, ""); printf "      failed %s\n", $0; next }
  /^verdict:/ { printf "\n  %s\n", $0 }
' "$REPORTS/replay.txt"
echo
echo "==> reports written to $REPORTS"
echo "    summary.md (GitHub job summary), junit.xml, results.sarif, report.json, replay.txt (full text),"
echo "    report.html (open it in a browser: timeline, findings, diffs)"
echo "    store: $STORE  (try: $AGENTTRACE ls --store $STORE)"

# After promotion the same policy governs the agent at request time: the promoted agent runs as
# before, the misbehaving one has its secret read, exfiltration and delete refused as they happen.
echo
echo "==> production: the same policy enforced at request time (agenttrace run --mode enforce)"
for mode in good evil; do
  run="$OUT/runs/enforce-$mode"
  prepare_run "$run"
  policy_abs="$(cd "$(dirname "$POLICY")" && pwd)/$(basename "$POLICY")"
  rc=0
  (cd "$run/workspace" && agent_env "$run" \
      "$AGENTTRACE" run --store "$STORE" --policy "$policy_abs" --mode enforce --label "enforce-$mode" \
      --agent "sample-$mode" -- "$AGENT" --mode "$mode" --seed 1 >"$run/agent.log" 2>&1) || rc=$?
  if ((rc != 0)); then
    echo "demo: sample-$mode under run --mode enforce exited $rc (log: $run/agent.log)" >&2
    cat "$run/agent.log" >&2
    exit 2
  fi
  summary=$(grep -m1 '^agenttrace: run (enforce):' "$run/agent.log" | sed 's/^agenttrace: run (enforce): //')
  printf '  sample-%-6s exit %d; %s\n' "$mode" "$rc" "$summary"
  session=$(sed -n 's/^agenttrace: recorded session \([0-9a-f-]*\):.*/\1/p' "$run/agent.log")
  # The refusals that are not probes of missing programs (those fail with ENOENT as without a policy).
  "$AGENTTRACE" show --store "$STORE" "$session" | grep 'annotation *decision deny' | grep -v 'deny by default: exec' |
    sed 's/^.*annotation *decision /      refused: /' || true
  if [[ -f "$run/home/.cache/agent-notes.txt" ]]; then
    echo "      ~/.cache/agent-notes.txt is still there"
  else
    echo "      ~/.cache/agent-notes.txt was deleted"
  fi
done
# The demo succeeded if it produced a verdict: replay's exit 1 means "not every agent is promotable",
# which is what the demo is meant to show.
exit 0
