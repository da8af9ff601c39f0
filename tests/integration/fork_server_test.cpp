// fork(2) of a door server: the child keeps the door descriptors but is not their server. The
// server is a forked child of the test; it forks a child of its own (the subject), which examines
// the door and reports through the server's ready(). A client process that forks is in
// door_call_remote_test.cpp (DoorCall.ClientForksAndBothCall_RepliesNeverCross).
#include <door.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// Replies the pid of the process serving the call.
void pid_proc(void*, char*, std::size_t, door_desc_t*, uint_t) {
  reply_value(static_cast<std::int32_t>(::getpid()));
}

// What the server's child found.
struct Probe {
  std::int32_t rc = -1;
  std::int32_t err = 0;
  door_info_t info{};
  std::int32_t served_by = 0;  // the pid a call was served by
};

// What the server reports when ready.
struct ForkReport {
  std::int32_t server_pid;
  std::int32_t child_pid;
  door_info_t server_info;  // door_info() of the door in the server
  Probe probe;
  std::int32_t child_status;  // 0 when the child ran `probe` and reported
};

// The server's creation function: one pool thread, made at door_create, and no more. So when the
// server forks, after a call of its own has been served, its only other thread is parked in
// door_return: no thread is inside an allocator (whose lock, held across fork(), would hang
// the child under ASan). The child makes threads the default way again.
door_server_func_t* g_default_creation = nullptr;
std::atomic<int> g_threads_made{0};

void one_thread_only(door_info_t* info) {
  if (g_threads_made.fetch_add(1) == 0) g_default_creation(info);
}

// The pid a call through `d` was served by, or 0 (with errno in `p`).
std::int32_t served_by(int d, Probe& p) {
  CallOutcome call = call_door(d, "");
  std::int32_t pid = 0;
  if (call.rc != 0 || !read_value(call.data, &pid)) {
    p.rc = -1;
    p.err = call.rc != 0 ? call.err : EPROTO;
    return 0;
  }
  return pid;
}

// Forks a server that attaches a pid_proc door at `path`, then forks its own child, which runs
// `probe` on the door's descriptor (inherited) and reports; the server serves on after that.
// Returns the server, or nullptr after a test failure.
std::unique_ptr<ForkedServer> fork_server_that_forks(const std::string& path,
                                                     const std::function<Probe(int d)>& probe,
                                                     ForkReport* report) {
  auto server = std::make_unique<ForkedServer>([&](ForkedServer::Child& child) {
    g_default_creation = door_server_create(one_thread_only);
    int d = child_serve_at(path, pid_proc);
    ForkReport r{};
    r.server_pid = ::getpid();
    if (door_info(d, &r.server_info) != 0) child_fail("door_info");
    if (call_door(d, "").rc != 0) child_fail("door_call (own door)");  // its thread is serving
    Pipe probes = Pipe::make();
    pid_t server = ::getpid();
    pid_t pid = ::fork();  // the server has threads: this is the fork under test
    if (pid < 0) child_fail("fork");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != server) ::_exit(kChildSetupFailed);
      door_server_create(g_default_creation);
      Probe p = probe(d);
      ::_exit(write_all(probes.write_end.get(), &p, sizeof p) ? 0 : kChildSetupFailed);
    }
    r.child_pid = pid;
    ChildStatus status = wait_child(pid, Deadline::standard());
    r.child_status = status.exited_with(0) ? 0 : 1;
    if (r.child_status == 0 &&
        !read_exact(probes.read_end.get(), &r.probe, sizeof r.probe, Deadline::standard()))
      r.child_status = 2;
    child.ready_with(r);
    child_wait_forever();
  });
  auto ready = server->wait_ready();
  if (!ready) {
    ADD_FAILURE() << ready.message();
    return nullptr;
  }
  *report = server->payload_as<ForkReport>();
  if (report->child_status != 0) {
    ADD_FAILURE() << "the server's child did not report (" << report->child_status << ")";
    return nullptr;
  }
  return server;
}

Probe info_probe(int d) {
  Probe p;
  p.rc = door_info(d, &p.info);
  p.err = p.rc == 0 ? 0 : errno;
  return p;
}

