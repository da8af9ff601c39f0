// Resource limits of a door server (doors_setlimit, doors/SECURITY.md): threads per pool,
// connections per user, the arena (bytes of one call); and a slowloris flood. Each limit has a
// default, an environment variable and a C knob, and hitting it gives its own clear error while
// the server keeps serving everybody else.
//
// The test process never touches the limits itself: a forked server reads its environment when
// it first needs a limit, which must be in the child.
#include <dirent.h>
#include <door.h>
#include <doors/ext.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
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

#define REQUIRE_ROOT()    \
  if (!running_as_root()) \
  GTEST_SKIP() << "needs root: the other user runs as uid " << kNobodyUid << " (setuid)"

// Memory shared with forked servers made after it: counters their procedures keep.
struct Shared {
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
};

Shared* make_shared_counters() {
  void* p =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  return new (p) Shared;
}

// For gated_proc, in the server child: where it counts, and the pipe it waits on.
Shared* g_shared = nullptr;
int g_gate = -1;

// Counts itself running, waits for one byte on the gate, and replies its arguments.
void gated_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  int now = g_shared->running.fetch_add(1) + 1;
  int most = g_shared->most_running.load();
  while (now > most && !g_shared->most_running.compare_exchange_weak(most, now)) {
  }
  char byte;
  while (::read(g_gate, &byte, 1) < 0 && errno == EINTR) {
  }
  g_shared->running.fetch_sub(1);
  door_return(argp, n, nullptr, 0);
}

doors_server_stats_t stats_of(int door) {
  doors_server_stats_t s{};
  EXPECT_EQ(doors_server_stats(door, &s), 0) << std::strerror(errno);
  return s;
}

// Descriptors open in process pid, or -1.
int open_descriptors(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  int n = 0;
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.valid()) return -1;
  DIR* listing = ::fdopendir(d.release());
  if (listing == nullptr) return -1;
  while (dirent* e = ::readdir(listing)) n += e->d_name[0] != '.';
  ::closedir(listing);
  return n;
}

// A door served by a forked server that set `limit` to `value` first, attached in a directory
// every user may search (some tests call it as another user).
struct LimitedDoor {
  LimitedDoor(int limit, std::uint64_t value, door_server_procedure_t* proc) {
    dir.chmod(0755);
    ServeOptions options;
    options.setup = [limit, value] { doors_setlimit(limit, value); };
    server = fork_door_server(path, proc, options);
  }
  TempDir dir;
  std::string path = dir.file("door");
  std::unique_ptr<ForkedServer> server;
};

// --- the knobs ---------------------------------------------------------------------------------

struct LimitValues {
  std::uint64_t pool_threads, uid_connections, arena_bytes;
  int unknown_errno, zero_errno, null_errno;
};

LimitValues read_limits() {
  LimitValues v{};
  doors_getlimit(DOORS_LIMIT_POOL_THREADS, &v.pool_threads);
  doors_getlimit(DOORS_LIMIT_UID_CONNECTIONS, &v.uid_connections);
  doors_getlimit(DOORS_LIMIT_ARENA_BYTES, &v.arena_bytes);
  std::uint64_t ignored;
  v.unknown_errno = doors_getlimit(99, &ignored) == -1 ? errno : 0;
  v.zero_errno = doors_setlimit(DOORS_LIMIT_POOL_THREADS, 0) == -1 ? errno : 0;
  v.null_errno = doors_getlimit(DOORS_LIMIT_POOL_THREADS, nullptr) == -1 ? errno : 0;
  return v;
}

LimitValues limits_in_child(const std::function<void()>& setup) {
  Pipe report = Pipe::make();
  ChildStatus st = run_in_child([&] {
    setup();
    LimitValues v = read_limits();
    return write_all(report.write_end.get(), &v, sizeof v) ? 0 : 1;
  });
  EXPECT_TRUE(st.exited_with(0)) << st.describe();
  LimitValues v{};
  EXPECT_TRUE(read_exact(report.read_end.get(), &v, sizeof v, Deadline::standard()));
  return v;
}

