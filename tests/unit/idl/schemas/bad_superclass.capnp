@0xc0ffee0123456796;

interface Base {
  ping @0 () -> ();
}

interface Derived extends(Base) {
  pong @0 () -> ();
}
