# Imported by importer.capnp through an import dir (`import "/shapes/shapes.capnp"`).
@0xb5a9f9c5d6e7f80b;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shapes");

interface Canvas {
  clear @0 () -> ();
}

enum Color {
  red @0;
  green @1;
}
