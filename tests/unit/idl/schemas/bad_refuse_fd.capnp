@0xc0ffee012345679e;
using Door = import "/doors/door.capnp";

struct Batch {
  files @0 :List(Door.Fd);
}

interface Files $Door.refuseDescriptors {
  open @0 (name :Text) -> (fd :Door.Fd);
  store @1 (batch :Batch) -> ();
}
