#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz/ for SECONDS each (default 30): installs the
# dependencies, configures a clang build in build-fuzz/ with DOORS_FUZZ=ON, builds only the fuzz
# binaries, runs `ctest -L fuzz`, and ends with one line per target (executions, crashes).
#   scripts/run-fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: scripts/run-fuzz.sh [SECONDS]" >&2; exit 2; }

scripts/deps.sh
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
  -DDOORS_FUZZ=ON -DDOORS_FUZZ_SECONDS="$seconds" -DDOORS_BUILD_TESTS=ON \
  -DDOORS_BUILD_EXAMPLES=ON -DDOORS_BUILD_BENCH=OFF -DDOORS_INSTALL=OFF >/dev/null
cmake --build build-fuzz --target doors_fuzz_binaries

status=0
ctest --test-dir build-fuzz -L fuzz --output-on-failure | tee build-fuzz/fuzz-ctest.log || status=$?

echo
printf '%-24s %12s %10s %8s %8s\n' target execs exec/s crashes corpus
for log in build-fuzz/tests/fuzz/runs/*/log; do
  [[ -e $log ]] || continue
  work=$(dirname "$log")
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  units=$(find "$work/corpus" -type f | wc -l)
  printf '%-24s %12s %10s %8s %8s\n' "$(basename "$work")" "${execs:-?}" "${speed:-?}" \
    "$crashes" "$units"
done
echo
grep -E 'tests passed|tests failed' build-fuzz/fuzz-ctest.log || true
exit "$status"
