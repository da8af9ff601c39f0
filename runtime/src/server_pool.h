// The bounded server thread pool of a door server binary (--threads MIN:MAX), built on
// door_server_create(3C): libdoors asks for a thread whenever a pool has no idle one left, and
// this pool gives one only while fewer than MAX are alive. At MAX a call waits (in its socket,
// as on Solaris) for a thread to come free; the caller's deadline, if any, bounds the wait. MIN
// threads are started up front, and a thread that ends (a call abandoned by its caller cancels
// its thread) is replaced while fewer than MIN are left, so the pool never empties.
#pragma once

#include <door.h>

#include <cstdint>

namespace doors::detail {

struct PoolBounds {
  uint32_t min = 2;
  uint32_t max = 128;
};

// One per process (door_server_create is process-wide). Install before the first door exists.
class ServerPool {
 public:
  // Installs the creation function with these bounds; MIN threads start in start().
  static void install(PoolBounds bounds);
  // Starts threads until MIN are alive in the pool the door `door_fd` uses: the shared pool, or
  // when `private_pool`, the door's own (DOOR_PRIVATE; its threads door_bind(3C) to it).
  static void start(int door_fd, bool private_pool);
  // From now on, threads that end are not replaced (the server is stopping).
  static void stop() noexcept;
  // Threads of the pool alive now (shared and private together), for tests.
  static uint32_t alive() noexcept;
};

}  // namespace doors::detail
