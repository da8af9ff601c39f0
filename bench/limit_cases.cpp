// The limits a door call is measured against: a futex ping-pong in shared memory between two
// processes (the blocking limit), unpinned, with both on one CPU, and with both on the first CPU;
// memcpy in one process; and the one-copy limit, a copy into shared memory that a process on the
// other CPU then reads.
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cases.h"

namespace bench {
namespace {

constexpr size_t kShmArgMax = 16 * kMiB;  // the largest one-copy argument

// A request word and a reply word, each on its own cache line, and the argument area after them.
// The client stores a new sequence number in req and wakes the server; the server stores it in
// rsp when done and wakes the client.
struct alignas(64) Channel {
  alignas(64) std::atomic<uint32_t> req{0};
  alignas(64) std::atomic<uint32_t> rsp{0};
  uint64_t size = 0;  // argument bytes in data (the one-copy case)
  uint64_t sum = 0;   // the server's checksum of them
};
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Shared (not FUTEX_PRIVATE) futexes: the two sides are different processes.
void futex_wait(std::atomic<uint32_t>* word, uint32_t seen) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, seen, nullptr, nullptr, 0);
}
void futex_wake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// Blocks until *word differs from seen; returns the new value.
uint32_t wait_change(std::atomic<uint32_t>* word, uint32_t seen) {
  uint32_t now;
  while ((now = word->load(std::memory_order_acquire)) == seen) futex_wait(word, seen);
  return now;
}

// Shared anonymous memory made before fork: the channel, then room for the argument.
struct Shm {
  Channel* ch = nullptr;
  char* data = nullptr;
  size_t data_size = 0;
  uint32_t seq = 0;  // the client's last request
};

bool map_shm(Shm* shm, size_t data_size) {
  size_t bytes = sizeof(Channel) + data_size;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("error: mmap");
    return false;
  }
  shm->ch = new (p) Channel;
  shm->data = static_cast<char*>(p) + sizeof(Channel);
  shm->data_size = data_size;
  return true;
}

// Answers each request (checksumming data[0, size) first) until the parent goes away.
[[noreturn]] void run_futex_server(Shm shm, int cpu, int ready_fd) {
  if (cpu >= 0) pin_process(cpu);
  signal_ready(ready_fd);
  uint32_t seen = 0;
  for (;;) {
    seen = wait_change(&shm.ch->req, seen);
    uint64_t size = shm.ch->size;  // the client is trusted here: it is the benchmark
    shm.ch->sum = size > 0 ? checksum(shm.data, size) : 0;
    shm.ch->rsp.store(seen, std::memory_order_release);
    futex_wake(&shm.ch->rsp);
  }
}

// One round trip: size bytes of data are already in place.
void round_trip(Shm* shm, size_t size, uint64_t expect) {
  shm->ch->size = size;
  uint32_t n = ++shm->seq;
  uint32_t before = shm->ch->rsp.load(std::memory_order_relaxed);
  shm->ch->req.store(n, std::memory_order_release);
  futex_wake(&shm->ch->req);
  if (wait_change(&shm->ch->rsp, before) != n) fail("futex: wrong sequence number");
  if (shm->ch->sum != expect) fail("futex: wrong reply");
}

Shm g_unpinned;  // futex/unpinned: neither side pinned
Shm g_same_cpu;  // futex/same_cpu: both on the last CPU
Shm g_cpu0;      // single_cpu/futex: both on the first CPU
Shm g_one_copy;  // one_copy: client on the first CPU, server on the last
int g_same_cpu_id = -1;
int g_cpu0_id = -1;
int g_client_cpu = -1;  // one_copy's client
int g_server_cpu = -1;  // one_copy's server

MakeCall futex_null(Shm* shm) {
  return [shm](int) -> Call { return [shm] { round_trip(shm, 0, 0); }; };
}

