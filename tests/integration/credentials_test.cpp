// door_ucred(3C) and door_cred(3C) with the caller in another process: the server sees the
// immediate caller's ids and pid as they are when it calls, not when it opened the door. The
// tests that change ids need root (a client child drops to uid/gid 65534); they are skipped
// otherwise. One-process cases (EINVAL, EFAULT, allocation) are in
// tests/conformance/door_ucred_test.cpp.
#include <door.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <ucred.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

#define REQUIRE_ROOT()    \
  if (!running_as_root()) \
  GTEST_SKIP() << "needs root: the client changes its uid and gid to " << kNobodyUid

// What cred_proc replies: its caller as door_ucred(3C) and door_cred(3C) describe it.
struct CredReport {
  std::int32_t ucred_rc;
  std::int32_t ucred_err;
  std::uint32_t euid, ruid, egid, rgid;
  std::int32_t pid;
  std::int32_t ngroups;
  std::uint32_t groups[16];
  std::int32_t cred_rc;
  std::int32_t cred_err;
  std::uint32_t dc_euid, dc_ruid, dc_egid, dc_rgid;
  std::int32_t dc_pid;
};

void cred_proc(void*, char*, std::size_t, door_desc_t*, uint_t) {
  CredReport r{};
  ucred_t* uc = nullptr;
  r.ucred_rc = door_ucred(&uc);
  r.ucred_err = r.ucred_rc == 0 ? 0 : errno;
  if (r.ucred_rc == 0) {
    r.euid = ucred_geteuid(uc);
    r.ruid = ucred_getruid(uc);
    r.egid = ucred_getegid(uc);
    r.rgid = ucred_getrgid(uc);
    r.pid = ucred_getpid(uc);
    const gid_t* groups = nullptr;
    r.ngroups = ucred_getgroups(uc, &groups);
    for (int i = 0; groups != nullptr && i < r.ngroups && i < 16; ++i) r.groups[i] = groups[i];
  }
  ucred_free(uc);
  door_cred_t dc{};
  r.cred_rc = door_cred(&dc);
  r.cred_err = r.cred_rc == 0 ? 0 : errno;
  r.dc_euid = dc.dc_euid;
  r.dc_ruid = dc.dc_ruid;
  r.dc_egid = dc.dc_egid;
  r.dc_rgid = dc.dc_rgid;
  r.dc_pid = dc.dc_pid;
  reply_value(r);
}

// A server child serving cred_proc at a root-owned path.
struct CredServer {
  TempDir dir;
  std::string path = dir.file("door");
  std::unique_ptr<ForkedServer> server = fork_door_server(path, cred_proc);
};

// What a client child reports over a pipe: who it is and what the server saw of it.
struct ClientReport {
  std::int32_t pid;     // getpid() in the client
  std::int32_t failed;  // a step that failed (0: none), and its errno
  std::int32_t err;
  CredReport first;   // the server's view of the first call
  CredReport second;  // ... and of the second, if the client made one
};

enum Step : std::int32_t { kNone, kOpen, kFirstCall, kChangeIds, kSecondCall, kBadReply };

// In a client child: one call of `d`; false (with `report` saying why) when it failed.
bool call_into(int d, CredReport* out, ClientReport& report, Step step) {
  CallOutcome call = call_door(d, "who am I");
  if (call.rc != 0) {
    report.failed = step;
    report.err = call.err;
    return false;
  }
  if (!read_value(call.data, out)) {
    report.failed = kBadReply;
    return false;
  }
  return true;
}

// Sends the report to the test and ends the child's body.
int send_report(const Pipe& pipe, const ClientReport& report) {
  return write_all(pipe.write_end.get(), &report, sizeof report) ? 0 : kChildSetupFailed;
}

