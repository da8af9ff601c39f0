#include "resource_limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "doors/ext.h"
#include "sys.h"

namespace doors::detail {
namespace {

struct LimitSpec {
  int which;
  const char* env;
  uint64_t fallback;
};

constexpr LimitSpec kSpecs[] = {
    {DOORS_LIMIT_POOL_THREADS, "DOORS_MAX_POOL_THREADS", DOORS_DEFAULT_POOL_THREADS},
    {DOORS_LIMIT_UID_CONNECTIONS, "DOORS_MAX_UID_CONNECTIONS", DOORS_DEFAULT_UID_CONNECTIONS},
    {DOORS_LIMIT_ARENA_BYTES, "DOORS_MAX_ARENA_BYTES", DOORS_DEFAULT_ARENA_BYTES},
};
constexpr int kCount = sizeof(kSpecs) / sizeof(kSpecs[0]);

// "4096", "64K", "1G" (powers of 1024). 0 for anything else, which no limit accepts.
uint64_t parse_amount(const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || end == text || text[0] == '-') return 0;
  unsigned shift = 0;
  switch (*end) {
    case '\0':
      break;
    case 'K':
    case 'k':
      shift = 10, ++end;
      break;
    case 'M':
    case 'm':
      shift = 20, ++end;
      break;
    case 'G':
    case 'g':
      shift = 30, ++end;
      break;
    default:
      return 0;
  }
  if (*end != '\0' || (shift != 0 && v > (UINT64_MAX >> shift))) return 0;
  return static_cast<uint64_t>(v) << shift;
}

struct Limits {
  std::atomic<uint64_t> value[kCount];
  std::atomic<uint64_t> refusals{0};
  std::atomic<uint64_t> pool_full{0};
  std::mutex uid_mu;
  std::unordered_map<uid_t, uint64_t> uid_conns;

  Limits() {
    for (int i = 0; i < kCount; ++i) {
      uint64_t v = kSpecs[i].fallback;
      if (const char* text = ::getenv(kSpecs[i].env); text != nullptr && *text != '\0') {
        if (uint64_t parsed = parse_amount(text); parsed != 0) {
          v = parsed;
        } else {
          // An operator's typo must not pass unnoticed, nor stop the server: say so, once.
          fprintf(stderr, "libdoors: ignoring %s=\"%s\" (not a positive number); using %llu\n",
                  kSpecs[i].env, text, static_cast<unsigned long long>(v));
        }
      }
      value[i].store(v);
    }
  }
};

Limits& limits() {
  static Limits* l = new Limits;  // never destroyed: server threads use it until the process ends
  return *l;
}

int index_of(int which) {
  for (int i = 0; i < kCount; ++i) {
    if (kSpecs[i].which == which) return i;
  }
  return -1;
}

}  // namespace

uint64_t limit_of(int which) noexcept {
  int i = index_of(which);
  return i < 0 ? 0 : limits().value[i].load(std::memory_order_relaxed);
}

bool charge_uid(uid_t uid) noexcept {
  Limits& l = limits();
  uint64_t cap = limit_of(DOORS_LIMIT_UID_CONNECTIONS);
  std::lock_guard g(l.uid_mu);
  try {
    uint64_t& n = l.uid_conns[uid];
    if (n >= cap) {
      if (n == 0) l.uid_conns.erase(uid);
      return false;
    }
    ++n;
    return true;
  } catch (...) {
    return false;  // no memory for the table entry: refused like any other exhaustion
  }
}

void refund_uid(uid_t uid) noexcept {
  Limits& l = limits();
  std::lock_guard g(l.uid_mu);
  auto it = l.uid_conns.find(uid);
  if (it == l.uid_conns.end()) return;
  if (--it->second == 0) l.uid_conns.erase(it);
}

void count_refusal() noexcept { limits().refusals.fetch_add(1, std::memory_order_relaxed); }
void count_pool_full() noexcept { limits().pool_full.fetch_add(1, std::memory_order_relaxed); }
uint64_t refusals() noexcept { return limits().refusals.load(std::memory_order_relaxed); }
uint64_t pool_full_waits() noexcept { return limits().pool_full.load(std::memory_order_relaxed); }

void limits_before_fork() noexcept { limits().uid_mu.lock(); }

void limits_after_fork(bool child) noexcept {
  Limits& l = limits();
  if (child) l.uid_conns.clear();
  l.uid_mu.unlock();
}

void raise_descriptor_limit() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      // A hard limit above the kernel's nr_open (1 Mi by default) cannot be set as a soft one.
      rl.rlim_cur = rl.rlim_max < (rlim_t{1} << 20) ? rl.rlim_max : (rlim_t{1} << 20);
      ::setrlimit(RLIMIT_NOFILE, &rl);  // best effort: the limits still hold without it
    }
  });
}

}  // namespace doors::detail

using namespace doors::detail;

extern "C" DOORS_EXPORT int doors_setlimit(int which, uint64_t value) noexcept {
  int i = index_of(which);
  if (i < 0 || value == 0) {
    errno = EINVAL;
    return -1;
  }
  limits().value[i].store(value);
  return 0;
}

extern "C" DOORS_EXPORT int doors_getlimit(int which, uint64_t* value) noexcept {
  if (value == nullptr) {
    errno = EFAULT;
    return -1;
  }
  int i = index_of(which);
  if (i < 0) {
    errno = EINVAL;
    return -1;
  }
  *value = limits().value[i].load();
  return 0;
}
