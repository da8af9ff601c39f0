// The Linux-only extensions of <doors/ext.h> that the typed runtime stands on: doors_call()
// (deadlines, results left in place), doors_call_buffer() and doors_reply_buffer() (arguments
// and results built where they are sent from).
#include <door.h>
#include <doors/ext.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stropts.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "async.h"
#include "door_support.h"
#include "fd.h"
#include "local_door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % DOORS_DATA_ALIGN == 0; }

doors_call_options_t in_place() { return {0, DOORS_RESULTS_IN_PLACE}; }

// Replies with the digest of the arguments, read where they landed.
Handler digest_handler() {
  return [](char* argp, std::size_t n, door_desc_t*, uint_t) {
    std::uint64_t d[2] = {n, digest(argp, n)};
    reply(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
  };
}

struct DigestReply {
  std::uint64_t size;
  std::uint64_t hash;
};

DigestReply call_for_digest(int fd, const char* data, std::size_t n) {
  alignas(8) char rbuf[64];
  door_arg_t a{};
  a.data_ptr = const_cast<char*>(data);
  a.data_size = n;
  a.rbuf = rbuf;
  a.rsize = sizeof rbuf;
  DigestReply out{~0ull, 0};
  if (doors_call(fd, &a, nullptr) != 0 || a.data_size != sizeof out) return out;
  std::memcpy(&out, a.data_ptr, sizeof out);
  return out;
}

// --- doors_call -----------------------------------------------------------------------------

TEST(DoorsCall, WithoutOptions_IsDoorCall) {
  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);
  char rbuf[64];
  door_arg_t a{};
  a.data_ptr = const_cast<char*>("hello");
  a.data_size = 5;
  a.rbuf = rbuf;
  a.rsize = sizeof rbuf;

  ASSERT_EQ(doors_call(door.fd(), &a, nullptr), 0) << std::strerror(errno);

  EXPECT_EQ(a.data_ptr, rbuf);
  EXPECT_EQ(std::string_view(a.data_ptr, a.data_size), "hello");
}

// Named ...ServerThreadIsCancelled: the sanitizer stages of .ci/run skip it (their runtimes do not
// survive a thread cancelled inside an intercepted call).
TEST(DoorsCall, DeadlinePasses_Etimedout_ServerThreadIsCancelled) {
  HeldProcedure held;
  LocalDoor door([&](char*, std::size_t, door_desc_t*, uint_t) {
    held.hold_cancellable();
    reply("too late");
  });
  ASSERT_GE(door.fd(), 0);
  door_arg_t a{};
  doors_call_options_t opts{50'000'000, 0};  // 50 ms

  int rc = doors_call(door.fd(), &a, &opts);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, ETIMEDOUT) << std::strerror(err);
  EXPECT_TRUE(held.wait_cancelled()) << "the server thread was not cancelled";
}

