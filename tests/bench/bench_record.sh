#!/usr/bin/env bash
# Recording overhead: runs each workload natively, under strace (seccomp-bpf, the same syscall set
# agenttrace traps) and under `agenttrace record`, in alternation (the order reversed every other repetition), R times each; prints median wall
# times, ratios to native and agenttrace/strace, and the size of what each tracer wrote per event.
#
# Usage: tests/bench/bench_record.sh [AGENTTRACE_BINARY] [REPETITIONS]
#   AGENTTRACE_BINARY  default: build/tools/agenttrace under the source tree
#   REPETITIONS        default: 3 (or $R)
# Environment: WORKLOADS (subset of "files build git tcp"), RUN_TIMEOUT (seconds per run, default 600),
#   PIN=CPU (run every mode, tracer included, under taskset -c CPU), TMPDIR (where workloads and stores go),
#   AT_RECORD_FLAGS (extra flags for agenttrace record, e.g. --cpu-pin), KEEP=DIR (copy each workload's
#   last store and strace log to DIR/store-WORKLOAD and DIR/strace-WORKLOAD.log, for inspection).
# ENFORCE=POLICY: also run each workload under `agenttrace run --mode ${ENFORCE_MODE:-enforce} --ask deny
#   --policy POLICY` in the same alternation, and print its median, its ratio to native and to record,
#   the median of run/record within each repetition with its quartiles and a distribution-free 95%
#   confidence interval (R >= 6), and the decisions it recorded. A workload that the policy breaks (a denied call makes it fail) is
#   reported as such, not timed. ENFORCE=bench: a generated policy of 200 rules that allows the four
#   workloads (default deny; the workspace, the system directories, loopback; 190 deny and ask rules
#   on paths, hosts and programs the workloads never touch, plus a sequence and a budget), written by
#   bench_policy.sh. ENFORCE=candidate: each workload's production candidate, made as the product makes
#   one: the workload recorded CANDIDATE_RUNS times (default 3, untimed) under `record --label`, its
#   policy written by `policy suggest --label`, and promoted by `replay` (exit 0) before it is timed.
# COUNT=1: instead of timing, run each workload once under strace and once under agenttrace, each tracer
#   itself under an outer `strace -o` that follows only the tracer's own (main) thread, and print per
#   recorded event the syscalls the tracer made and its ptrace stops (each stop ends with exactly one
#   PTRACE_CONT, PTRACE_SYSCALL or PTRACE_LISTEN). Unlike wall times these counts do not depend on the
#   machine's load. agenttrace's writer thread is not counted (about a hundred syscalls per run).
#   With ENFORCE, `agenttrace run` is counted too, and then both agenttrace modes run R more times each
#   (interleaved, no outer strace) for their own CPU time (workloads/cpu_self.c: getrusage of the
#   agenttrace process alone, all its threads, none of the traced programs); the medians are printed
#   with the tracer's extra system calls per file.open event. CPU time depends on the load far less than
#   wall time (no waiting is counted), but cache and frequency effects remain: compare runs interleaved.
#   BASELINE=BINARY (with COUNT and ENFORCE): another agenttrace build (e.g. the commit before a change)
#   is counted and timed the same way, interleaved with the first, and printed on its own lines.
# Needs: strace, zstd, cc, git. Builds nothing of agenttrace; compiles its two workload programs
# (tests/bench/workloads/*.c) into a temporary directory. Uses only loopback networking; every run is
# bounded by `timeout`; everything is removed at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
at=${1:-$root/build/tools/agenttrace}
reps=${2:-${R:-3}}
run_timeout=${RUN_TIMEOUT:-600}
pin=()
if [[ -n "${PIN:-}" ]]; then
  command -v taskset >/dev/null || { echo "bench_record: PIN needs taskset" >&2; exit 1; }
  pin=(taskset -c "$PIN")
fi

