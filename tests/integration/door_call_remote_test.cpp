// door_call(3C) from a client process to a server in a forked child: data of every size both
// ways, where results land, and what a client sees when the server dies.
#include <door.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
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

// A server child serving `proc` and a client descriptor for it.
struct Remote {
  explicit Remote(door_server_procedure_t* proc, ServeOptions options = {})
      : server(fork_door_server(path, proc, options)), client(open_door(path)) {}
  TempDir dir;
  std::string path = dir.file("door");
  std::unique_ptr<ForkedServer> server;
  UniqueFd client;
};

#define ASSERT_REMOTE_OK(remote)       \
  ASSERT_NE((remote).server, nullptr); \
  ASSERT_TRUE((remote).client.valid()) << std::strerror(errno)

// --- sizes ---------------------------------------------------------------------------------

// Below, at and above the inline limit (DOORS_INLINE_DATA_MAX, 64 KiB), then shared memory.
const std::size_t kSizes[] = {0,       1,        100,     64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1,
                              1 << 20, 16 << 20, 64 << 20};

std::string size_name(const ::testing::TestParamInfo<std::size_t>& info) {
  return "Size" + std::to_string(info.param);
}

// Sizes of 16 and 64 MiB run under sanitizers too, so these tests check results in place and
// avoid extra copies.

class DoorCall_RoundTripOfSize : public ::testing::TestWithParam<std::size_t> {};

// The server replies with a transformed copy of every argument byte, so one call checks the
// data both ways at this size.
TEST_P(DoorCall_RoundTripOfSize, TransformedCopyComesBack) {
  Remote remote(transform_proc);
  ASSERT_REMOTE_OK(remote);
  std::string args = pattern(GetParam(), GetParam() + 1);
  std::size_t got_size = 0;
  bool intact = false;

  int rc = call_door_in_place(remote.client.get(), args, [&](std::string_view results) {
    got_size = results.size();
    intact = is_transformed(results, args);
  });

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  ASSERT_EQ(got_size, args.size());
  EXPECT_TRUE(intact) << "the reply differs from the transformed copy";
}

INSTANTIATE_TEST_SUITE_P(DoorCall, DoorCall_RoundTripOfSize, ::testing::ValuesIn(kSizes),
                         size_name);

class DoorCall_ArgumentsOfSize : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DoorCall_ArgumentsOfSize, ServerSeesExactBytes) {
  Remote remote(digest_proc);
  ASSERT_REMOTE_OK(remote);
  std::string args = pattern(GetParam(), 7);

  CallOutcome call = call_door(remote.client.get(), args);

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  Digest sut{};
  ASSERT_TRUE(read_value(call.data, &sut));
  EXPECT_EQ(sut.size, args.size());
  EXPECT_EQ(sut.hash, digest(args.data(), args.size()));
}

INSTANTIATE_TEST_SUITE_P(DoorCall, DoorCall_ArgumentsOfSize, ::testing::ValuesIn(kSizes),
                         size_name);

class DoorCall_ResultsOfSize : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DoorCall_ResultsOfSize, ArriveIntact) {
  Remote remote(sized_reply_proc);
  ASSERT_REMOTE_OK(remote);
  std::uint64_t size = GetParam();
  std::size_t got_size = 0;
  bool intact = false;

  int rc = call_door_in_place(remote.client.get(), as_bytes(size), [&](std::string_view results) {
    got_size = results.size();
    intact = is_pattern(results, size);
  });

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  ASSERT_EQ(got_size, size);
  EXPECT_TRUE(intact) << "the results differ from what was sent";
}

INSTANTIATE_TEST_SUITE_P(DoorCall, DoorCall_ResultsOfSize, ::testing::ValuesIn(kSizes), size_name);

// --- what the procedure is handed ----------------------------------------------------------

// door_create(3C): argp is NULL when data_size is 0.
TEST(DoorCall, RemoteZeroDataSize_ProcedureSeesNullArgp) {
  Remote remote(seen_proc);
  ASSERT_REMOTE_OK(remote);

  CallOutcome call = call_door(remote.client.get(), "");

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  Seen sut{};
  ASSERT_TRUE(read_value(call.data, &sut));
  EXPECT_TRUE(sut.argp_null);
  EXPECT_EQ(sut.arg_size, 0u);
}

// door_create(3C): dp is NULL when n_desc is 0.
TEST(DoorCall, RemoteNoDescriptors_ProcedureSeesNullDp) {
  Remote remote(seen_proc);
  ASSERT_REMOTE_OK(remote);

  CallOutcome call = call_door(remote.client.get(), "data");

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  Seen sut{};
  ASSERT_TRUE(read_value(call.data, &sut));
  EXPECT_TRUE(sut.dp_null);
  EXPECT_EQ(sut.n_desc, 0u);
  EXPECT_FALSE(sut.argp_null);
  EXPECT_EQ(sut.arg_size, 4u);
}

// door_call(3C): params NULL means no arguments and no results.
TEST(DoorCall, RemoteNullParams_Succeeds) {
  Remote remote(
      [](void*, char*, std::size_t, door_desc_t*, uint_t) { door_return(nullptr, 0, nullptr, 0); });
  ASSERT_REMOTE_OK(remote);

  int rc = door_call(remote.client.get(), nullptr);

  EXPECT_EQ(rc, 0) << std::strerror(errno);
}