// Reads the client child's report; a test failure when none came.
::testing::AssertionResult receive(const Pipe& pipe, const ChildStatus& status,
                                   ClientReport* report) {
  if (!status.exited_with(0))
    return ::testing::AssertionFailure() << "client " << status.describe();
  if (!read_exact(pipe.read_end.get(), report, sizeof *report, Deadline::standard()))
    return ::testing::AssertionFailure() << "the client sent no report";
  if (report->failed != kNone)
    return ::testing::AssertionFailure()
           << "client step " << report->failed << " failed: " << std::strerror(report->err);
  return ::testing::AssertionSuccess();
}

// Becomes uid and gid 65534 (real, effective and saved) with `groups` as supplementary groups.
bool become_nobody(const std::vector<gid_t>& groups) {
  if (::setgroups(groups.size(), groups.data()) != 0) return false;
  if (::setresgid(kNobodyGid, kNobodyGid, kNobodyGid) != 0) return false;
  if (::setresuid(kNobodyUid, kNobodyUid, kNobodyUid) != 0) return false;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // cleared by the credential change
  return true;
}

// A root client child: open() the path as root, then `change` its ids, then call.
ClientReport open_change_call(const CredServer& s, const std::function<bool()>& change,
                              ChildStatus* status) {
  Pipe reports = Pipe::make();
  *status = run_in_child([&] {
    ClientReport report{};
    report.pid = ::getpid();
    UniqueFd d = open_door(s.path);
    if (!d.valid()) return send_report(reports, {report.pid, kOpen, errno, {}, {}});
    if (!change()) return send_report(reports, {report.pid, kChangeIds, errno, {}, {}});
    call_into(d.get(), &report.first, report, kFirstCall);
    return send_report(reports, report);
  });
  ClientReport report{};
  auto received = receive(reports, *status, &report);
  if (!received) ADD_FAILURE() << received.message();
  return report;
}

// door_ucred(3C): credentials are the caller's at the time of the call (illumos takes them from
// the calling thread): a client that opened the door as root and then became 65534 is 65534.
TEST(DoorUcred, CallerChangedIdsAfterOpen_SeesNewIds) {
  REQUIRE_ROOT();
  CredServer s;
  ASSERT_NE(s.server, nullptr);
  ChildStatus status;

  ClientReport sut = open_change_call(
      s, [] { return become_nobody({}); }, &status);

  ASSERT_TRUE(status.exited_with(0)) << status.describe();
  ASSERT_EQ(sut.first.ucred_rc, 0) << std::strerror(sut.first.ucred_err);
  EXPECT_EQ(sut.first.euid, kNobodyUid);
  EXPECT_EQ(sut.first.ruid, kNobodyUid);
  EXPECT_EQ(sut.first.egid, kNobodyGid);
  EXPECT_EQ(sut.first.rgid, kNobodyGid);
  EXPECT_EQ(sut.first.pid, sut.pid);
}

// door_cred(3C): "dc_euid ... Effective uid of client", and so on, at the time of the call.
TEST(DoorCred, CallerChangedIdsAfterOpen_SeesNewIds) {
  REQUIRE_ROOT();
  CredServer s;
  ASSERT_NE(s.server, nullptr);
  ChildStatus status;

  ClientReport sut = open_change_call(
      s, [] { return become_nobody({}); }, &status);

  ASSERT_TRUE(status.exited_with(0)) << status.describe();
  ASSERT_EQ(sut.first.cred_rc, 0) << std::strerror(sut.first.cred_err);
  EXPECT_EQ(sut.first.dc_euid, kNobodyUid);
  EXPECT_EQ(sut.first.dc_ruid, kNobodyUid);
  EXPECT_EQ(sut.first.dc_egid, kNobodyGid);
  EXPECT_EQ(sut.first.dc_rgid, kNobodyGid);
  EXPECT_EQ(sut.first.dc_pid, sut.pid);
}

