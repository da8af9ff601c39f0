// door_bind(3C), door_unbind(3C) and door_info(3C) with DOOR_QUERY, on doors this process serves.
// Each binding happens on a thread the test starts and ends, never on the test's own thread.
// Private pools serving calls, with the server in another process, are in
// tests/integration/private_pool_test.cpp.
#include <door.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "local_door.h"
#include "not_a_door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// What a step run on a fresh thread returned.
struct Result {
  int rc = 0;
  int err = 0;
  door_info_t info{};  // door_info(DOOR_QUERY) when the step asks for it
};

// Runs `step` on a new thread (so that a binding dies with it) and returns its result.
Result on_new_thread(std::function<Result()> step) {
  Async<Result> thread(std::move(step));
  if (!thread.wait(Deadline::standard())) {
    ADD_FAILURE() << "the thread hangs";
    return Result{-2, 0, {}};
  }
  return thread.result();
}

Result bind_to(int d) {
  Result r;
  errno = 0;
  r.rc = door_bind(d);
  r.err = errno;
  return r;
}

// door_bind(3C) EINVAL: "did was not created with the DOOR_PRIVATE attribute."
TEST(DoorBind, NonPrivateDoor_FailsWithEINVAL) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  Result sut = on_new_thread([d = door.fd()] { return bind_to(d); });

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EINVAL) << std::strerror(sut.err);
}

// door_bind(3C) "associates the current thread with a door server pool" of a DOOR_PRIVATE door.
TEST(DoorBind, PrivateDoor_Succeeds) {
  LocalDoor door(empty_handler(), DOOR_PRIVATE);
  ASSERT_GE(door.fd(), 0);

  Result sut = on_new_thread([d = door.fd()] { return bind_to(d); });

  EXPECT_EQ(sut.rc, 0) << std::strerror(sut.err);
}

// door_bind(3C) EBADF: "The did argument is not a valid door."
class DoorBind_NotADoor : public ::testing::TestWithParam<NotADoor> {};

TEST_P(DoorBind_NotADoor, FailsWithEBADF) {
  TempDir dir;
  UniqueFd fd = GetParam().make(dir);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);

  Result sut = on_new_thread([d = fd.get()] { return bind_to(d); });

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

INSTANTIATE_TEST_SUITE_P(DoorBind, DoorBind_NotADoor, ::testing::ValuesIn(not_a_door_rows()),
                         not_a_door_name);

TEST(DoorBind, DescriptorNotOpen_FailsWithEBADF) {
  int fd = unused_descriptor();

  Result sut = on_new_thread([fd] { return bind_to(fd); });

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// door_bind(3C) EBADF: "The door_unbind() function was called by a thread that is currently not
// bound."
TEST(DoorUnbind, UnboundThread_FailsWithEBADF) {
  Result sut = on_new_thread([] {
    Result r;
    errno = 0;
    r.rc = door_unbind();
    r.err = errno;
    return r;
  });

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// door_bind(3C): "The door_unbind() function breaks the association of door_bind()".
TEST(DoorUnbind, BoundThread_Succeeds) {
  LocalDoor door(empty_handler(), DOOR_PRIVATE);
  ASSERT_GE(door.fd(), 0);

  Result sut = on_new_thread([d = door.fd()] {
    Result r = bind_to(d);
    if (r.rc != 0) return Result{-2, r.err, {}};
    errno = 0;
    r.rc = door_unbind();
    r.err = errno;
    return r;
  });

  EXPECT_EQ(sut.rc, 0) << std::strerror(sut.err);
}

TEST(DoorUnbind, Twice_SecondFailsWithEBADF) {
  LocalDoor door(empty_handler(), DOOR_PRIVATE);
  ASSERT_GE(door.fd(), 0);

  Result sut = on_new_thread([d = door.fd()] {
    if (door_bind(d) != 0 || door_unbind() != 0) return Result{-2, errno, {}};
    Result r;
    errno = 0;
    r.rc = door_unbind();
    r.err = errno;
    return r;
  });

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// door_info(DOOR_QUERY) on a thread bound with door_bind: the door whose pool it joined.
Result query() {
  Result r;
  errno = 0;
  r.rc = door_info(DOOR_QUERY, &r.info);
  r.err = errno;
  return r;
}

// door_info(3C) with DOOR_QUERY describes the door the calling thread is bound to.
TEST(DoorInfo, DoorQueryOnBoundThread_DescribesTheBoundDoor) {
  LocalDoor door(empty_handler(), DOOR_PRIVATE);
  ASSERT_GE(door.fd(), 0);
  door_info_t expected{};
  ASSERT_EQ(door_info(door.fd(), &expected), 0) << std::strerror(errno);

  Result sut = on_new_thread([d = door.fd()] {
    if (door_bind(d) != 0) return Result{-2, errno, {}};
    return query();
  });

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(value_of(sut.info.di_uniquifier), value_of(expected.di_uniquifier));
  EXPECT_EQ(sut.info.di_target, ::getpid());
  EXPECT_EQ(value_of(sut.info.di_proc), value_of(expected.di_proc));
  EXPECT_EQ(value_of(sut.info.di_data), value_of(expected.di_data));
  EXPECT_TRUE(sut.info.di_attributes & DOOR_PRIVATE) << std::hex << sut.info.di_attributes;
  EXPECT_TRUE(sut.info.di_attributes & DOOR_LOCAL) << std::hex << sut.info.di_attributes;
}

TEST(DoorInfo, DoorQueryAfterUnbind_FailsWithEBADF) {
  LocalDoor door(empty_handler(), DOOR_PRIVATE);
  ASSERT_GE(door.fd(), 0);

  Result sut = on_new_thread([d = door.fd()] {
    if (door_bind(d) != 0 || door_unbind() != 0) return Result{-2, errno, {}};
    return query();
  });

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// door_bind(3C): "A server thread performing a door_bind() on a door that is already bound to a
// different door performs an implicit door_unbind() of the previous door."
TEST(DoorBind, SecondPrivateDoor_ReplacesTheFirstBinding) {
  LocalDoor first(empty_handler(), DOOR_PRIVATE);
  LocalDoor second(empty_handler(), DOOR_PRIVATE);
  ASSERT_GE(first.fd(), 0);
  ASSERT_GE(second.fd(), 0);
  door_info_t expected{};
  ASSERT_EQ(door_info(second.fd(), &expected), 0) << std::strerror(errno);

  Result sut = on_new_thread([a = first.fd(), b = second.fd()] {
    if (door_bind(a) != 0) return Result{-2, errno, {}};
    Result r = bind_to(b);
    if (r.rc != 0) return r;
    return query();
  });

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(value_of(sut.info.di_uniquifier), value_of(expected.di_uniquifier));
}

}  // namespace
}  // namespace doors::test
