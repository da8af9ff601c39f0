@0xc0ffee0123456791;
using Missing = import "/nowhere/missing.capnp";
struct S { x @0 :Missing.T; }
