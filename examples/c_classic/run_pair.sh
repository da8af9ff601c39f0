#!/usr/bin/env bash
# run_pair.sh PAIR SERVER CLIENT: runs one c_classic server and its client end to end, as the
# CTest tests c_classic_PAIR do. PAIR is classic, unref, cred, fd or pool; SERVER and CLIENT are
# the two executables. Each server gets a door path in a fresh mktemp directory; its "ready" line
# is awaited through a FIFO with a deadline, never guessed with sleep. Exits 0 when every check
# passed, 1 (with a FAIL line) on the first that did not, 2 on bad usage. Servers and clients
# still running when the script exits are sent SIGTERM.
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 classic|unref|cred|fd|pool SERVER CLIENT" >&2
  exit 2
fi
pair=$1 server=$2 client=$3
wait_s=10 # longest wait for any one event

tmp=$(mktemp -d "${TMPDIR:-/tmp}/c_classic_$pair.XXXXXX")
door=$tmp/door # the server creates it
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL ($pair): $*" >&2
  exit 1
}

# next_line FD WHO: reads the next line written to FD into $line; fails after $wait_s seconds
# or when the writer has gone (EOF).
next_line() {
  local rc=0
  IFS= read -r -t "$wait_s" line <&"$1" || rc=$?
  if ((rc > 128)); then
    fail "$2: no output within $wait_s s"
  elif ((rc != 0)); then
    fail "$2: exited without printing more"
  fi
  echo "[$2] $line"
}

# expect_line FD WHO TEXT: the next line written to FD is exactly TEXT.
expect_line() {
  next_line "$1" "$2"
  [[ $line == "$3" ]] || fail "$2: expected \"$3\", got \"$line\""
}

# expect_eof FD WHO: the writer of FD closes it (exits) within $wait_s seconds, printing nothing
# more.
expect_eof() {
  local rc=0
  IFS= read -r -t "$wait_s" line <&"$1" || rc=$?
  if ((rc == 0)); then
    fail "$2: unexpected output \"$line\""
  elif ((rc > 128)); then
    fail "$2: still running $wait_s s later"
  fi
}

# expect_exit PID WHO STATUS: reaps PID (which has already closed its output) and checks its
# exit status.
expect_exit() {
  local st=0
  wait "$1" || st=$?
  ((st == $3)) || fail "$2 exited with status $st, expected $3"
}

# start_server: starts SERVER on $door with its output on fd 3, and waits for "ready".
start_server() {
  mkfifo "$tmp/server.out"
  "$server" "$door" >"$tmp/server.out" &
  server_pid=$!
  pids+=("$server_pid")
  exec 3<"$tmp/server.out"
  expect_line 3 server ready
}

# stop_server: SIGTERM, as an operator would; the server must exit 0 and remove $door.
stop_server() {
  kill -TERM "$server_pid"
  expect_eof 3 server
  expect_exit "$server_pid" server 0
  [[ ! -e $door ]] || fail "the server left $door behind"
}

