// DOOR_PRIVATE doors and their pools, served by a forked child: door_server_create(3C)'s function
// is told about each private pool (at door_create, and with DOOR_DEPLETION_CB when the pool runs
// dry), door_bind(3C) threads serve only their door, and shared-pool threads never serve it.
// Errors of door_bind/door_unbind in one process are in tests/conformance/door_bind_test.cpp.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <stropts.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;

// --- state of the server child ---------------------------------------------------------------

// One call of the creation function.
struct CreationCall {
  std::uint8_t with_info;  // called with a door_info_t (else with NULL)
  std::uint32_t attributes;
  std::uint64_t proc;
  std::uint64_t data;
  std::uint64_t uniquifier;
  std::int32_t tid;  // the thread that called it
};

std::mutex g_mu;
std::vector<CreationCall> g_calls;   // every call of recording_creation, in order
int g_private = -1;                  // the private door
thread_local bool t_bound = false;   // started by the test's code and bound to g_private
thread_local bool t_shared = false;  // started by the test's code, unbound

std::int32_t gettid_now() { return static_cast<std::int32_t>(::syscall(SYS_gettid)); }

// The creation function: records its calls and starts no thread; the test starts them.
void recording_creation(door_info_t* info) {
  CreationCall c{};
  c.with_info = info != nullptr;
  if (info != nullptr) {
    c.attributes = info->di_attributes;
    c.proc = info->di_proc;
    c.data = info->di_data;
    c.uniquifier = info->di_uniquifier;
  }
  c.tid = gettid_now();
  std::lock_guard lock(g_mu);
  g_calls.push_back(c);
}

std::size_t creation_calls() {
  std::lock_guard lock(g_mu);
  return g_calls.size();
}

CreationCall creation_call(std::size_t i) {
  std::lock_guard lock(g_mu);
  return i < g_calls.size() ? g_calls[i] : CreationCall{};
}

void* bound_thread_main(void*) {
  t_bound = true;
  if (door_bind(g_private) != 0) child_fail("door_bind");
  door_return(nullptr, 0, nullptr, 0);
  child_fail("door_return(NULL, 0, NULL, 0) returned");
}

void* shared_thread_main(void*) {
  t_shared = true;
  door_return(nullptr, 0, nullptr, 0);
  child_fail("door_return(NULL, 0, NULL, 0) returned");
}

void start_thread(void* (*main)(void*)) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  if (pthread_create(&t, &attr, main, nullptr) != 0) child_fail("pthread_create");
  pthread_attr_destroy(&attr);
}

// What served_proc replies: which thread served the call, what door_info(DOOR_QUERY) says there,
// and the creation function's latest call.
struct Served {
  std::uint8_t by_bound_thread;
  std::uint8_t by_shared_thread;
  std::int32_t tid;
  std::int32_t query_rc;
  std::int32_t query_err;
  std::uint32_t query_attributes;
  std::uint64_t query_uniquifier;
  std::uint64_t query_proc;
  std::uint64_t query_data;
  CreationCall last_creation;
};

void served_proc(void*, char*, std::size_t, door_desc_t*, uint_t) {
  Served s{};
  s.by_bound_thread = t_bound;
  s.by_shared_thread = t_shared;
  s.tid = gettid_now();
  door_info_t info{};
  s.query_rc = door_info(DOOR_QUERY, &info);
  s.query_err = s.query_rc == 0 ? 0 : errno;
  s.query_attributes = info.di_attributes;
  s.query_uniquifier = info.di_uniquifier;
  s.query_proc = info.di_proc;
  s.query_data = info.di_data;
  std::size_t n = creation_calls();
  if (n > 0) s.last_creation = creation_call(n - 1);
  reply_value(s);
}

constexpr std::uintptr_t kPrivateCookie = 0x9817A7E;
constexpr std::uintptr_t kSharedCookie = 0x5A4ED;

