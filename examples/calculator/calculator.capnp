# The calculator example: integer and floating-point arithmetic, a typed error, a file descriptor
# coming back from the server, and an interface value (a new door) coming back from it.
@0xa9600f8ddd26eeff;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("calc");

using Door = import "/doors/door.capnp";

interface Calculator $Door.path("calculator") {
  add @0 (a :Int64, b :Int64) -> (sum :Int64);
  # a + b. A sum that does not fit in an Int64 fails with OUT_OF_RANGE.

  divide @1 (a :Int64, b :Int64) -> (quotient :Int64);
  # a / b, rounded toward zero. b == 0 fails with INVALID_ARGUMENT "division by zero" (a typed
  # error, not a crash); the one quotient that does not fit, INT64_MIN / -1, with OUT_OF_RANGE.

  total @2 (values :List(Float64)) -> (sum :Float64);
  # The sum of the values (0 for none).

  openLog @3 (name :Text) -> (log :Door.Fd);
  # Opens (creating it when missing) the server's log file `<name>.log` for appending and hands
  # the descriptor back: the caller writes to it directly. `name` must be 1 to 64 bytes with no
  # '/', no ".." and no NUL (INVALID_ARGUMENT otherwise).

  session @4 () -> (s :Session);
  # A new session: a door of its own, private to whoever holds it. The session and what it holds
  # go away when its last reference is closed.
}

interface Session {
  # A small in-memory map that lives as long as the session door.

  put @0 (key :Text, value :Data) -> ();
  # Stores value under key, replacing what was there.

  get @1 (key :Text) -> (value :Data);
  # The value stored under key; NOT_FOUND when there is none.
}
