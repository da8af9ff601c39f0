@0xc0ffee0123456798;

interface Tunnel {
  send @0 (id :UInt32,
           thing :AnyStruct) -> ();
}
