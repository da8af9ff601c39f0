@0xc0ffee012345679a;
using Door = import "/doors/door.capnp";

struct NotAnInterface $Door.path("x") {
  a @0 :Int64;
}