TEST(Limits, Defaults_AreTheDocumentedOnes) {
  LimitValues v = limits_in_child([] {
    ::unsetenv("DOORS_MAX_POOL_THREADS");
    ::unsetenv("DOORS_MAX_UID_CONNECTIONS");
    ::unsetenv("DOORS_MAX_ARENA_BYTES");
  });
  EXPECT_EQ(v.pool_threads, 1024u);
  EXPECT_EQ(v.uid_connections, 4096u);
  EXPECT_EQ(v.arena_bytes, 1u << 30);
  EXPECT_EQ(v.unknown_errno, EINVAL);
  EXPECT_EQ(v.zero_errno, EINVAL);
  EXPECT_EQ(v.null_errno, EFAULT);
}

TEST(Limits, EnvironmentVariables_SetThemAndNonsenseIsIgnored) {
  LimitValues v = limits_in_child([] {
    ::setenv("DOORS_MAX_POOL_THREADS", "3", 1);
    ::setenv("DOORS_MAX_ARENA_BYTES", "8M", 1);
    ::setenv("DOORS_MAX_UID_CONNECTIONS", "-5", 1);  // reported on stderr, default kept
  });
  EXPECT_EQ(v.pool_threads, 3u);
  EXPECT_EQ(v.arena_bytes, 8u << 20);
  EXPECT_EQ(v.uid_connections, 4096u);
}

// A server holds a descriptor per client connection: its first door_create raises the soft
// descriptor limit to the hard one (at most 1 Mi), or the historical 1024 would let one user
// exhaust it long before the per-uid limit protects anyone (SECURITY.md, DEVIATIONS.md 13).
TEST(Limits, FirstDoorCreate_RaisesTheSoftDescriptorLimitToTheHardOne) {
  Pipe report = Pipe::make();
  ChildStatus st = run_in_child([&] {
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < 512) return 1;
    rlim_t hard = rl.rlim_max;
    rl.rlim_cur = 256;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) return 2;
    if (door_create(transform_proc, nullptr, 0) < 0) return 3;
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 4;
    rlim_t expected[2] = {hard < (rlim_t{1} << 20) ? hard : rlim_t{1} << 20, rl.rlim_cur};
    return write_all(report.write_end.get(), expected, sizeof expected) ? 0 : 5;
  });
  ASSERT_TRUE(st.exited_with(0)) << st.describe();
  rlim_t got[2] = {};
  ASSERT_TRUE(read_exact(report.read_end.get(), got, sizeof got, Deadline::standard()));
  EXPECT_EQ(got[1], got[0]) << "the soft limit after door_create";
}

// --- threads per pool --------------------------------------------------------------------------

// With the pool bounded at 3 threads and 8 callers blocked in the procedure, only 3 run at once;
// the others wait, and every call completes once threads are free again.
TEST(Limits, PoolThreads_PoolStopsGrowingAndWaitingCallsRunLater) {
  constexpr int kBound = 3;
  constexpr int kCallers = 8;
  Shared* shared = make_shared_counters();
  ASSERT_NE(shared, nullptr);
  Pipe gate = Pipe::make();
  g_shared = shared;
  g_gate = gate.read_end.get();
  LimitedDoor served(DOORS_LIMIT_POOL_THREADS, kBound, gated_proc);
  ASSERT_NE(served.server, nullptr);
  UniqueFd door = open_door(served.path);
  ASSERT_TRUE(door.valid());

  std::vector<std::unique_ptr<Async<CallOutcome>>> calls;
  for (int i = 0; i < kCallers; ++i) {
    calls.push_back(std::make_unique<Async<CallOutcome>>(
        [d = door.get(), i] { return call_door(d, "call " + std::to_string(i)); }));
  }
  Deadline deadline = Deadline::standard();
  while (shared->running.load() < kBound && !deadline.expired()) std::this_thread::yield();
  ASSERT_EQ(shared->running.load(), kBound) << "the pool did not reach its bound";
  // Without the bound the pool would grow to one thread per caller within microseconds; give it
  // ample time to show it does not.
  Deadline settle = Deadline::in(std::chrono::milliseconds(300));
  while (shared->most_running.load() <= kBound && !settle.expired()) std::this_thread::yield();
  EXPECT_EQ(shared->most_running.load(), kBound) << "more procedures ran at once than the bound";

  std::string bytes(kCallers, 'g');
  ASSERT_TRUE(write_all(gate.write_end.get(), bytes.data(), bytes.size()));
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_TRUE(calls[i]->wait(Deadline::standard())) << "call " << i << " never ended";
    EXPECT_EQ(calls[i]->result().rc, 0) << std::strerror(calls[i]->result().err);
    EXPECT_EQ(calls[i]->result().data, "call " + std::to_string(i));
  }
  EXPECT_EQ(shared->most_running.load(), kBound);
  doors_server_stats_t s = stats_of(door.get());
  EXPECT_LE(s.dss_threads, static_cast<std::uint32_t>(kBound));
  EXPECT_GE(s.dss_pool_full, 1u) << "hitting the bound is counted for operators";
  ::munmap(shared, sizeof(Shared));
}

