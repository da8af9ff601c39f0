// Peers that die mid-call. SIGKILL of a server with 1, 64 and 512 calls in flight: every call
// fails with EINTR (door_call(3C): "the server exited during invocation") within a second, and
// none hangs. SIGKILL of clients whose calls are inside a long procedure (cancellable doors and
// DOOR_NO_CANCEL doors, with arena-borne arguments): the server's threads go back to idle and
// its connections, shared memory and descriptors return to where they were, round after round.
#include <door.h>
#include <doors/ext.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "procedures.h"
#include "raw_wire.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Shared between the test and its forked server (MAP_SHARED, made before fork).
struct SharedCounters {
  std::atomic<std::uint32_t> started;  // procedures entered
  std::atomic<std::uint32_t> round;    // a procedure waits until this changes
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

SharedCounters* g_shared = nullptr;  // in the server child: the test's mapping

class SharedMapping {
 public:
  SharedMapping() {
    void* p = ::mmap(nullptr, sizeof(SharedCounters), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    counters_ = new (p) SharedCounters{};
    g_shared = counters_;
  }
  ~SharedMapping() {
    g_shared = nullptr;
    ::munmap(counters_, sizeof(SharedCounters));
  }
  SharedCounters& operator*() const { return *counters_; }
  SharedCounters* operator->() const { return counters_; }

 private:
  SharedCounters* counters_;
};

void pause_briefly() {
  timespec ts{0, 1'000'000};
  ::nanosleep(&ts, nullptr);  // a cancellation point: a cancelled thread ends here
}

// Counts itself in, then waits until the test moves to the next round (or the thread is
// cancelled, or the process killed); then reads its arguments once more and replies their Digest.
void long_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  std::uint32_t my_round = g_shared->round.load();
  g_shared->started.fetch_add(1);
  while (g_shared->round.load() == my_round) pause_briefly();
  reply_value(Digest{n, digest(argp, n)});
}

bool await_started(const SharedCounters& shared, std::uint32_t n, Deadline deadline) {
  while (shared.started.load() < n && !deadline.expired()) pause_briefly();
  return shared.started.load() >= n;
}

// --- SIGKILL of the server ----------------------------------------------------------------------

struct CallEnd {
  int rc = 0;
  int err = 0;
  Clock::time_point when;
};

// Threads each in one door_call; their ends are shared so that a hung thread (a bug the test
// reports) can be detached without touching freed memory.
struct CallsInFlight {
  struct State {
    explicit State(std::size_t n) : ends(n) {}
    std::vector<CallEnd> ends;
    std::atomic<std::size_t> done{0};
  };
  std::shared_ptr<State> state;
  std::vector<std::thread> threads;

  CallsInFlight(int door, std::size_t n) : state(std::make_shared<State>(n)) {
    for (std::size_t i = 0; i < n; ++i) {
      threads.emplace_back([door, i, s = state] {
        char arg[8] = "block";
        char rbuf[64];
        door_arg_t a{arg, sizeof arg, nullptr, 0, rbuf, sizeof rbuf};
        int rc = door_call(door, &a);
        s->ends[i] = {rc, rc == 0 ? 0 : errno, Clock::now()};
        s->done.fetch_add(1);
      });
    }
  }
  bool await_all(Deadline deadline) const {
    while (state->done.load() < threads.size() && !deadline.expired()) pause_briefly();
    return state->done.load() == threads.size();
  }
  ~CallsInFlight() {
    bool all = state->done.load() == threads.size();
    for (std::thread& t : threads) all ? t.join() : t.detach();
  }
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

class ServerKilled : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ServerKilled, EveryCallInFlightFailsWithEINTRWithinASecond) {
  const std::size_t n = GetParam();
  SharedMapping shared;
  TempDir dir;
  const std::string path = dir.file("door");
  const int fds_before = raw::count_fds(::getpid());
  const std::string fds_listing = raw::describe_fds(::getpid());
  std::unique_ptr<ForkedServer> server = fork_door_server(path, long_proc);
  ASSERT_NE(server, nullptr);
  UniqueFd door = open_door(path);
  ASSERT_TRUE(door.valid());

