@0xc0ffee0123456793;

interface Store(K) {
  get @0 (key :K) -> ();
}
