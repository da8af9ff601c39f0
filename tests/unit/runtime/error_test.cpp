// Codes, Error, the errno tables, OwnedFd, resolve_door_path.
#include <doors/runtime.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "temp_dir.h"

namespace doors {
namespace {

TEST(Code, EveryCode_HasGrpcName) {
  const std::pair<Code, const char*> rows[] = {
      {Code::kOk, "OK"},
      {Code::kCancelled, "CANCELLED"},
      {Code::kUnknown, "UNKNOWN"},
      {Code::kInvalidArgument, "INVALID_ARGUMENT"},
      {Code::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
      {Code::kNotFound, "NOT_FOUND"},
      {Code::kAlreadyExists, "ALREADY_EXISTS"},
      {Code::kPermissionDenied, "PERMISSION_DENIED"},
      {Code::kResourceExhausted, "RESOURCE_EXHAUSTED"},
      {Code::kFailedPrecondition, "FAILED_PRECONDITION"},
      {Code::kAborted, "ABORTED"},
      {Code::kOutOfRange, "OUT_OF_RANGE"},
      {Code::kUnimplemented, "UNIMPLEMENTED"},
      {Code::kInternal, "INTERNAL"},
      {Code::kUnavailable, "UNAVAILABLE"},
      {Code::kDataLoss, "DATA_LOSS"},
      {Code::kUnauthenticated, "UNAUTHENTICATED"},
  };
  uint16_t expected_number = 0;
  for (auto [code, name] : rows) {
    EXPECT_EQ(static_cast<uint16_t>(code), expected_number++) << name;
    EXPECT_STREQ(code_name(code), name);
  }
  EXPECT_EQ(kLastCode, Code::kUnauthenticated);
  EXPECT_STREQ(code_name(static_cast<Code>(99)), "UNKNOWN_CODE");
}

TEST(Error, Constructed_CodeMessageWhat) {
  Error sut(Code::kInvalidArgument, "division by zero");

  EXPECT_EQ(sut.code(), Code::kInvalidArgument);
  EXPECT_EQ(sut.message(), "division by zero");
  EXPECT_STREQ(sut.what(), "INVALID_ARGUMENT: division by zero");
  EXPECT_FALSE(sut.remote());
  EXPECT_EQ(sut.sys_errno(), 0);
}

TEST(Error, FromRemote_IsRemote) {
  Error sut = Error::from_remote(Code::kNotFound, "no such key");

  EXPECT_TRUE(sut.remote());
  EXPECT_EQ(sut.code(), Code::kNotFound);
  EXPECT_EQ(sut.message(), "no such key");
}

TEST(Error, FromErrno_KeepsErrnoAndSaysWhy) {
  Error sut = Error::from_errno(Code::kNotFound, ENOENT, "open /x");

  EXPECT_EQ(sut.sys_errno(), ENOENT);
  EXPECT_FALSE(sut.remote());
  EXPECT_EQ(sut.message(), "open /x: No such file or directory");
}

TEST(Error, Copied_Equal) {
  Error a(Code::kAborted, "x");
  Error sut = a;

  EXPECT_EQ(sut.code(), Code::kAborted);
  EXPECT_STREQ(sut.what(), a.what());
}

TEST(ErrnoTable, CallErrnos_EveryRow) {
  const std::pair<int, Code> rows[] = {
      {EBADF, Code::kUnavailable},
      {EINTR, Code::kUnavailable},
      {ETIMEDOUT, Code::kDeadlineExceeded},
      {E2BIG, Code::kResourceExhausted},
      {ENOBUFS, Code::kResourceExhausted},
      {ENFILE, Code::kResourceExhausted},
      {EAGAIN, Code::kResourceExhausted},
      {ENOMEM, Code::kResourceExhausted},
      {EMFILE, Code::kResourceExhausted},
      {EOVERFLOW, Code::kResourceExhausted},
      {ENOTSUP, Code::kFailedPrecondition},
      {EINVAL, Code::kInvalidArgument},
      {EFAULT, Code::kInvalidArgument},
      {EPERM, Code::kUnknown},
      {0, Code::kUnknown},
  };
  for (auto [err, code] : rows) EXPECT_EQ(code_for_call_errno(err), code) << err;
}

TEST(ErrnoTable, PathErrnos_EveryRow) {
  const std::pair<int, Code> rows[] = {
      {ENOENT, Code::kNotFound},
      {ENOTDIR, Code::kNotFound},
      {EACCES, Code::kPermissionDenied},
      {EPERM, Code::kPermissionDenied},
      {EROFS, Code::kPermissionDenied},
      {EEXIST, Code::kAlreadyExists},
      {EBUSY, Code::kAlreadyExists},
      {EMFILE, Code::kResourceExhausted},
      {ENFILE, Code::kResourceExhausted},
      {ENOMEM, Code::kResourceExhausted},
      {ENOSPC, Code::kResourceExhausted},
      {EAGAIN, Code::kResourceExhausted},
      {ENAMETOOLONG, Code::kInvalidArgument},
      {ELOOP, Code::kInvalidArgument},
      {EINVAL, Code::kInvalidArgument},
      {EBADF, Code::kFailedPrecondition},
      {EIO, Code::kUnknown},
  };
  for (auto [err, code] : rows) EXPECT_EQ(code_for_errno(err), code) << err;
}

TEST(OwnedFd, Destroyed_ClosesDescriptor) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[1]);
  {
    OwnedFd sut(fds[0]);
    EXPECT_TRUE(sut.valid());
  }
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);
}

