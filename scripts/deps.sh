#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs to build, test and benchmark. Idempotent:
# when every package is already installed it changes nothing and does not touch the network.
set -euo pipefail

packages=(
  build-essential  # gcc, g++, make, libc headers
  cmake
  ninja-build
  pkg-config
  git
  libboost-dev     # Boost.Interprocess (header-only) for the shared-memory arenas
  capnproto        # capnp compiler, for the IDL layer
  libcapnp-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libgrpc++-dev            # bench/: the gRPC C++ peer (optional; bench builds without it)
  libprotobuf-dev          # bench/: the gRPC peer's messages
  protobuf-compiler        # bench/: protoc, for the gRPC peer's bench.proto
  protobuf-compiler-grpc   # bench/: grpc_cpp_plugin, for the gRPC peer's service stubs
  binutils         # readelf, used by tests/install/run.sh
  clang              # scripts/run-fuzz.sh: the libFuzzer targets (DOORS_FUZZ=ON)
  libclang-rt-14-dev # libFuzzer's runtime and clang's sanitizer runtimes
)

missing=()
for p in "${packages[@]}"; do
  # "ii" is installed; dpkg -s alone also succeeds for removed-but-configured packages.
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ $status == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "error: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
