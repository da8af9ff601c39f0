// LatencyHistogram (buckets, nearest-rank percentiles, concurrent recording) and the registry of
// per-interface figures.
#include <doors/runtime/metrics.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace doors {
namespace {

using Summary = LatencyHistogram::Summary;

constexpr uint64_t kLastRegular = (uint64_t{1} << 48) - 1;  // the documented range ends here

// The smallest value of bucket b: one past the previous bucket's largest.
uint64_t bucket_lower(size_t b) { return b == 0 ? 0 : LatencyHistogram::bucket_upper(b - 1) + 1; }

TEST(LatencyHistogramBuckets, SmallValues_OwnBucketEach) {
  for (uint64_t v = 0; v < 16; ++v) {
    size_t sut = LatencyHistogram::bucket_of(v);

    EXPECT_EQ(sut, v);
    EXPECT_EQ(LatencyHistogram::bucket_upper(sut), v);
  }
}

TEST(LatencyHistogramBuckets, EveryBoundary_MapsIntoItsBucket) {
  for (size_t b = 0; b + 1 < LatencyHistogram::kBuckets; ++b) {
    uint64_t lower = bucket_lower(b);
    uint64_t upper = LatencyHistogram::bucket_upper(b);

    ASSERT_LE(lower, upper) << "bucket " << b;
    EXPECT_EQ(LatencyHistogram::bucket_of(lower), b) << "lower " << lower;
    EXPECT_EQ(LatencyHistogram::bucket_of(upper), b) << "upper " << upper;
    EXPECT_EQ(LatencyHistogram::bucket_of(upper + 1), b + 1) << "upper + 1 = " << upper + 1;
  }
}

// metrics.h: "A value's bucket is at most 12.5% wider than the value" up to 2^48 ns. The widest
// gap in a bucket is between its smallest value and its upper bound.
TEST(LatencyHistogramBuckets, EveryValueBelow2To48_UpperBoundWithinAnEighth) {
  for (size_t b = 16; b < LatencyHistogram::kBuckets; ++b) {
    uint64_t lower = bucket_lower(b);
    if (lower > kLastRegular) break;
    uint64_t upper = LatencyHistogram::bucket_upper(b);

    EXPECT_GE(upper, lower) << "bucket " << b;
    // upper <= lower * 1.125, in integers.
    EXPECT_LE(static_cast<unsigned __int128>(upper) * 8, static_cast<unsigned __int128>(lower) * 9)
        << "bucket " << b << " [" << lower << ", " << upper << "]";
  }
}

TEST(LatencyHistogramBuckets, LargestRegularValue_BoundedByItself) {
  size_t b = LatencyHistogram::bucket_of(kLastRegular);

  EXPECT_EQ(LatencyHistogram::bucket_upper(b), kLastRegular);
}

TEST(LatencyHistogramBuckets, HugeValues_LastBucket) {
  for (uint64_t v : {uint64_t{1} << 48, (uint64_t{1} << 48) + 1, uint64_t{1} << 63, UINT64_MAX}) {
    EXPECT_EQ(LatencyHistogram::bucket_of(v), LatencyHistogram::kBuckets - 1) << v;
  }
  EXPECT_EQ(LatencyHistogram::bucket_upper(LatencyHistogram::kBuckets - 1), UINT64_MAX);
}

TEST(LatencyHistogram, Empty_SummaryAllZero) {
  LatencyHistogram sut;

  Summary s = sut.summary();

  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.p50, 0u);
  EXPECT_EQ(s.p90, 0u);
  EXPECT_EQ(s.p99, 0u);
  EXPECT_EQ(s.max, 0u);
  EXPECT_EQ(s.mean, 0u);
}

TEST(LatencyHistogram, SingleValue_EveryFigureIsThatValue) {
  LatencyHistogram sut;
  sut.record(12345);

  Summary s = sut.summary();

  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.p50, 12345u);  // its bucket's upper bound is clamped to the maximum
  EXPECT_EQ(s.p90, 12345u);
  EXPECT_EQ(s.p99, 12345u);
  EXPECT_EQ(s.max, 12345u);
  EXPECT_EQ(s.mean, 12345u);
}

