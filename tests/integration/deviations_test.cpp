// The differences from illumos in doors/DEVIATIONS.md that need more than one process.
#include <door.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// DEVIATIONS.md 2: open() of an attached path gives the plain file; the first door operation
// turns the descriptor into a door descriptor in place.
TEST(Deviation, OpenedDescriptorBecomesADoorOnFirstUse) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  struct stat before, after;
  ASSERT_EQ(::fstat(client.get(), &before), 0);

  ASSERT_EQ(call_door(client.get(), "x").rc, 0);

  ASSERT_EQ(::fstat(client.get(), &after), 0);
  EXPECT_TRUE(S_ISREG(before.st_mode)) << std::oct << before.st_mode;
  EXPECT_TRUE(S_ISSOCK(after.st_mode)) << std::oct << after.st_mode;
}

// DEVIATIONS.md 2: a descriptor opened while attached but first used after fdetach is still the
// plain file (illumos: still the door).
TEST(Deviation, OpenedButUnusedDescriptorIsAFileAfterFdetach) {
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(server.command('D'), 0);

  CallOutcome sut = call_door(client.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

// DEVIATIONS.md 6: fattach is for the door's server process.
TEST(Deviation, FattachOfAnotherProcessDoor_FailsWithEINVAL) {
  TempDir dir;
  std::string path = dir.file("door");
  std::string other = dir.make_file("other");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  door_info_t info;
  ASSERT_EQ(door_info(client.get(), &info), 0) << std::strerror(errno);

  int rc = fattach(client.get(), other.c_str());
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EINVAL) << std::strerror(err);
}

// DEVIATIONS.md 7: an attached door is reachable only from its network namespace.
TEST(Deviation, OtherNetworkNamespaceSeesAPlainFile) {
  if (!running_as_root()) GTEST_SKIP() << "needs root to make a network namespace";
  TempDir dir;
  std::string path = dir.file("door");
  ControlledServer server(path);
  ASSERT_TRUE(server.ready());

  ChildStatus sut = run_in_child([&] {
    if (::unshare(CLONE_NEWNET) != 0) return 2;
    UniqueFd fd = open_door(path);
    if (!fd.valid()) return 3;
    CallOutcome out = call_door(fd.get(), "x");
    return out.rc == -1 && out.err == EBADF ? 0 : 1;
  });

  EXPECT_TRUE(sut.exited_with(0)) << sut.describe();
}

}  // namespace
}  // namespace doors::test
