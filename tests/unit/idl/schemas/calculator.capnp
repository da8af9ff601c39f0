@0xc0ffee0123456789;
# A valid schema: the calculator of issue 4, with every door annotation, an import through an
# import dir and the standard /capnp/c++.capnp.

using Door = import "/doors/door.capnp";
using Cxx = import "/capnp/c++.capnp";
using Shared = import "/shared/types.capnp";

$Cxx.namespace("calc");

interface Calculator $Door.path("calculator") $Door.unref $Door.noCancel $Door.timeoutMs(5000) {
  # Adds and divides.

  add    @0 (a :Int64, b :Int64) -> (sum :Int64);
  # Returns a + b.

  divide @1 (a :Int64, b :Int64) -> (quotient :Int64) $Door.timeoutMs(100);
  total  @2 (values :List(Float64)) -> (sum :Float64) $Door.maxArgBytes(65536);
  openLog @3 (name :Text) -> (log :Door.Fd);
  session @4 () -> (s :Session);
  plot @5 (at :Shared.Point, color :Shared.Color) -> ();
  send @6 (files :List(Door.Fd)) -> () $Door.maxDescriptors(8);
}

interface Session $Door.unrefMulti $Door.refuseDescriptors $Door.privatePool {
  put @0 (key :Text, value :Data) -> ();
  get @1 (key :Text) -> (value :Data);
}

struct Entry {
  key @0 :Text;
  union {
    none @1 :Void;
    value @2 :Data;
  }
  meta :group {
    size @3 :UInt32;
  }
}
