# Imported by importer.capnp (a relative import); its interfaces are generated from this file.
@0xa4f8e8b4c5d6e7fa;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("lib");

interface Store {
  put @0 (key :Text) -> ();
}

struct Record {
  key @0 :Text;
}
