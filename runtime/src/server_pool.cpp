// The bounded server thread pool (server_pool.h).
#include "server_pool.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "doors/runtime/log.h"

namespace doors::detail {
namespace {

struct PoolState {
  PoolBounds bounds;
  std::atomic<uint32_t> shared_alive{0};
  std::atomic<uint32_t> private_alive{0};
  std::atomic<int> private_fd{-1};      // the DOOR_PRIVATE door whose threads we start
  std::atomic<uint64_t> private_id{0};  // its di_uniquifier
  std::atomic<bool> stopping{false};
  // Threads that reached door_return, so that start() returns once MIN of them wait for calls.
  std::mutex mu;
  std::condition_variable cv;
  uint64_t joined = 0;
};

PoolState& state() {
  static PoolState* s = new PoolState;  // never destroyed: pool threads outlive main
  return *s;
}

std::atomic<uint32_t>& alive_of(bool private_pool) {
  return private_pool ? state().private_alive : state().shared_alive;
}

// Counts a thread about to start, unless MAX are alive already.
bool reserve(bool private_pool) {
  std::atomic<uint32_t>& alive = alive_of(private_pool);
  uint32_t n = alive.load();
  do {
    if (n >= state().bounds.max) return false;
  } while (!alive.compare_exchange_weak(n, n + 1));
  return true;
}

void spawn(bool private_pool);

// Uncounts the thread when it ends, however it ends (a thread cancelled for an abandoned call
// unwinds through here), and replaces it while the pool is below MIN.
struct Alive {
  bool private_pool;
  ~Alive() {
    uint32_t left = alive_of(private_pool).fetch_sub(1) - 1;
    if (!state().stopping.load() && left < state().bounds.min) spawn(private_pool);
  }
};

void* thread_main(void* arg) {
  bool private_pool = arg != nullptr;
  Alive alive{private_pool};
  // As libdoors' own server threads: cancellation is enabled only around the procedures of
  // cancellable doors, by libdoors.
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
  if (private_pool && ::door_bind(state().private_fd.load()) != 0) {
    DOORS_LOG_ERROR("door_bind: %s", std::strerror(errno));
    return nullptr;
  }
  {
    std::lock_guard lock(state().mu);
    ++state().joined;
    state().cv.notify_all();
  }
  ::door_return(nullptr, 0, nullptr, 0);  // serves calls; returns only if the door is gone
  return nullptr;
}

void spawn(bool private_pool) {
  if (!reserve(private_pool)) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // The thread starts with every signal blocked: signals are the signal thread's (signalfd).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  int err = pthread_create(&t, &attr, thread_main,
                           private_pool ? reinterpret_cast<void*>(uintptr_t{1}) : nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    alive_of(private_pool).fetch_sub(1);
    // The pool keeps serving with the threads it has.
    DOORS_LOG_WARNING("cannot start a server thread: %s", std::strerror(err));
  }
}

// door_server_create(3C)'s function: a pool ran out of idle threads (or a door was created).
void create_thread(door_info_t* info) {
  if (info == nullptr) {
    spawn(false);
    return;
  }
  // A private door: only ours, and only once start() has told us its descriptor (door_create
  // calls this before it returns one; start() then starts MIN threads).
  if (state().private_fd.load() >= 0 && info->di_uniquifier == state().private_id.load())
    spawn(true);
}

}  // namespace

void ServerPool::install(PoolBounds bounds) {
  state().bounds = bounds;
  ::door_server_create(&create_thread);
}

void ServerPool::start(int door_fd, bool private_pool) {
  if (private_pool) {
    door_info_t info{};
    if (::door_info(door_fd, &info) == 0) state().private_id.store(info.di_uniquifier);
    state().private_fd.store(door_fd);
  }
  uint64_t started = 0;
  uint64_t joined_before;
  {
    std::lock_guard lock(state().mu);
    joined_before = state().joined;
  }
  while (alive_of(private_pool).load() < state().bounds.min) {
    uint32_t before = alive_of(private_pool).load();
    spawn(private_pool);
    if (alive_of(private_pool).load() <= before) break;  // out of threads: serve with fewer
    ++started;
  }
  // "ready" comes after this: wait (bounded) until the threads just started wait for calls.
  std::unique_lock lock(state().mu);
  state().cv.wait_for(lock, std::chrono::seconds(5),
                      [&] { return state().joined - joined_before >= started; });
}

void ServerPool::stop() noexcept { state().stopping.store(true); }

uint32_t ServerPool::alive() noexcept {
  return state().shared_alive.load() + state().private_alive.load();
}

}  // namespace doors::detail