TEST(DoorsCall, DeadlinePassesOnNoCancelDoor_ProcedureRunsToItsEnd) {
  HeldProcedure held;
  LocalDoor door(
      [&](char*, std::size_t n, door_desc_t*, uint_t) {
        if (n == 0) held.hold();  // the first call; the second one proves the door still serves
        reply("finished");
      },
      DOOR_NO_CANCEL);
  ASSERT_GE(door.fd(), 0);
  door_arg_t a{};
  doors_call_options_t opts{20'000'000, 0};

  ASSERT_EQ(doors_call(door.fd(), &a, &opts), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  ASSERT_TRUE(held.wait_entered());
  held.release();

  EXPECT_TRUE(held.wait_left()) << "the procedure did not run to its end";
  char rbuf[16];
  a = {};
  a.data_ptr = const_cast<char*>("x");
  a.data_size = 1;
  a.rbuf = rbuf;
  a.rsize = sizeof rbuf;
  EXPECT_EQ(doors_call(door.fd(), &a, nullptr), 0) << "the door no longer serves";
}

TEST(DoorsCall, ReplyBeforeTheDeadline_Succeeds) {
  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);
  char rbuf[16];
  door_arg_t a{};
  a.data_ptr = const_cast<char*>("abc");
  a.data_size = 3;
  a.rbuf = rbuf;
  a.rsize = sizeof rbuf;
  doors_call_options_t opts{60'000'000'000, 0};

  ASSERT_EQ(doors_call(door.fd(), &a, &opts), 0) << std::strerror(errno);
  EXPECT_EQ(std::string_view(a.data_ptr, a.data_size), "abc");
}

class DoorsCall_InPlaceOfSize : public ::testing::TestWithParam<std::size_t> {};

// The results are where they arrived: aligned, intact, and rbuf is left alone.
TEST_P(DoorsCall_InPlaceOfSize, ResultsLeftWhereTheyArrived) {
  LocalDoor door([](char* argp, std::size_t n, door_desc_t*, uint_t) {
    std::uint64_t size;
    std::memcpy(&size, argp, std::min(n, sizeof size));
    reply_pattern(size, size);
  });
  ASSERT_GE(door.fd(), 0);
  std::uint64_t size = GetParam();
  char rbuf[8] = "rbuf";
  door_arg_t a{};
  a.data_ptr = reinterpret_cast<char*>(&size);
  a.data_size = sizeof size;
  a.rbuf = rbuf;
  a.rsize = sizeof rbuf;
  doors_call_options_t opts = in_place();

  ASSERT_EQ(doors_call(door.fd(), &a, &opts), 0) << std::strerror(errno);

  EXPECT_EQ(a.rbuf, rbuf);
  EXPECT_EQ(a.rsize, sizeof rbuf);
  EXPECT_STREQ(rbuf, "rbuf");
  ASSERT_EQ(a.data_size, size);
  EXPECT_NE(a.data_ptr, rbuf);
  EXPECT_TRUE(aligned(a.data_ptr));
  EXPECT_TRUE(is_pattern(std::string_view(a.data_ptr, a.data_size), size));
}

INSTANTIATE_TEST_SUITE_P(DoorsCall, DoorsCall_InPlaceOfSize,
                         ::testing::Values(8, 100, 64 * 1024, 64 * 1024 + 1, 1 << 20),
                         [](const auto& info) { return "Size" + std::to_string(info.param); });

TEST(DoorsCall, InPlace_DescriptorsAreTheCallers) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) reply("");
    (void)!write(p[1], "via pipe", 8);
    close(p[1]);
    door_desc_t d = descriptor(p[0], DOOR_RELEASE);
    reply("fd", &d, 1);
  });
  ASSERT_GE(door.fd(), 0);
  door_arg_t a{};
  doors_call_options_t opts = in_place();

  ASSERT_EQ(doors_call(door.fd(), &a, &opts), 0) << std::strerror(errno);

  ASSERT_EQ(a.desc_num, 1u);
  ASSERT_NE(a.desc_ptr, nullptr);
  UniqueFd fd(a.desc_ptr[0].d_data.d_desc.d_descriptor);
  EXPECT_EQ(std::string_view(a.data_ptr, a.data_size), "fd");
  char buf[16] = {};
  EXPECT_EQ(read(fd.get(), buf, sizeof buf), 8);
  EXPECT_STREQ(buf, "via pipe");
}

// --- doors_call_buffer --------------------------------------------------------------------

class DoorsCallBuffer_OfSize : public ::testing::TestWithParam<std::size_t> {};

// Arguments written into the block, anywhere inside it, reach the procedure intact.
TEST_P(DoorsCallBuffer_OfSize, ArgumentsBuiltInTheBlockArrive) {
  LocalDoor door(digest_handler());
  ASSERT_GE(door.fd(), 0);
  std::size_t n = GetParam();
  char* block = static_cast<char*>(doors_call_buffer(door.fd(), n + 64));
  ASSERT_NE(block, nullptr) << std::strerror(errno);
  fill_pattern(block + 64, n, 7);

  DigestReply got = call_for_digest(door.fd(), block + 64, n);

  EXPECT_EQ(got.size, n);
  EXPECT_EQ(got.hash, digest(pattern(n, 7).data(), n));
}

INSTANTIATE_TEST_SUITE_P(DoorsCallBuffer, DoorsCallBuffer_OfSize,
                         ::testing::Values(1, 1000, 64 * 1024 + 1, 1 << 20, 16 << 20),
                         [](const auto& info) { return "Size" + std::to_string(info.param); });

// A new block replaces the last one; calls whose data is elsewhere still copy it.
TEST(DoorsCallBuffer, DataOutsideTheBlock_IsCopiedAsByDoorCall) {
  LocalDoor door(digest_handler());
  ASSERT_GE(door.fd(), 0);
  ASSERT_NE(doors_call_buffer(door.fd(), 1 << 20), nullptr);
  std::string big = pattern(2 << 20, 3);

  DigestReply got = call_for_digest(door.fd(), big.data(), big.size());

  EXPECT_EQ(got.size, big.size());
  EXPECT_EQ(got.hash, digest(big.data(), big.size()));
}

