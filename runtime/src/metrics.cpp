// LatencyHistogram and the registry of per-interface figures (metrics.h).
#include "doors/runtime/metrics.h"

#include <bit>
#include <mutex>

namespace doors {

size_t LatencyHistogram::bucket_of(uint64_t ns) noexcept {
  if (ns < 16) return static_cast<size_t>(ns);
  int e = std::bit_width(ns) - 1;  // ns is in [2^e, 2^(e+1)), e >= 4
  if (e >= 48) return kBuckets - 1;
  size_t sub = static_cast<size_t>(ns >> (e - 3)) & 7;  // the 3 bits after the leading one
  return 16 + static_cast<size_t>(e - 4) * 8 + sub;
}

uint64_t LatencyHistogram::bucket_upper(size_t bucket) noexcept {
  if (bucket < 16) return bucket;
  if (bucket >= kBuckets - 1) return UINT64_MAX;
  int e = static_cast<int>((bucket - 16) / 8) + 4;
  uint64_t sub = (bucket - 16) % 8;
  uint64_t width = uint64_t{1} << (e - 3);
  return ((8 + sub) << (e - 3)) + width - 1;
}

void LatencyHistogram::record(uint64_t ns) noexcept {
  buckets_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(ns, std::memory_order_relaxed);
  uint64_t seen = max_.load(std::memory_order_relaxed);
  while (ns > seen && !max_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
  }
}

LatencyHistogram::Summary LatencyHistogram::summary() const noexcept {
  std::array<uint64_t, kBuckets> counts;
  Summary s;
  for (size_t i = 0; i < kBuckets; ++i) {
    counts[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += counts[i];
  }
  if (s.count == 0) return s;
  s.max = max_.load(std::memory_order_relaxed);
  s.mean = sum_.load(std::memory_order_relaxed) / s.count;
  // Nearest rank: the smallest value with at least ceil(q * count) values at or below it.
  auto rank = [&](uint64_t per_thousand) {
    uint64_t r = (s.count * per_thousand + 999) / 1000;
    return r == 0 ? 1 : r;
  };
  const uint64_t ranks[3] = {rank(500), rank(900), rank(990)};
  uint64_t* outs[3] = {&s.p50, &s.p90, &s.p99};
  uint64_t below = 0;
  size_t next = 0;
  for (size_t i = 0; i < kBuckets && next < 3; ++i) {
    below += counts[i];
    while (next < 3 && below >= ranks[next]) {
      uint64_t upper = bucket_upper(i);
      // A maximum read before a racing record() may be below its bucket; keep percentiles
      // ordered all the same.
      *outs[next] = upper < s.max ? upper : s.max;
      ++next;
    }
  }
  return s;
}

namespace detail {
namespace {

struct Registry {
  std::mutex mu;
  std::atomic<InterfaceMetrics*> first{nullptr};
  InterfaceMetrics* last = nullptr;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: server threads may outlive main
  return *r;
}

}  // namespace

InterfaceMetrics& metrics_for(const InterfaceInfo& info) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  for (InterfaceMetrics* m = r.first.load(); m != nullptr; m = m->next.load()) {
    if (m->info == &info) return *m;
  }
  auto* m = new InterfaceMetrics(info);
  if (r.last == nullptr) {
    r.first.store(m, std::memory_order_release);
  } else {
    // Readers walk the list without the lock: publish the entry only once it is complete.
    r.last->next.store(m, std::memory_order_release);
  }
  r.last = m;
  return *m;
}

const InterfaceMetrics* first_metrics() noexcept {
  return registry().first.load(std::memory_order_acquire);
}

}  // namespace detail
}  // namespace doors
