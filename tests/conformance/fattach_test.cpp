// fattach(3C) and fdetach(3C), with the door served by the test process. The cross-process
// view (a client in another process keeps its descriptor across fdetach) is in
// tests/integration.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stropts.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "door_support.h"
#include "fd.h"
#include "local_door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// Changes the working directory for the test's lifetime.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const std::string& dir) {
    char buf[PATH_MAX];
    if (::getcwd(buf, sizeof buf) != nullptr) old_ = buf;
    ok_ = !old_.empty() && ::chdir(dir.c_str()) == 0;
  }
  ~WorkingDirectory() {
    if (ok_ && ::chdir(old_.c_str()) != 0) std::perror("chdir (restoring)");
  }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;
  bool ok() const { return ok_; }

 private:
  std::string old_;
  bool ok_ = false;
};

// A door of this process and a file to attach it to, detached at the end of the test.
struct Attachable {
  TempDir dir;
  std::string path = dir.make_file("door");
  LocalDoor door{echo_handler()};
  bool attached = false;

  int attach() {
    int rc = fattach(door.fd(), path.c_str());
    attached = attached || rc == 0;
    return rc;
  }
  ~Attachable() {
    if (attached) fdetach(path.c_str());
  }
};

// --- fattach -----------------------------------------------------------------------------------

TEST(Fattach, DoorOnExistingFile_Succeeds) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);

  int rc = a.attach();

  EXPECT_EQ(rc, 0) << std::strerror(errno);
}

// fattach(3C): the door is reached by open(2) of the path.
TEST(Fattach, Attached_OpenAndCallReachTheDoor) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  UniqueFd client = open_door(a.path);
  ASSERT_TRUE(client.valid());

  CallOutcome sut = call_door(client.get(), "through the path");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, "through the path");
}

// The Linux emulation leaves the file in place (DESIGN.md); as on Solaris, the path keeps its
// mode and owner while attached.
TEST(Fattach, Attached_FileStaysInPlaceWithItsModeAndOwner) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(::chmod(a.path.c_str(), 0640), 0);
  struct stat before {};
  ASSERT_EQ(::stat(a.path.c_str(), &before), 0);

  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);

  struct stat after {};
  ASSERT_EQ(::stat(a.path.c_str(), &after), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISREG(after.st_mode));
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mode & 07777, 0640u);
  EXPECT_EQ(after.st_uid, before.st_uid);
  EXPECT_EQ(after.st_gid, before.st_gid);
}

// fattach(3C): "the path name is resolved relative to the current working directory".
TEST(Fattach, RelativePath_ResolvesAgainstWorkingDirectory) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  WorkingDirectory cwd(a.dir.path());
  ASSERT_TRUE(cwd.ok());

  int rc = fattach(a.door.fd(), "door");
  a.attached = rc == 0;

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  UniqueFd client = open_door(a.path);
  ASSERT_TRUE(client.valid());
  CallOutcome call = call_door(client.get(), "relative");
  EXPECT_EQ(call.rc, 0) << std::strerror(call.err);
  EXPECT_EQ(call.data, "relative");
}

// fattach(3C): one door may be attached to several names.
TEST(Fattach, SameDoorOnTwoPaths_BothReachIt) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  std::string second = a.dir.make_file("second");
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);

  int rc = fattach(a.door.fd(), second.c_str());

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  UniqueFd c1 = open_door(a.path);
  UniqueFd c2 = open_door(second);
  EXPECT_EQ(call_door(c1.get(), "one").data, "one");
  EXPECT_EQ(call_door(c2.get(), "two").data, "two");
  fdetach(second.c_str());
}

// fattach(3C) ENOENT: "path does not exist."
TEST(Fattach, MissingPath_FailsWithENOENT) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  errno = 0;

  int rc = fattach(a.door.fd(), a.dir.file("missing").c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ENOENT) << std::strerror(errno);
}

TEST(Fattach, EmptyPath_FailsWithENOENT) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  errno = 0;

  int rc = fattach(a.door.fd(), "");

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ENOENT) << std::strerror(errno);
}

// fattach(3C) ENOTDIR: "A component of the path prefix is not a directory."
TEST(Fattach, PathThroughRegularFile_FailsWithENOTDIR) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  errno = 0;

  int rc = fattach(a.door.fd(), (a.path + "/below").c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ENOTDIR) << std::strerror(errno);
}