// door_ucred(3C) reports "the effective user and group ID, the real user and group ID" apart: a
// client that only changed its effective ids (seteuid) still has real ids 0.
TEST(DoorUcred, CallerChangedOnlyEffectiveIds_SeesBothApart) {
  REQUIRE_ROOT();
  CredServer s;
  ASSERT_NE(s.server, nullptr);
  ChildStatus status;

  ClientReport sut = open_change_call(
      s, [] { return ::setegid(kNobodyGid) == 0 && ::seteuid(kNobodyUid) == 0; }, &status);

  ASSERT_TRUE(status.exited_with(0)) << status.describe();
  ASSERT_EQ(sut.first.ucred_rc, 0) << std::strerror(sut.first.ucred_err);
  EXPECT_EQ(sut.first.euid, kNobodyUid);
  EXPECT_EQ(sut.first.ruid, 0u);
  EXPECT_EQ(sut.first.egid, kNobodyGid);
  EXPECT_EQ(sut.first.rgid, 0u);
}

// ucred_get(3C): ucred_getgroups() returns the caller's supplementary group list.
TEST(DoorUcred, CallerChangedGroups_SeesItsGroups) {
  REQUIRE_ROOT();
  CredServer s;
  ASSERT_NE(s.server, nullptr);
  ChildStatus status;

  ClientReport sut = open_change_call(
      s,
      [] {
        return become_nobody({1111, 2222});
      },
      &status);

  ASSERT_TRUE(status.exited_with(0)) << status.describe();
  ASSERT_EQ(sut.first.ucred_rc, 0) << std::strerror(sut.first.ucred_err);
  ASSERT_EQ(sut.first.ngroups, 2);
  std::vector<gid_t> got(sut.first.groups, sut.first.groups + 2);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<gid_t>{1111, 2222}));
}

// The same descriptor, the same thread's connection to the door: calls as root (after which a
// server thread is parked on the connection, and calls travel through its shuttle page), then
// ids change, then a call as 65534. Each call is seen with the ids it was made with.
TEST(DoorUcred, CallerChangedIdsBetweenCalls_EachCallSeesItsIds) {
  REQUIRE_ROOT();
  CredServer s;
  ASSERT_NE(s.server, nullptr);
  Pipe reports = Pipe::make();

  ChildStatus status = run_in_child([&] {
    ClientReport report{};
    report.pid = ::getpid();
    UniqueFd d = open_door(s.path);
    if (!d.valid()) return send_report(reports, {report.pid, kOpen, errno, {}, {}});
    bool called = true;
    for (int i = 0; i < 20 && called; ++i) {
      called = call_into(d.get(), &report.first, report, kFirstCall);
    }
    if (called) {
      if (!become_nobody({}))
        report = {report.pid, kChangeIds, errno, {}, {}};
      else
        call_into(d.get(), &report.second, report, kSecondCall);
    }
    return send_report(reports, report);
  });

  ClientReport sut{};
  ASSERT_TRUE(receive(reports, status, &sut));
  ASSERT_EQ(sut.first.ucred_rc, 0) << std::strerror(sut.first.ucred_err);
  ASSERT_EQ(sut.second.ucred_rc, 0) << std::strerror(sut.second.ucred_err);
  EXPECT_EQ(sut.first.euid, 0u);
  EXPECT_EQ(sut.first.ruid, 0u);
  EXPECT_EQ(sut.second.euid, kNobodyUid);
  EXPECT_EQ(sut.second.ruid, kNobodyUid);
  EXPECT_EQ(sut.second.egid, kNobodyGid);
  EXPECT_EQ(sut.second.rgid, kNobodyGid);
}

// --- the pid -----------------------------------------------------------------------------------

// door_ucred(3C): "The credential information associated with the client refers to the
// information from the immediate caller". Here the caller is this process.
TEST(DoorUcred, RemoteCaller_DescribesTheCaller) {
  CredServer s;
  ASSERT_NE(s.server, nullptr);
  UniqueFd client = open_door(s.path);
  ASSERT_TRUE(client.valid()) << std::strerror(errno);

  CallOutcome call = call_door(client.get(), "who am I");

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  CredReport sut{};
  ASSERT_TRUE(read_value(call.data, &sut));
  ASSERT_EQ(sut.ucred_rc, 0) << std::strerror(sut.ucred_err);
  EXPECT_EQ(sut.pid, ::getpid());
  EXPECT_EQ(sut.euid, ::geteuid());
  EXPECT_EQ(sut.ruid, ::getuid());
  EXPECT_EQ(sut.egid, ::getegid());
  EXPECT_EQ(sut.rgid, ::getgid());
}

