// Tests of the test support itself: the multi-process tests are only as honest as ForkedServer's
// reports and Deadline's bounds.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "async.h"
#include "deadline.h"
#include "fd.h"
#include "forked_server.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;

TEST(TempDir, Destruction_RemovesTreeRecursively) {
  std::string path;
  {
    TempDir sut;
    path = sut.path();
    std::filesystem::create_directories(sut.file("a/b"));
    std::ofstream(sut.file("a/b/c")) << "x";
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TempDir, MakeFile_HasExactModeDespiteUmask) {
  TempDir sut;
  mode_t old = ::umask(077);
  std::string p = sut.make_file("f", 0644);
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST(UniqueName, TwoCalls_Differ) { EXPECT_NE(unique_name("x"), unique_name("x")); }

TEST(Deadline, NothingToRead_PollReadableReturnsFalseAfterDeadline) {
  Pipe p = Pipe::make();
  auto start = Deadline::Clock::now();
  bool readable = poll_readable(p.read_end.get(), Deadline::in(50ms));
  EXPECT_FALSE(readable);
  EXPECT_GE(Deadline::Clock::now() - start, 50ms);
}

TEST(Deadline, ReadExact_WriterClosed_FailsAtEndOfFile) {
  Pipe p = Pipe::make();
  p.write_end.reset();
  char c;
  EXPECT_FALSE(read_exact(p.read_end.get(), &c, 1, Deadline::standard()));
  EXPECT_EQ(errno, 0);
}

TEST(ForkedServer, Ready_PayloadReachesParent) {
  ForkedServer sut([](ForkedServer::Child& child) {
    child.ready_with(42);
    child_wait_forever();
  });
  ASSERT_TRUE(sut.wait_ready());
  EXPECT_EQ(sut.payload_as<int>(), 42);
  ChildStatus s = sut.stop();
  EXPECT_TRUE(s.killed_by(SIGTERM)) << s.describe();
}

TEST(ForkedServer, ChildDiesBeforeReady_WaitReadyFailsWithStatus) {
  ForkedServer sut([](ForkedServer::Child&) { ::_exit(7); });
  auto ready = sut.wait_ready();
  EXPECT_FALSE(ready);
  EXPECT_NE(std::string(ready.message()).find("exited with status 7"), std::string::npos)
      << ready.message();
}

TEST(ForkedServer, KillAndReap_ReportsTheSignal) {
  ForkedServer sut([](ForkedServer::Child& child) {
    child.ready();
    child_wait_forever();
  });
  ASSERT_TRUE(sut.wait_ready());
  ChildStatus s = sut.kill_and_reap(SIGKILL);
  EXPECT_TRUE(s.killed_by(SIGKILL)) << s.describe();
}

void server_that_exits_early_with_3() {
  ForkedServer sut([](ForkedServer::Child& child) {
    child.ready();
    ::_exit(3);
  });
  ASSERT_TRUE(sut.wait_ready());
  // Teardown must look only after the child has exited: a pidfd becomes readable then.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, sut.pid(), 0)));
  ASSERT_TRUE(pidfd.valid()) << std::strerror(errno);
  ASSERT_TRUE(poll_readable(pidfd.get(), Deadline::standard()));
}

TEST(ForkedServer, ServerDiesBeforeTeardown_TestFails) {
  EXPECT_NONFATAL_FAILURE(server_that_exits_early_with_3(), "died before teardown");
}

void server_that_fails_at_sigterm() {
  ForkedServer sut([](ForkedServer::Child& child) {
    ::signal(SIGTERM, [](int) { ::_exit(3); });
    child.ready();
    child_wait_forever();
  });
  ASSERT_TRUE(sut.wait_ready());
}

TEST(ForkedServer, ServerExitsNonZeroAtTeardown_TestFails) {
  EXPECT_NONFATAL_FAILURE(server_that_fails_at_sigterm(), "ended abnormally at teardown");
}

TEST(RunInChild, Body_ExitCodeIsReturned) {
  ChildStatus s = run_in_child([] { return 9; });
  EXPECT_TRUE(s.exited_with(9)) << s.describe();
}

TEST(RunInChild, HangingBody_IsKilledAtDeadline) {
  ChildStatus s = run_in_child(
      [] {
        child_wait_forever();
        return 0;
      },
      Deadline::in(100ms));
  EXPECT_TRUE(s.timed_out);
  EXPECT_TRUE(s.killed_by(SIGKILL)) << s.describe();
}

TEST(Async, FinishedWork_ResultIsAvailable) {
  Async<int> sut([] { return 5; });
  ASSERT_TRUE(sut.wait(Deadline::standard()));
  EXPECT_EQ(sut.result(), 5);
}

}  // namespace
}  // namespace doors::test