// The futex round trip plus the system calls door_call(3C)'s semantics cost its caller on top of
// the two futex calls: getpeername (is fd a door, and which), rt_sigprocmask twice (signals held
// from before the call is posted until the caller waits where a signal interrupts it, so that
// EINTR comes even under SA_RESTART) and getresuid/getresgid (a server must see the caller's
// credentials as they are at the call). The floor of a door call that keeps those promises.
MakeCall futex_with_door_syscalls(Shm* shm) {
  return [shm](int) -> Call {
    auto sock = std::make_shared<std::array<int, 2>>();
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock->data()) != 0) {
      fail("socketpair");
    }
    return [shm, sock] {
      sockaddr_un peer;
      socklen_t len = sizeof(peer);
      ::getpeername((*sock)[0], reinterpret_cast<sockaddr*>(&peer), &len);
      sigset_t all, caller;
      sigfillset(&all);
      ::pthread_sigmask(SIG_BLOCK, &all, &caller);
      uid_t u[3];
      gid_t g[3];
      ::getresuid(&u[0], &u[1], &u[2]);
      ::getresgid(&g[0], &g[1], &g[2]);
      round_trip(shm, 0, 0);
      ::pthread_sigmask(SIG_SETMASK, &caller, nullptr);
    };
  };
}

MakeCall one_copy(size_t size) {
  return [size](int) -> Call {
    auto arg = std::make_shared<std::vector<char>>(make_argument(size));
    uint64_t expect = checksum(arg->data(), size);
    return [arg, expect] {
      std::memcpy(g_one_copy.data, arg->data(), arg->size());
      round_trip(&g_one_copy, arg->size(), expect);
    };
  };
}

MakeCall memcpy_case(size_t size) {
  return [size](int) -> Call {
    auto src = std::make_shared<std::vector<char>>(make_argument(size));
    auto dst = std::make_shared<std::vector<char>>(size);
    return [src, dst] {
      std::memcpy(dst->data(), src->data(), src->size());
      benchmark::DoNotOptimize(dst->data());
      benchmark::ClobberMemory();
    };
  };
}

}  // namespace

bool start_limit_servers(Children& children) {
  const std::vector<int>& cpus = allowed_cpus();
  g_cpu0_id = cpus.empty() ? 0 : cpus.front();
  g_same_cpu_id = cpus.empty() ? 0 : cpus.back();
  // With one CPU there is no other CPU: the one-copy case then runs unpinned.
  if (cpus.size() >= 2) {
    g_client_cpu = cpus.front();
    g_server_cpu = cpus.back();
  }
  struct Server {
    const char* what;
    Shm* shm;
    size_t data;
    int cpu;
  };
  const Server servers[] = {{"futex server", &g_unpinned, 0, -1},
                            {"futex server on one CPU", &g_same_cpu, 0, g_same_cpu_id},
                            {"futex server on the first CPU", &g_cpu0, 0, g_cpu0_id},
                            {"one-copy server", &g_one_copy, kShmArgMax, g_server_cpu}};
  for (const Server& s : servers) {
    if (!map_shm(s.shm, s.data)) return false;
    Shm shm = *s.shm;
    int cpu = s.cpu;
    if (children.spawn_ready(s.what,
                             [shm, cpu](int ready) { run_futex_server(shm, cpu, ready); }) == -1) {
      return false;
    }
  }
  return true;
}

void register_limit_cases() {
  add_latency_case("futex/unpinned", futex_null(&g_unpinned), 0);
  add_latency_case("futex/same_cpu", futex_null(&g_same_cpu), 0, g_same_cpu_id);
  add_latency_case("single_cpu/futex", futex_null(&g_cpu0), 0, g_cpu0_id);
  add_latency_case("single_cpu/futex+door_syscalls", futex_with_door_syscalls(&g_cpu0), 0,
                   g_cpu0_id);
  add_latency_case("memcpy/1MiB", memcpy_case(kMiB), kMiB);
  add_latency_case("memcpy/16MiB", memcpy_case(16 * kMiB), 16 * kMiB);
  add_latency_case("one_copy/1MiB", one_copy(kMiB), kMiB, g_client_cpu);
  add_latency_case("one_copy/16MiB", one_copy(16 * kMiB), 16 * kMiB, g_client_cpu);
}

}  // namespace bench
