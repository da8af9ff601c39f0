// No heap allocation on the small-call path (README "Zero copy"): operator new is counted on this
// thread around typed calls, after a warm-up call.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "tester_server.h"

namespace {
thread_local bool tl_counting = false;
thread_local long tl_news = 0;

void* counted(std::size_t n) {
  if (tl_counting) ++tl_news;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* counted_aligned(std::size_t n, std::align_val_t a) {
  if (tl_counting) ++tl_news;
  void* p = std::aligned_alloc(static_cast<std::size_t>(a), (n + static_cast<std::size_t>(a) - 1) &
                                                                ~(static_cast<std::size_t>(a) - 1));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

// Not inlined: GCC, seeing the replacement operator delete inlined next to a new-expression,
// takes its free() for a mismatched deallocation (-Wmismatched-new-delete under -O1).
#define DOORS_REPLACEMENT __attribute__((noinline))
DOORS_REPLACEMENT void* operator new(std::size_t n) { return counted(n); }
DOORS_REPLACEMENT void* operator new[](std::size_t n) { return counted(n); }
DOORS_REPLACEMENT void* operator new(std::size_t n, std::align_val_t a) {
  return counted_aligned(n, a);
}
DOORS_REPLACEMENT void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_aligned(n, a);
}
DOORS_REPLACEMENT void operator delete(void* p) noexcept { std::free(p); }
DOORS_REPLACEMENT void operator delete[](void* p) noexcept { std::free(p); }
DOORS_REPLACEMENT void operator delete(void* p, std::size_t) noexcept { std::free(p); }
DOORS_REPLACEMENT void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
DOORS_REPLACEMENT void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
DOORS_REPLACEMENT void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
DOORS_REPLACEMENT void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
DOORS_REPLACEMENT void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace doors::test {
namespace {

TEST(TypedCallAllocations, SmallCalls_NoHeapAllocationAfterWarmUp) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  f.client.null();
  f.client.add(1, 2);

  tl_news = 0;
  tl_counting = true;
  long sum = 0;
  for (int i = 0; i < 100; ++i) {
    f.client.null();
    sum += f.client.add(i, 1)->getSum();
  }
  tl_counting = false;

  EXPECT_EQ(tl_news, 0) << "operator new calls in 200 small typed calls";
  EXPECT_EQ(sum, 100 * 99 / 2 + 100);
}

TEST(TypedCallAllocations, CountingWorks) {
  tl_news = 0;
  tl_counting = true;
  auto* p = new int(3);
  // Without a use, the compiler may leave out the new/delete pair altogether ([expr.new]).
  asm volatile("" : : "r"(p) : "memory");
  tl_counting = false;
  delete p;

  EXPECT_EQ(tl_news, 1);
}

}  // namespace
}  // namespace doors::test
