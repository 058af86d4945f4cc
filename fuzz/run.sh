#!/usr/bin/env bash
# Runs every fuzz target (cargo fuzz, libFuzzer) on its seeded corpus and prints one line per
# target: executions, executions per second, coverage (edges, features), corpus size, crashes.
#   bash fuzz/run.sh SECONDS [RUNS] [JOBS] [MAX_LEN]
# Each target stops at RUNS executions (default: unbounded) or SECONDS, whichever comes first;
# JOBS targets run side by side (default 1); inputs are at most MAX_LEN bytes (default 4096:
# the parsers' structure fits in a few lines, and small inputs run ten times more often than
# whole logs; the seeds' first MAX_LEN bytes are kept). Exit 1 if any target found a crash (its input is
# in fuzz/artifacts/<target>/; make it a named regression test). CI runs it for a few seconds a
# target; the campaign figures in docs/fuzzing.md come from a long run.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:?seconds per target}"; runs="${2:--1}"; jobs="${3:-1}"; max_len="${4:-4096}"
# Instrumented builds get a target directory of their own (CI exports CARGO_TARGET_DIR for the
# workspace; sharing it would rebuild one with the other's flags).
export CARGO_TARGET_DIR="${SGLCI_FUZZ_TARGET_DIR:-$PWD/target}"
rm -rf artifacts
bash seed.sh >/dev/null
cargo +nightly fuzz build -O -s none >/dev/null 2>&1 || cargo +nightly fuzz build -O -s none
mkdir -p target/logs
targets=$(cargo +nightly fuzz list)
one() {
  local t="$1" log="target/logs/$1.log"
  local bin="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$t"
  mkdir -p "corpus/$t" "artifacts/$t"
  set +e
  "$bin" "corpus/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -runs="$runs" \
    -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  local rc=$?
  set -e
  local done_line execs eps cov ft corp
  done_line=$(grep -a -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  execs=$(grep -a -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  eps=$(grep -a -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$done_line")
  local crashes; crashes=$(find "artifacts/$t" -type f | wc -l)
  printf '%-22s %12s %9s %7s %7s %7s %8s rc=%s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" "$rc"
}
export -f one; export secs runs max_len CARGO_TARGET_DIR
printf '%-22s %12s %9s %7s %7s %7s %8s\n' target executions exec/s cov ft corpus crashes
# shellcheck disable=SC2086
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'one {}' | tee target/logs/summary.txt
! grep -q 'rc=[1-9]' target/logs/summary.txt
