@0xc0ffee01234567a0;
using Door = import "/doors/door.capnp";

interface Calc $Door.path("calc") $Door.frobnicate {
  ping @0 () -> ();
}
