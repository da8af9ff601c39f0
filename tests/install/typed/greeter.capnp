@0xe5d4cf6a7b34287b;
# The schema of the out-of-tree install test.
using Cxx = import "/capnp/c++.capnp";
using Door = import "/doors/door.capnp";
$Cxx.namespace("greeter");

interface Greeter $Door.path("greeter") {
  greet @0 (name :Text) -> (greeting :Text);
  fail @1 () -> ();  # always answers FAILED_PRECONDITION
}
