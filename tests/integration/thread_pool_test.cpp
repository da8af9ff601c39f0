// Server threads: the pool grows with concurrent calls, threads join it with
// door_return(NULL, 0, NULL, 0), door_server_create's function supplies them (called with NULL at
// the first shared door_create and whenever the shared pool runs dry; a function that makes none
// leaves calls waiting), many clients at once get the right answers, and a server killed under
// load releases every caller at once. Private pools are in private_pool_test.cpp.
#include <door.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "gate.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// --- state of the server child (set before its door exists) ---------------------------------

std::mutex g_mu;
std::condition_variable g_cv;
std::uint32_t g_arrived = 0;
thread_local bool t_made_by_test = false;  // this server thread was started by the test's code
std::atomic<int> g_creation_calls{0};

// What barrier_proc replies.
struct BarrierReply {
  std::uint8_t all_arrived;   // every one of the expected callers was inside at once
  std::uint8_t made_by_test;  // served by a thread the test's own code started
};

// Arguments: a std::uint32_t n. Waits (bounded) until n invocations are inside at once.
void barrier_proc(void*, char* argp, std::size_t size, door_desc_t*, uint_t) {
  std::uint32_t n = 0;
  if (argp != nullptr && size == sizeof n) std::memcpy(&n, argp, sizeof n);
  bool all = false;
  {
    std::unique_lock lock(g_mu);
    ++g_arrived;
    g_cv.notify_all();
    all = g_cv.wait_for(lock, kPatience, [n] { return g_arrived >= n; });
  }
  reply_value(BarrierReply{all, t_made_by_test});
}

// Calls barrier_proc with `n` from `n` client threads at once; returns the replies (or a test
// failure for calls that failed or hung).
std::vector<BarrierReply> call_barrier_concurrently(int d, std::uint32_t n) {
  std::vector<std::unique_ptr<Async<CallOutcome>>> calls;
  for (std::uint32_t i = 0; i < n; ++i)
    calls.push_back(
        std::make_unique<Async<CallOutcome>>([d, n] { return call_door(d, as_bytes(n)); }));
  std::vector<BarrierReply> replies;
  Deadline deadline = Deadline::in(kPatience + 5s);
  for (auto& call : calls) {
    if (!call->wait(deadline)) {
      ADD_FAILURE() << "a call hangs (deadlock: the pool did not grow?)";
      continue;
    }
    const CallOutcome& out = call->result();
    BarrierReply reply{};
    if (out.rc != 0 || !read_value(out.data, &reply)) {
      ADD_FAILURE() << "a call failed: " << std::strerror(out.err);
      continue;
    }
    replies.push_back(reply);
  }
  return replies;
}

// door_server_create(3C): "Thread growth: one thread per concurrent invocation, with no
// predefined limit"; calls never wait behind each other while threads can be made.
TEST(ServerPool, SixteenCallersBlockedTogether_AllComplete) {
  TempDir dir;
  auto server = fork_door_server(dir.file("door"), barrier_proc);
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  ASSERT_TRUE(client.valid());

  std::vector<BarrierReply> sut = call_barrier_concurrently(client.get(), 16);

  ASSERT_EQ(sut.size(), 16u);
  for (const BarrierReply& r : sut) EXPECT_TRUE(r.all_arrived) << "a caller waited alone";
}

// A creation function that starts no threads: only threads the test starts serve.
void no_threads(door_info_t*) {}

