@0xc0ffee012345679c;
using Door = import "/doors/door.capnp";

interface First $Door.path("same") {
  ping @0 () -> ();
}

interface Second $Door.path("same") {
  ping @0 () -> ();
}