die() { echo "bench_record: $*" >&2; exit 1; }
[[ -x "$at" ]] || die "agenttrace binary not found at $at (pass its path as the first argument)"
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "repetitions must be a positive integer, got '$reps'"
for tool in strace zstd cc git timeout; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
at=$(cd "$(dirname "$at")" && pwd)/$(basename "$at")

work=$(mktemp -d "${TMPDIR:-/tmp}/agenttrace-bench.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# --- The traced syscall set: from the recorder if it can list it, else from its table. ---
syscalls=""
if list=$("$at" record --list-syscalls 2>/dev/null); then
  syscalls=$(printf '%s\n' "$list" | tr -s ' ,\t' '\n\n\n' | grep -E '^[a-z0-9_]+$' | paste -sd, -)
  syscall_source="agenttrace record --list-syscalls"
fi
if [[ -z "$syscalls" ]]; then
  def="$root/recorder/syscall_table.def"
  [[ -f "$def" ]] || die "cannot get the traced syscall set: no --list-syscalls and no $def"
  syscalls=$(sed -n 's/^AT_SYSCALL(\([a-z0-9_]*\),.*/\1/p' "$def" | paste -sd, -)
  syscall_source="recorder/syscall_table.def"
fi
[[ -n "$syscalls" ]] || die "empty syscall set"
# strace can only trace the names it knows (strace 6.1 predates fchmodat2): leave the others out of
# its set, and say so.
known=() unknown=()
for name in ${syscalls//,/ }; do
  if strace -qq -e trace="$name" -o /dev/null true 2>/dev/null; then known+=("$name"); else unknown+=("$name"); fi
done
strace_syscalls=$(IFS=,; echo "${known[*]}")

candidate=""
if [[ "${ENFORCE:-}" == bench ]]; then
  ENFORCE="$work/enforce-policy.yaml"
  "$here/bench_policy.sh" >"$ENFORCE"
  "$at" policy check "$ENFORCE" >/dev/null || die "the generated enforcement policy is invalid"
elif [[ "${ENFORCE:-}" == candidate ]]; then
  candidate=1
  ENFORCE="$work/candidate-WORKLOAD.yaml"  # per workload: policy_of
fi
# The policy `run` enforces on WORKLOAD.
policy_of() { [[ -n "$candidate" ]] && echo "$work/candidate-$1.yaml" || echo "$ENFORCE"; }

# --- Workloads. prepare_X makes a fresh working directory (untimed); run_X is what is measured. ---
mkdir -p "$work/bin" "$work/home"
cc -O2 -o "$work/bin/filestorm" "$here/workloads/filestorm.c"
cc -O2 -o "$work/bin/tcpstorm" "$here/workloads/tcpstorm.c"
[[ -z "${COUNT:-}" ]] || cc -O2 -shared -fPIC -o "$work/bin/cpu_self.so" "$here/workloads/cpu_self.c"

# git must not read the machine's or the user's configuration.
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home"
printf '[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = main\n' >"$work/home/.gitconfig"

# A source tree of ~500 files for git, and 20 small C files for the compiler.
mkdir -p "$work/git-template" "$work/c-template"
for d in $(seq 0 19); do
  mkdir -p "$work/git-template/dir$d"
  for f in $(seq 0 24); do
    printf 'file %d/%d\nline two\nline three %d\n' "$d" "$f" "$((d * f))" >"$work/git-template/dir$d/file$f.txt"
  done
done
for i in $(seq 1 20); do
  {
    echo "#include <stdio.h>"
    echo "#include <string.h>"
    for j in $(seq 1 10); do
      echo "int f${i}_$j(const char* s) { int n = (int)strlen(s); for (int k = 0; k < n; ++k) n ^= s[k] * $j; return n; }"
    done
    echo "void p$i(void) { printf(\"%d\\n\", f${i}_1(\"x\")); }"
  } >"$work/c-template/unit$i.c"
done

prepare() {  # prepare WORKLOAD DIR
  rm -rf "$2"
  case "$1" in
    files) mkdir -p "$2" ;;
    build) cp -r "$work/c-template" "$2" ;;
    # Files dated in the past: with mtimes of "now", whether git treats index entries as racily clean
    # (and reads those files again) depends on when the second ticks, which made the git workload do
    # 5,000 or 8,500 file opens from one run to the next under any tracer.
    git) cp -r "$work/git-template" "$2" && find "$2" -exec touch -h -d '2020-01-01 00:00:00' {} + ;;
    tcp) mkdir -p "$2" ;;
  esac
}

