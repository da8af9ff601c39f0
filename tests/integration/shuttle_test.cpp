// Parking and the shuttle (DEVIATIONS.md 11, docs/how-a-call-travels.md): after answering a call,
// a server thread may stay with the caller's channel, confined to the caller's CPU, and the
// caller's next calls travel through the channel's shared page. These tests hold the promises
// that come with it: the procedure runs on the caller's CPU; a parked thread lets go of a
// channel whose caller is gone, and of its pool when the pool has no other thread; parked
// threads are few; revocation and signals behave as without parking.
#include <door.h>
#include <doors/ext.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

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

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;

// --- the server child -------------------------------------------------------------------------

int g_block_fd = -1;            // "block" calls wait for a byte on it
std::atomic<int> g_threads{0};  // threads bounded_create started

// What cpu_proc replies: where its thread runs, and on how many CPUs it may run.
struct Placement {
  std::int32_t cpu;
  std::int32_t allowed;
};

// Replies its Placement; "block" first waits for a byte on g_block_fd.
void cpu_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  if (n == 5 && std::memcmp(argp, "block", 5) == 0) {
    char byte;
    while (::read(g_block_fd, &byte, 1) < 0 && errno == EINTR) {
    }
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  ::sched_getaffinity(0, sizeof set, &set);
  reply_value(Placement{::sched_getcpu(), CPU_COUNT(&set)});
}

// A door_server_create(3C) function that makes two threads in all: a pool at its bound.
void* serve_thread(void*) {
  door_return(nullptr, 0, nullptr, 0);
  return nullptr;
}
void bounded_create(door_info_t*) {
  if (g_threads.fetch_add(1) >= 2) return;
  pthread_t t;
  if (pthread_create(&t, nullptr, serve_thread, nullptr) == 0) pthread_detach(t);
}

std::unique_ptr<ForkedServer> serve_cpu_proc(const std::string& path, int block_fd, bool bounded) {
  ServeOptions options;
  options.setup = [block_fd, bounded] {
    g_block_fd = block_fd;
    if (bounded) door_server_create(bounded_create);
  };
  return fork_door_server(path, cpu_proc, options);
}

// --- the client -------------------------------------------------------------------------------

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

// Where the server procedure ran ({-1, -1} after a test failure).
Placement call_placement(int d) {
  CallOutcome call = call_door(d, "cpu");
  Placement p{-1, -1};
  if (call.rc != 0) {
    ADD_FAILURE() << "call failed: " << std::strerror(call.err);
  } else if (!read_value(call.data, &p)) {
    ADD_FAILURE() << "bad reply";
  }
  return p;
}

int call_cpu(int d) { return call_placement(d).cpu; }

doors_server_stats_t stats_of(int d) {
  doors_server_stats_t s{};
  EXPECT_EQ(doors_server_stats(d, &s), 0) << std::strerror(errno);
  return s;
}

class ShuttleParking : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = serve_cpu_proc(dir_.file("door"), block_.read_end.get(), bounded());
    ASSERT_NE(server_, nullptr);
    client_ = open_door(dir_.file("door"));
    ASSERT_TRUE(client_.valid());
  }
  virtual bool bounded() const { return false; }

  // Lets every "block" call go (one byte each).
  void release_blocked(int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(write_all(block_.write_end.get(), "x", 1));
  }

  TempDir dir_;
  Pipe block_ = Pipe::make();
  std::unique_ptr<ForkedServer> server_;
  UniqueFd client_;
};

class ShuttleParkingBoundedPool : public ShuttleParking {
  bool bounded() const override { return true; }
};

// The point of parking: the procedure runs on the CPU its caller called from, whichever it is,
// because its thread is confined there (an idle machine might place it there anyway).
TEST_F(ShuttleParking, CallerOnEachCpu_ProcedureRunsConfinedToThatCpu) {
  std::vector<int> cpus = allowed_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs to tell them apart";
  int d = client_.get();
  std::vector<Placement> cpus_seen;
  std::thread caller([&] {
    for (int cpu : cpus) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
      for (int i = 0; i < 20; ++i) call_cpu(d);  // the server thread follows the caller here
      for (int i = 0; i < 20; ++i) cpus_seen.push_back(call_placement(d));
    }
  });
  caller.join();

  ASSERT_EQ(cpus_seen.size(), cpus.size() * 20);
  for (std::size_t i = 0; i < cpus_seen.size(); ++i) {
    EXPECT_EQ(cpus_seen[i].cpu, cpus[i / 20]) << "call " << i;
    EXPECT_EQ(cpus_seen[i].allowed, 1) << "call " << i;
  }
}

