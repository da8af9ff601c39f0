#!/usr/bin/env bash
# Builds and runs the benchmark suite (bench/, doors_bench): door calls beside the futex,
# memcpy and one-copy limits and their peers (Unix stream socket, pipe, Cap'n Proto RPC, gRPC),
# every case between two processes, in one run. Prints one table of results, then the issue's
# target ratios (all from that run) with "met" / "NOT met", and writes JSON.
#
#   bash scripts/run-bench.sh [--quick] [--json FILE] [other doors_bench or --benchmark_* flags]
#
# A default run takes about 3 minutes on 2 CPUs, --quick under one. The JSON goes to
# build/bench/results.json unless --json says otherwise. A ratio that is NOT met is a result, not
# a failure: the script fails only when the build fails, a case fails or a server dies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh

generator=()
[[ -f build/CMakeCache.txt ]] || generator=(-G Ninja) # keep the generator of an existing build
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOORS_BUILD_BENCH=ON \
  >/dev/null
cmake --build build -j2 --target doors_bench

json=(--json build/bench/results.json)
for arg in "$@"; do
  if [[ $arg == --json ]]; then json=(); fi # the caller's --json wins
done
exec build/bench/doors_bench "${json[@]}" "$@"
