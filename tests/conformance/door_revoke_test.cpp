// door_revoke(3C) by the door's own process. EPERM from another process is in
// tests/integration.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "gate.h"
#include "local_door.h"
#include "not_a_door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

TEST(DoorRevoke, OwnDoor_Succeeds) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  int rc = door_revoke(door.fd());
  door.forget();

  EXPECT_EQ(rc, 0) << std::strerror(errno);
}

// door_revoke(3C): "The descriptor d is closed as a side effect of revoking the door."
TEST(DoorRevoke, OwnDoor_ClosesTheDescriptor) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  int d = door.fd();

  ASSERT_EQ(door_revoke(d), 0) << std::strerror(errno);
  door.forget();

  EXPECT_EQ(::fcntl(d, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

// door_revoke(3C): "Subsequent door invocations on the door fail"; door_call(3C) EBADF.
TEST(DoorRevoke, LaterCallsThroughAnotherDescriptor_FailWithEBADF) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd other(::dup(door.fd()));
  ASSERT_TRUE(other.valid());
  ASSERT_EQ(door_revoke(door.fd()), 0) << std::strerror(errno);
  door.forget();

  CallOutcome sut = call_door(other.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// A descriptor that was used before the revoke (its connection exists) is refused as well.
TEST(DoorRevoke, LaterCallsThroughDescriptorUsedBefore_FailWithEBADF) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd other(::dup(door.fd()));
  ASSERT_TRUE(other.valid());
  ASSERT_EQ(call_door(other.get(), "warm up").rc, 0);
  ASSERT_EQ(door_revoke(door.fd()), 0) << std::strerror(errno);
  door.forget();

  CallOutcome sut = call_door(other.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// door_info(3C): DOOR_REVOKED "The door descriptor refers to a door that has been revoked."
TEST(DoorRevoke, OwnDoor_DoorInfoShowsRevoked) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd other(::dup(door.fd()));
  ASSERT_TRUE(other.valid());
  ASSERT_EQ(door_revoke(door.fd()), 0) << std::strerror(errno);
  door.forget();
  door_info_t sut{};

  ASSERT_EQ(door_info(other.get(), &sut), 0) << std::strerror(errno);

  EXPECT_TRUE(sut.di_attributes & DOOR_REVOKED) << std::hex << sut.di_attributes;
}

// door_revoke(3C): "Invocations that are in progress when the door is revoked complete
// normally."
TEST(DoorRevoke, CallInProgress_CompletesNormally) {
  HeldProcedure held;
  LocalDoor door([&](char*, std::size_t, door_desc_t*, uint_t) {
    held.hold();
    reply("completed");
  });
  ASSERT_GE(door.fd(), 0);
  Async<CallOutcome> call([d = door.fd()] { return call_door(d, "x"); });
  ASSERT_TRUE(held.wait_entered());

  ASSERT_EQ(door_revoke(door.fd()), 0) << std::strerror(errno);
  door.forget();
  held.release();

  ASSERT_TRUE(call.wait(Deadline::standard())) << "the call in progress hangs";
  const CallOutcome& sut = call.result();
  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, "completed");
}

// illumos: a revoked door stays attached; a new open() of the path reaches the revoked door, so
// calls fail with EBADF.
TEST(DoorRevoke, AttachedPath_NewOpenCallFailsWithEBADF) {
  TempDir dir;
  std::string path = dir.make_file("door");
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  ASSERT_EQ(fattach(door.fd(), path.c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(door_revoke(door.fd()), 0) << std::strerror(errno);
  door.forget();
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  CallOutcome sut = call_door(client.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
  fdetach(path.c_str());
}

// illumos door_revoke(): "fattach'ed names keep pointing at the revoked door", so door_info on a
// new open() of the path describes that door, revoked.
TEST(DoorRevoke, AttachedPath_NewOpenDoorInfoShowsRevoked) {
  TempDir dir;
  std::string path = dir.make_file("door");
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  ASSERT_EQ(fattach(door.fd(), path.c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(door_revoke(door.fd()), 0) << std::strerror(errno);
  door.forget();
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  door_info_t sut{};

  ASSERT_EQ(door_info(client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_TRUE(sut.di_attributes & DOOR_REVOKED) << std::hex << sut.di_attributes;
  fdetach(path.c_str());
}

// door_revoke(3C) EBADF: "An invalid door descriptor was passed."
class DoorRevoke_NotADoor : public ::testing::TestWithParam<NotADoor> {};

TEST_P(DoorRevoke_NotADoor, FailsWithEBADF) {
  TempDir dir;
  UniqueFd fd = GetParam().make(dir);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  errno = 0;

  int rc = door_revoke(fd.get());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBADF) << std::strerror(errno);
  EXPECT_TRUE(fd_is_open(fd.get())) << "door_revoke closed a descriptor that is not a door";
}

INSTANTIATE_TEST_SUITE_P(DoorRevoke, DoorRevoke_NotADoor, ::testing::ValuesIn(not_a_door_rows()),
                         not_a_door_name);

TEST(DoorRevoke, MinusOne_FailsWithEBADF) {
  errno = 0;

  int rc = door_revoke(-1);

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace doors::test