// --- connections per user ----------------------------------------------------------------------

// Exit codes of the unprivileged client below.
constexpr int kNobodyOk = 0;
constexpr int kNobodySetupFailed = 100;
constexpr int kNobodyNeverRefused = 101;
constexpr int kNobodyWrongErrno = 102;
constexpr int kNobodyNotServedAfterClosing = 103;
constexpr int kNobodyNoCommand = 104;

// As nobody: opens the door again and again, calling through each new descriptor, until the
// server refuses (door_call fails); reports how many descriptors worked, waits for the parent,
// closes them all and then must be served again.
int exhaust_as_nobody(const std::string& path, int report_fd, int command_fd) {
  if (!drop_privileges(kNobodyUid, kNobodyGid)) return kNobodySetupFailed;
  std::vector<UniqueFd> doors;
  int refused_errno = 0;
  for (int i = 0; i < 1000 && refused_errno == 0; ++i) {
    UniqueFd d = open_door(path);
    if (!d.valid()) return kNobodySetupFailed;
    CallOutcome out = call_door(d.get(), "nobody");
    if (out.rc != 0) {
      refused_errno = out.err;
      break;
    }
    doors.push_back(std::move(d));
  }
  if (refused_errno == 0) return kNobodyNeverRefused;
  int worked = static_cast<int>(doors.size());
  if (!write_all(report_fd, &worked, sizeof worked)) return kNobodySetupFailed;
  if (refused_errno != EAGAIN) return kNobodyWrongErrno;
  char c;
  if (!read_exact(command_fd, &c, 1, Deadline::standard())) return kNobodyNoCommand;
  doors.clear();
  // The server notices the closed descriptors asynchronously: keep trying until it has.
  Deadline deadline = Deadline::standard();
  while (!deadline.expired()) {
    UniqueFd d = open_door(path);
    if (d.valid() && call_door(d.get(), "again").rc == 0) return kNobodyOk;
    std::this_thread::yield();
  }
  return kNobodyNotServedAfterClosing;
}

TEST(Limits, UidConnections_OverTheLimitThatUserGetsEAGAINOthersAreServed) {
  REQUIRE_ROOT();
  constexpr int kLimit = 6;
  LimitedDoor served(DOORS_LIMIT_UID_CONNECTIONS, kLimit, transform_proc);
  ASSERT_NE(served.server, nullptr);
  const std::string& path = served.path;
  Pipe report = Pipe::make();
  Pipe command = Pipe::make();

  ForkedServer nobody([&](ForkedServer::Child&) {
    ::_exit(exhaust_as_nobody(path, report.write_end.get(), command.read_end.get()));
  });
  int worked = -1;
  ASSERT_TRUE(read_exact(report.read_end.get(), &worked, sizeof worked, Deadline::standard()))
      << "the other user was never refused";
  // Each descriptor is a connection, and the calling thread's channel one more.
  EXPECT_GE(worked, 1);
  EXPECT_LE(worked, kLimit);

  // Root is another user: its quota is untouched.
  for (int i = 0; i < 3; ++i) {
    UniqueFd mine = open_door(path);
    ASSERT_TRUE(mine.valid());
    CallOutcome out = call_door(mine.get(), "root");
    EXPECT_EQ(out.rc, 0) << std::strerror(out.err);
    EXPECT_EQ(out.data, transformed("root"));
  }
  UniqueFd mine = open_door(path);
  doors_server_stats_t s = stats_of(mine.get());
  EXPECT_GE(s.dss_refusals, 1u) << "the refusal is counted for operators";

  ASSERT_TRUE(write_all(command.write_end.get(), "c", 1));
  ChildStatus st = nobody.wait_exit();
  EXPECT_TRUE(st.exited_with(kNobodyOk))
      << st.describe() << " (" << kNobodyWrongErrno << ": refused, but not with EAGAIN; "
      << kNobodyNotServedAfterClosing << ": its quota never came back)";
}

