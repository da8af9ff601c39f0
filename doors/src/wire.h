// The messages libdoors exchanges over its SOCK_SEQPACKET connections, and the one place that
// sends and receives them. Everything received is from another process and is checked here
// before anyone else sees it.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "doors/ext.h"

namespace doors::detail {

enum class FrameKind : uint16_t {
  kCall = 1,      // client -> server: invoke the door's procedure
  kReply,         // server -> client: door_return's results
  kError,         // server -> client: the call failed with `error` (an errno)
  kRevoked,       // server -> client: the door is revoked; the call did not run
  kAttach,        // client -> server: carries a new channel socket for the same door, and the
                  // channel's shuttle page (shuttle.h) as a second descriptor
  kInfoRequest,   // client -> server: door_info / door_getparam figures, please
  kInfo,          // server -> client: answer to kInfoRequest (body: WireInfo)
  kHello,         // client -> listener: carries the opened attached file as proof of access
  kWelcome,       // listener -> client: carries a primary socket of the door (body: WireInfo)
  kClosed,        // server -> client: this channel is closed (the door descriptor it was attached
                  // through is gone); a call queued on it did not run: attach a new channel
  kDetach,        // client -> listener: fdetach(3C) from another process; carries an O_PATH
                  // descriptor of the path; answered with kError (error 0 on success)
  kStatsRequest,  // client -> server: doors_server_stats figures, please
  kStats,         // server -> client: answer to kStatsRequest (body: WireStats)
  kShuttleWake,   // server -> client: the reply is in the channel's shuttle (shuttle.h), for a
                  // client that stopped waiting on the shuttle's futex (kShuttleCallSlow)
};

// Frame flags.
inline constexpr uint16_t kDataInArena = 0x1;  // data is {arena_offset, data_size} in the arena
inline constexpr uint16_t kNewArena = 0x2;     // the first descriptor is the sender's new arena
inline constexpr uint16_t kNoResults = 0x4;    // door_call(fd, NULL): no results wanted

inline constexpr uint32_t kFrameMagic = 0x444f5231;  // "DOR1"

// Fixed header of every message; followed by inline data, then desc_num DescMeta entries.
struct Frame {
  uint32_t magic;
  FrameKind kind;
  uint16_t flags;
  uint32_t desc_num;  // descriptors passed (not counting a kNewArena descriptor)
  int32_t error;      // kError: the errno for the caller
  uint64_t data_size;
  uint64_t arena_offset;
};
static_assert(sizeof(Frame) == 32);

// What a sender says of each passed descriptor (the receiver still checks door-ness itself).
struct DescMeta {
  uint32_t attributes;  // the door's attributes when the descriptor is a door, else 0
  uint32_t reserved;
  uint64_t id;  // di_uniquifier when the descriptor is a door, else 0
};
static_assert(sizeof(DescMeta) == 16);

// door_info and door_getparam figures, as the server reports them.
struct WireInfo {
  int64_t target;  // server pid
  uint64_t proc;
  uint64_t data;
  uint64_t id;
  uint32_t attributes;
  uint32_t reserved;
  uint64_t data_max;
  uint64_t data_min;
  uint64_t desc_max;
};

// doors_server_stats figures, as the server reports them.
struct WireStats {
  int64_t pid;
  uint32_t threads;
  uint32_t idle_threads;
  uint32_t doors;
  uint32_t attachments;
  uint32_t connections;
  uint32_t parked_threads;
  uint64_t shm_bytes;
  uint64_t calls;
  uint64_t tag;
  uint64_t id;  // the door the figures are about
  uint64_t shuttle_calls;
  uint64_t refusals;
  uint64_t pool_full;
};
static_assert(sizeof(WireStats) == 88);

// SCM_RIGHTS carries at most SCM_MAX_FD (253) descriptors; one slot is kept for an arena.
inline constexpr unsigned kMaxDescs = 252;
inline constexpr size_t kInlineDataMax = DOORS_INLINE_DATA_MAX;
// Largest message any peer may send: header, inline data, and descriptor metadata.
inline constexpr size_t kMaxFrameBytes =
    sizeof(Frame) + kInlineDataMax + kMaxDescs * sizeof(DescMeta);

// The credentials the kernel attached to a message (SO_PASSCRED), at the time it was sent.
struct SenderCreds {
  bool valid = false;
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// A received, validated message. Descriptors it carried are owned by it until taken.
struct Received {
  Frame frame{};
  const char* inline_data = nullptr;  // frame.data_size bytes, when not kDataInArena
  DescMeta meta[kMaxDescs];           // frame.desc_num entries, copied out of the buffer
  int fds[kMaxDescs + 1];
  unsigned nfds = 0;
  SenderCreds creds;

  int arena_fd() const { return (frame.flags & kNewArena) ? fds[0] : -1; }
  // Descriptors passed by the caller, after any arena descriptor.
  int* passed_fds() { return fds + ((frame.flags & kNewArena) ? 1 : 0); }
  void close_fds();
};

// A message to send.
struct Outgoing {
  Frame frame{};
  const void* inline_data = nullptr;
  const DescMeta* meta = nullptr;
  const int* fds = nullptr;  // arena descriptor first (when kNewArena), then passed ones
  unsigned nfds = 0;
  const void* body = nullptr;  // kInfo / kWelcome: a WireInfo (as inline data)
};

// Sends one message; MSG_NOSIGNAL, retried on EINTR. Returns 0 or -1 with errno (EPIPE or
// ECONNRESET when the peer is gone, EBADF when a passed descriptor is bad).
int send_frame(int sock, const Outgoing& out);

// Receives one message into buf (kMaxFrameBytes) and validates it. Returns 1 on success, 0 when
// the peer has closed, -1 with errno: EINTR only when interruptible, EMFILE when descriptors it
// carried were lost to our descriptor limit, EPROTO for a malformed message (any descriptors it
// carried are closed).
int recv_frame(int sock, char* buf, Received& r, bool interruptible);

// The two halves of recv_frame, apart so that they can be tested (and fuzzed) without a socket.
// take_ancillary moves every descriptor of m's ancillary data into r (closing those beyond
// kMaxDescs + 1) and records the sender's credentials. check_received validates the n bytes at
// buf, as received with msg_flags, against the descriptors in r: 1 with r filled in (inline_data
// points into buf), or -1 with errno EMFILE (MSG_CTRUNC) or EPROTO, r's descriptors closed.
void take_ancillary(msghdr& m, Received& r);
int check_received(const char* buf, size_t n, int msg_flags, Received& r);

// Parses a door's id out of a door socket's peer name; false when fd is not a door socket.
// errno is ENOTSOCK when fd is not a socket at all, EBADF when it is not open.
bool peer_door_id(int fd, uint64_t* id);

// Binds sock to a door's abstract name: "\0doors/<id>" (the door's anchor, which reserves the
// id system-wide) or, with a serial, "\0doors/<id>/<serial>" (a primary socket's server end).
// Returns 0 or -1 with errno (EADDRINUSE when the name is taken).
int bind_door_name(int sock, uint64_t id, const uint64_t* serial);

}  // namespace doors::detail