// door_return(3C): a thread that was never a server thread joins the pool by calling
// door_return(NULL, 0, NULL, 0) (how door_server_create(3C) threads start serving).
TEST(DoorReturn, FreshThreadWithNullArguments_JoinsPoolAndServes) {
  TempDir dir;
  std::string path = dir.file("door");
  ForkedServer server([&](ForkedServer::Child& child) {
    door_server_create(no_threads);
    child_serve_at(path, barrier_proc);
    std::thread([] {
      t_made_by_test = true;
      door_return(nullptr, 0, nullptr, 0);
      child_fail("door_return(NULL, 0, NULL, 0) returned");
    }).detach();
    child.ready();
    child_wait_forever();
  });
  ASSERT_TRUE(server.wait_ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  std::vector<BarrierReply> sut = call_barrier_concurrently(client.get(), 1);

  ASSERT_EQ(sut.size(), 1u);
  EXPECT_TRUE(sut[0].made_by_test) << "the call was served by a thread nobody asked for";
}

// door_server_create(3C): the creation function makes the pool's threads; each one calls
// door_return(NULL, 0, NULL, 0) to start serving.
void spawning_creation_function(door_info_t*) {
  g_creation_calls.fetch_add(1);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_create(
      &t, &attr,
      [](void*) -> void* {
        t_made_by_test = true;
        door_return(nullptr, 0, nullptr, 0);
        child_fail("door_return(NULL, 0, NULL, 0) returned");
      },
      nullptr);
  pthread_attr_destroy(&attr);
}

TEST(DoorServerCreate, CreationFunctionThreads_ServeConcurrentCalls) {
  TempDir dir;
  auto server = fork_door_server(dir.file("door"), barrier_proc,
                                 {.setup = [] { door_server_create(spawning_creation_function); }});
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  ASSERT_TRUE(client.valid());

  std::vector<BarrierReply> sut = call_barrier_concurrently(client.get(), 4);

  ASSERT_EQ(sut.size(), 4u);
  for (const BarrierReply& r : sut) {
    EXPECT_TRUE(r.all_arrived) << "the pool did not grow through the creation function";
    EXPECT_TRUE(r.made_by_test) << "a call was served by a thread the creation function did "
                                   "not make";
  }
}

// door_server_create(3C) returns the previous creation function.
TEST(DoorServerCreate, SecondCall_ReturnsPreviousFunction) {
  ChildStatus sut = run_in_child([] {
    door_server_create(no_threads);
    door_server_func_t* previous = door_server_create(spawning_creation_function);
    return previous == no_threads ? 0 : 1;
  });

  EXPECT_TRUE(sut.exited_with(0)) << sut.describe();
}

// --- when the creation function is called --------------------------------------------------------

std::atomic<int> g_null_calls{0};  // creation function calls with NULL

// Counts its calls (and those with NULL), starts no thread.
void counting_no_threads(door_info_t* info) {
  g_creation_calls.fetch_add(1);
  if (info == nullptr) g_null_calls.fetch_add(1);
}

// What a server reports about its creation function around two door_create calls.
struct CreationCounts {
  std::int32_t before_create;        // calls before the first door_create
  std::int32_t after_first_create;   // ... once it returned
  std::int32_t null_after_first;     // ... of which with NULL
  std::int32_t after_second_create;  // once a second door_create returned
};

CreationCounts counts_around_two_creates() {
  CreationCounts counts{};
  ForkedServer server([&](ForkedServer::Child& child) {
    door_server_create(counting_no_threads);
    CreationCounts c{};
    c.before_create = g_creation_calls.load();
    if (door_create(echo_proc, nullptr, 0) < 0) child_fail("door_create");
    c.after_first_create = g_creation_calls.load();
    c.null_after_first = g_null_calls.load();
    if (door_create(echo_proc, nullptr, DOOR_UNREF) < 0) child_fail("door_create");
    c.after_second_create = g_creation_calls.load();
    child.ready_with(c);
  });
  auto ready = server.wait_ready();
  if (!ready) {
    ADD_FAILURE() << ready.message();
    return counts;
  }
  return server.payload_as<CreationCounts>();
}

// door_server_create(3C): the creation function is "initially called by the system during a
// door_create() operation" (door_bind(3C)): with NULL for the shared pool, at the process's first
// door_create of a door that is not private, before door_create returns.
TEST(DoorServerCreate, FirstSharedDoorCreate_CallsFunctionWithNull) {
  CreationCounts sut = counts_around_two_creates();

  EXPECT_EQ(sut.before_create, 0);
  EXPECT_EQ(sut.after_first_create, 1);
  EXPECT_EQ(sut.null_after_first, 1);
}

// Only the first: a second shared-pool door_create finds the pool started.
TEST(DoorServerCreate, SecondSharedDoorCreate_DoesNotCallFunctionAgain) {
  CreationCounts sut = counts_around_two_creates();

  ASSERT_EQ(sut.after_first_create, 1);
  EXPECT_EQ(sut.after_second_create, 1);
}

// What counting_barrier_proc replies.
struct CountedBarrierReply {
  std::uint8_t all_arrived;
  std::uint8_t made_by_test;
  std::int32_t creation_calls;  // creation function calls so far
  std::int32_t null_calls;      // ... of which with NULL
};

// barrier_proc, replying the creation function's counts once every caller is inside.
void counting_barrier_proc(void*, char* argp, std::size_t size, door_desc_t*, uint_t) {
  std::uint32_t n = 0;
  if (argp != nullptr && size == sizeof n) std::memcpy(&n, argp, sizeof n);
  bool all = false;
  {
    std::unique_lock lock(g_mu);
    ++g_arrived;
    g_cv.notify_all();
    all = g_cv.wait_for(lock, kPatience, [n] { return g_arrived >= n; });
  }
  reply_value(
      CountedBarrierReply{all, t_made_by_test, g_creation_calls.load(), g_null_calls.load()});
}

// Counts its calls (and those with NULL) and starts one server thread per call.
void counting_spawning_creation_function(door_info_t* info) {
  if (info == nullptr) g_null_calls.fetch_add(1);
  spawning_creation_function(info);  // counts in g_creation_calls
}

// door_server_create(3C): "The procedure create_proc is called every time the available server
// thread pool is depleted"; for the shared pool with NULL. N calls blocked together need N
// threads, and every one of them came from a call of the function.
TEST(DoorServerCreate, EightConcurrentBlockedCalls_FunctionCalledAtLeastEightTimes) {
  constexpr std::uint32_t kCalls = 8;
  TempDir dir;
  auto server =
      fork_door_server(dir.file("door"), counting_barrier_proc,
                       {.setup = [] { door_server_create(counting_spawning_creation_function); }});
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  ASSERT_TRUE(client.valid());
  std::vector<std::unique_ptr<Async<CallOutcome>>> calls;

  for (std::uint32_t i = 0; i < kCalls; ++i)
    calls.push_back(std::make_unique<Async<CallOutcome>>(
        [d = client.get(), n = kCalls] { return call_door(d, as_bytes(n)); }));

  Deadline deadline = Deadline::in(kPatience + 5s);
  std::int32_t most_calls = 0;
  for (auto& call : calls) {
    ASSERT_TRUE(call->wait(deadline)) << "a call hangs (the pool did not grow?)";
    ASSERT_EQ(call->result().rc, 0) << std::strerror(call->result().err);
    CountedBarrierReply sut{};
    ASSERT_TRUE(read_value(call->result().data, &sut));
    EXPECT_TRUE(sut.all_arrived) << "a caller waited alone";
    EXPECT_TRUE(sut.made_by_test) << "served by a thread the creation function did not make";
    EXPECT_EQ(sut.null_calls, sut.creation_calls) << "the shared pool's function got a door_info";
    most_calls = std::max(most_calls, sut.creation_calls);
  }
  EXPECT_GE(most_calls, static_cast<std::int32_t>(kCalls));
}

// --- a creation function that makes no threads -----------------------------------------------

Gate* g_entered = nullptr;  // signalled when a "hold" call is inside the procedure
Gate* g_release = nullptr;  // ends the "hold" call
std::atomic<bool> g_thread_added{false};

// "hold": waits (bounded) for g_release; anything else: replies whether the test has added a
// thread yet (std::uint8_t).
void hold_or_report_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  if (std::string_view(argp, argp == nullptr ? 0 : n) == "hold") {
    g_entered->signal();
    g_release->wait(Deadline::standard());
    reply("released");
    return;
  }
  reply_value(static_cast<std::uint8_t>(g_thread_added.load()));
}

