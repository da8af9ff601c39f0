# The calculator of issue 4: scalars, a list, a Door.Fd result and an interface result.
@0xc0ffee0123456789;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("calc");

using Door = import "/doors/door.capnp";

interface Calculator $Door.path("calculator") {
  # Integer and floating-point arithmetic.

  add    @0 (a :Int64, b :Int64) -> (sum :Int64);
  # a + b.

  divide @1 (a :Int64, b :Int64) -> (quotient :Int64);
  # a / b; b == 0 fails with INVALID_ARGUMENT.

  total  @2 (values :List(Float64)) -> (sum :Float64);
  # The sum of the values (a list: no convenience overload).

  openLog @3 (name :Text) -> (log :Door.Fd);
  # A descriptor of the log file `name`.

  session @4 () -> (s :Session);
  # A new session, a door of its own.
}

interface Session {
  # A map that lives as long as the session door.

  put @0 (key :Text, value :Data) -> ();
  get @1 (key :Text) -> (value :Data);
}
