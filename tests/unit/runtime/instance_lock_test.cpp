// The server main's lock file (instance_lock.h): flock(2) per open file description, so a second
// acquire in this very process conflicts like another process would.
#include "instance_lock.h"

#include <doors/runtime/error.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "temp_dir.h"

namespace doors::detail {
namespace {

using test::read_file;
using test::TempDir;

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(InstanceLock, FreshPath_AcquiredAndFileCreated) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t holder = -1;

  auto sut = InstanceLock::acquire(path, &holder);

  ASSERT_TRUE(sut.has_value());
  EXPECT_EQ(holder, 0);
  EXPECT_EQ(sut->path(), path);
  EXPECT_TRUE(exists(path));
  EXPECT_FALSE(sut->previous_created().has_value());
}

TEST(InstanceLock, FreshPath_FileMode0644WhateverTheUmask) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t holder = -1;
  mode_t old = ::umask(077);

  auto sut = InstanceLock::acquire(path, &holder);
  ::umask(old);

  ASSERT_TRUE(sut.has_value());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(InstanceLock, HeldInThisProcess_SecondAcquireFailsNamingThisPid) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t unused = 0;
  auto first = InstanceLock::acquire(path, &unused);
  ASSERT_TRUE(first.has_value());
  pid_t holder = -1;

  auto sut = InstanceLock::acquire(path, &holder);

  EXPECT_FALSE(sut.has_value());
  EXPECT_EQ(holder, ::getpid());
}

TEST(InstanceLock, Released_FileRemovedAndAcquirableAgain) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t holder = 0;
  auto first = InstanceLock::acquire(path, &holder);
  ASSERT_TRUE(first.has_value());

  first->release();

  EXPECT_FALSE(exists(path));
  auto sut = InstanceLock::acquire(path, &holder);
  EXPECT_TRUE(sut.has_value());
  EXPECT_EQ(holder, 0);
}

TEST(InstanceLock, Destroyed_FileRemovedAndAcquirableAgain) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t holder = 0;
  {
    auto first = InstanceLock::acquire(path, &holder);
    ASSERT_TRUE(first.has_value());
  }

  auto sut = InstanceLock::acquire(path, &holder);

  EXPECT_TRUE(sut.has_value());
}

TEST(InstanceLock, ReleasedTwice_Harmless) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t holder = 0;
  auto sut = InstanceLock::acquire(path, &holder);
  ASSERT_TRUE(sut.has_value());
  sut->release();
  write_file(path, "");  // someone else's file now: a second release must not remove it

  sut->release();

  EXPECT_TRUE(exists(path));
}

TEST(InstanceLock, Moved_TheNewOwnerHoldsTheLock) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t holder = 0;
  auto first = InstanceLock::acquire(path, &holder);
  ASSERT_TRUE(first.has_value());

  InstanceLock sut = std::move(*first);
  first.reset();  // the moved-from lock releases nothing

  EXPECT_TRUE(exists(path));
  EXPECT_FALSE(InstanceLock::acquire(path, &holder).has_value());
}

TEST(InstanceLock, Record_PidAndCreatedWritten) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t holder = 0;
  auto sut = InstanceLock::acquire(path, &holder);
  ASSERT_TRUE(sut.has_value());

  sut->record(InstanceLock::Created{0x1234, 987654321});

  EXPECT_EQ(read_file(path), "pid " + std::to_string(::getpid()) + "\ncreated " +
                                 std::to_string(0x1234) + " 987654321\n");
}

TEST(InstanceLock, RecordTwice_ReplacesTheContent) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  pid_t holder = 0;
  auto sut = InstanceLock::acquire(path, &holder);
  ASSERT_TRUE(sut.has_value());
  sut->record(InstanceLock::Created{1, 2});

  sut->record(std::nullopt);

  EXPECT_EQ(read_file(path), "pid " + std::to_string(::getpid()) + "\n");
}

TEST(InstanceLock, PreviousCreated_RoundTrip) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  std::string kept = dir.file("kept.lock");
  pid_t holder = 0;
  {
    auto previous = InstanceLock::acquire(path, &holder);
    ASSERT_TRUE(previous.has_value());
    previous->record(InstanceLock::Created{42, 4242424242ull});
    // A crashed server leaves its file behind: keep a copy, as release() removes it.
    ASSERT_EQ(::link(path.c_str(), kept.c_str()), 0);
  }
  ASSERT_EQ(::rename(kept.c_str(), path.c_str()), 0);

  auto sut = InstanceLock::acquire(path, &holder);

  ASSERT_TRUE(sut.has_value());
  ASSERT_TRUE(sut->previous_created().has_value());
  EXPECT_EQ(sut->previous_created()->dev, dev_t{42});
  EXPECT_EQ(sut->previous_created()->ino, ino_t{4242424242ull});
}

TEST(InstanceLock, GarbageContent_Ignored) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  const std::string contents[] = {
      "",
      "garbage\n",
      "\x01\x02\xff\xfe binary",
      "pid\ncreated\n",
      "created 1\n",
      "created x y\n",
      "pid -5\n",
      std::string(1000, 'z'),
  };
  for (const std::string& content : contents) {
    write_file(path, content);
    pid_t holder = -1;

    auto sut = InstanceLock::acquire(path, &holder);

    ASSERT_TRUE(sut.has_value()) << content;
    EXPECT_FALSE(sut->previous_created().has_value()) << content;
    sut->release();
  }
}

TEST(InstanceLock, OldFormatPidOnly_NoPreviousCreated) {
  TempDir dir;
  std::string path = dir.file("door.lock");
  write_file(path, "pid 12345\n");
  pid_t holder = -1;

  auto sut = InstanceLock::acquire(path, &holder);

  ASSERT_TRUE(sut.has_value());
  EXPECT_FALSE(sut->previous_created().has_value());
}

TEST(InstanceLock, PathIsASymlink_Refused) {
  TempDir dir;
  std::string target = dir.file("target");
  std::string path = dir.file("door.lock");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  pid_t holder = 0;

  EXPECT_THROW(InstanceLock::acquire(path, &holder), Error);
  EXPECT_FALSE(exists(target)) << "O_NOFOLLOW: nothing created through the link";
}

TEST(InstanceLock, DirectoryMissing_ThrowsNotFound) {
  TempDir dir;
  pid_t holder = 0;

  try {
    (void)InstanceLock::acquire(dir.file("no/such/door.lock"), &holder);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound) << e.what();
  }
}

TEST(FlockHolder, HeldLock_ThisProcess) {
  TempDir dir;
  std::string path = dir.file("held");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);

  pid_t sut = flock_holder(st.st_dev, st.st_ino);

  EXPECT_EQ(sut, ::getpid());
  ::close(fd);
}

TEST(FlockHolder, SharedLock_ThisProcess) {
  TempDir dir;
  std::string path = dir.file("held");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_SH | LOCK_NB), 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);

  EXPECT_EQ(flock_holder(st.st_dev, st.st_ino), ::getpid());
  ::close(fd);
}

TEST(FlockHolder, UnlockedFile_Zero) {
  TempDir dir;
  std::string path = dir.make_file("free");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);

  EXPECT_EQ(flock_holder(st.st_dev, st.st_ino), 0);
}

TEST(FlockHolder, PosixRecordLockNotFlock_Zero) {
  TempDir dir;
  std::string path = dir.file("posix");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_SETLK, &fl), 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);

  EXPECT_EQ(flock_holder(st.st_dev, st.st_ino), 0);
  ::close(fd);
}

}  // namespace
}  // namespace doors::detail
