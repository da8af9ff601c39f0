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

}  // namespace
}  // namespace doors::test
