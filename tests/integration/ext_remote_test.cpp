// The <doors/ext.h> extensions where a second process matters.
#include <door.h>
#include <doors/ext.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "door_support.h"
#include "fd.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// Only the door's server makes references; a client passes the one it has.
TEST(DoorsNewReference, DoorOfAnotherProcess_Eperm) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  int rc = doors_new_reference(client.get());
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPERM) << std::strerror(err);
}

// --- doors_server_stats, doors_set_tag --------------------------------------------------------

TEST(DoorsServerStats, DoorOfAnotherProcess_TheServersFigures) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(call_door(client.get(), "abc").rc, 0);
  doors_server_stats_t sut;

  ASSERT_EQ(doors_server_stats(client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.dss_pid, server.pid());
  EXPECT_EQ(sut.dss_calls, 3u);
  EXPECT_EQ(sut.dss_tag, 0u);
  EXPECT_GE(sut.dss_threads, 1u);
  EXPECT_LE(sut.dss_idle_threads, sut.dss_threads);
  EXPECT_EQ(sut.dss_doors, 1u);
  EXPECT_EQ(sut.dss_attachments, 1u);
  // This client's door descriptor and its call channel, at least.
  EXPECT_GE(sut.dss_connections, 2u);
}

TEST(DoorsServerStats, TagSetByTheServer_SeenByClients) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  ASSERT_EQ(server.command('T'), 0);
  doors_server_stats_t sut;
  ASSERT_EQ(doors_server_stats(client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.dss_tag, kControlledServerTag);
}

TEST(DoorsServerStats, ServerGone_Ebadf) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(server.command('R'), 0);
  doors_server_stats_t sut;

  int rc = doors_server_stats(client.get(), &sut);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EBADF) << std::strerror(err);
}

TEST(DoorsSetTag, DoorOfAnotherProcess_Eperm) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  int rc = doors_set_tag(client.get(), 1);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPERM) << std::strerror(err);
}

}  // namespace
}  // namespace doors::test