// --- where results land --------------------------------------------------------------------

door_arg_t args_for(std::uint64_t* size, char* rbuf, std::size_t rsize) {
  door_arg_t arg{};
  arg.data_ptr = reinterpret_cast<char*>(size);
  arg.data_size = sizeof *size;
  arg.rbuf = rbuf;
  arg.rsize = rsize;
  return arg;
}

// door_call(3C): results that fit rbuf are written there; rbuf and rsize are unchanged and
// data_ptr points at rbuf.
TEST(DoorCall, RemoteResultsFitRbuf_ComeBackInRbuf) {
  Remote remote(sized_reply_proc);
  ASSERT_REMOTE_OK(remote);
  std::vector<char> rbuf(8192);
  std::uint64_t size = 5000;
  door_arg_t sut = args_for(&size, rbuf.data(), rbuf.size());

  ASSERT_EQ(door_call(remote.client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.rbuf, rbuf.data());
  EXPECT_EQ(sut.rsize, rbuf.size());
  EXPECT_EQ(sut.data_ptr, rbuf.data());
  ASSERT_EQ(sut.data_size, size);
  EXPECT_TRUE(std::string(rbuf.data(), size) == pattern(size, size));
}

// door_call(3C): results larger than rbuf come back in a new mmap'd buffer that the caller
// munmaps; the caller's own buffer is not written.
TEST(DoorCall, RemoteResultsExceedRbuf_ComeBackInNewMapping) {
  Remote remote(sized_reply_proc);
  ASSERT_REMOTE_OK(remote);
  std::vector<char> rbuf(1024, '\xEE');
  std::uint64_t size = 200'000;
  door_arg_t sut = args_for(&size, rbuf.data(), rbuf.size());

  ASSERT_EQ(door_call(remote.client.get(), &sut), 0) << std::strerror(errno);

  ASSERT_NE(sut.rbuf, rbuf.data());
  ASSERT_NE(sut.rbuf, nullptr);
  EXPECT_GE(sut.rsize, size);
  EXPECT_EQ(sut.data_ptr, sut.rbuf);
  ASSERT_EQ(sut.data_size, size);
  EXPECT_TRUE(std::string(sut.data_ptr, size) == pattern(size, size));
  EXPECT_EQ(rbuf, std::vector<char>(1024, '\xEE')) << "the caller's buffer was written";
  EXPECT_EQ(::munmap(sut.rbuf, sut.rsize), 0) << std::strerror(errno);
}

TEST(DoorCall, RemoteNullRbuf_ResultsComeBackInNewMapping) {
  Remote remote(sized_reply_proc);
  ASSERT_REMOTE_OK(remote);
  std::uint64_t size = 3000;
  door_arg_t sut = args_for(&size, nullptr, 0);

  ASSERT_EQ(door_call(remote.client.get(), &sut), 0) << std::strerror(errno);

  ASSERT_NE(sut.rbuf, nullptr);
  EXPECT_GE(sut.rsize, size);
  EXPECT_EQ(sut.data_ptr, sut.rbuf);
  ASSERT_EQ(sut.data_size, size);
  EXPECT_TRUE(std::string(sut.data_ptr, size) == pattern(size, size));
  EXPECT_EQ(::munmap(sut.rbuf, sut.rsize), 0) << std::strerror(errno);
}

// --- the server dies -------------------------------------------------------------------------

// Set in the server child before door_create: the procedure signals it on entry, then blocks
// until the process dies.
Gate* g_entered = nullptr;

void block_forever_proc(void*, char*, std::size_t, door_desc_t*, uint_t) {
  if (g_entered != nullptr) g_entered->signal();
  child_wait_forever();
}

// Serves block_forever_proc for the argument "block" and transform_proc otherwise.
void block_or_transform_proc(void* c, char* argp, std::size_t n, door_desc_t* dp, uint_t nd) {
  if (std::string_view(argp, argp == nullptr ? 0 : n) == "block")
    block_forever_proc(c, argp, n, dp, nd);
  transform_proc(c, argp, n, dp, nd);
}

struct DyingServer {
  Gate entered;
  Remote remote{block_or_transform_proc, {.setup = [this] { g_entered = &entered; }}};
};

// door_call(3C) EINTR: the server process exited during the call (illumos: the kernel's exit
// path wakes the caller with EINTR).
TEST(DoorCall, ServerKilledDuringCall_FailsWithEINTR) {
  DyingServer dying;
  ASSERT_REMOTE_OK(dying.remote);
  Async<CallOutcome> call([d = dying.remote.client.get()] { return call_door(d, "block"); });
  ASSERT_TRUE(dying.entered.wait(Deadline::standard()));

  dying.remote.server->kill_and_reap(SIGKILL);

  ASSERT_TRUE(call.wait(Deadline::standard())) << "door_call hangs after the server died";
  EXPECT_EQ(call.result().rc, -1);
  EXPECT_EQ(call.result().err, EINTR) << std::strerror(call.result().err);
}

// illumos: after the server exits, its doors are revoked: door_call(3C) EBADF. The client's
// thread already has a connection to the dead server, so this is also where a careless write
// would raise SIGPIPE (which this process does not ignore: it would die).
TEST(DoorCall, AfterServerKilled_LaterCallsFailWithEBADF) {
  DyingServer dying;
  ASSERT_REMOTE_OK(dying.remote);
  int d = dying.remote.client.get();
  ASSERT_EQ(call_door(d, "warm up").rc, 0);
  Async<CallOutcome> blocked([d] { return call_door(d, "block"); });
  ASSERT_TRUE(dying.entered.wait(Deadline::standard()));
  dying.remote.server->kill_and_reap(SIGKILL);
  ASSERT_TRUE(blocked.wait(Deadline::standard()));

  CallOutcome small = call_door(d, "small");
  CallOutcome large = call_door(d, pattern(1 << 20, 1));

  EXPECT_EQ(small.rc, -1);
  EXPECT_EQ(small.err, EBADF) << std::strerror(small.err);
  EXPECT_EQ(large.rc, -1);
  EXPECT_EQ(large.err, EBADF) << std::strerror(large.err);
}

// The library must not make SIGPIPE harmless by changing the application's disposition.
TEST(DoorCall, AfterServerKilled_SigpipeDispositionIsUntouched) {
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &before), 0);
  ASSERT_EQ(before.sa_handler, SIG_DFL) << "the test runner must not ignore SIGPIPE";
  DyingServer dying;
  ASSERT_REMOTE_OK(dying.remote);
  int d = dying.remote.client.get();
  ASSERT_EQ(call_door(d, "warm up").rc, 0);
  dying.remote.server->kill_and_reap(SIGKILL);

  CallOutcome call = call_door(d, "after");

  EXPECT_EQ(call.rc, -1);
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, SIG_DFL);
}