workload_cmd() {  # workload_cmd WORKLOAD DIR -> the argv to measure, NUL-separated
  case "$1" in
    files) printf '%s\0' "$work/bin/filestorm" "$2" 2000 ;;
    build) printf '%s\0' bash -c 'for f in unit*.c; do cc -O1 -c "$f" || exit 1; done' ;;
    git)
      printf '%s\0' bash -c '
        git init -q . && git add -A && git commit -q -m initial && git status --porcelain >/dev/null &&
        for i in $(seq 0 49); do echo "edit $i" >>"dir$((i % 20))/file$((i % 25)).txt"; done &&
        git status --porcelain >/dev/null && git diff --stat >/dev/null && git add -A &&
        git commit -q -m edits && git log --oneline >/dev/null && git diff HEAD~1 --stat >/dev/null' ;;
    tcp) printf '%s\0' "$work/bin/tcpstorm" 2000 ;;
  esac
}

now_ns() { date +%s%N; }

# run_mode MODE WORKLOAD REP -> prints elapsed seconds
run_mode() {
  local mode=$1 wl=$2 rep=$3 dir="$work/run-$2" cmd start end
  prepare "$wl" "$dir"
  mapfile -d '' -t cmd < <(workload_cmd "$wl" "$dir")
  start=$(now_ns)
  case "$mode" in
    native)
      (cd "$dir" && timeout "$run_timeout" "${pin[@]}" "${cmd[@]}" >/dev/null) || die "$wl failed natively" ;;
    strace)
      (cd "$dir" && timeout "$run_timeout" "${pin[@]}" strace -f --seccomp-bpf -e trace="$strace_syscalls" -ttt \
        -o "$work/strace-$wl.log" "${cmd[@]}" >/dev/null) || die "$wl failed under strace" ;;
    agenttrace)
      rm -rf "$work/store-$wl"
      (cd "$dir" && timeout "$run_timeout" "${pin[@]}" "$at" record -q ${AT_RECORD_FLAGS:-} --store "$work/store-$wl" -- "${cmd[@]}" >/dev/null) ||
        die "$wl failed under agenttrace record" ;;
    enforce)
      rm -rf "$work/store-run-$wl"
      if ! (cd "$dir" && timeout "$run_timeout" "${pin[@]}" "$at" run ${AT_RECORD_FLAGS:-} --policy "$(policy_of "$wl")" \
            --mode "${ENFORCE_MODE:-enforce}" --ask deny --store "$work/store-run-$wl" -- "${cmd[@]}" \
            >/dev/null 2>"$work/run-$wl.err"); then
        echo "failed"
        return
      fi ;;
  esac
  end=$(now_ns)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
json_field() { sed -n "s/^ *\"$1\": *\([0-9.e+-]*\).*/\1/p" | head -n1; }