TEST(LatencyHistogram, AllEqual_EveryFigureIsThatValue) {
  LatencyHistogram sut;
  for (int i = 0; i < 100; ++i) sut.record(777);

  Summary s = sut.summary();

  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.p50, 777u);
  EXPECT_EQ(s.p90, 777u);
  EXPECT_EQ(s.p99, 777u);
  EXPECT_EQ(s.max, 777u);
  EXPECT_EQ(s.mean, 777u);
}

TEST(LatencyHistogram, OneToTenSmallValues_ExactNearestRank) {
  LatencyHistogram sut;
  for (uint64_t v = 1; v <= 10; ++v) sut.record(v);

  Summary s = sut.summary();

  EXPECT_EQ(s.p50, 5u);   // rank ceil(0.5 * 10) = 5
  EXPECT_EQ(s.p90, 9u);   // rank 9
  EXPECT_EQ(s.p99, 10u);  // rank ceil(9.9) = 10
  EXPECT_EQ(s.max, 10u);
  EXPECT_EQ(s.mean, 5u);  // 55 / 10, rounded down
}

TEST(LatencyHistogram, TwoValues_MedianIsTheLowerOneNotTheirAverage) {
  LatencyHistogram sut;
  sut.record(1);
  sut.record(100);

  Summary s = sut.summary();

  EXPECT_EQ(s.p50, 1u);
  EXPECT_EQ(s.p90, 100u);  // bucket [96, 103], clamped to the maximum
  EXPECT_EQ(s.mean, 50u);
}

TEST(LatencyHistogram, OneToThousand_BucketUpperBoundsOfTheRanks) {
  LatencyHistogram sut;
  for (uint64_t v = 1; v <= 1000; ++v) sut.record(v);

  Summary s = sut.summary();

  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.p50, 511u);   // value 500 is in [480, 511]
  EXPECT_EQ(s.p90, 959u);   // value 900 is in [896, 959]
  EXPECT_EQ(s.p99, 1000u);  // value 990 is in [960, 1023], clamped to the maximum
  EXPECT_EQ(s.max, 1000u);
  EXPECT_EQ(s.mean, 500u);  // 500500 / 1000, rounded down
}

TEST(LatencyHistogram, AnyDistribution_PercentilesOrderedAndWithinAnEighth) {
  LatencyHistogram sut;
  // 1000 values spread over six orders of magnitude.
  std::vector<uint64_t> values;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 1000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    values.push_back(16 + x % 10'000'000);
  }
  for (uint64_t v : values) sut.record(v);
  std::sort(values.begin(), values.end());

  Summary s = sut.summary();

  EXPECT_LE(s.p50, s.p90);
  EXPECT_LE(s.p90, s.p99);
  EXPECT_LE(s.p99, s.max);
  EXPECT_EQ(s.max, values.back());
  for (auto [p, rank] : {std::pair{s.p50, 500}, std::pair{s.p90, 900}, std::pair{s.p99, 990}}) {
    uint64_t truth = values[static_cast<size_t>(rank - 1)];
    EXPECT_GE(p, truth) << "rank " << rank;
    EXPECT_LE(p, truth + truth / 8) << "rank " << rank;
  }
}

TEST(LatencyHistogram, HugeValue_ReportedExactly) {
  LatencyHistogram sut;
  sut.record(uint64_t{1} << 60);

  Summary s = sut.summary();

  EXPECT_EQ(s.p50, uint64_t{1} << 60);
  EXPECT_EQ(s.p99, uint64_t{1} << 60);
  EXPECT_EQ(s.max, uint64_t{1} << 60);
  EXPECT_EQ(s.mean, uint64_t{1} << 60);
}

TEST(LatencyHistogram, MaxAndMean_Exact) {
  LatencyHistogram sut;
  sut.record(1000);
  sut.record(2000);
  sut.record(3001);

  Summary s = sut.summary();

  EXPECT_EQ(s.max, 3001u);
  EXPECT_EQ(s.mean, 2000u);  // 6001 / 3
}