// As nobody: one door descriptor, and kThreads threads calling through it at once, each
// keeping its channel (its thread) alive until all have called. Reports how many were served and
// how many refused with EAGAIN; then the threads end, and a new thread must be served again.
struct ChannelReport {
  int served, eagain, other;
  int served_after;
};

ChannelReport channels_as_nobody(const std::string& path, int threads) {
  ChannelReport r{-1, -1, -1, 0};
  if (!drop_privileges(kNobodyUid, kNobodyGid)) return r;
  UniqueFd door = open_door(path);
  if (!door.valid()) return r;
  std::vector<int> outcome(static_cast<std::size_t>(threads), -1);
  std::atomic<int> done{0};
  Pipe hold = Pipe::make();
  std::vector<std::thread> callers;
  for (int i = 0; i < threads; ++i) {
    callers.emplace_back([&, i] {
      CallOutcome out = call_door(door.get(), "thread");
      outcome[static_cast<std::size_t>(i)] = out.rc == 0 ? 0 : out.err;
      done.fetch_add(1);
      char c;
      (void)::read(hold.read_end.get(), &c, 1);  // keeps this thread, and its channel, alive
    });
  }
  Deadline deadline = Deadline::standard();
  while (done.load() < threads && !deadline.expired()) std::this_thread::yield();
  r = {0, 0, 0, 0};
  for (int e : outcome) (e == 0 ? r.served : e == EAGAIN ? r.eagain : r.other)++;
  hold.write_end.reset();  // every thread ends, closing its channel
  for (std::thread& t : callers) t.join();
  Deadline again = Deadline::standard();
  while (!again.expired() && r.served_after == 0) {
    std::thread([&] { r.served_after = call_door(door.get(), "later").rc == 0; }).join();
  }
  return r;
}

TEST(Limits, UidConnections_ThreadsBeyondTheLimitGetEAGAINAndTheDoorStaysUsable) {
  REQUIRE_ROOT();
  constexpr int kLimit = 4;  // one door descriptor and three channels
  constexpr int kThreads = 8;
  LimitedDoor served(DOORS_LIMIT_UID_CONNECTIONS, kLimit, transform_proc);
  ASSERT_NE(served.server, nullptr);
  const std::string& path = served.path;
  Pipe report = Pipe::make();

  ForkedServer nobody([&](ForkedServer::Child&) {
    ChannelReport r = channels_as_nobody(path, kThreads);
    ::_exit(write_all(report.write_end.get(), &r, sizeof r) ? 0 : 1);
  });
  ChannelReport r{};
  ASSERT_TRUE(read_exact(report.read_end.get(), &r, sizeof r, Deadline::standard()));
  ChildStatus st = nobody.wait_exit();

  EXPECT_TRUE(st.exited_with(0)) << st.describe();
  EXPECT_EQ(r.served, kLimit - 1);
  EXPECT_EQ(r.eagain, kThreads - (kLimit - 1));
  EXPECT_EQ(r.other, 0) << "refused with another errno than EAGAIN";
  EXPECT_EQ(r.served_after, 1) << "the door stayed unusable after the other threads let go";
}

// --- bytes of one call: the arena --------------------------------------------------------------

TEST(Limits, ArenaBytes_LargerCallFailsWithE2BIGAndSmallerOnesGoOn) {
  LimitedDoor served(DOORS_LIMIT_ARENA_BYTES, 8u << 20, digest_proc);
  ASSERT_NE(served.server, nullptr);
  UniqueFd door = open_door(served.path);
  ASSERT_TRUE(door.valid());
  std::string small(4u << 20, 's');
  std::string large(16u << 20, 'L');

  for (const std::string* args : {&small, &large, &small}) {
    SCOPED_TRACE(args->size());
    CallOutcome out = call_door(door.get(), *args);
    if (args == &large) {
      EXPECT_EQ(out.rc, -1);
      EXPECT_EQ(out.err, E2BIG) << std::strerror(out.err);
      continue;
    }
    ASSERT_EQ(out.rc, 0) << std::strerror(out.err);
    ASSERT_EQ(out.data.size(), sizeof(Digest));
    Digest got;
    std::memcpy(&got, out.data.data(), sizeof got);
    EXPECT_EQ(got.size, args->size());
    EXPECT_EQ(got.hash, digest(args->data(), args->size()));
  }
  EXPECT_GE(stats_of(door.get()).dss_refusals, 1u);
}