// What the server reports when ready.
struct PoolSetup {
  std::int32_t pid;
  door_info_t private_info;
  door_info_t shared_info;
  std::uint32_t calls_after_private_create;  // creation function calls once door_create returned
  std::uint32_t calls_after_shared_create;
  CreationCall at_private_create;  // the first call
  CreationCall at_shared_create;   // the second
};

void attach_at(int d, const std::string& path) {
  UniqueFd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!f.valid()) child_fail("open (creating the door's file)");
  if (fattach(d, path.c_str()) != 0) child_fail("fattach");
}

// A server child with the recording creation function, a private door (attached at "private")
// created first, then a shared one (at "shared"), and the threads the test asks for. It starts
// more threads on command: 'B' a thread bound to the private door, 'S' an unbound one.
struct PoolServer {
  PoolServer(int bound_threads, int shared_threads) {
    server = std::make_unique<ForkedServer>([&](ForkedServer::Child& child) {
      door_server_create(recording_creation);
      PoolSetup setup{};
      setup.pid = ::getpid();
      g_private = door_create(served_proc, reinterpret_cast<void*>(kPrivateCookie), DOOR_PRIVATE);
      if (g_private < 0) child_fail("door_create (private)");
      setup.calls_after_private_create = static_cast<std::uint32_t>(creation_calls());
      int shared = door_create(served_proc, reinterpret_cast<void*>(kSharedCookie), 0);
      if (shared < 0) child_fail("door_create (shared)");
      setup.calls_after_shared_create = static_cast<std::uint32_t>(creation_calls());
      setup.at_private_create = creation_call(0);
      setup.at_shared_create = creation_call(1);
      if (door_info(g_private, &setup.private_info) != 0) child_fail("door_info");
      if (door_info(shared, &setup.shared_info) != 0) child_fail("door_info");
      attach_at(g_private, private_path);
      attach_at(shared, shared_path);
      for (int i = 0; i < bound_threads; ++i) start_thread(bound_thread_main);
      for (int i = 0; i < shared_threads; ++i) start_thread(shared_thread_main);
      child.ready_with(setup);
      for (;;) {
        char c;
        ssize_t got = ::read(commands.read_end.get(), &c, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got != 1) ::_exit(0);  // the test is gone
        start_thread(c == 'B' ? bound_thread_main : shared_thread_main);
        if (!write_all(answers.write_end.get(), &c, 1)) child_fail("answer");
      }
    });
    auto ok = server->wait_ready();
    if (!ok) {
      ADD_FAILURE() << ok.message();
      server.reset();
      return;
    }
    setup = server->payload_as<PoolSetup>();
  }

  // Starts a thread in the server: 'B' bound to the private door, 'S' unbound.
  ::testing::AssertionResult start(char kind) {
    char answer = 0;
    if (!write_all(commands.write_end.get(), &kind, 1) ||
        !read_exact(answers.read_end.get(), &answer, 1, Deadline::standard()))
      return ::testing::AssertionFailure() << "the server did not start a thread";
    return ::testing::AssertionSuccess();
  }

  TempDir dir;
  std::string private_path = dir.file("private");
  std::string shared_path = dir.file("shared");
  Pipe commands = Pipe::make();
  Pipe answers = Pipe::make();
  std::unique_ptr<ForkedServer> server;
  PoolSetup setup{};
};

// Opens `path` and calls it; Served from the reply, or a failed call.
struct ServedCall {
  CallOutcome outcome;
  Served served{};
};

ServedCall open_and_call(const std::string& path) {
  ServedCall r;
  UniqueFd d = open_door(path);
  if (!d.valid()) {
    r.outcome.err = errno;
    return r;
  }
  r.outcome = call_door(d.get(), "");
  if (r.outcome.rc == 0 && !read_value(r.outcome.data, &r.served)) r.outcome.rc = -2;
  return r;
}

#define ASSERT_SERVED(call) \
  ASSERT_EQ((call).outcome.rc, 0) << (call).outcome.rc << ": " << std::strerror((call).outcome.err)

// --- the creation function at door_create ------------------------------------------------------