TEST(DoorsCallBuffer, NotADoor_Ebadf) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);

  EXPECT_EQ(doors_call_buffer(r.get(), 100), nullptr);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(doors_call_buffer(-1, 100), nullptr);
  EXPECT_EQ(errno, EBADF);
}

// The descriptor the thread's channel was attached through is closed after the block was
// handed out: the call goes through a fresh channel, and the block's bytes still arrive.
TEST(DoorsCallBuffer, ChannelClosedBeforeTheCall_DataStillArrives) {
  LocalDoor door(digest_handler());
  ASSERT_GE(door.fd(), 0);
  TempDir dir;
  std::string path = dir.file("door");
  UniqueFd file(open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
  ASSERT_TRUE(file.valid());
  ASSERT_EQ(fattach(door.fd(), path.c_str()), 0) << std::strerror(errno);
  UniqueFd first = open_door(path);
  ASSERT_TRUE(first.valid());
  std::size_t n = 1 << 20;
  char* block = static_cast<char*>(doors_call_buffer(first.get(), n));
  ASSERT_NE(block, nullptr);
  fill_pattern(block, n, 11);

  first.reset();
  UniqueFd second = open_door(path);
  ASSERT_TRUE(second.valid());
  DigestReply got = call_for_digest(second.get(), block, n);

  EXPECT_EQ(got.size, n);
  EXPECT_EQ(got.hash, digest(pattern(n, 11).data(), n));
  EXPECT_EQ(fdetach(path.c_str()), 0);
}

// --- doors_reply_buffer -------------------------------------------------------------------

class DoorsReplyBuffer_OfSize : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DoorsReplyBuffer_OfSize, ResultsBuiltInTheBlockArrive) {
  LocalDoor door([](char* argp, std::size_t n, door_desc_t*, uint_t) {
    std::uint64_t size;
    std::memcpy(&size, argp, std::min(n, sizeof size));
    char* block = static_cast<char*>(doors_reply_buffer(size + 32));
    if (block == nullptr) {
      reply("no block");
    } else {
      fill_pattern(block + 32, size, size);
      door_return(block + 32, size, nullptr, 0);
    }
  });
  ASSERT_GE(door.fd(), 0);
  std::uint64_t size = GetParam();
  door_arg_t a{};
  a.data_ptr = reinterpret_cast<char*>(&size);
  a.data_size = sizeof size;
  doors_call_options_t opts = in_place();

  ASSERT_EQ(doors_call(door.fd(), &a, &opts), 0) << std::strerror(errno);

  ASSERT_EQ(a.data_size, size);
  EXPECT_TRUE(is_pattern(std::string_view(a.data_ptr, a.data_size), size));
}

INSTANTIATE_TEST_SUITE_P(DoorsReplyBuffer, DoorsReplyBuffer_OfSize,
                         ::testing::Values(1, 4096, 64 * 1024 + 1, 1 << 20, 16 << 20),
                         [](const auto& info) { return "Size" + std::to_string(info.param); });

// Two calls in a row: the second block replaces the first, and each reply is intact.
TEST(DoorsReplyBuffer, SuccessiveCalls_EachReplyIntact) {
  LocalDoor door([](char* argp, std::size_t, door_desc_t*, uint_t) {
    std::size_t size = 1 << 20;
    char* block = static_cast<char*>(doors_reply_buffer(size));
    if (block == nullptr) {
      reply("no block");
    } else {
      fill_pattern(block, size, static_cast<unsigned char>(argp[0]));
      door_return(block, size, nullptr, 0);
    }
  });
  ASSERT_GE(door.fd(), 0);

  for (char seed : {'a', 'b', 'c'}) {
    door_arg_t a{};
    a.data_ptr = &seed;
    a.data_size = 1;
    doors_call_options_t opts = in_place();
    ASSERT_EQ(doors_call(door.fd(), &a, &opts), 0) << std::strerror(errno);
    ASSERT_EQ(a.data_size, std::size_t{1} << 20);
    EXPECT_TRUE(
        is_pattern(std::string_view(a.data_ptr, a.data_size), static_cast<unsigned char>(seed)))
        << "seed " << seed;
  }
}