TEST(DoorCall, AfterServerExited_CallFailsWithEBADF) {
  Remote remote(transform_proc);
  ASSERT_REMOTE_OK(remote);
  ASSERT_EQ(call_door(remote.client.get(), "warm up").rc, 0);
  ASSERT_TRUE(remote.server->stop().reaped);

  CallOutcome sut = call_door(remote.client.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// A path whose server is gone is a plain file again: a new open() is not a door.
TEST(DoorCall, PathOfDeadServer_NewOpenCallFailsWithEBADF) {
  Remote remote(transform_proc);
  ASSERT_REMOTE_OK(remote);
  ASSERT_TRUE(remote.server->kill_and_reap(SIGKILL).reaped);
  UniqueFd client = open_door(remote.path);
  ASSERT_TRUE(client.valid());

  CallOutcome sut = call_door(client.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// door_call(3C) EBADF on a revoked door: the server revoked it.
TEST(DoorCall, AfterServerRevoked_CallFailsWithEBADF) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(call_door(client.get(), "warm up").rc, 0);
  ASSERT_EQ(server.command('R'), 0);

  CallOutcome sut = call_door(client.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// door_revoke(3C) EPERM: only the process that created the door may revoke it.
TEST(DoorRevoke, FromClientProcess_FailsWithEPERM) {
  Remote remote(transform_proc);
  ASSERT_REMOTE_OK(remote);
  errno = 0;

  int rc = door_revoke(remote.client.get());
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPERM) << std::strerror(err);
  EXPECT_EQ(call_door(remote.client.get(), "still served").rc, 0);
}

// --- a client that forks -------------------------------------------------------------------

// fork(2) copies door descriptors; each process then has its own conversation with the server
// (DESIGN.md: never a shared socket), so replies never cross even when both call at once.
TEST(DoorCall, ClientForksAndBothCall_RepliesNeverCross) {
  Remote remote(transform_proc);
  ASSERT_REMOTE_OK(remote);
  int d = remote.client.get();
  ASSERT_EQ(call_door(d, "before fork").rc, 0);  // this thread has a connection now
  constexpr int kCalls = 300;
  Gate start;
  ForkedServer child([&](ForkedServer::Child& c) {
    c.ready();
    if (!start.wait(Deadline::standard())) ::_exit(2);
    for (int i = 0; i < kCalls; ++i) {
      std::string args = "child " + std::to_string(i);
      CallOutcome out = call_door(d, args);
      if (out.rc != 0 || out.data != transformed(args)) ::_exit(1);
    }
    ::_exit(0);
  });
  ASSERT_TRUE(child.wait_ready());

  start.signal();
  int wrong = 0;
  for (int i = 0; i < kCalls; ++i) {
    std::string args = "parent " + std::to_string(i);
    CallOutcome out = call_door(d, args);
    if (out.rc != 0 || out.data != transformed(args)) ++wrong;
  }

  EXPECT_EQ(wrong, 0) << "calls in the parent that failed or got a wrong reply";
  ChildStatus status = child.wait_exit();
  EXPECT_TRUE(status.exited_with(0))
      << "the child (1: a call failed or got a wrong reply) " << status.describe();
}

}  // namespace
}  // namespace doors::test
