// The <doors/ext.h> extensions where a second process matters.
#include <door.h>
#include <doors/ext.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "door_support.h"
#include "fd.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// A ControlledServer's door and a client's descriptor of it, opened by path.
class RemoteDoor : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ControlledServer>(dir_.file("door"));
    ASSERT_TRUE(server_->ready());
    client_ = open_door(dir_.file("door"));
    ASSERT_TRUE(client_.valid());
  }

  TempDir dir_;
  std::unique_ptr<ControlledServer> server_;
  UniqueFd client_;
};

using DoorsNewReference = RemoteDoor;
using DoorsServerStats = RemoteDoor;
using DoorsSetTag = RemoteDoor;

// Only the door's server makes references; a client passes the one it has.
TEST_F(DoorsNewReference, DoorOfAnotherProcess_Eperm) {
  int rc = doors_new_reference(client_.get());
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPERM) << std::strerror(err);
}

// --- doors_server_stats, doors_set_tag --------------------------------------------------------

TEST_F(DoorsServerStats, DoorOfAnotherProcess_TheServersFigures) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(call_door(client_.get(), "abc").rc, 0);
  doors_server_stats_t sut;

  ASSERT_EQ(doors_server_stats(client_.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.dss_pid, server_->pid());
  EXPECT_EQ(sut.dss_calls, 3u);
  EXPECT_EQ(sut.dss_tag, 0u);
  EXPECT_GE(sut.dss_threads, 1u);
  EXPECT_LE(sut.dss_idle_threads, sut.dss_threads);
  EXPECT_EQ(sut.dss_doors, 1u);
  EXPECT_EQ(sut.dss_attachments, 1u);
  // This client's door descriptor and its call channel, at least.
  EXPECT_GE(sut.dss_connections, 2u);
}

// After a call through the socket, the server thread parks on the caller's channel, and the
// caller's next calls without descriptors travel through the channel's shuttle page. (The first
// calls may find no spare thread to park yet: the pool is still growing.)
TEST_F(DoorsServerStats, RepeatedCalls_MostTravelThroughTheShuttle) {
  constexpr int kCalls = 400;
  for (int i = 0; i < kCalls; ++i) {
    CallOutcome call = call_door(client_.get(), "abc");
    ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
    ASSERT_EQ(call.data, transformed("abc"));
  }
  doors_server_stats_t sut;

  ASSERT_EQ(doors_server_stats(client_.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.dss_calls, static_cast<uint64_t>(kCalls));
  EXPECT_GE(sut.dss_shuttle_calls, static_cast<uint64_t>(kCalls / 2));
  EXPECT_LT(sut.dss_shuttle_calls, static_cast<uint64_t>(kCalls));  // the first one never does
}

TEST_F(DoorsServerStats, TagSetByTheServer_SeenByClients) {
  ASSERT_EQ(server_->command('T'), 0);
  doors_server_stats_t sut;

  ASSERT_EQ(doors_server_stats(client_.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.dss_tag, kControlledServerTag);
}

TEST_F(DoorsServerStats, ServerRevokedTheDoor_Ebadf) {
  ASSERT_EQ(server_->command('R'), 0);
  doors_server_stats_t sut;

  int rc = doors_server_stats(client_.get(), &sut);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EBADF) << std::strerror(err);
}

TEST_F(DoorsSetTag, DoorOfAnotherProcess_Eperm) {
  int rc = doors_set_tag(client_.get(), 1);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPERM) << std::strerror(err);
}

}  // namespace
}  // namespace doors::test
