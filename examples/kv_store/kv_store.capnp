# The key-value store example: an in-memory map from text keys to binary values of up to 64 MiB,
# and a blocking read that waits for a key to be set.
@0xd8ecd746c9504d02;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("kv");

using Door = import "/doors/door.capnp";

interface KvStore $Door.path("kv_store") {
  # Keys are 1 to 1024 bytes of text; values up to 64 MiB (67108864 bytes) of data. Errors:
  # INVALID_ARGUMENT for a bad key, RESOURCE_EXHAUSTED for a value over 64 MiB, NOT_FOUND for a
  # key that is not there.

  put @0 (key :Text, value :Data) -> () $Door.maxArgBytes(67174400);
  # Stores value under key, replacing what was there. The argument limit is 64 MiB of value plus
  # 64 KiB for the key and the message's own framing.

  get @1 (key :Text) -> (value :Data);
  # The value stored under key.

  delete @2 (key :Text) -> ();
  # Removes key and its value.

  list @3 (prefix :Text) -> (keys :List(Text));
  # The keys that start with prefix ("" for all), in byte order.

  waitFor @4 (key :Text, timeoutMs :UInt32) -> (value :Data);
  # Like get, but when key is not there yet, waits up to timeoutMs (at most 60000) for a put of
  # it: DEADLINE_EXCEEDED when none came. A server that is stopping wakes its waiters with
  # UNAVAILABLE. Cancelled like any call when the caller gives up first.
}