// --- slowloris ---------------------------------------------------------------------------------

struct FloodReport {
  int opened;   // connections made to the listener
  int refused;  // of those, the ones the server turned away (EAGAIN, then closed)
};

// As nobody: opens `count` connections to the door's listener and never says a word; reports,
// then holds them until told to let go.
int flood_as_nobody(const std::string& path, int count, int expect_refused, int report_fd,
                    int command_fd) {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return kNobodySetupFailed;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) return kNobodySetupFailed;
  if (!drop_privileges(kNobodyUid, kNobodyGid)) return kNobodySetupFailed;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return kNobodySetupFailed;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  int len = doors_attach_name(st.st_dev, st.st_ino, addr.sun_path + 1, sizeof addr.sun_path - 1);
  if (len <= 0) return kNobodySetupFailed;
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len);
  std::vector<UniqueFd> conns;
  for (int i = 0; i < count; ++i) {
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s.valid() || ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) break;
    conns.push_back(std::move(s));
  }
  // A refused connection is told EAGAIN and closed: it turns readable. Each readable one is
  // counted once (EPOLLONESHOT), until as many as the server should refuse have been, or the
  // deadline; the parent checks the server holds the rest.
  FloodReport r{static_cast<int>(conns.size()), 0};
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  for (const UniqueFd& s : conns) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, s.get(), &ev) != 0) return kNobodySetupFailed;
  }
  Deadline deadline = Deadline::in(std::chrono::seconds(30));
  while (r.refused < expect_refused && !deadline.expired()) {
    epoll_event evs[256];
    int n = ::epoll_wait(ep.get(), evs, 256, deadline.poll_timeout_ms());
    if (n > 0) r.refused += n;
  }
  if (!write_all(report_fd, &r, sizeof r)) return kNobodySetupFailed;
  char c;
  if (!read_exact(command_fd, &c, 1, Deadline::in(std::chrono::seconds(60))))
    return kNobodyNoCommand;
  return kNobodyOk;
}

// Thousands of connections that never send anything, from one user, cost that user's quota
// only: the server turns away those beyond it, and another user is served throughout; when the
// flood lets go the server's descriptors are back where they were.
TEST(Slowloris, ThousandsOfSilentConnections_OtherUsersAreServed) {
  REQUIRE_ROOT();
  constexpr int kLimit = 1000;
  constexpr int kFlood = 3000;
  LimitedDoor limited(DOORS_LIMIT_UID_CONNECTIONS, kLimit, transform_proc);
  ASSERT_NE(limited.server, nullptr);
  const std::string& path = limited.path;
  ForkedServer* server = limited.server.get();
  UniqueFd door = open_door(path);
  ASSERT_TRUE(door.valid());
  ASSERT_EQ(call_door(door.get(), "warm").rc, 0);
  int baseline_fds = open_descriptors(server->pid());
  ASSERT_GT(baseline_fds, 0);

  Pipe report = Pipe::make();
  Pipe command = Pipe::make();
  ForkedServer flood([&](ForkedServer::Child&) {
    ::_exit(flood_as_nobody(path, kFlood, kFlood - kLimit, report.write_end.get(),
                            command.read_end.get()));
  });
  FloodReport r{};
  bool reported =
      read_exact(report.read_end.get(), &r, sizeof r, Deadline::in(std::chrono::seconds(30)));

  // Served while the flood holds its connections.
  int served = 0;
  for (int i = 0; i < 200; ++i) {
    CallOutcome out = call_door(door.get(), "during the flood");
    served += out.rc == 0 && out.data == transformed("during the flood");
  }
  UniqueFd fresh = open_door(path);
  CallOutcome through_fresh = call_door(fresh.get(), "fresh");
  int flooded_fds = open_descriptors(server->pid());
  ASSERT_TRUE(write_all(command.write_end.get(), "c", 1));
  ChildStatus st = flood.wait_exit();

  ASSERT_TRUE(reported) << "the flooding client never reported: " << st.describe();
  EXPECT_TRUE(st.exited_with(kNobodyOk)) << st.describe();
  EXPECT_EQ(r.opened, kFlood) << "the flood could not even connect";
  EXPECT_EQ(r.opened - r.refused, kLimit) << "held by the server: exactly the user's quota";
  EXPECT_EQ(served, 200);
  EXPECT_EQ(through_fresh.rc, 0) << "a new descriptor for another user: "
                                 << std::strerror(through_fresh.err);
  // The server holds the quota's worth of the flood (+ the fresh descriptor and slack). The
  // baseline may still count the warm-up handshake's connection, which the server closes just
  // after answering it: hence the - 1.
  EXPECT_GE(flooded_fds, baseline_fds + kLimit - 1);
  EXPECT_LE(flooded_fds, baseline_fds + kLimit + 8);
  Deadline deadline = Deadline::standard();
  int after = open_descriptors(server->pid());
  while (after > baseline_fds + 2 && !deadline.expired()) {
    std::this_thread::yield();
    after = open_descriptors(server->pid());
  }
  // + the fresh descriptor's connection (and its channel is the same thread's) at most.
  EXPECT_LE(after, baseline_fds + 2) << "the server kept descriptors of the flood";
}

