// The shuttle: a small shared page beside each call channel, through which a call and its reply
// travel while a server thread is parked on the channel, so that a call costs a futex wake and
// a futex wait on each side and no socket message (DESIGN.md, "Where the time goes").
//
// The client creates the page (a memfd sealed against shrinking and growing) and passes it with
// the channel; both sides map it read-write. Either side may be hostile: everything read from
// the page is copied out once and checked, the state word is only ever a hint to re-check, and
// a server thread never waits on it without a bound.
//
// The state word is the futex both sides wait on:
//
//   kIdle       no server thread is parked: calls go through the socket
//   kParked     a server thread waits for a call here (it parked after a socket reply)
//   kCall       client -> server: a call is in the page (client CAS from kParked or kReply)
//   kCallSlow   the client stopped waiting on the futex and waits on the socket instead: the
//               server posts the reply in the page and sends kShuttleWake on the socket
//   kReply      server -> client: the reply is in the page; the server stays parked
//   kReplyLeft  the reply is in the page and the server thread has left: next call by socket
//   kSocketReply  the reply went through the socket (it carries descriptors or a new arena);
//               the server thread has left
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <atomic>

#include "wire.h"

namespace doors::detail {

enum ShuttleState : uint32_t {
  kShuttleIdle = 0,
  kShuttleParked,
  kShuttleCall,
  kShuttleCallSlow,
  kShuttleReply,
  kShuttleReplyLeft,
  kShuttleSocketReply,
};

inline constexpr size_t kShuttleBytes = 16 * 1024;

struct ShuttlePage {
  std::atomic<uint32_t> state;
  int32_t caller_cpu;  // where the caller posted its call from: where to run its server thread
  // 0 from the client with each call, 1 from the server once it has read it: a call whose
  // server hangs up before taking it never ran, and is retried like one its socket never read.
  std::atomic<uint32_t> taken;
  // A CPU the server would rather the caller ran on (-1: none), to spread callers and their
  // server threads over the CPUs; the caller moves there once, and its affinity is unchanged.
  int32_t suggested_cpu;
  char pad[48];  // the state word has its cache line to itself
  Frame frame;   // the call's or the reply's header (kind, flags, sizes, error)
  alignas(DOORS_DATA_ALIGN) char data[kShuttleBytes - 64 - sizeof(Frame)];
};
static_assert(sizeof(ShuttlePage) == kShuttleBytes);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Inline data a shuttle carries; larger arguments and results go through the arenas.
inline constexpr size_t kShuttleDataMax = sizeof(ShuttlePage::data);

// Whether a frame copied out of a page is a call a server may serve (kCall, no descriptors, no
// new arena, inline data that fits the page), or a reply a client may take (kReply, kError,
// kRevoked or kClosed, the same limits). The page is the peer's to write too: check a copy.
bool valid_shuttle_call(const Frame& f);
bool valid_shuttle_reply(const Frame& f);

// Creates a page for a new channel. Returns the memfd to pass to the server (the caller closes
// it once sent) and sets *page, or -1 with errno.
int create_shuttle(ShuttlePage** page);

// Maps a peer's page after checking that fd is a memfd of exactly kShuttleBytes sealed against
// shrinking and growing (so the mapping cannot raise SIGBUS). Takes fd. nullptr with errno EPROTO
// when it is not such a page.
ShuttlePage* map_shuttle(int fd);

void unmap_shuttle(ShuttlePage* page);

// FUTEX_WAIT on a word of shared memory while it holds `expected`, for at most `timeout` (null:
// no bound). 0 when woken or when the word no longer held `expected`, -1 with errno ETIMEDOUT or
// EINTR.
int futex_wait(std::atomic<uint32_t>* word, uint32_t expected, const timespec* timeout);

// Wakes one waiter of a word of shared memory.
void futex_wake(std::atomic<uint32_t>* word);

}  // namespace doors::detail