// door_info(3C) DOOR_LOCAL: "The door descriptor refers to a service procedure in this process"
// — in the server's forked child it does not: illumos serves the door in the parent only.
TEST(DoorInfo, InForkedChildOfServer_HasNoDoorLocal) {
  TempDir dir;
  ForkReport report{};
  auto server = fork_server_that_forks(dir.file("door"), info_probe, &report);
  ASSERT_NE(server, nullptr);

  const Probe& sut = report.probe;

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_FALSE(sut.info.di_attributes & DOOR_LOCAL) << std::hex << sut.info.di_attributes;
  EXPECT_TRUE(report.server_info.di_attributes & DOOR_LOCAL);
}

// door_info(3C): di_target "is the process ID of the door server": the parent.
TEST(DoorInfo, InForkedChildOfServer_TargetIsTheParent) {
  TempDir dir;
  ForkReport report{};
  auto server = fork_server_that_forks(dir.file("door"), info_probe, &report);
  ASSERT_NE(server, nullptr);

  const Probe& sut = report.probe;

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.info.di_target, report.server_pid);
  EXPECT_NE(sut.info.di_target, report.child_pid);
  EXPECT_EQ(value_of(sut.info.di_uniquifier), value_of(report.server_info.di_uniquifier));
}

// door_revoke(3C) EPERM: only the process that created the door may revoke it; a forked child did
// not. The door stays served.
TEST(DoorRevoke, InForkedChildOfServer_FailsWithEPERM) {
  TempDir dir;
  std::string path = dir.file("door");
  ForkReport report{};
  auto server = fork_server_that_forks(
      path,
      [](int d) {
        Probe p;
        errno = 0;
        p.rc = door_revoke(d);
        p.err = errno;
        return p;
      },
      &report);
  ASSERT_NE(server, nullptr);

  const Probe& sut = report.probe;

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EPERM) << std::strerror(sut.err);
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());
  EXPECT_EQ(call_door(client.get(), "").rc, 0) << "the door was revoked";
}

// illumos: "fork copies door fds, and the doors are still served by the parent": a call from the
// child is served by the parent process.
TEST(DoorCall, InForkedChildOfServer_IsServedByTheParent) {
  TempDir dir;
  ForkReport report{};
  auto server = fork_server_that_forks(
      dir.file("door"),
      [](int d) {
        Probe p;
        p.served_by = served_by(d, p);
        if (p.served_by != 0) p.rc = 0;
        return p;
      },
      &report);
  ASSERT_NE(server, nullptr);

  const Probe& sut = report.probe;

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.served_by, report.server_pid);
}

// illumos libc: "A door_create in the child starts a new pool": the child serves the doors it
// creates itself.
TEST(DoorCreate, InForkedChildOfServer_ChildServesItsNewDoor) {
#if defined(__SANITIZE_THREAD__)
  // The child of the (multi-threaded) server starts server threads, which ThreadSanitizer refuses
  // after a multi-threaded fork ("starting new threads after multi-threaded fork is not
  // supported"): the normal and ASan builds run this test.
  GTEST_SKIP() << "ThreadSanitizer cannot start threads in a multi-threaded process's child";
#endif
  TempDir dir;
  ForkReport report{};
  auto server = fork_server_that_forks(
      dir.file("door"),
      [](int) {
        Probe p;
        int own = door_create(pid_proc, nullptr, 0);
        if (own < 0) {
          p.err = errno;
          return p;
        }
        if (door_info(own, &p.info) != 0) {
          p.err = errno;
          return p;
        }
        p.served_by = served_by(own, p);
        if (p.served_by != 0) p.rc = 0;
        return p;
      },
      &report);
  ASSERT_NE(server, nullptr);

  const Probe& sut = report.probe;

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.served_by, report.child_pid);
  EXPECT_EQ(sut.info.di_target, report.child_pid);
  EXPECT_TRUE(sut.info.di_attributes & DOOR_LOCAL) << std::hex << sut.info.di_attributes;
}

}  // namespace
}  // namespace doors::test