# run_client ARGS...: runs CLIENT to completion ($wait_s s at most); its output goes to $out,
# its exit status to $status.
run_client() {
  local shown="$*"
  ((${#shown} <= 160)) || shown="${shown:0:160}... (${#shown} bytes)"
  echo "\$ ${client##*/} $shown"
  status=0
  out=$(timeout "$wait_s" "$client" "$@" 2>"$tmp/client.err" 4>&-) || status=$?
  [[ -z $out ]] || printf '%s\n' "$out"
  sed 's/^/(stderr) /' "$tmp/client.err"
}

# expect_client STATUS TEXT ARGS...: runs CLIENT; it exits with STATUS and its output's last
# line is TEXT (any last line when TEXT is empty).
expect_client() {
  local want_status=$1 want_last=$2
  shift 2
  run_client "$@"
  ((status == want_status)) || fail "client exited with status $status, expected $want_status"
  [[ -z $want_last || ${out##*$'\n'} == "$want_last" ]] ||
    fail "client printed \"${out##*$'\n'}\", expected \"$want_last\""
}

case $pair in
classic)
  start_server
  expect_client 0 "HELLO WORLD (call 1)" "$door" hello world
  expect_client 0 "(call 2)" "$door"
  # 80 bytes of reply: more than the client's 64-byte buffer, so it arrives in a mapping.
  words=(the quick brown fox jumps over the lazy dog and keeps running far away)
  expect_client 0 "${words[*]^^} (call 3)" "$door" "${words[@]}"
  # Over the door's DOOR_PARAM_DATA_MAX (4096): door_call fails with ENOBUFS.
  expect_client 1 "" "$door" "$(printf 'x%.0s' {1..5000})"
  grep -q "No buffer space available" "$tmp/client.err" || fail "expected ENOBUFS for 5000 bytes"
  stop_server
  ;;

unref)
  start_server
  # A client that calls and exits: 3 references while it runs, 2 again after. No notification.
  expect_client 0 "square(7) = 49" "$door" 7
  expect_line 3 server "square(7) = 49"

  # A client that holds the door open while its input is open: numbers go to it on fd 4, its
  # answers come back on fd 5.
  mkfifo "$tmp/holder.in" "$tmp/holder.out"
  "$client" "$door" <"$tmp/holder.in" >"$tmp/holder.out" 3<&- &
  holder_pid=$!
  pids+=("$holder_pid")
  exec 4>"$tmp/holder.in" 5<"$tmp/holder.out"
  echo 8 >&4
  expect_line 5 holder "square(8) = 64"
  expect_line 3 server "square(8) = 64"

  # SIGTERM: the server detaches PATH (references: its own descriptor and the holder's) and
  # waits. New clients cannot open PATH any more; the holder's calls still work.
  kill -TERM "$server_pid"
  expect_line 3 server detached
  [[ ! -e $door ]] || fail "$door still exists after the server detached it"
  expect_client 1 "" "$door" 3
  echo 9 >&4
  expect_line 5 holder "square(9) = 81"
  expect_line 3 server "square(9) = 81"

  # End of the holder's input: it closes the door (2 -> 1) and exits. Only now may the server
  # print "door unreferenced"; it then exits 0.
  exec 4>&-
  expect_eof 5 holder
  expect_exit "$holder_pid" holder 0
  expect_line 3 server "door unreferenced"
  expect_eof 3 server
  expect_exit "$server_pid" server 0

  # Again with no client holding the door at SIGTERM: fdetach itself is 2 -> 1, and the
  # notification follows at once.
  exec 3<&-
  rm "$tmp/server.out"
  start_server
  expect_client 0 "square(-3) = 9" "$door" -3
  expect_line 3 server "square(-3) = 9"
  kill -TERM "$server_pid"
  expect_line 3 server detached
  expect_line 3 server "door unreferenced"
  expect_eof 3 server
  expect_exit "$server_pid" server 0
  ;;

cred)
  # check_creds TEXT N: TEXT has N "server ..." lines, each equal to the "client ..." line just
  # before it: the server saw the ids the client had when it called.
  check_creds() {
    local prev="" l n=0
    while IFS= read -r l; do
      if [[ $l == server* ]]; then
        [[ $prev == client* && ${l#server } == "${prev#client }" ]] ||
          fail "the server saw \"${l#server }\"; the client had \"${prev#client }\""
        n=$((n + 1))
      fi
      prev=$l
    done <<<"$1"
    ((n == $2)) || fail "expected $2 answers from the server, got $n"
  }
  start_server
  expect_client 0 "" "$door"
  check_creds "$out" 1
  [[ $out == *" ruid=$(id -ru) euid=$(id -u) rgid=$(id -rg) egid=$(id -g)"* ]] ||
    fail "the client's ids are not those of this script"

  if (($(id -u) == 0)); then
    # setuid after open(2): the second call must be seen with the new uid, on the same door
    # descriptor the client opened as root.
    expect_client 0 "" "$door" 65534
    check_creds "$out" 2
    [[ ${out##*$'\n'} == "server pid="*" ruid=65534 euid=65534 "* ]] ||
      fail "after setuid(65534) the server saw \"${out##*$'\n'}\""
  else
    echo "skipped: the setuid part of this test needs root (uid 0); running as uid $(id -u)"
  fi
  stop_server
  ;;

fd)
  start_server
  printf 'first line\nsecond line\n' >"$tmp/small.txt"
  echo "\$ ${client##*/} $door $tmp/small.txt"
  timeout "$wait_s" "$client" "$door" "$tmp/small.txt" >"$tmp/copy.txt" ||
    fail "client exited with status $?"
  cmp "$tmp/small.txt" "$tmp/copy.txt" || fail "the copy of small.txt differs"
  cat "$tmp/copy.txt"

  # Larger than the client's read buffer: several reads through the received descriptor.
  seq 1 50000 >"$tmp/big.txt"
  timeout "$wait_s" "$client" "$door" "$tmp/big.txt" >"$tmp/copy.txt" ||
    fail "client exited with status $?"
  cmp "$tmp/big.txt" "$tmp/copy.txt" || fail "the copy of big.txt differs"
  echo "big.txt: $(wc -c <"$tmp/copy.txt") bytes copied"

  # No such file: no descriptor comes back, and the client prints the server's reason.
  expect_client 1 "" "$door" "$tmp/missing.txt"
  grep -q "missing.txt: No such file or directory" "$tmp/client.err" ||
    fail "expected the server's ENOENT message"
  stop_server
  ;;

pool)
  start_server
  expect_client 0 "4 calls served by 4 server threads" "$door" 4
  # More at once than the pool has threads: it grows through the creation function.
  expect_client 0 "8 calls served by 8 server threads" "$door" 8
  expect_client 0 "1 call served by 1 server thread" "$door" 1
  stop_server
  ;;

*)
  echo "usage: $0 classic|unref|cred|fd|pool SERVER CLIENT" >&2
  exit 2
  ;;
esac
echo "PASS ($pair)"