void* test_thread_main(void*) {
  t_made_by_test = true;
  door_return(nullptr, 0, nullptr, 0);
  child_fail("door_return(NULL, 0, NULL, 0) returned");
}

void start_test_thread() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  if (pthread_create(&t, &attr, test_thread_main, nullptr) != 0) child_fail("pthread_create");
  pthread_attr_destroy(&attr);
}

// door_server_create(3C): "If there are no available server threads during an incoming door
// invocation, the associated door_call() blocks until a server thread becomes available." The
// server's function makes no threads; its only thread is held in a call, so a second call waits
// until the test has the server add a thread with door_return(NULL, 0, NULL, 0).
TEST(DoorServerCreate, FunctionMakesNoThreads_CallWaitsUntilAThreadIsAdded) {
  TempDir dir;
  std::string path = dir.file("door");
  Gate entered, release;
  Pipe commands = Pipe::make();
  Pipe answers = Pipe::make();
  ForkedServer server([&](ForkedServer::Child& child) {
    g_entered = &entered;
    g_release = &release;
    door_server_create(counting_no_threads);
    child_serve_at(path, hold_or_report_proc);
    start_test_thread();  // the only server thread
    child.ready();
    char c;
    while (::read(commands.read_end.get(), &c, 1) == 1) {
      g_thread_added.store(true);
      start_test_thread();
      if (!write_all(answers.write_end.get(), &c, 1)) child_fail("answer");
    }
    ::_exit(0);
  });
  ASSERT_TRUE(server.wait_ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  door_info_t info{};
  ASSERT_EQ(door_info(client.get(), &info), 0) << std::strerror(errno);  // served by that thread
  Async<CallOutcome> held([d = client.get()] { return call_door(d, "hold"); });
  ASSERT_TRUE(entered.wait(Deadline::standard())) << "the held call never started";
  Async<CallOutcome> waiting([d = client.get()] { return call_door(d, "probe"); });

  // A negative check has no event to wait for: a short bounded wait gives a thread that should
  // not exist the time to serve the call.
  bool served_early = waiting.wait(Deadline::in(150ms));
  char c = 'T';
  ASSERT_TRUE(write_all(commands.write_end.get(), &c, 1));
  ASSERT_TRUE(read_exact(answers.read_end.get(), &c, 1, Deadline::standard()));

  EXPECT_FALSE(served_early) << "served although the pool had no idle thread";
  ASSERT_TRUE(waiting.wait(Deadline::standard())) << "the call hangs after a thread was added";
  ASSERT_EQ(waiting.result().rc, 0) << std::strerror(waiting.result().err);
  std::uint8_t added_before = 0;
  ASSERT_TRUE(read_value(waiting.result().data, &added_before));
  EXPECT_TRUE(added_before) << "served before the test added a thread";
  release.signal();
  ASSERT_TRUE(held.wait(Deadline::standard()));
  EXPECT_EQ(held.result().rc, 0) << std::strerror(held.result().err);
}

// --- many clients ----------------------------------------------------------------------------

std::uint64_t answer_for(std::uint64_t x) { return x * 0x9E3779B97F4A7C15ull + 1; }

struct Answer {
  std::uint64_t x;
  std::uint64_t fx;
};

void answer_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  std::uint64_t x = 0;
  if (argp != nullptr && n == sizeof x) std::memcpy(&x, argp, sizeof x);
  reply_value(Answer{x, answer_for(x)});
}