// door_server_create(3C): "In the case of private server pools associated with a door (see the
// DOOR_PRIVATE attribute in door_create()), information on which pool is depleted is passed to the
// create function in the form of a door_info_t structure. The di_proc and di_data members ... can
// be used as a door identifier". libc calls it for each private door before door_create returns.
TEST(DoorServerCreate, PrivateDoorCreate_FunctionGetsTheDoorsInfo) {
  PoolServer s(/*bound_threads=*/0, /*shared_threads=*/0);
  ASSERT_NE(s.server, nullptr);

  const CreationCall& sut = s.setup.at_private_create;

  ASSERT_EQ(s.setup.calls_after_private_create, 1u) << "not called before door_create returned";
  ASSERT_TRUE(sut.with_info) << "called with NULL for a private door";
  EXPECT_TRUE(sut.attributes & DOOR_PRIVATE) << std::hex << sut.attributes;
  EXPECT_FALSE(sut.attributes & DOOR_DEPLETION_CB) << std::hex << sut.attributes;
  EXPECT_EQ(sut.proc, static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&served_proc)));
  EXPECT_EQ(sut.data, kPrivateCookie);
  EXPECT_EQ(sut.uniquifier, value_of(s.setup.private_info.di_uniquifier));
}

// door_server_create(3C): the function is called with NULL for the shared pool at the first
// door_create of a door that is not private, even when a private door came first.
TEST(DoorServerCreate, FirstSharedDoorAfterPrivateOne_FunctionGetsNull) {
  PoolServer s(/*bound_threads=*/0, /*shared_threads=*/0);
  ASSERT_NE(s.server, nullptr);

  const CreationCall& sut = s.setup.at_shared_create;

  ASSERT_EQ(s.setup.calls_after_shared_create, 2u);
  EXPECT_FALSE(sut.with_info) << "called with a door_info_t for the shared pool";
}

// --- serving -----------------------------------------------------------------------------------

// door_bind(3C): "A door that has been created with DOOR_PRIVATE only uses server threads that
// have been associated with the door by door_bind()."
TEST(DoorBind, BoundThread_ServesThePrivateDoor) {
  PoolServer s(/*bound_threads=*/1, /*shared_threads=*/1);
  ASSERT_NE(s.server, nullptr);

  ServedCall sut = open_and_call(s.private_path);

  ASSERT_SERVED(sut);
  EXPECT_TRUE(sut.served.by_bound_thread);
  EXPECT_FALSE(sut.served.by_shared_thread);
}

// door_info(3C): with DOOR_QUERY, information "about the door bound to the calling thread": on a
// thread serving a private door, that door.
TEST(DoorInfo, DoorQueryOnBoundServerThread_DescribesItsDoor) {
  PoolServer s(/*bound_threads=*/1, /*shared_threads=*/0);
  ASSERT_NE(s.server, nullptr);

  ServedCall sut = open_and_call(s.private_path);

  ASSERT_SERVED(sut);
  ASSERT_EQ(sut.served.query_rc, 0) << std::strerror(sut.served.query_err);
  EXPECT_EQ(sut.served.query_uniquifier, value_of(s.setup.private_info.di_uniquifier));
  EXPECT_EQ(sut.served.query_proc, value_of(s.setup.private_info.di_proc));
  EXPECT_EQ(sut.served.query_data, kPrivateCookie);
  EXPECT_TRUE(sut.served.query_attributes & DOOR_PRIVATE)
      << std::hex << sut.served.query_attributes;
  EXPECT_TRUE(sut.served.query_attributes & DOOR_LOCAL) << std::hex << sut.served.query_attributes;
}