# count_run MODE WORKLOAD: prints "events syscalls stops" and leaves the outer trace in $work/outer-MODE.txt
count_run() {
  local mode=$1 wl=$2 at=${3:-$at} dir="$work/run-$2" cmd events outer="$work/outer-$1.txt"
  prepare "$wl" "$dir"
  mapfile -d '' -t cmd < <(workload_cmd "$wl" "$dir")
  case "$mode" in
    strace)
      (cd "$dir" && timeout "$run_timeout" strace -qq -o "$outer" strace -f --seccomp-bpf -e trace="$strace_syscalls" \
        -ttt -o "$work/strace-$wl.log" "${cmd[@]}" >/dev/null) || die "$wl failed under strace"
      events=$(grep -vc 'resumed>' "$work/strace-$wl.log") ;;
    agenttrace)
      rm -rf "$work/store-$wl"
      (cd "$dir" && timeout "$run_timeout" strace -qq -o "$outer" "$at" record -q ${AT_RECORD_FLAGS:-} \
        --store "$work/store-$wl" -- "${cmd[@]}" >/dev/null) || die "$wl failed under agenttrace record"
      events=$("$at" stats --json --store "$work/store-$wl" | json_field events) ;;
    enforce)
      rm -rf "$work/store-run-$wl"
      (cd "$dir" && timeout "$run_timeout" strace -qq -o "$outer" "$at" run ${AT_RECORD_FLAGS:-} --policy "$(policy_of "$wl")" \
        --mode "${ENFORCE_MODE:-enforce}" --ask deny --store "$work/store-run-$wl" -- "${cmd[@]}" >/dev/null \
        2>"$work/run-$wl.err") || die "$wl failed under agenttrace run: $(head -c 300 "$work/run-$wl.err")"
      events=$("$at" stats --json --store "$work/store-run-$wl" | json_field events) ;;
  esac
  awk -v ev="$events" '/^[a-z_0-9]+\(/ { n++ } /^ptrace\(PTRACE_(CONT|SYSCALL|LISTEN),/ { s++ }
    END { print ev, n, s }' "$outer"
}

# top_syscalls MODE EVENTS: the tracer's most frequent syscalls (ptrace by request) per event
top_syscalls() {
  awk -v ev="$2" '/^[a-z_0-9]+\(/ { k = $0; sub(/\(.*/, "", k)
      if (k == "ptrace") { r = $0; sub(/^ptrace\(PTRACE_/, "", r); sub(/,.*/, "", r); k = "ptrace:" r }
      c[k]++ }
    END { for (k in c) if (c[k] / ev >= 0.01) printf "%s %.2f\n", k, c[k] / ev }' "$work/outer-$1.txt" |
    sort -k2,2gr | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 } END { print "" }'
}

# cpu_run MODE WORKLOAD [BINARY]: prints "process_cpu_s tracer_thread_cpu_s" (user + system) of one
# agenttrace run (of BINARY, default the one under test)
cpu_run() {
  local mode=$1 wl=$2 bin=${3:-$at} dir="$work/run-$2" cmd verb=(record -q) store="$work/store-$2" out="$work/cpu.txt"
  prepare "$wl" "$dir"
  mapfile -d '' -t cmd < <(workload_cmd "$wl" "$dir")
  if [[ "$mode" == enforce ]]; then
    verb=(run --policy "$(policy_of "$wl")" --mode "${ENFORCE_MODE:-enforce}" --ask deny)
    store="$work/store-run-$wl"
  fi
  rm -rf "$store" "$out"
  (cd "$dir" && timeout "$run_timeout" env LD_PRELOAD="$work/bin/cpu_self.so" AT_BENCH_CPU_OUT="$out" \
    "$bin" "${verb[@]}" ${AT_RECORD_FLAGS:-} --store "$store" -- "${cmd[@]}" >/dev/null 2>"$work/run-$wl.err") ||
    die "$wl failed under agenttrace $mode: $(head -c 300 "$work/run-$wl.err")"
  awk '{ printf "%.4f %.4f\n", $1 + $2, $3 + $4 }' "$out"
}

# opens STORE: the file.open events of the store's only session
opens() {
  local id
  id=$("$at" ls --store "$1" | awk 'NR > 1 && $1 ~ /^[0-9a-f-]+$/ { print $1 }' | tail -n1)
  "$at" export --store "$1" "$id" | grep -c '"kind":"file.open"' || true
}

