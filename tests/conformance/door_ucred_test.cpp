// door_ucred(3C), door_cred(3C) and ucred_get(3C) in one process: the caller of a local door is
// this process, whose credentials the test knows. Callers in other processes, with other ids, are
// in tests/integration/credentials_test.cpp.
#include <door.h>
#include <gtest/gtest.h>
#include <ucred.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "local_door.h"

namespace doors::test {
namespace {

// What a procedure learnt about its caller; the procedure replies with it, so no state is shared
// between the server thread and the test.
struct CallerIds {
  std::int32_t rc;
  std::int32_t err;
  std::uint32_t euid, ruid, egid, rgid;
  std::int32_t pid;
  std::int32_t ngroups;
  std::uint32_t groups[32];
};

CallerIds ids_of(const ucred_t* uc) {
  CallerIds ids{};
  ids.euid = ucred_geteuid(uc);
  ids.ruid = ucred_getruid(uc);
  ids.egid = ucred_getegid(uc);
  ids.rgid = ucred_getrgid(uc);
  ids.pid = ucred_getpid(uc);
  const gid_t* groups = nullptr;
  ids.ngroups = ucred_getgroups(uc, &groups);
  for (int i = 0; groups != nullptr && i < ids.ngroups && i < 32; ++i) ids.groups[i] = groups[i];
  return ids;
}

// Calls `door` (whose procedure replies a T) and returns the reply, or a test failure.
template <class T>
T call_for(const LocalDoor& door) {
  T value{};
  CallOutcome out = call_door(door.fd(), "");
  EXPECT_EQ(out.rc, 0) << std::strerror(out.err);
  EXPECT_TRUE(read_value(out.data, &value)) << "reply of " << out.data.size() << " bytes";
  return value;
}

// Replies CallerIds from door_ucred(3C) with *uc == NULL.
Handler ucred_handler() {
  return [](char*, std::size_t, door_desc_t*, uint_t) {
    ucred_t* uc = nullptr;
    CallerIds ids{};
    int rc = door_ucred(&uc);
    int err = errno;
    if (rc == 0 && uc != nullptr) ids = ids_of(uc);
    ids.rc = rc;
    ids.err = rc == 0 ? 0 : err;
    ucred_free(uc);
    reply_value(ids);
  };
}

std::vector<gid_t> own_groups() {
  std::vector<gid_t> groups(static_cast<std::size_t>(::getgroups(0, nullptr)));
  int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
  groups.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  std::sort(groups.begin(), groups.end());
  return groups;
}

// --- door_ucred -------------------------------------------------------------------------------

// door_ucred(3C): "The resulting user credential includes information about the effective user
// and group ID, the real user and group ID, all privilege sets and the calling PID."
TEST(DoorUcred, LocalCall_DescribesTheCaller) {
  LocalDoor door(ucred_handler());
  ASSERT_GE(door.fd(), 0);

  CallerIds sut = call_for<CallerIds>(door);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.pid, ::getpid());
  EXPECT_EQ(sut.euid, ::geteuid());
  EXPECT_EQ(sut.ruid, ::getuid());
  EXPECT_EQ(sut.egid, ::getegid());
  EXPECT_EQ(sut.rgid, ::getgid());
}

// ucred_get(3C): "The ucred_getgroups() function stores a pointer to the group list ... and
// returns the number of groups in the list."
TEST(DoorUcred, LocalCall_GroupsAreTheCallersSupplementaryGroups) {
  LocalDoor door(ucred_handler());
  ASSERT_GE(door.fd(), 0);
  std::vector<gid_t> expected = own_groups();
  ASSERT_LE(expected.size(), 32u) << "this test reports at most 32 groups";

  CallerIds sut = call_for<CallerIds>(door);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  ASSERT_GE(sut.ngroups, 0);
  std::vector<gid_t> got(sut.groups, sut.groups + sut.ngroups);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

// What the allocation and reuse procedures report.
struct UcredStorage {
  std::int32_t rc;
  std::int32_t err;
  std::uint8_t allocated;  // *uc was NULL and now points at a ucred
  std::uint8_t reused;     // *uc was non-NULL and still is the same pointer
  std::int32_t pid;        // ucred_getpid() of the result
};

// door_ucred(3C): "door_ucred() writes a pointer to a user credential to the location pointed to
// by info if that location was previously NULL."
TEST(DoorUcred, NullUcred_AllocatesOne) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    ucred_t* uc = nullptr;
    UcredStorage s{};
    s.rc = door_ucred(&uc);
    s.err = s.rc == 0 ? 0 : errno;
    s.allocated = uc != nullptr;
    s.pid = uc != nullptr ? ucred_getpid(uc) : -1;
    ucred_free(uc);
    reply_value(s);
  });
  ASSERT_GE(door.fd(), 0);

  UcredStorage sut = call_for<UcredStorage>(door);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_TRUE(sut.allocated);
  EXPECT_EQ(sut.pid, ::getpid());
}

