// The server side of libdoors: doors served by this process, their connections, and the thread
// pools that serve them. Internal to libdoors.
#pragma once

#include <door.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <atomic>
#include <mutex>

#include "arena.h"
#include "shuttle.h"
#include "wire.h"

namespace doors::detail {

struct Door;
struct Connection;

// A pool of server threads: the process's shared pool, or a DOOR_PRIVATE door's own. Idle
// threads wait on the pool's epoll set (leader/follower): a request wakes exactly one of them,
// which serves it on the spot.
struct Pool {
  // The epoll set. The shared pool's is made on first use, and a new thread may look at it
  // while another makes it: atomic.
  std::atomic<int> epfd{-1};
  std::atomic<int> idle{0};
  Door* private_door = nullptr;  // null for the shared pool
  // Threads parked on a channel's shuttle ("Parking" in server.cpp), under Process::park_mu.
  Connection* parked = nullptr;
  std::atomic<int> nparked{0};            // written under park_mu; read without it by idle threads
  std::atomic<int64_t> last_sweep_ns{0};  // when an idle thread last looked for quiet channels
};

enum class ConnKind : uint8_t {
  kListener,  // fattach(3C): listening socket of an attached path
  kPending,   // accepted from a listener, waiting for the client's kHello
  kPrimary,   // server end of a door descriptor (door_create, or a kWelcome)
  kChannel,   // server end of a per-thread call channel a client attached
  kUnref,     // eventfd: an unreferenced notification (DOOR_UNREF) is due
};

// A connection's state word: the generation in the high half (bumped each time its slot is
// reused, and carried in epoll events, so a stale event is recognised), flags in the low half.
inline constexpr uint64_t kArmed = 0x1;     // in its pool's epoll set, waiting for an event
inline constexpr uint64_t kBusy = 0x2;      // a worker holds it
inline constexpr uint64_t kCloseReq = 0x4;  // close it when the worker holding it is done
inline constexpr uint64_t kParked = 0x8;    // with kBusy: its worker is parked on its shuttle

// One socket of a door served here. Slots are never freed, only reused, so a worker holding a
// stale epoll event can still look at the state word and see that the event is stale.
struct Connection {
  std::atomic<uint64_t> state{0};
  uint32_t index = 0;  // slot number
  int fd = -1;
  ConnKind kind = ConnKind::kChannel;
  Door* door = nullptr;
  Connection* prev = nullptr;  // the door's list, under Door::mu
  Connection* next = nullptr;
  dev_t dev = 0;  // kListener / kPending: the attached file
  ino_t ino = 0;
  int pin_fd = -1;   // kListener: an O_PATH descriptor of the attached file, so that its inode
                     // (whose number names the listener) cannot be freed and reused while attached
  uint64_t via = 0;  // kChannel: event key (slot, generation) of the connection it came through
  int64_t charged_uid = -1;         // the client uid charged for it (resource_limits.h), or -1
  std::atomic<FrameKind> notice{};  // with kCloseReq: what to tell the client before closing

  // Client-abort cancellation (door_call(3C)): while a procedure runs for this connection, the
  // connection is watched for the client's hang-up, and the thread running it is cancelled.
  std::mutex cancel_mu;
  bool watched = false;    // a procedure of a cancellable door is running for this connection
  bool cancelled = false;  // its thread was sent pthread_cancel
  pthread_t holder{};
  ReaderMapping args;               // the client's argument arena
  WriterArena results;              // our result arena for this connection
  bool result_outstanding = false;  // a block of it the client may still be reading
  uint64_t result_offset = 0;
  char* reply_block = nullptr;  // doors_reply_buffer's block (the outstanding one), if any
  size_t reply_block_size = 0;
  int pending_reader_fd = -1;  // a new result arena the client has not been sent yet

  // kChannel: the client's shuttle page (shuttle.h), and what a parked worker needs of it.
  ShuttlePage* shuttle = nullptr;
  SenderCreds shuttle_creds;        // of the socket message after which the worker parked
  std::atomic<bool> recall{false};  // the parked worker must leave after the current call
  std::atomic<uint32_t> served{0};  // shuttle calls served while parked (by its worker only)
  uint32_t served_at_sweep = 0;     // `served` at the last sweep (Process::park_mu)
  bool listed = false;              // in its pool's parked list (Process::park_mu)
  Connection* park_prev = nullptr;
  Connection* park_next = nullptr;
};

struct Door {
  uint64_t id = 0;
  door_server_procedure_t* proc = nullptr;
  void* cookie = nullptr;
  std::atomic<uint32_t> attributes{0};  // creation attributes; DOOR_UNREF goes once delivered
  uint32_t unref_kind = 0;              // DOOR_UNREF or DOOR_UNREF_MULTI as created, else 0
  std::atomic<bool> revoked{false};
  std::atomic<uint64_t> data_max{SIZE_MAX};
  std::atomic<uint64_t> data_min{0};
  std::atomic<uint64_t> desc_max{0};
  std::atomic<uint64_t> tag{0};            // doors_set_tag
  std::atomic<uint64_t> calls{0};          // invocations of proc, for doors_server_stats
  std::atomic<uint64_t> shuttle_calls{0};  // of those, the ones that came through a shuttle
  Pool* pool = nullptr;                    // shared pool, or private_pool

  std::mutex mu;  // guards the list below
  Connection* conns = nullptr;
  int nconns = 0;
  // References in the DOOR_UNREF sense: door descriptors (primary sockets, each an open file
  // description however often it is dup'ed, inherited or passed) plus fattach attachments.
  std::atomic<int> refs{0};
  bool referenced_twice = false;  // refs reached 2 since the last notification
  int active = 0;                 // invocations running (unref doors only)
  bool unref_deferred = false;    // a notification waits for the invocations to end
  int unref_fd = -1;              // eventfd of the kUnref connection
  Connection* unref_conn = nullptr;
  uint64_t next_serial = 1;
  int anchor_fd = -1;  // bound to "\0doors/<id>": reserves the id system-wide
  Pool private_pool;
};

// door_info figures of a local door; false when id is not a door served by this process.
bool local_door_info(uint64_t id, WireInfo* out);

// doors_server_stats figures of a local door; false when id is not a live door served here.
bool local_server_stats(uint64_t id, WireStats* out);

// door_info(DOOR_QUERY): the door the calling thread is bound to; false when unbound.
bool bound_door_info(WireInfo* out);

// The credentials the kernel attached to the current invocation's request; false outside one.
bool current_caller(SenderCreds* out);

// door_setparam(3C) on a door of this process; -1 with errno as documented (EPERM when the door
// is not served here).
int set_local_param(uint64_t id, int param, size_t value);

// fattach(3C) / fdetach(3C) on the server side: binds / closes the listener of (dev, ino).
// attach_local_door takes pin_fd (an O_PATH descriptor of the file) in every case.
int attach_local_door(uint64_t id, int pin_fd, dev_t dev, ino_t ino);
int detach_local(dev_t dev, ino_t ino);

// Revokes a door served here; EPERM when it is not ours.
int revoke_local(uint64_t id);

}  // namespace doors::detail
