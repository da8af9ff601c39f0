// door_info(3C) seen from a client process: the door is served by a forked child and reached
// through open() of the path it attached.
#include <door.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// A server child with a recognisable cookie and attributes, and a client descriptor for it.
struct RemoteDoor {
  static constexpr std::uintptr_t kCookie = 0xC0FFEE5;
  static constexpr uint_t kAttrs = DOOR_REFUSE_DESC | DOOR_NO_CANCEL;
  TempDir dir;
  std::string path = dir.file("door");
  std::unique_ptr<ForkedServer> server = fork_door_server(path, transform_proc, options());
  static ServeOptions options() {
    ServeOptions o;
    o.attrs = kAttrs;
    o.cookie = reinterpret_cast<void*>(kCookie);
    return o;
  }
  UniqueFd client = open_door(path);
  ServedDoorInfo served() const { return server->payload_as<ServedDoorInfo>(); }
};

door_info_t info_of(int d) {
  door_info_t info{};
  EXPECT_EQ(door_info(d, &info), 0) << std::strerror(errno);
  return info;
}

// door_info(3C): di_target is "the process ID of the door server".
TEST(DoorInfo, RemoteDoor_TargetIsServerPid) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());
  door_info_t sut{};

  ASSERT_EQ(door_info(remote.client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.di_target, remote.server->pid());
}

// door_info(3C): DOOR_LOCAL only when the door's procedure is in the calling process.
TEST(DoorInfo, RemoteDoor_HasNoDoorLocal) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());

  door_info_t sut = info_of(remote.client.get());

  EXPECT_FALSE(sut.di_attributes & DOOR_LOCAL) << std::hex << sut.di_attributes;
}

// door_info(3C): di_uniquifier is system-wide: the same number in every process.
TEST(DoorInfo, RemoteDoor_UniquifierEqualsServers) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());

  door_info_t sut = info_of(remote.client.get());

  EXPECT_NE(value_of(sut.di_uniquifier), 0u);
  EXPECT_EQ(value_of(sut.di_uniquifier), value_of(remote.served().info.di_uniquifier));
}

// door_info(3C): di_proc and di_data are the server's procedure and cookie (door_ptr_t, so that
// they mean the same in every process).
TEST(DoorInfo, RemoteDoor_ProcIsServersProcedure) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());

  door_info_t sut = info_of(remote.client.get());

  EXPECT_EQ(value_of(sut.di_proc), value_of(remote.served().info.di_proc));
  // The child is a fork of this process, so the procedure has the same address here.
  EXPECT_EQ(value_of(sut.di_proc),
            static_cast<door_ptr_t>(reinterpret_cast<std::uintptr_t>(&transform_proc)));
}

TEST(DoorInfo, RemoteDoor_DataIsServersCookie) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());

  door_info_t sut = info_of(remote.client.get());

  EXPECT_EQ(value_of(sut.di_data), static_cast<door_ptr_t>(RemoteDoor::kCookie));
}

TEST(DoorInfo, RemoteDoor_AttributesCarryCreationAttributes) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());

  door_info_t sut = info_of(remote.client.get());

  EXPECT_EQ(sut.di_attributes & DOOR_CREATE_MASK, RemoteDoor::kAttrs)
      << std::hex << sut.di_attributes;
  EXPECT_FALSE(sut.di_attributes & DOOR_REVOKED);
}

// illumos: "At exit every door the process created is revoked"; door_info(3C) DOOR_REVOKED.
TEST(DoorInfo, AfterServerKilled_ShowsRevoked) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());
  ASSERT_FALSE(info_of(remote.client.get()).di_attributes & DOOR_REVOKED);
  ASSERT_TRUE(remote.server->kill_and_reap(SIGKILL).reaped);
  door_info_t sut{};

  ASSERT_EQ(door_info(remote.client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_TRUE(sut.di_attributes & DOOR_REVOKED) << std::hex << sut.di_attributes;
}

TEST(DoorInfo, AfterServerExited_ShowsRevoked) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());
  ASSERT_FALSE(info_of(remote.client.get()).di_attributes & DOOR_REVOKED);
  ASSERT_TRUE(remote.server->stop().killed_by(SIGTERM));
  door_info_t sut{};

  ASSERT_EQ(door_info(remote.client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_TRUE(sut.di_attributes & DOOR_REVOKED) << std::hex << sut.di_attributes;
}

// door_info(3C) (illumos kernel): di_target is -1 once the server process has exited.
TEST(DoorInfo, AfterServerExited_TargetIsMinusOne) {
  RemoteDoor remote;
  ASSERT_NE(remote.server, nullptr);
  ASSERT_TRUE(remote.client.valid());
  ASSERT_EQ(info_of(remote.client.get()).di_target, remote.server->pid());
  ASSERT_TRUE(remote.server->kill_and_reap(SIGKILL).reaped);
  door_info_t sut{};

  ASSERT_EQ(door_info(remote.client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.di_target, -1);
}

// door_revoke(3C) by the server: the client's door_info shows DOOR_REVOKED.
TEST(DoorInfo, AfterServerRevoked_ShowsRevoked) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  ASSERT_FALSE(info_of(client.get()).di_attributes & DOOR_REVOKED);
  ASSERT_EQ(server.command('R'), 0);
  door_info_t sut{};

  ASSERT_EQ(door_info(client.get(), &sut), 0) << std::strerror(errno);

  EXPECT_TRUE(sut.di_attributes & DOOR_REVOKED) << std::hex << sut.di_attributes;
}

}  // namespace
}  // namespace doors::test
