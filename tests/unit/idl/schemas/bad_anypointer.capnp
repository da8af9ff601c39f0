@0xc0ffee0123456797;

struct Holder {
  name @0 :Text;
  payload @1 :AnyPointer;
}