workloads=(${WORKLOADS:-files build git tcp})
declare -A names=([files]="filestorm (2000 files)" [build]="cc -c x20" [git]="git (500 files)" [tcp]="2000 TCP conns")

# ENFORCE=candidate: record, suggest and promote each workload's policy (untimed).
if [[ -n "$candidate" ]]; then
  for wl in "${workloads[@]}"; do
    store="$work/store-candidate-$wl" dir="$work/run-$wl"
    rm -rf "$store"
    for i in $(seq 1 "${CANDIDATE_RUNS:-3}"); do
      prepare "$wl" "$dir"
      mapfile -d '' -t cmd < <(workload_cmd "$wl" "$dir")
      (cd "$dir" && timeout "$run_timeout" "$at" record -q --label "bench-$wl" --store "$store" -- "${cmd[@]}" \
        >/dev/null) || die "$wl failed under agenttrace record (candidate run $i)"
    done
    "$at" policy suggest --store "$store" --label "bench-$wl" -o "$(policy_of "$wl")" ||
      die "policy suggest failed for $wl"
    "$at" replay --store "$store" --label "bench-$wl" --policy "$(policy_of "$wl")" >"$work/gate-$wl.txt" 2>&1 ||
      die "the suggested policy of $wl is not promotable: $(tail -n 5 "$work/gate-$wl.txt")"
  done
fi

declare -A opens_of
if [[ -n "${COUNT:-}" ]]; then
  echo "agenttrace recording benchmark, tracer work per recorded event (one run each); kernel $(uname -r)"
  echo "traced syscall set ($syscall_source): $(tr ',' '\n' <<<"$syscalls" | wc -l) syscalls${unknown[*]:+; not known to this strace, left out of its set: ${unknown[*]}}"
  echo
  printf '%-24s %-15s %8s %9s %8s %8s %8s\n' workload tracer events syscalls sys/ev stops stops/ev
  declare -A calls_of
  for wl in "${workloads[@]}"; do
    for mode in strace agenttrace ${ENFORCE:+enforce} ${BASELINE:+base-agenttrace base-enforce}; do
      [[ -n "${ENFORCE:-}" || "$mode" != base-* ]] || continue
      read -r events calls stops < <(count_run "${mode#base-}" "$wl" "$([[ $mode == base-* ]] && echo "$BASELINE")")
      calls_of[$wl-$mode]=$calls
      awk -v name="${names[$wl]}" -v m="$mode" -v ev="$events" -v n="$calls" -v s="$stops" 'BEGIN {
        printf "%-24s %-15s %8d %9d %8.2f %8d %8.2f\n", name, m, ev, n, n / ev, s, s / ev }'
      echo "    per event: $(top_syscalls "${mode#base-}" "$events")"
    done
    [[ -n "${ENFORCE:-}" ]] && opens_of[$wl]=$(opens "$work/store-run-$wl")
  done
  if [[ -n "${ENFORCE:-}" ]]; then
    echo
    echo "agenttrace CPU seconds (user + system; median of $reps interleaved runs each), record vs run --policy" \
      "$(basename "$ENFORCE"):"
    printf '%-24s %9s %9s %7s | %9s %9s %7s | %7s %10s\n' workload record_s run_s run/rec tracer_rec tracer_run \
      run/rec opens extra/open
    for wl in "${workloads[@]}"; do
      for mode in agenttrace enforce base-agenttrace base-enforce; do : >"$work/c-$mode"; done
      for rep in $(seq 1 "$reps"); do
        for mode in agenttrace enforce ${BASELINE:+base-agenttrace base-enforce}; do
          cpu_run "${mode#base-}" "$wl" "$([[ $mode == base-* ]] && echo "$BASELINE")" >>"$work/c-$mode"
        done
      done
      for prefix in "" ${BASELINE:+base-}; do
        pr=$(awk '{ print $1 }' "$work/c-${prefix}agenttrace" | median)
        pe=$(awk '{ print $1 }' "$work/c-${prefix}enforce" | median)
        tr=$(awk '{ print $2 }' "$work/c-${prefix}agenttrace" | median)
        te=$(awk '{ print $2 }' "$work/c-${prefix}enforce" | median)
        awk -v name="${names[$wl]}${prefix:+ (baseline)}" -v pr="$pr" -v pe="$pe" -v tr="$tr" -v te="$te" \
          -v o="${opens_of[$wl]}" -v cr="${calls_of[$wl-${prefix}agenttrace]}" -v ce="${calls_of[$wl-${prefix}enforce]}" 'BEGIN {
          printf "%-24s %9.3f %9.3f %6.2fx | %9.3f %9.3f %6.2fx | %7d %10s\n", name, pr, pe, pe / pr, tr, te, te / tr, o,
            (o >= 100 ? sprintf("%.2f", (ce - cr) / o) : "-") }'
      done
    done
    echo
    echo "record_s, run_s: the whole agenttrace process (tracer, writer and other threads; not the traced programs)."
    echo "tracer_*: its main thread (the tracer) alone. extra/open: (run's tracer syscalls - record's) / file.open events."
  fi
  echo
  echo "syscalls: made by the tracer's main thread over the whole run, start-up included (a few hundred)."
  echo "events: agenttrace stats; for strace, lines of its log (one per call, exit and signal)."
  exit 0