  std::unique_ptr<CallsInFlight> calls = std::make_unique<CallsInFlight>(door.get(), n);
  ASSERT_TRUE(await_started(*shared, static_cast<std::uint32_t>(n), Deadline::in(20s)))
      << shared->started.load() << " of " << n << " procedures started";

  const Clock::time_point killed_at = Clock::now();
  ChildStatus st = server->kill_and_reap(SIGKILL);
  ASSERT_TRUE(st.killed_by(SIGKILL)) << st.describe();
  ASSERT_TRUE(calls->await_all(Deadline::standard()))
      << calls->state->done.load() << " of " << n << " calls returned: the others hang";

  std::vector<double> latencies;
  std::size_t eintr = 0;
  for (const CallEnd& end : calls->state->ends) {
    EXPECT_EQ(end.rc, -1) << "a call succeeded although its server was killed";
    if (end.rc == -1 && end.err == EINTR) ++eintr;
    latencies.push_back(ms(std::max(end.when - killed_at, Clock::duration::zero())));
  }
  EXPECT_EQ(eintr, n) << "every call in flight must fail with EINTR";
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) { return latencies[std::min(n - 1, static_cast<std::size_t>(q * n))]; };
  std::printf(
      "[ killed   ] %zu calls in flight: kill-to-error p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", n,
      at(0.50), at(0.99), latencies.back());
  EXPECT_LT(latencies.back(), 1000.0) << "a call took more than a second to fail";

  calls.reset();
  door.reset();
  server.reset();  // its readiness pipe
  EXPECT_EQ(raw::await_fd_count(::getpid(), fds_before, Deadline::standard()), fds_before)
      << "the client kept descriptors of the dead server's connections:\n"
      << raw::describe_fds(::getpid()) << "before:\n"
      << fds_listing;
}

INSTANTIATE_TEST_SUITE_P(CallsInFlight, ServerKilled, ::testing::Values(1, 64, 512),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           return "Calls" + std::to_string(info.param);
                         });

// --- SIGKILL of clients -------------------------------------------------------------------------

// The sanitizers' runtimes do not survive a thread cancelled inside one of their intercepted
// calls (.ci/run), which is how a cancellable door's server thread ends when its client dies: under
// them, only DOOR_NO_CANCEL rounds run.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCancellationSurvivesSanitizer = false;
#else
constexpr bool kCancellationSurvivesSanitizer = true;
#endif

constexpr int kCallsPerClient = 3;
constexpr int kRounds = 24;
constexpr std::size_t kLargeArgs = 200'000;  // > DOORS_INLINE_DATA_MAX: an arena on each side

// A client process whose threads each sit in a call of long_proc with large arguments.
std::unique_ptr<ForkedServer> fork_client(const std::string& path) {
  auto client = std::make_unique<ForkedServer>([path](ForkedServer::Child& child) {
    int door = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (door < 0) child_fail("open");
    for (int i = 0; i < kCallsPerClient; ++i) {
      std::thread([door, i] {
        std::string args = pattern(kLargeArgs, static_cast<std::uint64_t>(i));
        std::vector<char> rbuf(64);
        door_arg_t a{args.data(), args.size(), nullptr, 0, rbuf.data(), rbuf.size()};
        door_call(door, &a);
      }).detach();
    }
    child.ready();
    child_wait_forever();
  });
  if (!client->wait_ready()) return nullptr;
  return client;
}

// Threads neither idle nor parked: running a procedure, or answering the stats request itself.
std::uint32_t busy_threads(const doors_server_stats_t& s) {
  return s.dss_threads - s.dss_idle_threads - s.dss_parked_threads;
}

