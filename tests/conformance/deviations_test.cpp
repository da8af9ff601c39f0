// The differences from illumos that doors/DEVIATIONS.md lists, one test each, so that the list
// stays true: each test fails if libdoors starts behaving like illumos (or like nothing at all).
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "door_support.h"
#include "fd.h"
#include "local_door.h"

namespace doors::test {
namespace {

// DEVIATIONS.md 1: a door descriptor is a Unix socket.
TEST(Deviation, DoorDescriptorIsASocket) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  struct stat st;

  ASSERT_EQ(::fstat(door.fd(), &st), 0);

  EXPECT_TRUE(S_ISSOCK(st.st_mode)) << std::oct << st.st_mode;
}

// What a procedure learns by asking the kernel to write one byte into argp: read(2) from a pipe
// fails with EFAULT when argp is not writable, instead of faulting.
struct WriteProbe {
  int rc;
  int err;
};

Handler probing_handler() {
  return [](char* argp, std::size_t, door_desc_t*, uint_t) {
    int p[2];
    WriteProbe probe{-1, 0};
    if (::pipe(p) == 0) {
      if (::write(p[1], "w", 1) == 1) {
        probe.rc = static_cast<int>(::read(p[0], argp, 1));
        probe.err = probe.rc < 0 ? errno : 0;
      }
      ::close(p[0]);
      ::close(p[1]);
    }
    reply_value(probe);
  };
}

// DEVIATIONS.md 3: arguments above DOORS_INLINE_DATA_MAX are the client's arena, mapped
// read-only in the server.
TEST(Deviation, LargeArgumentsAreReadOnly) {
  LocalDoor door(probing_handler());
  ASSERT_GE(door.fd(), 0);

  CallOutcome sut = call_door(door.fd(), std::string(1 << 20, 'x'));

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  WriteProbe probe{};
  ASSERT_TRUE(read_value(sut.data, &probe));
  EXPECT_EQ(probe.rc, -1);
  EXPECT_EQ(probe.err, EFAULT) << std::strerror(probe.err);
}

// The other side of DEVIATIONS.md 3: small arguments are a writable copy, as on illumos.
TEST(Deviation, SmallArgumentsAreWritable) {
  LocalDoor door(probing_handler());
  ASSERT_GE(door.fd(), 0);

  CallOutcome sut = call_door(door.fd(), std::string(100, 'x'));

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  WriteProbe probe{};
  ASSERT_TRUE(read_value(sut.data, &probe));
  EXPECT_EQ(probe.rc, 1) << std::strerror(probe.err);
}

// Arguments too large for a channel's shuttle page (16 KiB) but not over 64 KiB travel in the
// client's arena once a server thread is parked on the channel; the procedure still gets them
// as the writable copy a socket message gives.
TEST(Deviation, ArgumentsUpTo64KiBAreWritableAfterManyCalls) {
  LocalDoor door(probing_handler());
  ASSERT_GE(door.fd(), 0);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(call_door(door.fd(), "warm up").rc, 0);

  for (std::size_t size : {std::size_t{20} << 10, std::size_t{64} << 10}) {
    CallOutcome sut = call_door(door.fd(), std::string(size, 'x'));

    ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
    WriteProbe probe{};
    ASSERT_TRUE(read_value(sut.data, &probe));
    EXPECT_EQ(probe.rc, 1) << size << " bytes: " << std::strerror(probe.err);
  }
}

// DEVIATIONS.md 4: a procedure that returns without door_return gives its caller EINTR (as on
// illumos), and its thread lives on (illumos would end it).
TEST(Deviation, ProcedureFallingOffKeepsItsThread) {
  std::atomic<pid_t> tid{0};
  LocalDoor door([&](char*, std::size_t, door_desc_t*, uint_t) {
    tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
  });
  ASSERT_GE(door.fd(), 0);

  CallOutcome sut = call_door(door.fd(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EINTR) << std::strerror(sut.err);
  ASSERT_NE(tid.load(), 0);
  EXPECT_EQ(::syscall(SYS_tgkill, ::getpid(), tid.load(), 0), 0) << "the server thread ended";
}

// DEVIATIONS.md 5: at most 252 descriptors per call.
TEST(Deviation, MoreThan252Descriptors_FailsWithE2BIG) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(devnull.valid());
  std::vector<door_desc_t> descs(253, descriptor(devnull.get()));

  CallOutcome sut = call_door(door.fd(), "x", descs);

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, E2BIG) << std::strerror(sut.err);
}

// ... and 252 still pass.
TEST(Deviation, Exactly252Descriptors_Pass) {
  std::atomic<unsigned> received{0};
  LocalDoor door([&](char*, std::size_t, door_desc_t* dp, uint_t n) {
    for (uint_t i = 0; i < n; ++i) ::close(dp[i].d_data.d_desc.d_descriptor);
    received.store(n);
    door_return(nullptr, 0, nullptr, 0);
  });
  ASSERT_GE(door.fd(), 0);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(devnull.valid());
  std::vector<door_desc_t> descs(252, descriptor(devnull.get()));

  CallOutcome sut = call_door(door.fd(), "x", descs);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(received.load(), 252u);
}

}  // namespace
}  // namespace doors::test
