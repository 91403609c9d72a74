#!/usr/bin/env bash
# Records runs FIRST..LAST of one task (TASK.sh beside this script) under `agenttrace record`, each in
# a fresh workspace, home and TMPDIR below OUT, with a clean environment. Each run has its own TMPDIR
# so that ${tmp} does not contain the home or the workspace (OUT is usually below /tmp itself). A directory TASK/ beside the script
# is copied into the workspace first (npm_ci's package.json and lock file).
#
# With POLICY, the runs go under `agenttrace run --mode enforce --ask deny --policy POLICY` instead.
#
# Usage: record_runs.sh AGENTTRACE STORE LABEL TASK FIRST LAST OUT [POLICY]
set -euo pipefail
if (($# != 7 && $# != 8)); then
  echo "usage: record_runs.sh AGENTTRACE STORE LABEL TASK FIRST LAST OUT [POLICY]" >&2
  exit 2
fi
AT=$1 STORE=$2 LABEL=$3 TASK=$4 FIRST=$5 LAST=$6 OUT=$7
verb=(record)
if (($# == 8)); then verb=(run --mode enforce --ask deny --policy "$8"); fi
TASKS=$(cd "$(dirname "$0")" && pwd)
[[ -f "$TASKS/$TASK.sh" ]] || { echo "record_runs: no task $TASKS/$TASK.sh" >&2; exit 2; }
for ((i = FIRST; i <= LAST; i++)); do
  run="$OUT/$LABEL-$i"
  mkdir -p "$run/workspace" "$run/home" "$run/tmp"
  if [[ -d "$TASKS/$TASK" ]]; then cp "$TASKS/$TASK"/. "$run/workspace/" -R; fi
  if ! (cd "$run/workspace" && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$run/home" TMPDIR="$run/tmp" \
          LANG=C.UTF-8 RUN="$i" "$AT" "${verb[@]}" -q --store "$STORE" --label "$LABEL" -- bash "$TASKS/$TASK.sh") \
       >"$run/log" 2>&1; then
    echo "record_runs: $LABEL run $i failed (log $run/log):" >&2
    cat "$run/log" >&2
    exit 1
  fi
done
