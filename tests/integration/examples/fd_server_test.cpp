// The file server example end to end: the real fd_server binary hands out read-only descriptors
// of files under its --root and refuses every way out of it, with openat2(2) and with the
// openat(2) walk (--walk).
#include <doors/runtime.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "call_error.h"
#include "door_support.h"
#include "example_process.h"
#include "fd_server.door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

bool openat2_available() {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  long fd = ::syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
  if (fd >= 0) ::close(static_cast<int>(fd));
  return fd >= 0 || errno != ENOSYS;
}

// GetParam(): true runs the server with --walk.
class FdServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!walk() && !openat2_available()) GTEST_SKIP() << "no openat2 on this kernel";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/sub").c_str(), 0755), 0);
    write_file(root_ + "/hello.txt", "hello, doors\n");
    write_file(root_ + "/sub/nested.txt", "nested\n");
    write_file(dir_.file("secret.txt"), "secret\n");
    ASSERT_EQ(::symlink("hello.txt", (root_ + "/link_in").c_str()), 0);
    ASSERT_EQ(::symlink("../secret.txt", (root_ + "/link_out").c_str()), 0);
    ASSERT_EQ(::symlink(dir_.file("secret.txt").c_str(), (root_ + "/link_abs").c_str()), 0);
    ASSERT_EQ(::symlink("/proc/self/root/etc/hostname", (root_ + "/link_proc").c_str()), 0);
    ASSERT_EQ(::mkfifo((root_ + "/fifo").c_str(), 0644), 0);

    std::vector<std::string> args{"--root", root_};
    if (walk()) args.push_back("--walk");
    server_ = std::make_unique<ExampleServer>(Binaries::fd_server(), path_, args);
    ASSERT_TRUE(server_->ready());
    sut_ = fdsrv::FileServerDoor::Client::open(path_);
  }
  void TearDown() override {
    sut_ = {};
    if (server_ && server_->ready()) server_->stop();
  }

  bool walk() const { return GetParam(); }

  // The contents of `path` read through the descriptor the server returns.
  std::string contents(const std::string& path) {
    auto reply = sut_.open_(kj::StringPtr(path.c_str(), path.size()));
    OwnedFd fd = reply.take_fd(reply->getFile());
    return read_all(fd.get());
  }
  std::optional<Error> open_error(const std::string& path) {
    return error_of([&] { contents(path); });
  }

  TempDir dir_;
  std::string root_ = dir_.file("root");
  std::string path_ = dir_.file("fd_server");
  std::unique_ptr<ExampleServer> server_;
  fdsrv::FileServerDoor::Client sut_;
};

TEST_P(FdServerTest, Open_File_ReturnsAReadOnlyDescriptorOfIt) {
  auto reply = sut_.open_("hello.txt");
  OwnedFd fd = reply.take_fd(reply->getFile());
  ASSERT_GE(fd.get(), 0);
  EXPECT_EQ(::fcntl(fd.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
  EXPECT_EQ(::write(fd.get(), "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(read_all(fd.get()), "hello, doors\n");
}

TEST_P(FdServerTest, Open_NestedFile_Works) {
  EXPECT_EQ(contents("sub/nested.txt"), "nested\n");
  EXPECT_EQ(contents("./sub//nested.txt"), "nested\n");
}

TEST_P(FdServerTest, Open_PathsLeadingOutOfTheRoot_FailWithPermissionDenied) {
  for (std::string path :
       {std::string("../secret.txt"), std::string("sub/../../secret.txt"),
        std::string("/etc/passwd"), dir_.file("secret.txt"), std::string("link_out"),
        std::string("link_abs"), std::string("link_proc")}) {
    SCOPED_TRACE(path);
    auto e = open_error(path);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), Code::kPermissionDenied) << e->what();
    EXPECT_TRUE(e->remote());
  }
}

TEST_P(FdServerTest, Open_LinksAndDotDotThatStayInside_FollowOnlyWithOpenat2) {
  for (std::string path : {std::string("link_in"), std::string("sub/../hello.txt")}) {
    SCOPED_TRACE(path);
    if (walk()) {
      auto e = open_error(path);
      ASSERT_TRUE(e);
      EXPECT_EQ(e->code(), Code::kPermissionDenied) << e->what();
    } else {
      EXPECT_EQ(contents(path), "hello, doors\n");
    }
  }
}

TEST_P(FdServerTest, Open_MissingFile_FailsWithNotFound) {
  for (std::string path : {"nothing.txt", "sub/nothing.txt", "hello.txt/x"}) {
    SCOPED_TRACE(path);
    auto e = open_error(path);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), Code::kNotFound) << e->what();
  }
}

TEST_P(FdServerTest, Open_NotARegularFile_FailsWithInvalidArgumentWithoutBlocking) {
  for (std::string path : {"sub", ".", "fifo", ""}) {
    SCOPED_TRACE(path);
    auto e = open_error(path);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), Code::kInvalidArgument) << e->what();
  }
}

TEST_P(FdServerTest, Open_IsLoggedWithTheCallersUid) {
  EXPECT_EQ(contents("hello.txt"), "hello, doors\n");
  std::string expected = "uid " + std::to_string(::getuid()) + " (pid " +
                         std::to_string(::getpid()) + ") opened 'hello.txt'";
  EXPECT_TRUE(server_->process().wait_for_stderr(expected));
  open_error("../secret.txt");
  EXPECT_TRUE(server_->process().wait_for_stderr("uid " + std::to_string(::getuid()) + " (pid " +
                                                 std::to_string(::getpid()) +
                                                 ") refused: PERMISSION_DENIED"));
}

TEST_P(FdServerTest, RawCallCarryingADescriptor_IsRefusedByTheDoor) {
  // $Door.refuseDescriptors: DOOR_REFUSE_DESC, so door_call itself fails with ENOTSUP.
  UniqueFd door = open_door(path_);
  ASSERT_TRUE(door.valid());
  Pipe p = Pipe::make();
  CallOutcome out = call_door(door.get(), "x", {descriptor(p.read_end.get())});
  EXPECT_EQ(out.rc, -1);
  EXPECT_EQ(out.err, ENOTSUP);
  EXPECT_EQ(contents("hello.txt"), "hello, doors\n");
}

INSTANTIATE_TEST_SUITE_P(Resolve, FdServerTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Walk" : "Openat2");
                         });

}  // namespace
}  // namespace doors::test
