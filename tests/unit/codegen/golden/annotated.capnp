# Every door attribute and limit, on interfaces and on methods, and a path that needs escaping.
@0xf3e7d7a3b4c5d6e9;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annotated");

using Door = import "/doors/door.capnp";

interface Everything $Door.path("run/doors/\"every\" thing\\") $Door.unref $Door.unrefMulti
    $Door.noCancel $Door.privatePool $Door.maxArgBytes(4096) $Door.maxDescriptors(2)
    $Door.timeoutMs(250) {
  # Interface-wide limits: each method inherits them unless it sets its own.

  inherits @0 (fd :Door.Fd) -> ();
  own @1 (data :Data) -> (fds :List(Door.Fd))
      $Door.maxArgBytes(1048576) $Door.maxDescriptors(0) $Door.timeoutMs(60000);
  # Its own limits win over the interface's.
}

interface Refusing $Door.refuseDescriptors $Door.path("refusing") {
  # Calls carrying descriptors are refused; results may still carry them.
  give @0 () -> (fd :Door.Fd) $Door.timeoutMs(1);
}

interface Plain $Door.path("plain") {
  # No attributes, no limits.
  ping @0 () -> ();
}
