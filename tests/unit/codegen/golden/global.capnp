# No $Cxx.namespace (the global namespace), no $Door.path, and names that are C++ keywords or
# clash with the generated classes' members.
@0xd1c5b5e1f2a3b4c7;

using Door = import "/doors/door.capnp";

enum Mode {
  fast @0;
  safe @1;
}

struct Point {
  x @0 :Float64;
  y @1 :Float64;
}

interface Keywords {
  delete @0 (class :Text, new :UInt32) -> (this :Bool);
  # `delete`, `class`, `new` and `this` get a trailing underscore in C++.

  open @1 (options :Text) -> ();
  # `open` is Client::open(); `options` is the convenience method's CallOptions.

  capability @2 () -> ();
  dispatch @3 () -> ();
  get @4 () -> ();
  getRequest @5 (flag :Bool) -> ();
  # The request method of `get` is `getRequest`: this method's convenience overload is
  # `getRequest_`.
}

interface Scalars {
  all @0 (b :Bool, i8 :Int8, i16 :Int16, i32 :Int32, i64 :Int64, u8 :UInt8, u16 :UInt16,
          u32 :UInt32, u64 :UInt64, f32 :Float32, f64 :Float64, mode :Mode, nothing :Void,
          text :Text, data :Data, fd :Door.Fd, peer :Keywords) -> ();
  # Every kind of parameter the convenience overload takes.

  point @1 (at :Point) -> (mode :Mode);
  # A struct parameter: only pointRequest().

  fds @2 (fds :List(Door.Fd)) -> ();
  # A list of descriptors: only fdsRequest().
}

interface Empty {
  # No methods at all.
}