TEST(OwnedFd, MovedAndReleased_OwnershipFollows) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[1]);
  OwnedFd a(fds[0]);
  OwnedFd sut(std::move(a));

  EXPECT_FALSE(a.valid());
  int raw = sut.release();
  EXPECT_FALSE(sut.valid());
  EXPECT_EQ(raw, fds[0]);
  EXPECT_EQ(::close(raw), 0);
}

class ResolveDoorPath : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* x = ::getenv("XDG_RUNTIME_DIR");
    had_ = x != nullptr;
    if (had_) saved_ = x;
  }
  void TearDown() override {
    if (had_) {
      ::setenv("XDG_RUNTIME_DIR", saved_.c_str(), 1);
    } else {
      ::unsetenv("XDG_RUNTIME_DIR");
    }
  }
  bool had_ = false;
  std::string saved_;
};

TEST_F(ResolveDoorPath, PathWithSlash_AsIs) {
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);

  EXPECT_EQ(resolve_door_path("/tmp/x/calc"), "/tmp/x/calc");
  EXPECT_EQ(resolve_door_path("./calc"), "./calc");
}

TEST_F(ResolveDoorPath, BareName_RuntimeDirOrRunDoors) {
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  std::string expected =
      ::geteuid() == 0 ? "/run/doors/calculator" : "/run/user/1000/doors/calculator";

  EXPECT_EQ(resolve_door_path("calculator"), expected);
}

TEST_F(ResolveDoorPath, BareNameWithoutRuntimeDir_RunDoors) {
  ::unsetenv("XDG_RUNTIME_DIR");

  EXPECT_EQ(resolve_door_path("calculator"), "/run/doors/calculator");
}

TEST_F(ResolveDoorPath, Empty_InvalidArgument) {
  try {
    resolve_door_path("");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
  }
}

TEST(DoorHandleOpen, Missing_NotFound) {
  test::TempDir dir;
  try {
    DoorHandle::open(dir.file("nothing"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
    EXPECT_EQ(e.sys_errno(), ENOENT);
  }
}

TEST(DoorHandleOpen, PlainFile_FailedPrecondition) {
  test::TempDir dir;
  std::string path = dir.make_file("plain");
  try {
    DoorHandle::open(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

TEST(DoorHandleOpen, NotADirectoryOnTheWay_NotFound) {
  test::TempDir dir;
  std::string path = dir.make_file("plain") + "/below";
  try {
    DoorHandle::open(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
    EXPECT_EQ(e.sys_errno(), ENOTDIR);
  }
}

TEST(DoorHandleOpen, Unreadable_PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  test::TempDir dir;
  std::string path = dir.make_file("secret", 0000);
  try {
    DoorHandle::open(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied);
  }
}

}  // namespace
}  // namespace doors
