@0xc0ffee012345679b;
using Door = import "/doors/door.capnp";

interface Calc $Door.unref $Door.path("") {
  ping @0 () -> ();
}
