#!/usr/bin/env bash
# Builds the project with its tests in ./build and runs every CTest test.
# Usage: scripts/run-tests.sh [EXTRA CMAKE ARGS...]   (e.g. -DDOORS_WERROR=ON, as CI does)
# Exits with ctest's status; a build with no tests at all counts as a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh

generator=()
[[ -f build/CMakeCache.txt ]] || generator=(-G Ninja) # keep the generator of an existing build
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOORS_BUILD_TESTS=ON "$@"
cmake --build build

exec ctest --test-dir build --output-on-failure -j2 --timeout 120 --no-tests=error --no-label-summary
