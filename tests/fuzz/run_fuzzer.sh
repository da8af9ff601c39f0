#!/usr/bin/env bash
# run_fuzzer.sh BINARY CORPUS SECONDS WORKDIR: runs one libFuzzer binary for SECONDS on a copy of
# CORPUS in WORKDIR (the checked-in corpus is never modified), with a 10 s per-input timeout.
# Prints "fuzz result: target=... execs=N exec_per_sec=N crashes=N" and fails on any crash,
# leak, timeout or sanitizer report (libFuzzer exits non-zero and writes an artifact for each).
set -uo pipefail
bin=$1 corpus=$2 seconds=$3 work=$4
name=$(basename "$bin")
name=${name#fuzz_}
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp -R "$corpus"/. "$work/corpus/"
"$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 -print_funcs=0 -rss_limit_mb=4096 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/log" | tail -n 1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$work/log" | tail -n 1)
crashes=$(find "$work/artifacts" -type f | wc -l)
units=$(find "$work/corpus" -type f | wc -l)
if ((rc != 0 || crashes > 0)); then
  echo "--- last lines of $work/log:"
  tail -n 60 "$work/log"
  find "$work/artifacts" -type f -printf 'artifact: %p\n'
fi
echo "fuzz result: target=$name execs=${execs:-0} exec_per_sec=${speed:-0} crashes=$crashes corpus=$units exit=$rc"
((rc == 0 && crashes == 0))