// A caller thread that ends closes its channel: the thread parked on it goes back to the pool.
TEST_F(ShuttleParking, CallerThreadEnds_ParkedThreadLeaves) {
  int d = client_.get();
  std::thread caller([d] {
    for (int i = 0; i < 50; ++i) call_cpu(d);
  });
  caller.join();

  // Asked from this thread, whose own channel nobody is parked on.
  Deadline deadline = Deadline::standard();
  doors_server_stats_t s = stats_of(d);
  while (s.dss_parked_threads != 0 && !deadline.expired()) {
    std::this_thread::sleep_for(1ms);  // polling a figure with a deadline, not synchronising
    s = stats_of(d);
  }
  EXPECT_EQ(s.dss_parked_threads, 0u);
  EXPECT_GE(s.dss_shuttle_calls, 1u);
  // No thread stays confined: this thread's first call (through the socket) may run anywhere.
  EXPECT_EQ(call_placement(d).allowed, static_cast<int>(allowed_cpus().size()));
}

// A caller that stops calling (but keeps its channel) gets its parked thread taken back after a
// linger (50 ms), so that a thread is not held for a caller that has gone quiet.
TEST_F(ShuttleParking, QuietCaller_ParkedThreadLeavesAfterALinger) {
  int d = client_.get();
  std::atomic<bool> called{false};
  std::atomic<bool> leave{false};
  std::thread caller([&, d] {
    for (int i = 0; i < 50; ++i) call_cpu(d);
    called.store(true);
    while (!leave.load()) std::this_thread::sleep_for(1ms);  // quiet, channel open
  });
  Deadline deadline = Deadline::standard();
  while (!called.load() && !deadline.expired()) std::this_thread::sleep_for(1ms);
  doors_server_stats_t s = stats_of(d);
  while (s.dss_parked_threads != 0 && !deadline.expired()) {
    std::this_thread::sleep_for(1ms);  // polling a figure with a deadline, not synchronising
    s = stats_of(d);
  }
  leave.store(true);
  caller.join();

  EXPECT_EQ(s.dss_parked_threads, 0u);
  EXPECT_GE(s.dss_shuttle_calls, 1u);
}

// However many callers, no more than four parked threads per CPU.
TEST_F(ShuttleParking, ManyCallers_FewParkedThreads) {
  int d = client_.get();
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  int callers = static_cast<int>(4 * cpus + 3);
  std::atomic<int> done{0};
  std::atomic<bool> leave{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < callers; ++i) {
    threads.emplace_back([&, d] {
      for (int j = 0; j < 50; ++j) call_cpu(d);
      done.fetch_add(1);
      while (!leave.load()) std::this_thread::sleep_for(1ms);  // keeps its channel open
    });
  }
  Deadline deadline = Deadline::standard();
  while (done.load() < callers && !deadline.expired()) std::this_thread::sleep_for(1ms);

  doors_server_stats_t sut = stats_of(d);
  leave.store(true);
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(done.load(), callers);
  EXPECT_LE(sut.dss_parked_threads, static_cast<std::uint32_t>(4 * cpus));
  EXPECT_LE(sut.dss_idle_threads + sut.dss_parked_threads, sut.dss_threads);
}

// A pool at its bound (two threads): one parked on a busy caller's channel, the other blocked in
// a call. A third caller is served at once: the parked thread is recalled to the pool, rather
// than keeping it while its own caller goes on calling.
TEST_F(ShuttleParkingBoundedPool, PoolRunsDry_ParkedThreadServesOthers) {
  int d = client_.get();
  std::atomic<bool> stop{false};
  std::atomic<int> busy_calls{0};
  std::thread busy([&, d] {
    while (!stop.load()) {
      if (call_door(d, "cpu").rc != 0) break;
      busy_calls.fetch_add(1);
    }
  });
  Deadline warm = Deadline::standard();
  while (busy_calls.load() < 100 && !warm.expired()) std::this_thread::sleep_for(1ms);
  ASSERT_GE(busy_calls.load(), 100);
  Async<CallOutcome> blocked([d] { return call_door(d, "block"); });

  Async<CallOutcome> third([d] { return call_door(d, "cpu"); });
  bool served = third.wait(Deadline::standard());

  stop.store(true);
  release_blocked(1);
  busy.join();
  EXPECT_TRUE(served) << "the third caller waited for the busy caller to stop";
  EXPECT_TRUE(blocked.wait(Deadline::standard()));
  if (served) {
    EXPECT_EQ(third.result().rc, 0) << std::strerror(third.result().err);
  }
}

