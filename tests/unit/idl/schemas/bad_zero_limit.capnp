@0xc0ffee012345679d;
using Door = import "/doors/door.capnp";

interface Calc {
  ping @0 () -> () $Door.maxArgBytes(0);
}
