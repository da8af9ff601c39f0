#!/usr/bin/env bash
# Builds and runs tests/install against an installed libdoors, by every route a user has:
#   1. CMake: find_package(Doors) with Doors::doors and Doors::doors_static;
#   2. CMake, typed: find_package(Doors) + doors_generate() on a schema of its own, a typed
#      server and client (tests/install/typed/);
#   3. pkg-config: cc door_info_local.c $(pkg-config --cflags --libs doors), and the static
#      library through `pkg-config --static` (whose Libs.private a C link of libdoors.a needs).
# Usage: tests/install/run.sh PREFIX   (PREFIX as given to `cmake --install build --prefix`)
set -euo pipefail

prefix=${1:?usage: $0 PREFIX}
prefix=$(cd "$prefix" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/doors-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
run() { echo "+ $*"; "$@"; }

echo "== install test: CMake route (find_package(Doors) from $prefix)"
cmake -S "$here" -B "$work/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/cmake"
"$work/cmake/door_info_local"
"$work/cmake/door_info_local_static"

echo "== install test: typed route (doors_generate() and Doors::runtime from $prefix)"
cmake -S "$here/typed" -B "$work/typed" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work/configure-typed.log" || { cat "$work/configure-typed.log"; exit 1; }
cmake --build "$work/typed"
"$work/typed/greeter"

echo "== install test: pkg-config route"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cflags="-std=c99 -Wall -Wextra -pedantic -Werror"
# shellcheck disable=SC2046,SC2086  # word splitting of pkg-config output is intended
run cc $cflags -o "$work/pc_shared" "$here/door_info_local.c" $(pkg-config --cflags --libs doors)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir doors)" "$work/pc_shared"

# Static: the same flags from `pkg-config --static`, with -ldoors resolved to libdoors.a.
static_libs=$(pkg-config --static --libs doors)
static_libs=${static_libs/-ldoors/-Wl,-Bstatic -ldoors -Wl,-Bdynamic}
# shellcheck disable=SC2046,SC2086
run cc $cflags -o "$work/pc_static" "$here/door_info_local.c" $(pkg-config --cflags doors) $static_libs
if readelf -d "$work/pc_static" | grep -q 'libdoors\.so'; then
  echo "error: pc_static links libdoors.so, expected libdoors.a" >&2
  exit 1
fi
"$work/pc_static"
echo "== install test: ok"
