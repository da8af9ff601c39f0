@0xd5a3c2b1e4f60718;
# Types shared by several schemas, imported as "/shared/types.capnp".

struct Point {
  x @0 :Float64;
  y @1 :Float64;
}

enum Color {
  red @0;
  green @1;
}
