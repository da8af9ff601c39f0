#!/usr/bin/env bash
# Builds the project in ./build and runs the classic C door example: c_classic_server attaches
# a door to a fresh temporary path, c_classic_client calls it a few times, and the server is
# stopped with SIGTERM, as an operator would. Exits non-zero if any step fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh

generator=()
[[ -f build/CMakeCache.txt ]] || generator=(-G Ninja) # keep the generator of an existing build
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOORS_BUILD_EXAMPLES=ON
cmake --build build --target c_classic_server c_classic_client

bin=build/examples/c_classic
server_pid=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/doors-example.XXXXXX")
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
door=$tmp/classic.door # the server creates it

# The server's stdout goes through a FIFO, so readiness is an event (the line "ready"), not a
# guess: read waits for it with a deadline and sees EOF at once if the server dies first.
mkfifo "$tmp/server.out"
"$bin/c_classic_server" "$door" >"$tmp/server.out" &
server_pid=$!
exec 3<"$tmp/server.out"
echo "server: pid $server_pid, door $door"
deadline=$((SECONDS + 10))
while :; do
  if ((SECONDS >= deadline)); then
    echo "error: c_classic_server did not print \"ready\" within 10 s" >&2
    exit 1
  fi
  rc=0
  IFS= read -r -t $((deadline - SECONDS)) line <&3 || rc=$?
  if ((rc > 128)); then
    continue # timed out: the check above reports it
  elif ((rc != 0)); then
    status=0
    wait "$server_pid" || status=$?
    server_pid=
    echo "error: c_classic_server exited with status $status before printing \"ready\"" >&2
    exit 1
  fi
  echo "[server] $line"
  [[ $line == ready ]] && break
done
# Keep draining the server's output so it can never block on a full pipe.
sed -u 's/^/[server] /' <&3 &
drain_pid=$!
exec 3<&-

call() {
  echo "\$ c_classic_client $door${*:+ $*}"
  timeout 30 "$bin/c_classic_client" "$door" "$@"
}
call
call hello
call hello doors on linux

# Stop the server as an operator would and give it 10 s to detach and exit. Polling /proc only
# bounds the wait: bash's wait has no timeout, and an exited child that bash has not reaped yet
# is a zombie that kill -0 still finds.
server_running() {
  local stat
  stat=$(cat "/proc/$server_pid/stat" 2>/dev/null) || return 1
  [[ ${stat##*) } != Z* ]]
}
kill -TERM "$server_pid"
stop_deadline=$((SECONDS + 10))
while server_running; do
  if ((SECONDS >= stop_deadline)); then
    echo "error: c_classic_server still running 10 s after SIGTERM" >&2
    exit 1
  fi
  sleep 0.05
done
status=0
wait "$server_pid" || status=$?
server_pid=
wait "$drain_pid" || true
if ((status != 0)); then
  echo "error: c_classic_server exited with status $status after SIGTERM" >&2
  exit 1
fi
echo "server: stopped cleanly"
