// The introspection interface (introspection.capnp) that every door the runtime serves answers
// besides its own: describe (the interface's schema, so that tools call it without its .capnp
// file), health and stats. The server side is built into the runtime's door procedure; this
// header has the client and what a server process says of itself.
#pragma once

#include <doors/introspection.capnp.h>

#include <cstdint>
#include <string>

#include "doors/runtime/client.h"
#include "doors/runtime/interface.h"

namespace doors {

// introspection.capnp's Introspection interface: a request with this interface id goes to the
// runtime, whatever the door serves.
inline constexpr uint64_t kIntrospectionId = 0xe6b8d5f1a2c94e07;

// The version of the runtime ("0.1.0"), as health() reports it.
const char* runtime_version() noexcept;

// What this process's introspection says of it as a whole. doors::ServerMain sets them; a server
// with a main of its own may. Thread-safe.
void set_serving_status(introspection::ServingStatus status) noexcept;
introspection::ServingStatus serving_status() noexcept;
// The binary's name and version for health() (default: the program's short name, no version).
void set_server_identity(std::string program, std::string version);
// The bounds of the server thread pool for stats() (0, 0: not bounded, the default).
void set_pool_bounds(uint32_t min_threads, uint32_t max_threads) noexcept;

// A client of the introspection interface of a door served by the runtime. A door served by
// something else (a C procedure) would take the request for its own input: check the door's tag
// first (doors_server_stats' dss_tag is the served interface's id for doors of the runtime).
class IntrospectionClient : public ClientBase {
 public:
  using ClientBase::ClientBase;
  using Describe = introspection::Introspection::DescribeResults;
  using Health = introspection::Introspection::HealthResults;
  using Stats = introspection::Introspection::StatsResults;

  Reply<Describe> describe(const CallOptions& options = {}) const;
  Reply<Health> health(const CallOptions& options = {}) const;
  Reply<Stats> stats(const CallOptions& options = {}) const;

  static const InterfaceInfo kInfo;
};

}  // namespace doors