// door_ucred(3C): "If that location was non-null, door_ucred() assumes that info points to a
// previously allocated ucred_t which is then reused. The location pointed to by info can be used
// multiple times before being freed."
TEST(DoorUcred, NonNullUcred_IsReused) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    ucred_t* uc = nullptr;
    UcredStorage s{};
    if (door_ucred(&uc) == 0) {
      ucred_t* first = uc;
      s.rc = door_ucred(&uc);
      s.err = s.rc == 0 ? 0 : errno;
      s.reused = uc == first;
      s.pid = ucred_getpid(uc);
    } else {
      s.rc = -1;
      s.err = errno;
    }
    ucred_free(uc);
    reply_value(s);
  });
  ASSERT_GE(door.fd(), 0);

  UcredStorage sut = call_for<UcredStorage>(door);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_TRUE(sut.reused) << "door_ucred replaced a ucred_t it was given";
  EXPECT_EQ(sut.pid, ::getpid());
}

// The same, with a ucred_t that ucred_get(3C) allocated.
TEST(DoorUcred, UcredFromUcredGet_IsReused) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    ucred_t* uc = ucred_get(P_MYID);
    ucred_t* given = uc;
    UcredStorage s{};
    s.rc = uc == nullptr ? -1 : door_ucred(&uc);
    s.err = s.rc == 0 ? 0 : errno;
    s.reused = uc != nullptr && uc == given;
    s.pid = uc != nullptr ? ucred_getpid(uc) : -1;
    ucred_free(uc);
    reply_value(s);
  });
  ASSERT_GE(door.fd(), 0);

  UcredStorage sut = call_for<UcredStorage>(door);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_TRUE(sut.reused);
  EXPECT_EQ(sut.pid, ::getpid());
}

// door_ucred(3C) EINVAL: "There is no associated door client." The test's thread is not serving
// an invocation.
TEST(DoorUcred, OutsideInvocation_FailsWithEINVAL) {
  ucred_t* uc = nullptr;
  errno = 0;

  int rc = door_ucred(&uc);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EINVAL) << std::strerror(err);
  EXPECT_EQ(uc, nullptr) << "door_ucred allocated a ucred_t although it failed";
  ucred_free(uc);
}

// door_ucred(3C): "Otherwise, -1 is returned ... in which case the memory location pointed to by
// the info argument is unchanged."
TEST(DoorUcred, OutsideInvocationWithUcred_LeavesItUnchanged) {
  ucred_t* given = ucred_get(P_MYID);
  ASSERT_NE(given, nullptr) << std::strerror(errno);
  ucred_t* uc = given;

  int rc = door_ucred(&uc);

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(uc, given);
  EXPECT_EQ(ucred_getpid(given), ::getpid());
  ucred_free(given);
}

// door_ucred(3C): the server thread serving one invocation has a client; any other thread of the
// server process, even while that invocation runs, has none (EINVAL).
TEST(DoorUcred, OtherThreadDuringInvocation_FailsWithEINVAL) {
  HeldProcedure held;
  LocalDoor door([&](char*, std::size_t, door_desc_t*, uint_t) {
    held.hold();
    door_return(nullptr, 0, nullptr, 0);
  });
  ASSERT_GE(door.fd(), 0);
  Async<CallOutcome> call([d = door.fd()] { return call_door(d, "held"); });
  ASSERT_TRUE(held.wait_entered());
  ucred_t* uc = nullptr;
  errno = 0;

  int rc = door_ucred(&uc);
  int err = errno;

  held.release();
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EINVAL) << std::strerror(err);
  EXPECT_EQ(uc, nullptr);
  ASSERT_TRUE(call.wait(Deadline::standard()));
  EXPECT_EQ(call.result().rc, 0);
}

// What a procedure got from a call that should fail.
struct Failure {
  std::int32_t rc;
  std::int32_t err;
};

// door_ucred(3C) EFAULT: "The address of the info argument is invalid." Checked inside an
// invocation, so that the error cannot be the EINVAL of having no client.
TEST(DoorUcred, NullArgument_FailsWithEFAULT) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    errno = 0;
    int rc = door_ucred(nullptr);
    reply_value(Failure{rc, errno});
  });
  ASSERT_GE(door.fd(), 0);

  Failure sut = call_for<Failure>(door);

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EFAULT) << std::strerror(sut.err);
}

// --- door_cred ---------------------------------------------------------------------------------

struct CredReply {
  std::int32_t rc;
  std::int32_t err;
  door_cred_t cred;
};