// The immediate caller is whoever calls, not whoever opened the descriptor: a forked child
// calling through the descriptor it inherited is seen with its own pid.
TEST(DoorUcred, ForkedChildCallsThroughInheritedDescriptor_SeesChildsPid) {
  CredServer s;
  ASSERT_NE(s.server, nullptr);
  UniqueFd client = open_door(s.path);
  ASSERT_TRUE(client.valid()) << std::strerror(errno);
  ASSERT_EQ(call_door(client.get(), "as parent").rc, 0);
  Pipe reports = Pipe::make();

  ChildStatus status = run_in_child([&] {
    ClientReport report{};
    report.pid = ::getpid();
    call_into(client.get(), &report.first, report, kFirstCall);
    return send_report(reports, report);
  });

  ClientReport sut{};
  ASSERT_TRUE(receive(reports, status, &sut));
  ASSERT_EQ(sut.first.ucred_rc, 0) << std::strerror(sut.first.ucred_err);
  EXPECT_NE(sut.pid, ::getpid());
  EXPECT_EQ(sut.first.pid, sut.pid);
  EXPECT_EQ(sut.first.dc_pid, sut.pid);
}

// A caller cannot make the server see another pid than its own: a client in a new pid namespace
// thinks it is pid 1, but the server sees the pid the process has in the server's namespace.
TEST(DoorUcred, CallerInNewPidNamespace_SeesItsRealPid) {
  REQUIRE_ROOT();
  CredServer s;
  ASSERT_NE(s.server, nullptr);
  Pipe reports = Pipe::make();
  constexpr int kNoPidNamespace = 77;

  ChildStatus status = run_in_child([&] {
    if (::unshare(CLONE_NEWPID) != 0) return kNoPidNamespace;
    pid_t parent = ::getpid();
    pid_t inner = ::fork();  // pid 1 of the new namespace
    if (inner < 0) return kChildSetupFailed;
    if (inner == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != 0 && ::getppid() != parent) ::_exit(kChildSetupFailed);
      ClientReport report{};
      report.pid = ::getpid();  // as the caller sees itself
      UniqueFd d = open_door(s.path);
      if (!d.valid())
        report = {report.pid, kOpen, errno, {}, {}};
      else
        call_into(d.get(), &report.first, report, kFirstCall);
      ::_exit(send_report(reports, report));
    }
    ChildStatus inner_status = wait_child(inner, Deadline::standard());
    if (!inner_status.exited_with(0)) return kChildSetupFailed;
    std::int32_t real = inner;  // its pid as this (and the server's) namespace numbers it
    return write_all(reports.write_end.get(), &real, sizeof real) ? 0 : kChildSetupFailed;
  });

  if (status.exited_with(kNoPidNamespace)) GTEST_SKIP() << "unshare(CLONE_NEWPID) is refused";
  ClientReport sut{};
  ASSERT_TRUE(receive(reports, status, &sut));
  std::int32_t real_pid = 0;
  ASSERT_TRUE(read_exact(reports.read_end.get(), &real_pid, sizeof real_pid, Deadline::standard()));
  ASSERT_EQ(sut.pid, 1) << "the caller is not pid 1 of its namespace";
  ASSERT_EQ(sut.first.ucred_rc, 0) << std::strerror(sut.first.ucred_err);
  EXPECT_EQ(sut.first.pid, real_pid);
  EXPECT_EQ(sut.first.dc_pid, real_pid);
}

}  // namespace
}  // namespace doors::test