// fattach(3C) EBUSY: "The path is currently a mount point or has a STREAMS or door
// descriptor attached to it."
TEST(Fattach, AlreadyAttached_FailsWithEBUSY) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  LocalDoor other(echo_handler());
  ASSERT_GE(other.fd(), 0);
  errno = 0;

  int rc = fattach(other.fd(), a.path.c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBUSY) << std::strerror(errno);
}

TEST(Fattach, AlreadyAttachedSameDoor_FailsWithEBUSY) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  errno = 0;

  int rc = fattach(a.door.fd(), a.path.c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBUSY) << std::strerror(errno);
}

// fattach(3C) EINVAL: "The fildes argument is not a valid open file descriptor associated
// with a STREAMS-based device or a door."
TEST(Fattach, RegularFileDescriptor_FailsWithEINVAL) {
  TempDir dir;
  std::string path = dir.make_file("door");
  UniqueFd plain(::open(dir.make_file("plain").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(plain.valid());
  errno = 0;

  int rc = fattach(plain.get(), path.c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EINVAL) << std::strerror(errno);
  if (rc == 0) fdetach(path.c_str());
}

// fattach(3C) EBADF: "fildes is not a valid open file descriptor."
TEST(Fattach, MinusOne_FailsWithEBADF) {
  TempDir dir;
  std::string path = dir.make_file("door");
  errno = 0;

  int rc = fattach(-1, path.c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBADF) << std::strerror(errno);
}

TEST(Fattach, DescriptorNotOpen_FailsWithEBADF) {
  TempDir dir;
  std::string path = dir.make_file("door");
  errno = 0;

  int rc = fattach(unused_descriptor(), path.c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EBADF) << std::strerror(errno);
}

// fattach(3C) EPERM: "The effective user ID is not the owner of path or a user with
// appropriate privileges."
TEST(Fattach, NotOwnerOfPath_FailsWithEPERM) {
  if (!running_as_root()) GTEST_SKIP() << "needs root to act as another user (seteuid)";
  Attachable a;  // the file is root's
  ASSERT_GE(a.door.fd(), 0);
  a.dir.chmod(0755);  // so that the other user reaches the file and meets the ownership check
  int rc, err;
  {
    EffectiveUid nobody(kNobodyUid);
    ASSERT_TRUE(nobody.ok());

    rc = fattach(a.door.fd(), a.path.c_str());
    err = errno;
  }
  a.attached = rc == 0;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPERM) << std::strerror(err);
}

// fattach(3C) EACCES: "The user is the owner of path but does not have write permissions on
// path".
TEST(Fattach, OwnerWithoutWritePermission_FailsWithEACCES) {
  if (!running_as_root()) GTEST_SKIP() << "needs root to act as another user (seteuid)";
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  a.dir.chmod(0755);
  ASSERT_EQ(::chown(a.path.c_str(), kNobodyUid, kNobodyGid), 0);
  ASSERT_EQ(::chmod(a.path.c_str(), 0444), 0);
  int rc, err;
  {
    EffectiveUid nobody(kNobodyUid);
    ASSERT_TRUE(nobody.ok());

    rc = fattach(a.door.fd(), a.path.c_str());
    err = errno;
  }
  a.attached = rc == 0;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EACCES) << std::strerror(err);
}

// The owner with write permission may attach: the ownership rule is about the path's owner, not
// root.
TEST(Fattach, OwnerWithWritePermission_Succeeds) {
  if (!running_as_root()) GTEST_SKIP() << "needs root to act as another user (seteuid)";
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  a.dir.chmod(0755);
  ASSERT_EQ(::chown(a.path.c_str(), kNobodyUid, kNobodyGid), 0);
  ASSERT_EQ(::chmod(a.path.c_str(), 0644), 0);
  int rc, err;
  {
    EffectiveUid nobody(kNobodyUid);
    ASSERT_TRUE(nobody.ok());

    rc = fattach(a.door.fd(), a.path.c_str());
    err = errno;
    if (rc == 0) fdetach(a.path.c_str());
  }

  EXPECT_EQ(rc, 0) << std::strerror(err);
}

// --- fdetach -----------------------------------------------------------------------------------

TEST(Fdetach, Attached_Succeeds) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);

  int rc = fdetach(a.path.c_str());
  a.attached = rc != 0;

  EXPECT_EQ(rc, 0) << std::strerror(errno);
}

