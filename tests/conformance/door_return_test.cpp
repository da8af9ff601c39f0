// door_return(3C), with client and server in one process. The multi-process side (a fresh
// thread joining the pool, descriptors returned with DOOR_RELEASE) is in tests/integration.
#include <door.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "door_support.h"
#include "local_door.h"

namespace doors::test {
namespace {

// door_return(3C) E2BIG: "Arguments were too big for client." A caller that passed NULL params
// accepts no results; door_return fails and the caller keeps waiting for a proper return.
TEST(DoorReturn, ResultsToCallerWithNullParams_FailsWithE2BIG) {
  auto first_errno = std::make_shared<std::atomic<int>>(-1);
  LocalDoor door([first_errno](char*, std::size_t, door_desc_t*, uint_t) {
    char results[8] = "results";
    int rc = door_return(results, sizeof results, nullptr, 0);  // returns only on failure
    first_errno->store(rc == -1 ? errno : 0);
    door_return(nullptr, 0, nullptr, 0);
  });
  ASSERT_GE(door.fd(), 0);

  int rc = door_call(door.fd(), nullptr);

  EXPECT_EQ(rc, 0) << std::strerror(errno);
  EXPECT_EQ(first_errno->load(), E2BIG) << std::strerror(first_errno->load());
}

// door_return(3C) may return the argument buffer itself, as Solaris echo servers do: it stays
// valid until the results are sent.
TEST(DoorReturn, ArgumentBufferAsResults_ReachCaller) {
  LocalDoor door([](char* argp, std::size_t n, door_desc_t*, uint_t) {
    door_return(argp, n, nullptr, 0);
    door_return(nullptr, 0, nullptr, 0);
  });
  ASSERT_GE(door.fd(), 0);
  std::string args = pattern(200'000, 3);

  CallOutcome sut = call_door(door.fd(), args);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_TRUE(sut.data == args);
}

TEST(DoorReturn, NoResults_CallerGetsNoData) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  CallOutcome sut = call_door(door.fd(), "x");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_TRUE(sut.data.empty());
  EXPECT_TRUE(sut.descs.empty());
}

}  // namespace
}  // namespace doors::test