// --- the handshake takes no O_PATH descriptor ----------------------------------------------------

// Frame header and descriptor entry of a kHello, as doors/src/wire.h lays them out.
struct RawFrame {
  std::uint32_t magic = 0x444f5231;
  std::uint16_t kind = 8;  // kHello
  std::uint16_t flags = 0;
  std::uint32_t desc_num = 1;
  std::int32_t error = 0;
  std::uint64_t data_size = 0;
  std::uint64_t arena_offset = 0;
  std::uint64_t meta[2] = {};
};

constexpr int kGotADoor = 110;
constexpr int kTurnedAway = 0;

// As nobody, who may not open the 0600 file: an O_PATH descriptor of it needs no permission on
// the file itself. Offered as proof of access in a hand-made kHello, it must get nothing.
int hello_with_o_path(const std::string& path) {
  if (!drop_privileges(kNobodyUid, kNobodyGid)) return kNobodySetupFailed;
  if (::open(path.c_str(), O_RDONLY) >= 0 || errno != EACCES) return kNobodySetupFailed;
  UniqueFd o_path(::open(path.c_str(), O_PATH | O_CLOEXEC));
  struct stat st;
  if (!o_path.valid() || ::fstat(o_path.get(), &st) != 0) return kNobodySetupFailed;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  int len = doors_attach_name(st.st_dev, st.st_ino, addr.sun_path + 1, sizeof addr.sun_path - 1);
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len);
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), addr_len) != 0)
    return kNobodySetupFailed;
  RawFrame hello;
  iovec iov{&hello, sizeof hello};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* h = CMSG_FIRSTHDR(&msg);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  int fd = o_path.get();
  std::memcpy(CMSG_DATA(h), &fd, sizeof fd);
  if (::sendmsg(s.get(), &msg, MSG_NOSIGNAL) < 0) return kNobodySetupFailed;
  if (!poll_readable(s.get(), Deadline::standard())) return kNobodySetupFailed;
  char answer[4096];
  alignas(cmsghdr) char got_control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr in{};
  iovec in_iov{answer, sizeof answer};
  in.msg_iov = &in_iov;
  in.msg_iovlen = 1;
  in.msg_control = got_control;
  in.msg_controllen = sizeof got_control;
  ssize_t n = ::recvmsg(s.get(), &in, MSG_CMSG_CLOEXEC);
  for (cmsghdr* c = CMSG_FIRSTHDR(&in); c != nullptr; c = CMSG_NXTHDR(&in, c)) {
    if (c->cmsg_type == SCM_RIGHTS) return kGotADoor;  // a kWelcome carries the door descriptor
  }
  return n >= 0 ? kTurnedAway : kNobodySetupFailed;
}

TEST(AccessControl, OPathDescriptorAsProofOfAccess_GetsNoDoor) {
  REQUIRE_ROOT();
  TempDir dir;
  dir.chmod(0755);
  std::string path = dir.file("door");
  ServeOptions options;
  options.mode = 0600;
  auto server = fork_door_server(path, transform_proc, options);
  ASSERT_NE(server, nullptr);

  ChildStatus sut = run_in_child([&] { return hello_with_o_path(path); });

  EXPECT_TRUE(sut.exited_with(kTurnedAway))
      << sut.describe() << " (" << kGotADoor << ": the server handed out its door)";
}

}  // namespace
}  // namespace doors::test
