@0xc0ffee012345679f;
using Door = import "/doors/door.capnp";

interface Peer {}

interface Hub {
  join @0 (peer :Peer) -> () $Door.maxDescriptors(0);
}
