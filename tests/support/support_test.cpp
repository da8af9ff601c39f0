// Tests of the test support itself: the multi-process tests are only as honest as ForkedServer's
// reports and Deadline's bounds.
#include <fcntl.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "async.h"
#include "deadline.h"
#include "fd.h"
#include "forked_server.h"
#include "gate.h"
#include "leak_check.h"
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

// --- the leak check (leak_check.h): each kind of leak is reported, by name, and a test that
// gives everything back reports nothing. The deadlines are short: the leaks here are real until
// the test releases them, so every check but the last waits in vain.

constexpr auto kBrief = 50ms;

bool mentions(const std::string& drift, const std::string& what) {
  return drift.find(what) != std::string::npos;
}

TEST(LeakCheck, NothingLeaked_NoDrift) {
  TestLeakCheck sut;
  sut.start();
  { Pipe p = Pipe::make(); }
  EXPECT_EQ(sut.finish(Deadline::standard()), "");
}

TEST(LeakCheck, LeakedDescriptor_IsNamed) {
  TestLeakCheck sut;
  sut.start();
  Pipe leaked = Pipe::make();
  std::string drift = sut.finish(Deadline::in(kBrief));
  EXPECT_TRUE(
      mentions(drift, "descriptor " + std::to_string(leaked.read_end.get()) + " left open: pipe:["))
      << drift;
  leaked = Pipe{};
  EXPECT_EQ(sut.finish(Deadline::standard()), "");
}

TEST(LeakCheck, LeakedThread_IsNamed) {
  Gate stop;  // made before the baseline: its pipe is no leak
  TestLeakCheck sut;
  sut.start();
  std::thread leaked([&] {
    ::pthread_setname_np(::pthread_self(), "leaked-probe");
    stop.wait(Deadline::standard());
  });
  std::string drift;
  // The thread names itself once it runs: look until it has.
  for (Deadline d = Deadline::standard(); !mentions(drift, "leaked-probe") && !d.expired();)
    drift = sut.finish(Deadline::in(kBrief));
  EXPECT_TRUE(mentions(drift, "(\"leaked-probe\") still running")) << drift;
  stop.signal();
  leaked.join();
  EXPECT_EQ(sut.finish(Deadline::standard()), "");
}

TEST(LeakCheck, LeakedMemfd_DescriptorAndMappingAreNamed) {
  TestLeakCheck sut;
  sut.start();
  UniqueFd memfd(::memfd_create("leak-probe", MFD_CLOEXEC));
  ASSERT_TRUE(memfd.valid()) << std::strerror(errno);
  ASSERT_EQ(::ftruncate(memfd.get(), 1 << 16), 0);
  void* map = ::mmap(nullptr, 1 << 16, PROT_READ, MAP_SHARED, memfd.get(), 0);
  ASSERT_NE(map, MAP_FAILED);

  std::string drift = sut.finish(Deadline::in(kBrief));
  EXPECT_TRUE(mentions(drift, "left open: /memfd:leak-probe")) << drift;
  EXPECT_TRUE(mentions(drift, "65536 bytes of /memfd:leak-probe")) << drift;
  memfd.reset();  // the mapping alone keeps the memfd alive
  drift = sut.finish(Deadline::in(kBrief));
  EXPECT_FALSE(mentions(drift, "left open")) << drift;
  EXPECT_TRUE(mentions(drift, "65536 bytes of /memfd:leak-probe")) << drift;
  ::munmap(map, 1 << 16);
  EXPECT_EQ(sut.finish(Deadline::standard()), "");
}

TEST(LeakCheck, UnreapedChild_IsNamedRunningAndAsZombie) {
  TestLeakCheck sut;
  sut.start();
  std::fflush(nullptr);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    child_wait_forever();
  }
  std::string drift = sut.finish(Deadline::in(kBrief));
  EXPECT_TRUE(mentions(drift, "child process " + std::to_string(child))) << drift;
  ::kill(child, SIGKILL);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  ASSERT_TRUE(poll_readable(pidfd.get(), Deadline::standard()));  // dead, not reaped
  drift = sut.finish(Deadline::in(kBrief));
  EXPECT_TRUE(mentions(drift, "(state Z) not reaped")) << drift;
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  pidfd.reset();
  EXPECT_EQ(sut.finish(Deadline::standard()), "");
}

TEST(LeakCheck, FilesLeftBehind_AreNamed) {
  TestLeakCheck sut;
  sut.start();
  auto dir = std::make_unique<TempDir>();
  std::string dir_path = dir->path();
  const char* base = std::getenv("TMPDIR");
  std::string file = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" +
                     unique_name("leak-probe");
  std::ofstream(file) << "x";

  std::string drift = sut.finish(Deadline::in(kBrief));
  EXPECT_TRUE(mentions(drift, "temporary directory " + dir_path + " left behind")) << drift;
  EXPECT_TRUE(mentions(drift, "file " + file + " left behind")) << drift;
  dir.reset();
  ::unlink(file.c_str());
  EXPECT_EQ(sut.finish(Deadline::standard()), "");
}

TEST(LeakCheck, ResidentMemoryGrowth_IsReportedBeyondTheSlack) {
  if (!default_checks().rss) GTEST_SKIP() << "no RSS check in sanitizer builds (leak_check.h)";
  TestLeakCheck sut;
  sut.start();
  std::vector<char> held(2 * kRssSlack, 1);  // touched: resident

  std::string drift = sut.finish(Deadline::in(kBrief));
  EXPECT_TRUE(mentions(drift, "resident memory grew by")) << drift;
  held = {};
  held.shrink_to_fit();  // a block this large is mmapped by malloc and given back at once
  EXPECT_EQ(sut.finish(Deadline::standard()), "");
}

// The server side: a server that holds more than it did when ready fails the test, naming it.
void server_that_opens_a_file_after_ready() {
  Gate open_now, opened;
  ForkedServer server([&](ForkedServer::Child& child) {
    child.ready();
    if (!open_now.wait(Deadline::standard())) ::_exit(1);
    ::open("/dev/null", O_RDONLY);  // never closed
    opened.signal();
    child_wait_forever();
  });
  ASSERT_TRUE(server.wait_ready());
  ResourceSnapshot ready = take_snapshot(server.pid());
  ASSERT_TRUE(ready.complete);
  EXPECT_TRUE(check_server_leaks(ready, "probe server"));  // nothing yet
  open_now.signal();
  ASSERT_TRUE(opened.wait(Deadline::standard()));
  check_server_leaks(ready, "probe server");
}

TEST(LeakCheck, ServerKeepsADescriptor_TestFailsNamingIt) {
  EXPECT_NONFATAL_FAILURE(server_that_opens_a_file_after_ready(), "left open: /dev/null");
}

}  // namespace
}  // namespace doors::test
