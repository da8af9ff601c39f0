// door_info(3C) on doors this process serves, and on descriptors that are not doors.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include "door_support.h"
#include "fd.h"
#include "local_door.h"
#include "not_a_door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

door_info_t info_of(int d) {
  door_info_t info{};
  EXPECT_EQ(door_info(d, &info), 0) << std::strerror(errno);
  return info;
}

// door_info(3C): di_target "is the process ID of the door server".
TEST(DoorInfo, OwnDoor_TargetIsOwnPid) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  door_info_t sut{};

  int rc = door_info(door.fd(), &sut);

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  EXPECT_EQ(sut.di_target, ::getpid());
}

// door_info(3C): DOOR_LOCAL "The door descriptor refers to a service procedure in this process."
TEST(DoorInfo, OwnDoor_HasDoorLocal) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  door_info_t sut = info_of(door.fd());

  EXPECT_TRUE(sut.di_attributes & DOOR_LOCAL);
}

// door_info(3C): di_proc and di_data "are returned as door_ptr_t rather than void * so they are
// the same size" in every process; they are the procedure and cookie given to door_create.
TEST(DoorInfo, OwnDoor_ProcIsTheServerProcedure) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  door_info_t sut = info_of(door.fd());

  EXPECT_EQ(value_of(sut.di_proc),
            static_cast<door_ptr_t>(reinterpret_cast<std::uintptr_t>(LocalDoor::procedure())));
}

TEST(DoorInfo, OwnDoor_DataIsTheCookie) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  door_info_t sut = info_of(door.fd());

  EXPECT_EQ(value_of(sut.di_data),
            static_cast<door_ptr_t>(reinterpret_cast<std::uintptr_t>(door.cookie())));
}

// door_info(3C): di_attributes carries the attributes the door was created with.
TEST(DoorInfo, OwnDoor_AttributesCarryCreationAttributes) {
  const uint_t attrs = DOOR_REFUSE_DESC | DOOR_NO_CANCEL | DOOR_UNREF;
  LocalDoor door(empty_handler(), attrs);
  ASSERT_GE(door.fd(), 0);

  door_info_t sut = info_of(door.fd());

  EXPECT_EQ(sut.di_attributes & DOOR_CREATE_MASK, attrs) << std::hex << sut.di_attributes;
}

TEST(DoorInfo, FreshDoor_IsNotRevoked) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  door_info_t sut = info_of(door.fd());

  EXPECT_FALSE(sut.di_attributes & DOOR_REVOKED);
}

// door_info(3C): di_uniquifier "contains the system-wide unique number associated with the door".
TEST(DoorInfo, OwnDoor_UniquifierIsNonZero) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  door_info_t sut = info_of(door.fd());

  EXPECT_NE(value_of(sut.di_uniquifier), 0u);
}

// A dup(2) of a door descriptor is the same door.
TEST(DoorInfo, DupOfDoorDescriptor_SameUniquifier) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd copy(::dup(door.fd()));
  ASSERT_TRUE(copy.valid());

  door_info_t sut = info_of(copy.get());

  EXPECT_EQ(value_of(sut.di_uniquifier), value_of(info_of(door.fd()).di_uniquifier));
  EXPECT_TRUE(sut.di_attributes & DOOR_LOCAL);
}

// The path of a door this process attached, opened by this process, is its own door.
TEST(DoorInfo, OwnAttachedPathOpened_IsTheSameLocalDoor) {
  TempDir dir;
  std::string path = dir.make_file("door");
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  ASSERT_EQ(fattach(door.fd(), path.c_str()), 0) << std::strerror(errno);
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  door_info_t sut = info_of(client.get());

  EXPECT_EQ(value_of(sut.di_uniquifier), value_of(info_of(door.fd()).di_uniquifier));
  EXPECT_EQ(sut.di_target, ::getpid());
  EXPECT_TRUE(sut.di_attributes & DOOR_LOCAL);
  fdetach(path.c_str());
}

// door_info(3C) EBADF: "d is not a door descriptor."
class DoorInfo_NotADoor : public ::testing::TestWithParam<NotADoor> {};

TEST_P(DoorInfo_NotADoor, FailsWithEBADF) {
  TempDir dir;
  UniqueFd fd = GetParam().make(dir);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  door_info_t sut{};
  errno = 0;

  int rc = door_info(fd.get(), &sut);

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBADF) << std::strerror(errno);
}

INSTANTIATE_TEST_SUITE_P(DoorInfo, DoorInfo_NotADoor, ::testing::ValuesIn(not_a_door_rows()),
                         not_a_door_name);

TEST(DoorInfo, MinusOne_FailsWithEBADF) {
  door_info_t sut{};
  errno = 0;

  int rc = door_info(-1, &sut);

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(DoorInfo, DescriptorNotOpen_FailsWithEBADF) {
  int fd = unused_descriptor();
  door_info_t sut{};
  errno = 0;

  int rc = door_info(fd, &sut);

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBADF);
}

// door_info(3C): with DOOR_QUERY "door_info() returns information about the door bound to the
// calling thread"; EBADF when the thread is bound to none.
TEST(DoorInfo, DoorQueryOnUnboundThread_FailsWithEBADF) {
  door_info_t sut{};
  errno = 0;

  int rc = door_info(DOOR_QUERY, &sut);

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace doors::test
