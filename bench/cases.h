// The entry points of each group of cases. main() calls every start_*() first, while the
// process has one thread, then every register_*(); see harness.h.
#pragma once

#include "harness.h"

namespace bench {

// door_cases.cpp: door_call (C API) and the generated typed stubs, client threads, one CPU,
// and the server's memory per connection.
bool start_door_servers(Children& children);
void register_door_cases();

// limit_cases.cpp: futex ping-pong in shared memory, memcpy, the one-copy limit.
bool start_limit_servers(Children& children);
void register_limit_cases();

// peer_unix.cpp: Unix stream socket (a server thread per connection) and pipe ping-pong.
bool start_unix_servers(Children& children);
void register_unix_cases();

// peer_capnp.cpp: Cap'n Proto two-party RPC over a Unix socket.
bool start_capnp_server(Children& children);
void register_capnp_cases();

// peer_grpc.cpp: gRPC C++ over a unix: socket. Without gRPC (DOORS_BENCH_GRPC undefined) these
// do nothing.
bool start_grpc_server(Children& children);
void register_grpc_cases();

// The payloads the peers are measured with, as case-name suffixes and sizes.
struct Payload {
  const char* label;  // "null", "arg:64KiB", ...
  size_t size;
};
inline constexpr Payload kPeerPayloads[] = {
    {"null", 0}, {"arg:64KiB", 64 * kKiB}, {"arg:1MiB", kMiB}};
inline constexpr int kThreadCounts[] = {1, 2, 4};

// Registers a peer's cases: "<peer>/<payload>" for each of kPeerPayloads and
// "<peer>/null/threads:N" for each of kThreadCounts; caller(size) makes its client side.
inline void add_peer_cases(const std::string& peer, const std::function<MakeCall(size_t)>& caller) {
  for (const Payload& p : kPeerPayloads)
    add_latency_case(peer + "/" + p.label, caller(p.size), p.size);
  for (int threads : kThreadCounts) {
    add_threads_case(peer + "/null/threads:" + std::to_string(threads), caller(0), threads);
  }
}

}  // namespace bench
