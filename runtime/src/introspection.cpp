// The introspection interface: what the runtime answers for every door it serves (describe,
// health, stats), the process-wide facts those answers report, and IntrospectionClient.
#include "doors/runtime/introspection.h"

#include <doors/ext.h>
#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "doors/runtime/metrics.h"
#include "doors/runtime/schema_text.h"
#include "doors/runtime/server.h"
#include "introspection_server.h"

namespace doors {
namespace {

using introspection::Introspection;
using introspection::ServingStatus;

// When the runtime started in this process: uptime is measured from here.
const std::chrono::steady_clock::time_point kStarted = std::chrono::steady_clock::now();

struct ProcessFacts {
  std::atomic<ServingStatus> status{ServingStatus::SERVING};
  std::atomic<uint32_t> min_threads{0};
  std::atomic<uint32_t> max_threads{0};
  std::mutex mu;  // guards the strings
  std::string program = program_invocation_short_name;
  std::string version;
};

ProcessFacts& facts() {
  static ProcessFacts* f = new ProcessFacts;  // never destroyed: server threads outlive main
  return *f;
}

uint64_t uptime_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - kStarted)
                                   .count());
}

::capnp::InterfaceSchema introspection_schema() { return ::capnp::Schema::from<Introspection>(); }

const MethodInfo kMethods[] = {
    {.name = "describe", .ordinal = 0, .limits = {}},
    {.name = "health", .ordinal = 1, .limits = {}},
    {.name = "stats", .ordinal = 2, .limits = {}},
};

void describe(Introspection::DescribeResults::Builder results, const InterfaceInfo& served,
              uint32_t door_attributes) {
  // Generated code always has a schema; an InterfaceInfo written by hand may not. Calling the
  // null function would let any client crash the server with one describe().
  if (served.schema == nullptr) {
    throw Error(Code::kUnimplemented,
                std::string(served.name) + ": this server does not describe its interface");
  }
  auto d = results.initDescription();
  d.setInterfaceName(served.name);
  d.setInterfaceId(served.id);
  if (served.default_path != nullptr) d.setDefaultPath(served.default_path);
  d.setDoorAttributes(door_attributes);
  std::vector<capnp::Schema> closure = schema_closure(served.schema());
  auto nodes = d.initNodes(static_cast<unsigned>(closure.size()));
  for (unsigned i = 0; i < closure.size(); ++i) nodes.setWithCaveats(i, closure[i].getProto());
}

void health(Introspection::HealthResults::Builder results, const InterfaceInfo& served) {
  ProcessFacts& f = facts();
  auto h = results.initHealth();
  h.setStatus(f.status.load());
  h.setPid(static_cast<uint32_t>(::getpid()));
  h.setUptimeNs(uptime_ns());
  h.setInterfaceName(served.name);
  h.setRuntimeVersion(runtime_version());
  std::lock_guard lock(f.mu);
  h.setProgram(f.program);
  h.setVersion(f.version);
}

void stats(Introspection::StatsResults::Builder results, int door_fd) {
  ProcessFacts& f = facts();
  auto s = results.initStats();
  s.setStatus(f.status.load());
  s.setPid(static_cast<uint32_t>(::getpid()));
  s.setUptimeNs(uptime_ns());

  doors_server_stats_t ds{};
  if (door_fd >= 0 && ::doors_server_stats(door_fd, &ds) == 0) {
    s.setConnections(ds.dss_connections);
    s.setDoors(ds.dss_doors);
    s.setAttachments(ds.dss_attachments);
    s.setSharedMemoryBytes(ds.dss_shm_bytes);
  }
  // Otherwise the door is being revoked under this call (the server is stopping): the pool's
  // figures stay zero.
  auto pool = s.initPool();
  pool.setThreads(ds.dss_threads);
  pool.setIdleThreads(ds.dss_idle_threads);
  // A parked thread waits for its caller's next call: busy for everyone else.
  pool.setBusyThreads(ds.dss_threads - ds.dss_idle_threads);
  pool.setMinThreads(f.min_threads.load());
  pool.setMaxThreads(f.max_threads.load());

  // The registry only grows: count, then fill at most that many.
  unsigned n = 0;
  for (auto* m = detail::first_metrics(); m != nullptr; m = m->next.load()) ++n;
  auto interfaces = s.initInterfaces(n);
  const detail::InterfaceMetrics* m = detail::first_metrics();
  for (unsigned i = 0; i < n; ++i, m = m->next.load()) {
    const InterfaceInfo& info = *m->info;
    auto out = interfaces[i];
    out.setName(info.name);
    out.setId(info.id);
    out.setRejected(m->rejected.load(std::memory_order_relaxed));
    auto methods = out.initMethods(static_cast<unsigned>(info.method_count));
    for (unsigned j = 0; j < info.method_count; ++j) {
      const detail::MethodMetrics& mm = m->methods[j];
      LatencyHistogram::Summary l = mm.latency.summary();
      auto method = methods[j];
      method.setName(info.methods[j].name);
      method.setOrdinal(info.methods[j].ordinal);
      method.setCalls(l.count);
      method.setErrors(mm.errors.load(std::memory_order_relaxed));
      method.setInFlight(mm.in_flight.load(std::memory_order_relaxed));
      auto latency = method.initLatency();
      latency.setP50Ns(l.p50);
      latency.setP90Ns(l.p90);
      latency.setP99Ns(l.p99);
      latency.setMaxNs(l.max);
      latency.setMeanNs(l.mean);
    }
  }
}

}  // namespace

const char* runtime_version() noexcept { return DOORS_VERSION; }

void set_serving_status(ServingStatus status) noexcept { facts().status.store(status); }

ServingStatus serving_status() noexcept { return facts().status.load(); }

void set_server_identity(std::string program, std::string version) {
  ProcessFacts& f = facts();
  std::lock_guard lock(f.mu);
  f.program = std::move(program);
  f.version = std::move(version);
}

void set_pool_bounds(uint32_t min_threads, uint32_t max_threads) noexcept {
  facts().min_threads.store(min_threads);
  facts().max_threads.store(max_threads);
}

const InterfaceInfo IntrospectionClient::kInfo = {
    .name = "Introspection",
    .id = kIntrospectionId,
    .default_path = nullptr,
    .door_attributes = 0,
    .methods = kMethods,
    .method_count = sizeof(kMethods) / sizeof(kMethods[0]),
    .schema = &introspection_schema,
};

Reply<IntrospectionClient::Describe> IntrospectionClient::describe(
    const CallOptions& options) const {
  return request<Introspection::DescribeParams, Describe>(kInfo, kMethods[0], options).send();
}

Reply<IntrospectionClient::Health> IntrospectionClient::health(const CallOptions& options) const {
  return request<Introspection::HealthParams, Health>(kInfo, kMethods[1], options).send();
}

Reply<IntrospectionClient::Stats> IntrospectionClient::stats(const CallOptions& options) const {
  return request<Introspection::StatsParams, Stats>(kInfo, kMethods[2], options).send();
}

namespace detail {

void answer_introspection(IncomingCall& call, const InterfaceInfo& served, uint32_t door_attributes,
                          int door_fd) {
  switch (call.method()) {
    case 0:
      describe(call.results<Introspection::DescribeResults>(), served, door_attributes);
      return;
    case 1:
      health(call.results<Introspection::HealthResults>(), served);
      return;
    case 2:
      stats(call.results<Introspection::StatsResults>(), door_fd);
      return;
    default:
      call.unimplemented();
  }
}

}  // namespace detail
}  // namespace doors
