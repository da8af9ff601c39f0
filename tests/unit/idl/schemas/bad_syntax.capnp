@0xc0ffee0123456790;

interface Broken {
  add @0 (a :Int64 -> ();
}
