// The resource limits of a door server process (doors_setlimit(3), <doors/ext.h>): each has a
// default, an environment variable that overrides the default for programs that cannot be
// changed, and the C call. SECURITY.md says why each exists and what hitting it does.
#pragma once

#include <stdint.h>
#include <sys/types.h>

namespace doors::detail {

// The limit's current value (DOORS_LIMIT_*); 0 for an unknown one.
uint64_t limit_of(int which) noexcept;

// Connections per uid: the server charges a client's uid for each connection it accepts on its
// behalf and refunds it when the connection closes. False (nothing charged) when uid already
// holds DOORS_LIMIT_UID_CONNECTIONS.
bool charge_uid(uid_t uid) noexcept;
void refund_uid(uid_t uid) noexcept;

// Counters behind doors_server_stats: refusals for any limit, and depletions the pool could not
// answer with a new thread because it was at DOORS_LIMIT_POOL_THREADS.
void count_refusal() noexcept;
void count_pool_full() noexcept;
uint64_t refusals() noexcept;
uint64_t pool_full_waits() noexcept;

// fork(2): the uid table is locked across it; the child starts with no connection charged.
void limits_before_fork() noexcept;
void limits_after_fork(bool child) noexcept;

// Raises this process's soft RLIMIT_NOFILE to its hard limit, once: a server holds a descriptor
// per client connection, and the historical soft limit of 1024 (kept for select(2)) would let a
// single client exhaust it long before DOORS_LIMIT_UID_CONNECTIONS protects anyone.
void raise_descriptor_limit() noexcept;

}  // namespace doors::detail