// door_revoke(3C) while a thread is parked on the caller's channel: the next call fails with
// EBADF, as it would have without parking.
TEST(ShuttleParkingRevoke, RevokedWhileParked_NextCallFailsWithEbadf) {
  TempDir dir;
  ControlledServer server(dir.file("door"));
  ASSERT_TRUE(server.ready());
  UniqueFd d = open_door(dir.file("door"));
  ASSERT_TRUE(d.valid());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(call_door(d.get(), "x").rc, 0);
  ASSERT_EQ(server.command('R'), 0);

  CallOutcome sut = call_door(d.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// door_call(3C): a signal caught while the call is waiting interrupts it with EINTR, under
// SA_RESTART too, also when the call went through the shuttle.
void on_signal(int) {}

TEST_F(ShuttleParking, SignalDuringAShuttleCall_Eintr) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
  int d = client_.get();
  auto caller_tid = std::make_shared<std::atomic<pid_t>>(0);
  Async<CallOutcome> call([d, caller_tid] {
    for (int i = 0; i < 20; ++i) call_door(d, "cpu");
    caller_tid->store(static_cast<pid_t>(::gettid()));
    return call_door(d, "block");
  });
  Deadline deadline = Deadline::standard();
  while (caller_tid->load() == 0 && !deadline.expired()) std::this_thread::sleep_for(1ms);
  // Signalled until the call ends: the first signals may come before it waits.
  bool ended = false;
  while (!ended && !deadline.expired()) {
    ::tgkill(::getpid(), caller_tid->load(), SIGUSR1);
    ended = call.wait(Deadline::in(5ms));
  }
  release_blocked(1);  // the server thread may still be blocked, if it was not cancelled
  ::sigaction(SIGUSR1, &old, nullptr);

  ASSERT_TRUE(ended);
  EXPECT_EQ(call.result().rc, -1);
  EXPECT_EQ(call.result().err, EINTR) << std::strerror(call.result().err);
  // The door still works afterwards.
  EXPECT_GE(call_cpu(d), 0);
}

// --- a client that attacks its own shuttle pages ------------------------------------------------

// The shuttle pages this process has mapped (libdoors names their memfds "doors-shuttle").
struct Mapping {
  char* start;
  std::size_t size;
  std::string range;  // "start-end" in hex, as /proc/self/map_files names it
};
std::vector<Mapping> shuttle_pages() {
  std::vector<Mapping> pages;
  std::FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return pages;
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    if (std::strstr(line, "memfd:doors-shuttle") == nullptr) continue;
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line, "%lx-%lx", &lo, &hi) != 2) continue;
    char range[64];
    std::snprintf(range, sizeof range, "%lx-%lx", lo, hi);
    pages.push_back({reinterpret_cast<char*>(lo), hi - lo, range});
  }
  std::fclose(maps);
  return pages;
}

// Where a shuttle page keeps what a hostile client rewrites (doors/src/shuttle.h and wire.h): the
// state word, and the call's frame. The test checks the frame's magic is where it expects, so a
// change of layout fails it rather than leaving it rewriting bytes nobody reads.
constexpr std::size_t kStateAt = 0;
constexpr std::size_t kFrameAt = 64;
constexpr std::uint32_t kFrameMagic = 0x444f5231;  // "DOR1"
constexpr std::uint16_t kCallKind = 1;
constexpr std::uint32_t kCallState = 2;      // kShuttleCall
constexpr std::uint32_t kCallSlowState = 3;  // kShuttleCallSlow

struct FrameBytes {  // wire.h's Frame
  std::uint32_t magic;
  std::uint16_t kind;
  std::uint16_t flags;
  std::uint32_t desc_num;
  std::int32_t error;
  std::uint64_t data_size;
  std::uint64_t arena_offset;
};

