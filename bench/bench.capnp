@0x9ee6cf3f2d3d42a4;
# The interface the benchmarks call through the generated client.
using Cxx = import "/capnp/c++.capnp";
using Door = import "/doors/door.capnp";
$Cxx.namespace("doors_bench");

interface Bench {
  ping @0 () -> ();
  # The null call: no parameters, no results.

  checksum @1 (payload :Data) -> (sum :UInt64);
  # Reads every byte of payload in place and returns their checksum.
}