fi

echo "agenttrace recording benchmark: $reps repetitions, median wall time; $(nproc) CPUs, kernel $(uname -r)," \
  "${PIN:+pinned to CPU $PIN, }work dir on $(df --output=fstype "$work" | tail -n1)"
echo "traced syscall set ($syscall_source): $(tr ',' '\n' <<<"$syscalls" | wc -l) syscalls${unknown[*]:+; not known to this strace, left out of its set: ${unknown[*]}}"
echo
printf '%-24s %9s %9s %7s %9s %7s %8s | %8s %8s %8s | %9s %8s\n' workload native_s strace_s x at_s x at/strace \
  events B/event raw_B/ev strace_ln zstd_B/ln
for wl in "${workloads[@]}"; do
  : >"$work/t-native" ; : >"$work/t-strace" ; : >"$work/t-agenttrace" ; : >"$work/t-enforce"
  for rep in $(seq 1 "$reps"); do
    # The order is reversed every other repetition, so that no mode always runs right after the
    # others: each run leaves the file system (inodes freed within the last 30 s, which a journal-less
    # ext4 scans past when it allocates) and the caches in a state the next one inherits.
    order=(native strace agenttrace ${ENFORCE:+enforce})
    (( rep % 2 == 0 )) && order=($(printf '%s\n' "${order[@]}" | tac))
    for mode in "${order[@]}"; do
      run_mode "$mode" "$wl" "$rep" >>"$work/t-$mode"
    done
  done
  n=$(median <"$work/t-native"); s=$(median <"$work/t-strace"); a=$(median <"$work/t-agenttrace")
  for m in native agenttrace enforce; do cp "$work/t-$m" "$work/t-$m-$wl"; done
  stats=$("$at" stats --json --store "$work/store-$wl")
  events=$(json_field events <<<"$stats")
  per_event=$(json_field bytes_per_event <<<"$stats")
  raw_per_event=$(json_field raw_bytes_per_event <<<"$stats")
  if [[ -n "${KEEP:-}" ]]; then
    mkdir -p "$KEEP" && rm -rf "$KEEP/store-$wl" && cp -r "$work/store-$wl" "$work/strace-$wl.log" "$KEEP/"
  fi
  lines=$(wc -l <"$work/strace-$wl.log")
  zbytes=$(zstd -3 -q -c "$work/strace-$wl.log" | wc -c)
  awk -v name="${names[$wl]}" -v n="$n" -v s="$s" -v a="$a" -v ev="$events" -v pe="$per_event" \
    -v rpe="$raw_per_event" -v ln="$lines" -v zb="$zbytes" 'BEGIN {
      printf "%-24s %9.3f %9.3f %6.2fx %9.3f %6.2fx %7.2fx | %8d %8.1f %8.1f | %9d %8.1f\n",
        name, n, s, s / n, a, a / n, a / s, ev, pe, rpe, ln, (ln ? zb / ln : 0) }'