// Every call carries its thread and sequence number; every reply must be the answer to that
// call, not to another thread's.
TEST(DoorCall, EightThreadsThousandCallsEach_AllRepliesCorrect) {
  TempDir dir;
  auto server = fork_door_server(dir.file("door"), answer_proc);
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  ASSERT_TRUE(client.valid());
  constexpr int kThreads = 8, kCalls = 1000;
  std::vector<std::unique_ptr<Async<int>>> threads;

  for (std::uint64_t t = 0; t < kThreads; ++t) {
    threads.push_back(std::make_unique<Async<int>>([d = client.get(), t] {
      int wrong = 0;
      for (std::uint64_t seq = 0; seq < kCalls; ++seq) {
        std::uint64_t x = t << 32 | seq;
        CallOutcome out = call_door(d, as_bytes(x));
        Answer a{};
        if (out.rc != 0 || !read_value(out.data, &a) || a.x != x || a.fx != answer_for(x)) ++wrong;
      }
      return wrong;
    }));
  }

  Deadline deadline = Deadline::in(25s);
  for (auto& t : threads) {
    ASSERT_TRUE(t->wait(deadline)) << "a client thread hangs";
    EXPECT_EQ(t->result(), 0) << "calls that failed or got another call's reply";
  }
}

// --- the server dies under load ---------------------------------------------------------------

Gate* g_arrivals = nullptr;

void block_forever_proc(void*, char*, std::size_t, door_desc_t*, uint_t) {
  g_arrivals->signal();
  child_wait_forever();
}

struct Ending {
  CallOutcome outcome;
  Clock::time_point when;
};

// illumos: when the server process dies, every caller inside a call is woken with EINTR (later
// ones get EBADF) at once; nothing waits for a timeout.
TEST(DoorCall, ServerKilledDuringHundredCalls_AllEndWithinOneSecond) {
  constexpr int kCallers = 100;
  TempDir dir;
  Gate arrivals;
  auto server = fork_door_server(dir.file("door"), block_forever_proc,
                                 {.setup = [&arrivals] { g_arrivals = &arrivals; }});
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  ASSERT_TRUE(client.valid());
  std::vector<std::unique_ptr<Async<Ending>>> calls;
  for (int i = 0; i < kCallers; ++i)
    calls.push_back(std::make_unique<Async<Ending>>([d = client.get()] {
      CallOutcome out = call_door(d, "block");
      return Ending{out, Clock::now()};
    }));
  ASSERT_TRUE(arrivals.wait(Deadline::in(20s), kCallers))
      << "not every call reached the server procedure";

  Clock::time_point killed = Clock::now();
  ::kill(server->pid(), SIGKILL);

  Clock::duration slowest{};
  int unfinished = 0;
  for (auto& call : calls) {
    if (!call->wait(Deadline(killed + kPatience))) {
      ++unfinished;
      continue;
    }
    const Ending& e = call->result();
    slowest = std::max(slowest, e.when - killed);
    EXPECT_EQ(e.outcome.rc, -1);
    EXPECT_TRUE(e.outcome.err == EINTR || e.outcome.err == EBADF) << std::strerror(e.outcome.err);
  }
  server->kill_and_reap(SIGKILL);
  EXPECT_EQ(unfinished, 0) << "calls still blocked "
                           << std::chrono::duration_cast<std::chrono::seconds>(kPatience).count()
                           << " s after the server died";
  EXPECT_LT(slowest, 1s) << "the slowest call ended "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
                         << " ms after the kill";
}

}  // namespace
}  // namespace doors::test
