# Uses interfaces, a struct and an enum of other files: the generated header includes the
# generated headers of the files whose door clients its convenience methods take.
@0xc6bafad6e7f8091c;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("app");

using Door = import "/doors/door.capnp";
using Lib = import "imported.capnp";
using Shapes = import "/shapes/shapes.capnp";

interface Importer $Door.path("importer") {
  useStore @0 (store :Lib.Store) -> ();
  draw @1 (canvas :Shapes.Canvas, color :Shapes.Color) -> ();
  save @2 (record :Lib.Record) -> (store :Lib.Store);
}