// fdetach(3C): afterwards the path is the plain file again, so a new open(2) is not a door:
// door_call(3C) EBADF.
TEST(Fdetach, Detached_NewOpenCallFailsWithEBADF) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  ASSERT_EQ(fdetach(a.path.c_str()), 0) << std::strerror(errno);
  a.attached = false;
  UniqueFd client = open_door(a.path);
  ASSERT_TRUE(client.valid());

  CallOutcome sut = call_door(client.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

TEST(Fdetach, Detached_NewOpenIsNotADoor) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  ASSERT_EQ(fdetach(a.path.c_str()), 0) << std::strerror(errno);
  a.attached = false;
  UniqueFd client = open_door(a.path);
  ASSERT_TRUE(client.valid());
  door_info_t sut{};
  errno = 0;

  EXPECT_EQ(door_info(client.get(), &sut), -1);
  EXPECT_EQ(errno, EBADF);
}

// fdetach(3C): descriptors opened while the door was attached keep referring to it (on Linux:
// once used; see DESIGN.md).
TEST(Fdetach, DescriptorOpenedAndUsedBeforeDetach_KeepsWorking) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  UniqueFd client = open_door(a.path);
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(call_door(client.get(), "before").data, "before");
  ASSERT_EQ(fdetach(a.path.c_str()), 0) << std::strerror(errno);
  a.attached = false;

  CallOutcome sut = call_door(client.get(), "after");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, "after");
}

TEST(Fdetach, Detached_DoorDescriptorKeepsWorking) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  ASSERT_EQ(fdetach(a.path.c_str()), 0) << std::strerror(errno);
  a.attached = false;

  CallOutcome sut = call_door(a.door.fd(), "still here");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, "still here");
}

TEST(Fdetach, Detached_PathCanBeAttachedAgain) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  ASSERT_EQ(fdetach(a.path.c_str()), 0) << std::strerror(errno);
  a.attached = false;

  int rc = a.attach();

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  UniqueFd client = open_door(a.path);
  EXPECT_EQ(call_door(client.get(), "again").data, "again");
}

// fdetach(3C): the file is still there afterwards.
TEST(Fdetach, Detached_FileRemains) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);

  ASSERT_EQ(fdetach(a.path.c_str()), 0) << std::strerror(errno);
  a.attached = false;

  struct stat st {};
  EXPECT_EQ(::stat(a.path.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

// fdetach(3C) EINVAL: "The path argument names a file that is not currently attached."
TEST(Fdetach, NothingAttached_FailsWithEINVAL) {
  TempDir dir;
  std::string path = dir.make_file("plain");
  errno = 0;

  int rc = fdetach(path.c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EINVAL) << std::strerror(errno);
}

TEST(Fdetach, DetachedTwice_SecondFailsWithEINVAL) {
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  ASSERT_EQ(fdetach(a.path.c_str()), 0) << std::strerror(errno);
  a.attached = false;
  errno = 0;

  int rc = fdetach(a.path.c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EINVAL) << std::strerror(errno);
}

// fdetach(3C) ENOENT: "A component of path does not exist" or path is empty.
TEST(Fdetach, MissingPath_FailsWithENOENT) {
  TempDir dir;
  errno = 0;

  int rc = fdetach(dir.file("missing").c_str());

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ENOENT) << std::strerror(errno);
}

TEST(Fdetach, EmptyPath_FailsWithENOENT) {
  errno = 0;

  int rc = fdetach("");

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ENOENT) << std::strerror(errno);
}

// fdetach(3C) EPERM: "The effective user ID is not the owner of path or is not a user with
// appropriate privileges."
TEST(Fdetach, NotOwnerOfPath_FailsWithEPERM) {
  if (!running_as_root()) GTEST_SKIP() << "needs root to act as another user (seteuid)";
  Attachable a;
  ASSERT_GE(a.door.fd(), 0);
  a.dir.chmod(0755);
  ASSERT_EQ(a.attach(), 0) << std::strerror(errno);
  int rc, err;
  {
    EffectiveUid nobody(kNobodyUid);
    ASSERT_TRUE(nobody.ok());

    rc = fdetach(a.path.c_str());
    err = errno;
  }
  a.attached = rc != 0;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPERM) << std::strerror(err);
}

}  // namespace
}  // namespace doors::test