// A client process that, once its calls travel through its shuttle, posts thousands of forged
// calls in its page: frames that look right (magic, kind) with random flags, descriptor counts,
// sizes (small, at the page's limit, past it, absurd) and arena offsets, and states a client may
// or may not set; between them, random bytes anywhere in the header. It calls now and then itself
// (those calls may fail; it must not crash). The server must survive it, and an honest client of
// the same door must get every answer right meanwhile.
TEST_F(ShuttleParking, ClientForgesCallsInItsPage_ServerAndOtherClientsUnaffected) {
  std::string path = dir_.file("door");
  Pipe done = Pipe::make();  // a byte from the hostile client when it has finished
  int done_fd = done.write_end.get();
  ForkedServer hostile([path, done_fd](ForkedServer::Child& child) {
    UniqueFd d = open_door(path);
    if (!d.valid()) child_fail("open_door");
    // Calls until one has gone through the page (the pool may need a few to have a spare
    // thread to park), which leaves the call's frame where the layout above says.
    std::vector<Mapping> pages;
    bool used = false;
    for (int i = 0; i < 200 && !used; ++i) {
      call_door(d.get(), "cpu");
      pages = shuttle_pages();
      for (const Mapping& m : pages) {
        FrameBytes seen;
        std::memcpy(&seen, m.start + kFrameAt, sizeof seen);
        used = used || seen.magic == kFrameMagic;
      }
    }
    if (!used) child_fail("no call went through a shuttle page (has its layout changed?)");
    child.ready();
    std::uint64_t x = 0x9e3779b97f4a7c15ull ^ static_cast<std::uint64_t>(::getpid());
    auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    const std::uint64_t sizes[] = {0, 5, 100, 16288, 16289, 65536, 65537, 1u << 20, ~0ull};
    for (int i = 0; i < 20000; ++i) {
      char* page = pages[next() % pages.size()].start;
      if (next() % 4 != 0) {
        FrameBytes f{kFrameMagic,
                     kCallKind,
                     static_cast<std::uint16_t>(next() % 8),
                     static_cast<std::uint32_t>(next() % 4 == 0 ? next() % 300 : 0),
                     0,
                     next() % 2 ? sizes[next() % std::size(sizes)] : next(),
                     next()};
        std::memcpy(page + kFrameAt, &f, sizeof f);
        std::uint32_t state = next() % 2 ? kCallState : kCallSlowState;
        std::memcpy(page + kStateAt, &state, sizeof state);
      } else {
        std::uint64_t junk = next();
        std::memcpy(page + next() % 120, &junk, sizeof junk);
      }
      ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(page + kStateAt), FUTEX_WAKE, 1,
                nullptr, nullptr, 0);
      if (i % 64 == 0) {
        // A forged call may have made the server drop the channel: the client's next calls see
        // that, and open another one with a new page.
        pages.clear();
        for (int tries = 0; tries < 20 && pages.empty(); ++tries) {
          call_door(d.get(), "cpu");
          pages = shuttle_pages();
        }
        if (pages.empty()) child_fail("no new shuttle page after 20 calls");
      }
    }
    if (!write_all(done_fd, "x", 1)) child_fail("write");
    std::_Exit(0);
  });
  ASSERT_TRUE(hostile.wait_ready());

  int d = client_.get();
  int honest_calls = 0;
  Deadline deadline = Deadline::standard();
  bool finished = false;
  while (!finished && !deadline.expired()) {
    Placement p = call_placement(d);
    ASSERT_GE(p.cpu, 0);
    ASSERT_GE(p.allowed, 1);
    ++honest_calls;
    finished = poll_readable(done.read_end.get(), Deadline::in(0ms));
  }
  ChildStatus status = hostile.wait_exit();

  EXPECT_TRUE(status.exited_with(0)) << "hostile client " << status.describe();
  EXPECT_GT(honest_calls, 0);
  EXPECT_EQ(::kill(server_->pid(), 0), 0) << "the server died";
  EXPECT_GE(call_placement(d).cpu, 0);  // and still serves
}

// The page is sealed: not even its own client can shrink or grow it (a shrunk page would raise
// SIGBUS in the server reading it). /proc/self/map_files needs CAP_SYS_ADMIN.
TEST_F(ShuttleParking, ClientTriesToResizeItsPage_Eperm) {
  if (!running_as_root()) GTEST_SKIP() << "needs root to open /proc/self/map_files";
  for (int i = 0; i < 3; ++i) call_cpu(client_.get());
  std::vector<Mapping> pages = shuttle_pages();
  ASSERT_FALSE(pages.empty());

  UniqueFd page(::open(("/proc/self/map_files/" + pages[0].range).c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(page.valid()) << std::strerror(errno);
  int shrink = ::ftruncate(page.get(), 0);
  int shrink_err = errno;
  int grow = ::ftruncate(page.get(), 1 << 20);
  int grow_err = errno;

  EXPECT_EQ(shrink, -1);
  EXPECT_EQ(shrink_err, EPERM) << std::strerror(shrink_err);
  EXPECT_EQ(grow, -1);
  EXPECT_EQ(grow_err, EPERM) << std::strerror(grow_err);
  EXPECT_GE(call_placement(client_.get()).cpu, 0);
}

}  // namespace
}  // namespace doors::test