// door_cred(3C): "The door_cred() function returns credential information associated with the
// client (if any) of the current door invocation."
TEST(DoorCred, LocalCall_DescribesTheCaller) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    CredReply r{};
    r.rc = door_cred(&r.cred);
    r.err = r.rc == 0 ? 0 : errno;
    reply_value(r);
  });
  ASSERT_GE(door.fd(), 0);

  CredReply sut = call_for<CredReply>(door);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.cred.dc_pid, ::getpid());
  EXPECT_EQ(sut.cred.dc_euid, ::geteuid());
  EXPECT_EQ(sut.cred.dc_ruid, ::getuid());
  EXPECT_EQ(sut.cred.dc_egid, ::getegid());
  EXPECT_EQ(sut.cred.dc_rgid, ::getgid());
}

// door_cred(3C) EINVAL: "There is no associated door client."
TEST(DoorCred, OutsideInvocation_FailsWithEINVAL) {
  door_cred_t cred{};
  errno = 0;

  int rc = door_cred(&cred);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EINVAL) << std::strerror(err);
}

// door_cred(3C) EFAULT: "The address of the info argument is invalid."
TEST(DoorCred, NullArgument_FailsWithEFAULT) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    errno = 0;
    int rc = door_cred(nullptr);
    reply_value(Failure{rc, errno});
  });
  ASSERT_GE(door.fd(), 0);

  Failure sut = call_for<Failure>(door);

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EFAULT) << std::strerror(sut.err);
}

// --- ucred_get ---------------------------------------------------------------------------------

// ucred_get(3C): "A pid value of P_MYID returns information about the calling process."
TEST(UcredGet, MyId_DescribesThisProcess) {
  ucred_t* sut = ucred_get(P_MYID);

  ASSERT_NE(sut, nullptr) << std::strerror(errno);
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  ASSERT_EQ(::getresuid(&ruid, &euid, &suid), 0);
  ASSERT_EQ(::getresgid(&rgid, &egid, &sgid), 0);
  EXPECT_EQ(ucred_getpid(sut), ::getpid());
  EXPECT_EQ(ucred_geteuid(sut), euid);
  EXPECT_EQ(ucred_getruid(sut), ruid);
  EXPECT_EQ(ucred_getsuid(sut), suid);
  EXPECT_EQ(ucred_getegid(sut), egid);
  EXPECT_EQ(ucred_getrgid(sut), rgid);
  EXPECT_EQ(ucred_getsgid(sut), sgid);
  ucred_free(sut);
}

TEST(UcredGet, MyId_GroupsAreThisProcesssSupplementaryGroups) {
  ucred_t* sut = ucred_get(P_MYID);

  ASSERT_NE(sut, nullptr) << std::strerror(errno);
  const gid_t* groups = nullptr;
  int n = ucred_getgroups(sut, &groups);
  ASSERT_GE(n, 0);
  std::vector<gid_t> got(groups, groups + n);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, own_groups());
  ucred_free(sut);
}

// ucred_get(3C) ESRCH: "The target process does not exist." No pid reaches pid_max.
TEST(UcredGet, NoSuchProcess_FailsWithESRCH) {
  long pid_max = 0;
  std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
  ASSERT_GT(pid_max, 0);
  errno = 0;

  ucred_t* sut = ucred_get(static_cast<pid_t>(pid_max));
  int err = errno;

  EXPECT_EQ(sut, nullptr);
  EXPECT_EQ(err, ESRCH) << std::strerror(err);
  ucred_free(sut);
}

// ucred_get(3C): "The ucred_size() function returns sizeof(ucred_t)": that many bytes hold a
// whole credential, so a copy of them reads the same.
TEST(UcredSize, CopyOfThatSize_ReadsTheSameIds) {
  ucred_t* original = ucred_get(P_MYID);
  ASSERT_NE(original, nullptr) << std::strerror(errno);
  std::size_t size = ucred_size();
  ASSERT_GT(size, 0u);
  void* copy = std::malloc(size);
  ASSERT_NE(copy, nullptr);

  std::memcpy(copy, original, size);

  const auto* sut = static_cast<const ucred_t*>(copy);
  EXPECT_EQ(ucred_getpid(sut), ::getpid());
  EXPECT_EQ(ucred_geteuid(sut), ucred_geteuid(original));
  EXPECT_EQ(ucred_getruid(sut), ucred_getruid(original));
  EXPECT_EQ(ucred_getegid(sut), ucred_getegid(original));
  EXPECT_EQ(ucred_getrgid(sut), ucred_getrgid(original));
  std::free(copy);  // a shallow copy: the group list still belongs to `original`
  ucred_free(original);
}

}  // namespace
}  // namespace doors::test
