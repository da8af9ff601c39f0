// fdetach(3C) by a server process while a client process holds descriptors.
#include <door.h>
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

// fdetach(3C): a client's descriptor opened (and, on Linux, used; see DESIGN.md) while the door
// was attached keeps referring to the door.
TEST(Fdetach, ByServer_ClientDescriptorUsedBeforeKeepsWorking) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(call_door(client.get(), "before").rc, 0);
  ASSERT_EQ(server.command('D'), 0);

  CallOutcome sut = call_door(client.get(), "after");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, transformed("after"));
}

// After fdetach(3C) the path is the plain file: a new open() is not a door (EBADF).
TEST(Fdetach, ByServer_NewOpenCallFailsWithEBADF) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  ASSERT_EQ(server.command('D'), 0);
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  CallOutcome sut = call_door(client.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// fdetach(3C) EPERM from a client process that does not own the path is in
// tests/conformance (Fdetach.NotOwnerOfPath_FailsWithEPERM); fdetach by the owner from another
// process than the server's is allowed on Solaris.
TEST(Fdetach, ByOwnerInClientProcess_Succeeds) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());

  int rc = fdetach(path.c_str());

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  UniqueFd client = open_door(path);
  EXPECT_EQ(call_door(client.get(), "x").err, EBADF);
}

}  // namespace
}  // namespace doors::test