// door_bind(3C): "It is therefore necessary to bind at least one server thread to doors created
// with DOOR_PRIVATE." Idle threads of the shared pool do not serve it: the call waits until a
// thread is bound, and that thread serves it.
TEST(DoorCall, PrivateDoorWithoutBoundThread_WaitsUntilOneIsBound) {
  PoolServer s(/*bound_threads=*/0, /*shared_threads=*/2);
  ASSERT_NE(s.server, nullptr);
  Async<ServedCall> call([path = s.private_path] { return open_and_call(path); });

  // A negative check has no event to wait for: a short bounded wait gives a wrong server thread
  // the time to pick the call up.
  EXPECT_FALSE(call.wait(Deadline::in(150ms))) << "served without a bound thread";
  ASSERT_TRUE(s.start('B'));

  ASSERT_TRUE(call.wait(Deadline::standard())) << "the call hangs with a bound thread";
  const ServedCall& sut = call.result();
  ASSERT_SERVED(sut);
  EXPECT_TRUE(sut.served.by_bound_thread) << "served by a thread not bound to the door";
}

// door_bind(3C): "A door server pool is a private pool of server threads that is available to
// serve door invocations associated with the door did": a bound thread does not serve other
// doors; a call to a shared door waits for a shared thread.
TEST(DoorBind, BoundThread_DoesNotServeSharedDoor) {
  PoolServer s(/*bound_threads=*/1, /*shared_threads=*/0);
  ASSERT_NE(s.server, nullptr);
  Async<ServedCall> call([path = s.shared_path] { return open_and_call(path); });

  // A negative check has no event to wait for: a short bounded wait gives the bound thread the
  // time to pick the call up wrongly.
  EXPECT_FALSE(call.wait(Deadline::in(150ms))) << "served without a shared thread";
  ASSERT_TRUE(s.start('S'));

  ASSERT_TRUE(call.wait(Deadline::standard())) << "the call hangs with a shared thread";
  const ServedCall& sut = call.result();
  ASSERT_SERVED(sut);
  EXPECT_TRUE(sut.served.by_shared_thread);
  EXPECT_FALSE(sut.served.by_bound_thread) << "a thread bound to a private door served another";
}

// door_server_create(3C): "The procedure create_proc is called every time the available server
// thread pool is depleted", with the private pool's door_info_t, during depletion with
// DOOR_DEPLETION_CB; libc calls it on the thread that took the last idle place, just before the
// server procedure.
TEST(DoorServerCreate, PrivatePoolDepleted_FunctionGetsDepletionCallback) {
  PoolServer s(/*bound_threads=*/1, /*shared_threads=*/1);
  ASSERT_NE(s.server, nullptr);

  ServedCall call = open_and_call(s.private_path);

  ASSERT_SERVED(call);
  const CreationCall& sut = call.served.last_creation;
  ASSERT_TRUE(sut.with_info) << "the private pool's depletion was reported with NULL";
  EXPECT_TRUE(sut.attributes & DOOR_DEPLETION_CB) << std::hex << sut.attributes;
  EXPECT_TRUE(sut.attributes & DOOR_PRIVATE) << std::hex << sut.attributes;
  EXPECT_EQ(sut.uniquifier, value_of(s.setup.private_info.di_uniquifier));
  EXPECT_EQ(sut.proc, value_of(s.setup.private_info.di_proc));
  EXPECT_EQ(sut.data, kPrivateCookie);
  EXPECT_EQ(sut.tid, call.served.tid) << "not called on the thread that served the call";
}

// door_bind(3C) EINVAL (illumos): the door is not a private door of the calling process; a client
// cannot bind to a server's private door.
TEST(DoorBind, PrivateDoorOfAnotherProcess_FailsWithEINVAL) {
  PoolServer s(/*bound_threads=*/1, /*shared_threads=*/0);
  ASSERT_NE(s.server, nullptr);
  UniqueFd d = open_door(s.private_path);
  ASSERT_TRUE(d.valid()) << std::strerror(errno);

  Async<std::pair<int, int>> sut([fd = d.get()] {
    errno = 0;
    int rc = door_bind(fd);
    return std::pair<int, int>(rc, errno);
  });

  ASSERT_TRUE(sut.wait(Deadline::standard())) << "door_bind hangs";
  EXPECT_EQ(sut.result().first, -1);
  EXPECT_EQ(sut.result().second, EINVAL) << std::strerror(sut.result().second);
}

}  // namespace
}  // namespace doors::test
