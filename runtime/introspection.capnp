# introspection.capnp: the interface every door the typed runtime serves answers besides its own.
#
# A typed request names the interface it is for (runtime/README.md, "The wire format"); a request
# for Introspection's id goes to the runtime itself, whatever interface the door serves. Tools
# (doorctl) use it to learn a door's interface without its .capnp file, to check that a server is
# alive, and to read its statistics. Every id here is fixed for ever.

@0xd3a4c9e2f0b71a65;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("doors::introspection");

using Schema = import "/capnp/schema.capnp";

interface Introspection @0xe6b8d5f1a2c94e07 {
  describe @0 () -> (description :Description);
  # The door's interface, complete enough to call it and to print it as schema text.

  health @1 () -> (health :Health);
  # Whether the server takes calls, and who it is.

  stats @2 () -> (stats :Stats);
  # What the server process has done so far, and how busy it is now.
}

struct Description {
  interfaceName @0 :Text;  # "Calculator"
  interfaceId @1 :UInt64;
  nodes @2 :List(Schema.Node);
  # The interface's node first, then every node a caller needs (parameter and result structs,
  # and the structs, enums and interfaces they use): capnp::SchemaLoader::load() each.
  defaultPath @3 :Text;  # $Door.path, or empty
  doorAttributes @4 :UInt32;  # DOOR_UNREF | ... as the door was created
}

enum ServingStatus {
  serving @0;   # taking calls
  draining @1;  # stopping: calls in progress finish, new ones are refused
}

struct Health {
  status @0 :ServingStatus;
  pid @1 :UInt32;
  uptimeNs @2 :UInt64;       # since the runtime started in the server process
  interfaceName @3 :Text;    # of the door asked
  program @4 :Text;          # the server binary's name ("calculator_server"), or empty
  version @5 :Text;          # the server binary's version, or empty
  runtimeVersion @6 :Text;   # the version of Doors the server runs
}

struct Stats {
  status @0 :ServingStatus;
  pid @1 :UInt32;
  uptimeNs @2 :UInt64;
  interfaces @3 :List(InterfaceStats);  # every interface the process has served, by first use
  pool @4 :PoolStats;
  connections @5 :UInt32;        # open door descriptors and call channels of clients
  doors @6 :UInt32;              # doors the process serves
  attachments @7 :UInt32;        # paths it has attached doors to
  sharedMemoryBytes @8 :UInt64;  # mapped for door arguments and results
}

struct PoolStats {
  threads @0 :UInt32;      # server threads
  idleThreads @1 :UInt32;  # of those, waiting for a call
  busyThreads @2 :UInt32;  # of those, running a call
  minThreads @3 :UInt32;   # the pool's bounds as configured (--threads); 0 when not bounded
  maxThreads @4 :UInt32;
}

struct InterfaceStats {
  name @0 :Text;
  id @1 :UInt64;
  methods @2 :List(MethodStats);  # by ordinal
  rejected @3 :UInt64;
  # Requests refused before any method ran, on doors serving this interface (malformed, for
  # another interface, for an unknown method, over a method's limits) and, for Introspection,
  # Introspection requests for an unknown method.
}

struct MethodStats {
  name @0 :Text;
  ordinal @1 :UInt16;
  calls @2 :UInt64;     # answered, successfully or not
  errors @3 :UInt64;    # of those, answered with an error, abandoned by their caller, or whose
                        # reply could not be sent
  inFlight @4 :UInt32;  # running now
  latency @5 :Latency;  # of the answered calls
}

struct Latency {
  # Server-side time of a call: from the door procedure taking it to its reply being ready, in
  # nanoseconds. Percentiles come from a histogram with 8 buckets per power of two, so each is
  # the upper bound of its bucket: at most 12.5% above the true value (and never above max).
  p50Ns @0 :UInt64;
  p90Ns @1 :UInt64;
  p99Ns @2 :UInt64;
  maxNs @3 :UInt64;
  meanNs @4 :UInt64;
}