done
if [[ -n "${ENFORCE:-}" ]]; then
  echo
  if [[ -n "$candidate" ]]; then
    echo "agenttrace run --mode ${ENFORCE_MODE:-enforce} --policy (each workload's production candidate: suggested from" \
      "${CANDIDATE_RUNS:-3} recordings, promoted by replay; same repetitions, interleaved):"
    echo "  rules: $(for wl in "${workloads[@]}"; do printf '%s %s; ' "$wl" "$(grep -c '^  - id:' "$(policy_of "$wl")")"; done)"
  else
    echo "agenttrace run --mode ${ENFORCE_MODE:-enforce} --policy $(basename "$ENFORCE") ($(grep -c '^  - ' "$ENFORCE") rules; same repetitions, interleaved):"
  fi
  printf '%-24s %9s %9s %9s %7s %8s %10s   %s\n' workload native_s record_s run_s x run/rec decisions \
    'paired run/rec: median [quartiles] 95% CI' 
  for wl in "${workloads[@]}"; do
    if grep -q failed "$work/t-enforce-$wl"; then
      printf '%-24s the workload failed under the policy: %s\n' "${names[$wl]}" \
        "$(grep -m1 -v '^agenttrace: run (' "$work/run-$wl.err" | head -c 160)"
      continue
    fi
    n=$(median <"$work/t-native-$wl"); a=$(median <"$work/t-agenttrace-$wl"); e=$(median <"$work/t-enforce-$wl")
    d=$(sed -n 's/.*run ([a-z]*): \([0-9]*\) decisions.*/\1/p' "$work/run-$wl.err" | head -n1)
    # Each repetition runs record and run one after the other, so their ratio within a repetition
    # cancels the load drift that moves whole repetitions; its median is the steadier estimate.
    # The 95% interval of that median is distribution-free: the k-th smallest and k-th largest ratio,
    # k the largest rank with P(Binomial(n, 1/2) < k) <= 2.5% (n >= 6; coverage >= 95%).
    paired=$(paste "$work/t-agenttrace-$wl" "$work/t-enforce-$wl" | awk '{ printf "%.4f\n", $2 / $1 }' | sort -g |
      awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        lo = v[int((NR - 1) / 4) + 1]; hi = v[NR - int((NR - 1) / 4)]
        k = 0; p = 0.5 ^ NR; cum = p
        for (i = 1; i <= NR && cum <= 0.025; i++) { k = i; p = p * (NR - i + 1) / i; cum += p }
        ci = k > 0 ? sprintf("%.2fx-%.2fx", v[k], v[NR - k + 1]) : "n/a (R < 6)"
        printf "%.2fx [%.2fx-%.2fx] %s", m, lo, hi, ci }')
    awk -v name="${names[$wl]}" -v n="$n" -v a="$a" -v e="$e" -v d="${d:-?}" -v p="$paired" 'BEGIN {
      printf "%-24s %9.3f %9.3f %9.3f %6.2fx %7.2fx %10s   %s\n", name, n, a, e, e / n, e / a, d, p }'
  done
  echo "paired: run/record within each repetition (the two run back to back), median, the quartiles' range, and a"
  echo "distribution-free 95% confidence interval of the median (order statistics; needs R >= 6)."
fi
echo
echo "x: ratio to native. B/event: agenttrace store bytes per recorded event (agenttrace stats --json),"
echo "raw: before compression. strace_ln: lines of strace -f -ttt output; zstd_B/ln: that log compressed"
echo "whole with zstd -3, bytes per line. Sizes are from the last repetition."
