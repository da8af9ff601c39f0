# Nested declarations in a nested namespace.
@0xe2d6c6f2a3b4c5d8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("deep::nested");

using Door = import "/doors/door.capnp";

struct Outer {
  enum Kind {
    small @0;
    large @1;
  }

  interface Inner $Door.path("outer/inner") {
    # An interface declared inside a struct.

    resize @0 (kind :Kind, group :Outer) -> (kind :Kind);
    kind @1 (kind :Kind) -> ();
  }

  name @0 :Text;
  shape :group {
    width @1 :UInt32;
  }
}

interface Container {
  interface Item {
    # An interface declared inside an interface.
    touch @0 () -> ();
  }

  item @0 (name :Text) -> (item :Item);
  adopt @1 (item :Item, inner :Outer.Inner) -> ();
}
