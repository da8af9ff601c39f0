# A test-only interface on a private pool ($Door.privatePool: DOOR_PRIVATE), for the server main's
# thread pool tests: each call says whether the thread running it is bound to the door.
@0x9ab0fd4e3bd0d090;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("probe");

using Door = import "/doors/door.capnp";

interface PoolProbe $Door.path("pool_probe") $Door.privatePool {
  where @0 () -> (bound :Bool, doorId :UInt64);
  # bound: the thread serving this call is bound to a door (door_info(DOOR_QUERY) succeeds);
  # doorId: that door's di_uniquifier.
}
