#!/usr/bin/env bash
# Fixed start-up cost of `agenttrace run --policy P` (docs/benchmarks.md, "Start-up cost of run"):
# runs, interleaved, N times each: `--version`, `record -q -- true`, `run -q --mode audit -- true`,
# `run -q --mode enforce -- true` and `policy check`, with the benchmark policy of bench_record.sh
# (bench_policy.sh, 199 rules) or POLICY=FILE, and prints per variant the median wall time and the
# median CPU time (user+system of agenttrace and `true`, from wait4), in ms. The CPU time depends on
# the machine's load far less than the wall time. With two binaries, both are measured interleaved.
#
# Usage: tests/bench/bench_startup.sh [N] [AGENTTRACE_BINARY [BASELINE_BINARY]]
#   N                  runs per variant and binary (default 30)
#   AGENTTRACE_BINARY  default: build/tools/agenttrace under the source tree
# Needs: cc. Everything is written in a temporary directory, removed at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-30}
shift || true
bins=("${@:-$root/build/tools/agenttrace}")
die() { echo "bench_startup: $*" >&2; exit 1; }
[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$n'"
for k in "${!bins[@]}"; do
  b=${bins[$k]}
  [[ -x "$b" ]] || die "no agenttrace binary at $b"
  bins[$k]=$(cd "$(dirname "$b")" && pwd)/$(basename "$b")  # the runs start in the work directory
done
command -v cc >/dev/null || die "cc is required"

work=$(mktemp -d "${TMPDIR:-/tmp}/agenttrace-startup.XXXXXX")
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/child_time" "$here/workloads/child_time.c"
policy=${POLICY:-$work/policy.yaml}
[[ -n "${POLICY:-}" ]] || "$here/bench_policy.sh" "$policy"

variants=(version record audit enforce check)
declare -A wall cpu
for ((i = 0; i < n; i++)); do
  for ((k = 0; k < ${#bins[@]}; k++)); do
    at=${bins[$k]}
    for v in "${variants[@]}"; do
      store="$work/store-$k"
      case $v in
        version) cmd=("$at" --version) ;;
        record) cmd=("$at" record -q --store "$store" -- true) ;;
        audit) cmd=("$at" run -q --policy "$policy" --mode audit --ask deny --store "$store" -- true) ;;
        enforce) cmd=("$at" run -q --policy "$policy" --mode enforce --ask deny --store "$store" -- true) ;;
        check) cmd=("$at" policy check "$policy") ;;
      esac
      read -r w c rc < <(cd "$work" && "$work/child_time" "${cmd[@]}")
      [[ "$rc" == 0 ]] || die "$v exited with $rc: ${cmd[*]}"
      wall[$k.$v]+="$w "
      cpu[$k.$v]+="$c "
    done
  done
done

median_ms() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)] / 1000}'; }
echo "agenttrace start-up, $n runs per variant, interleaved; medians in ms ($(basename "$policy"), $(grep -c '^  - ' "$policy") rules)"
for ((k = 0; k < ${#bins[@]}; k++)); do
  echo "${bins[$k]}:"
  for v in "${variants[@]}"; do
    printf '  %-8s wall %7s  cpu %6s\n' "$v" "$(median_ms <<<"${wall[$k.$v]}")" "$(median_ms <<<"${cpu[$k.$v]}")"
  done
done
