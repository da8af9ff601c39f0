// What the runtime counts about the calls it serves: per method, calls, errors, calls in flight
// and a latency histogram, all updated lock-free on the call path and read by the introspection
// interface's stats (introspection.capnp).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "doors/runtime/interface.h"

namespace doors {

// A histogram of durations in nanoseconds: the first 16 values have a bucket each, then every
// power of two is split into 8 buckets, up to 2^48 ns (about 3 days); longer ones count in one
// last bucket of their own (upper bound UINT64_MAX). Below 2^48, a value's bucket is at most
// 12.5% wider than the value, which bounds the error of a percentile. record() is two relaxed
// atomic additions and, rarely, a compare-exchange for the maximum; readers see each counter on its
// own (a snapshot may miss a call being recorded).
class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = 16 + (48 - 4) * 8 + 1;  // the last: 2^48 ns and longer

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  void record(uint64_t ns) noexcept;

  // The bucket a value falls in, and the largest value of a bucket (for tests and readers).
  static size_t bucket_of(uint64_t ns) noexcept;
  static uint64_t bucket_upper(size_t bucket) noexcept;

  struct Summary {
    uint64_t count = 0;
    uint64_t p50 = 0, p90 = 0, p99 = 0;  // upper bounds of their buckets, at most max
    uint64_t max = 0;
    uint64_t mean = 0;
  };
  // Percentiles by the nearest-rank rule over the recorded values; all zero when there are none.
  Summary summary() const noexcept;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> max_{0};
};

namespace detail {

// One method's figures.
struct MethodMetrics {
  std::atomic<uint64_t> errors{0};
  std::atomic<uint32_t> in_flight{0};
  LatencyHistogram latency;  // one entry per answered call: its count is the calls
};

// One interface's figures, created on first use and never freed (doors of the process keep
// pointers to it).
struct InterfaceMetrics {
  explicit InterfaceMetrics(const InterfaceInfo& i)
      : info(&i), methods(std::make_unique<MethodMetrics[]>(i.method_count)) {}
  const InterfaceInfo* info;
  std::unique_ptr<MethodMetrics[]> methods;  // by ordinal
  std::atomic<uint64_t> rejected{0};
  std::atomic<InterfaceMetrics*> next{nullptr};  // the registry's list, in order of first use
};

// The figures of the interface `info` describes (generated code has one InterfaceInfo per
// interface), registered on first use. Takes a lock: call it when a door is made, not per call.
InterfaceMetrics& metrics_for(const InterfaceInfo& info);

// The first registered interface; follow `next` (acquire) for the others. Entries are only ever
// appended, so readers need no lock.
const InterfaceMetrics* first_metrics() noexcept;

}  // namespace detail
}  // namespace doors