TEST(LatencyHistogram, ConcurrentRecords_CountSumAndMaxExact) {
  LatencyHistogram sut;
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 20000;
  std::vector<std::thread> threads;

  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&sut, t] {
      // Thread t records t*kPerThread + 1 .. (t+1)*kPerThread: every value once overall.
      for (uint64_t i = 1; i <= kPerThread; ++i)
        sut.record(static_cast<uint64_t>(t) * kPerThread + i);
    });
  }
  for (auto& th : threads) th.join();
  Summary s = sut.summary();

  constexpr uint64_t n = kThreads * kPerThread;
  EXPECT_EQ(s.count, n);
  EXPECT_EQ(s.max, n);
  EXPECT_EQ(s.mean, (n * (n + 1) / 2) / n);
  EXPECT_LE(s.p50, s.p90);
  EXPECT_LE(s.p90, s.p99);
  EXPECT_LE(s.p99, s.max);
}

// The registry: one entry per InterfaceInfo, found again by address, listed in order of first
// use. The process's doors (other tests) may have registered entries before these.
const MethodInfo kMethodsA[] = {{.name = "a0", .ordinal = 0, .limits = {}},
                                {.name = "a1", .ordinal = 1, .limits = {}}};
const InterfaceInfo kInfoA = {.name = "MetricsTestA",
                              .id = 0xf00000000000000aull,
                              .default_path = nullptr,
                              .door_attributes = 0,
                              .methods = kMethodsA,
                              .method_count = 2,
                              .schema = nullptr};
const InterfaceInfo kInfoB = {.name = "MetricsTestB",
                              .id = 0xf00000000000000bull,
                              .default_path = nullptr,
                              .door_attributes = 0,
                              .methods = kMethodsA,
                              .method_count = 1,
                              .schema = nullptr};

TEST(MetricsRegistry, SameInfoTwice_SameEntry) {
  detail::InterfaceMetrics& first = detail::metrics_for(kInfoA);

  detail::InterfaceMetrics& sut = detail::metrics_for(kInfoA);

  EXPECT_EQ(&sut, &first);
  EXPECT_EQ(sut.info, &kInfoA);
}

TEST(MetricsRegistry, TwoInfos_BothListedInOrderOfFirstUse) {
  detail::InterfaceMetrics& a = detail::metrics_for(kInfoA);
  detail::InterfaceMetrics& b = detail::metrics_for(kInfoB);

  int seen_a = -1, seen_b = -1, i = 0;
  for (const detail::InterfaceMetrics* m = detail::first_metrics(); m != nullptr;
       m = m->next.load(), ++i) {
    if (m == &a) seen_a = i;
    if (m == &b) seen_b = i;
  }

  EXPECT_NE(&a, &b);
  ASSERT_GE(seen_a, 0);
  ASSERT_GE(seen_b, 0);
  EXPECT_LT(seen_a, seen_b);
}

TEST(MetricsRegistry, ConcurrentFirstUse_OneEntry) {
  static const InterfaceInfo kInfoC = {.name = "MetricsTestC",
                                       .id = 0xf00000000000000cull,
                                       .default_path = nullptr,
                                       .door_attributes = 0,
                                       .methods = kMethodsA,
                                       .method_count = 2,
                                       .schema = nullptr};
  std::vector<detail::InterfaceMetrics*> got(4, nullptr);
  std::vector<std::thread> threads;

  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&got, t] { got[t] = &detail::metrics_for(kInfoC); });
  }
  for (auto& th : threads) th.join();

  int listed = 0;
  for (const detail::InterfaceMetrics* m = detail::first_metrics(); m != nullptr;
       m = m->next.load()) {
    if (m->info == &kInfoC) ++listed;
  }
  EXPECT_EQ(listed, 1);
  for (auto* m : got) EXPECT_EQ(m, got[0]);
}

}  // namespace
}  // namespace doors