::testing::AssertionResult settles(int door, pid_t server, const doors_server_stats_t& base,
                                   int base_fds, Deadline deadline) {
  doors_server_stats_t s{};
  int fds = -1;
  for (;;) {
    if (doors_server_stats(door, &s) != 0) {
      return ::testing::AssertionFailure() << "doors_server_stats: " << std::strerror(errno);
    }
    fds = raw::count_fds(server);
    if (busy_threads(s) <= busy_threads(base) && s.dss_parked_threads == 0 &&
        s.dss_connections == base.dss_connections && s.dss_shm_bytes == base.dss_shm_bytes &&
        fds <= base_fds) {
      return ::testing::AssertionSuccess();
    }
    if (deadline.expired()) break;
    pause_briefly();
  }
  return ::testing::AssertionFailure()
         << "threads " << s.dss_threads << " (idle " << s.dss_idle_threads << ", parked "
         << s.dss_parked_threads << "; busy at first " << busy_threads(base) << "), connections "
         << s.dss_connections << " (was " << base.dss_connections << "), shm bytes "
         << s.dss_shm_bytes << " (was " << base.dss_shm_bytes << "), descriptors " << fds
         << " (was " << base_fds << ")";
}

TEST(ClientKilled, ServerThreadsConnectionsAndMemoryComeBackEveryRound) {
  SharedMapping shared;
  TempDir dir;
  const std::string cancel_path = dir.file("cancel");
  const std::string no_cancel_path = dir.file("no-cancel");
  ForkedServer server([&](ForkedServer::Child& child) {
    child_serve_at(cancel_path, long_proc);
    child_serve_at(no_cancel_path, long_proc, nullptr, DOOR_NO_CANCEL);
    child.ready();
    child_wait_forever();
  });
  ASSERT_TRUE(server.wait_ready());
  UniqueFd stats_door = open_door(cancel_path);
  ASSERT_TRUE(stats_door.valid());
  // The server closes the handshake's connection just after answering it: the baseline is the
  // quietest of a few looks.
  doors_server_stats_t base{};
  ASSERT_EQ(doors_server_stats(stats_door.get(), &base), 0) << std::strerror(errno);
  int base_fds = raw::count_fds(server.pid());
  for (int i = 0; i < 20; ++i) {
    pause_briefly();
    doors_server_stats_t now{};
    ASSERT_EQ(doors_server_stats(stats_door.get(), &now), 0) << std::strerror(errno);
    if (busy_threads(now) < busy_threads(base) || now.dss_connections < base.dss_connections) {
      base = now;
    }
    base_fds = std::min(base_fds, raw::count_fds(server.pid()));
  }
  ASSERT_GT(base_fds, 0);

  std::uint32_t max_threads = 0;
  for (int round = 0; round < kRounds; ++round) {
    const bool no_cancel = round % 2 == 1 || !kCancellationSurvivesSanitizer;
    SCOPED_TRACE("round " + std::to_string(round) + (no_cancel ? ", DOOR_NO_CANCEL" : ""));
    const std::uint32_t started = shared->started.load();
    std::unique_ptr<ForkedServer> client = fork_client(no_cancel ? no_cancel_path : cancel_path);
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(await_started(*shared, started + kCallsPerClient, Deadline::standard()));
    doors_server_stats_t busy{};
    ASSERT_EQ(doors_server_stats(stats_door.get(), &busy), 0);
    EXPECT_GT(busy.dss_shm_bytes, base.dss_shm_bytes) << "the large arguments were not mapped";

    ASSERT_TRUE(client->kill_and_reap(SIGKILL).killed_by(SIGKILL));
    if (no_cancel) {
      // The procedures run on to their end, and find no caller to reply to.
      shared->round.fetch_add(1);
    }
    ASSERT_TRUE(settles(stats_door.get(), server.pid(), base, base_fds, Deadline::standard()));
    if (!no_cancel) shared->round.fetch_add(1);
    doors_server_stats_t after{};
    ASSERT_EQ(doors_server_stats(stats_door.get(), &after), 0);
    max_threads = std::max(max_threads, after.dss_threads);
  }
  // The pool does not grow round after round: a thread kept per dead call would make it pass
  // kRounds * kCallsPerClient / 2; it needs a round's calls, plus a few it starts ahead.
  EXPECT_LT(max_threads, static_cast<std::uint32_t>(kRounds));
  std::printf("[ clients  ] %d clients killed mid-call; server threads at most %u (at first %u)\n",
              kRounds, max_threads, base.dss_threads);
}

}  // namespace
}  // namespace doors::test