// The block was asked for, then the procedure answered with other data: that data arrives.
TEST(DoorsReplyBuffer, UnusedBlock_OtherResultsArrive) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    if (doors_reply_buffer(1 << 20) == nullptr) reply("no block");
    reply_pattern(200 * 1024, 5);
  });
  ASSERT_GE(door.fd(), 0);
  door_arg_t a{};
  doors_call_options_t opts = in_place();

  ASSERT_EQ(doors_call(door.fd(), &a, &opts), 0) << std::strerror(errno);

  ASSERT_EQ(a.data_size, 200u * 1024);
  EXPECT_TRUE(is_pattern(std::string_view(a.data_ptr, a.data_size), 5));
}

TEST(DoorsReplyBuffer, OutsideADoorProcedure_Einval) {
  EXPECT_EQ(doors_reply_buffer(100), nullptr);
  EXPECT_EQ(errno, EINVAL);
}

// --- doors_server_stats, doors_set_tag (a door of this process) ---------------------------------

TEST(DoorsServerStats, OwnDoor_CallsCountedAndThisProcess) {
  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(call_door(door.fd(), "x").rc, 0);
  doors_server_stats_t sut;

  ASSERT_EQ(doors_server_stats(door.fd(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.dss_pid, ::getpid());
  EXPECT_EQ(sut.dss_calls, 4u);
  EXPECT_GE(sut.dss_doors, 1u);
  EXPECT_GE(sut.dss_threads, 1u);
  EXPECT_LE(sut.dss_idle_threads, sut.dss_threads);
}

TEST(DoorsServerStats, CallInProgress_ItsThreadIsNotIdle) {
  HeldProcedure held;
  LocalDoor door([&](char*, std::size_t, door_desc_t*, uint_t) {
    held.hold();
    reply("");
  });
  ASSERT_GE(door.fd(), 0);
  Async<CallOutcome> call([d = door.fd()] { return call_door(d, ""); });
  ASSERT_TRUE(held.wait_entered());
  doors_server_stats_t sut;

  ASSERT_EQ(doors_server_stats(door.fd(), &sut), 0) << std::strerror(errno);
  held.release();

  EXPECT_GE(sut.dss_threads, 1u);
  EXPECT_LT(sut.dss_idle_threads, sut.dss_threads);
  EXPECT_TRUE(call.wait(Deadline::standard()));
}

TEST(DoorsServerStats, LargeArguments_SharedMemoryMapped) {
  LocalDoor door(digest_handler());
  ASSERT_GE(door.fd(), 0);
  std::string big(1 << 20, 'a');
  ASSERT_EQ(call_for_digest(door.fd(), big.data(), big.size()).size, big.size());
  doors_server_stats_t sut;

  ASSERT_EQ(doors_server_stats(door.fd(), &sut), 0) << std::strerror(errno);

  // The client's argument arena and the server's read-only mapping of it, in one process.
  EXPECT_GE(sut.dss_shm_bytes, 2 * big.size());
}

TEST(DoorsServerStats, AttachedPath_Counted) {
  TempDir dir;
  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);
  doors_server_stats_t before, after;
  ASSERT_EQ(doors_server_stats(door.fd(), &before), 0);
  std::string path = dir.make_file("door");
  ASSERT_EQ(fattach(door.fd(), path.c_str()), 0) << std::strerror(errno);

  ASSERT_EQ(doors_server_stats(door.fd(), &after), 0);
  ASSERT_EQ(fdetach(path.c_str()), 0);

  EXPECT_EQ(after.dss_attachments, before.dss_attachments + 1);
}

TEST(DoorsServerStats, BadArguments_EbadfOrEfault) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  doors_server_stats_t out;
  EXPECT_EQ(doors_server_stats(r.get(), &out), -1);
  EXPECT_EQ(errno, EBADF);

  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);
  EXPECT_EQ(doors_server_stats(door.fd(), nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST(DoorsSetTag, OwnDoor_ReportedByStats) {
  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);

  ASSERT_EQ(doors_set_tag(door.fd(), 0x8badf00ddeadbeefULL), 0) << std::strerror(errno);

  doors_server_stats_t out;
  ASSERT_EQ(doors_server_stats(door.fd(), &out), 0);
  EXPECT_EQ(out.dss_tag, 0x8badf00ddeadbeefULL);
}

TEST(DoorsSetTag, NotADoorOrRevoked_Ebadf) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  EXPECT_EQ(doors_set_tag(r.get(), 1), -1);
  EXPECT_EQ(errno, EBADF);

  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd kept(doors_new_reference(door.fd()));
  ASSERT_TRUE(kept.valid());
  ASSERT_EQ(door_revoke(door.fd()), 0);
  door.forget();
  EXPECT_EQ(doors_set_tag(kept.get(), 1), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace doors::test
