// door_create(3C), in one process.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "door_support.h"
#include "fd.h"
#include "local_door.h"

namespace doors::test {
namespace {

// door_create(3C): "returns a non-negative value that is the file descriptor of the door".
TEST(DoorCreate, ValidProcedure_ReturnsDescriptor) {
  LocalDoor sut(empty_handler());

  EXPECT_GE(sut.fd(), 0) << std::strerror(sut.create_errno());
}

// door_create(3C): "The descriptor returned from door_create() will have the FD_CLOEXEC flag
// set."
TEST(DoorCreate, NewDescriptor_HasCloseOnExec) {
  LocalDoor sut(empty_handler());
  ASSERT_GE(sut.fd(), 0) << std::strerror(sut.create_errno());

  int flags = ::fcntl(sut.fd(), F_GETFD);

  ASSERT_NE(flags, -1) << std::strerror(errno);
  EXPECT_TRUE(flags & FD_CLOEXEC);
}

// Every attribute door_create(3C) documents is accepted, alone and combined.
class DoorCreate_AcceptedAttributes : public ::testing::TestWithParam<uint_t> {};

TEST_P(DoorCreate_AcceptedAttributes, Succeeds) {
  LocalDoor sut(empty_handler(), GetParam());

  EXPECT_GE(sut.fd(), 0) << "attributes 0x" << std::hex << GetParam() << ": "
                         << std::strerror(sut.create_errno());
}

INSTANTIATE_TEST_SUITE_P(DoorCreate, DoorCreate_AcceptedAttributes,
                         ::testing::Values(0u, DOOR_UNREF, DOOR_PRIVATE, DOOR_UNREF_MULTI,
                                           DOOR_REFUSE_DESC, DOOR_NO_CANCEL,
                                           DOOR_UNREF | DOOR_REFUSE_DESC | DOOR_NO_CANCEL,
                                           DOOR_UNREF_MULTI | DOOR_PRIVATE | DOOR_REFUSE_DESC),
                         [](const auto& info) {
                           char name[32];
                           std::snprintf(name, sizeof name, "Attributes0x%x", info.param);
                           return std::string(name);
                         });

// door_create(3C) EINVAL: "Invalid attributes are passed." Bits outside DOOR_CREATE_MASK are
// invalid (the kernel checks attributes & ~DOOR_CREATE_MASK), and libc rejects
// DOOR_NO_DEPLETION_CB and DOOR_PRIVCREATE, which only door_xcreate may use.
struct InvalidAttributes {
  const char* name;
  uint_t attrs;
};

class DoorCreate_InvalidAttributes : public ::testing::TestWithParam<InvalidAttributes> {};

TEST_P(DoorCreate_InvalidAttributes, FailsWithEINVAL) {
  errno = 0;

  int rc = door_create(LocalDoor::procedure(), nullptr, GetParam().attrs);

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EINVAL) << std::strerror(errno);
  if (rc >= 0) door_revoke(rc);
}

INSTANTIATE_TEST_SUITE_P(
    DoorCreate, DoorCreate_InvalidAttributes,
    ::testing::Values(InvalidAttributes{"Local", DOOR_LOCAL},
                      InvalidAttributes{"Revoked", DOOR_REVOKED},
                      InvalidAttributes{"IsUnref", DOOR_IS_UNREF},
                      InvalidAttributes{"NoDepletionCb", DOOR_NO_DEPLETION_CB},
                      InvalidAttributes{"PrivCreate", DOOR_PRIVCREATE},
                      InvalidAttributes{"DepletionCb", DOOR_DEPLETION_CB},
                      InvalidAttributes{"Descriptor", DOOR_DESCRIPTOR},
                      InvalidAttributes{"Release", DOOR_RELEASE},
                      InvalidAttributes{"HighBit", 0x80000000u},
                      InvalidAttributes{"UnknownBitBesideValidOnes", DOOR_UNREF | 0x1000u},
                      // door_create(3C): DOOR_UNREF and DOOR_UNREF_MULTI are exclusive.
                      InvalidAttributes{"UnrefAndUnrefMulti", DOOR_UNREF | DOOR_UNREF_MULTI}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DoorCreate, TwoDoors_HaveDistinctUniquifiers) {
  LocalDoor a(empty_handler());
  LocalDoor b(empty_handler());
  ASSERT_GE(a.fd(), 0);
  ASSERT_GE(b.fd(), 0);
  door_info_t ia{}, ib{};
  ASSERT_EQ(door_info(a.fd(), &ia), 0) << std::strerror(errno);
  ASSERT_EQ(door_info(b.fd(), &ib), 0) << std::strerror(errno);

  EXPECT_NE(value_of(ia.di_uniquifier), value_of(ib.di_uniquifier));
}

// Lowers RLIMIT_NOFILE's soft limit for the test and fills the descriptor table; restores both.
class FullDescriptorTable {
 public:
  explicit FullDescriptorTable(rlim_t limit) {
    ::getrlimit(RLIMIT_NOFILE, &old_);
    rlimit lowered = old_;
    lowered.rlim_cur = limit;
    ok_ = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
    for (;;) {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fillers_.emplace_back(fd);
    }
    ok_ = ok_ && errno == EMFILE;
  }
  ~FullDescriptorTable() {
    fillers_.clear();
    ::setrlimit(RLIMIT_NOFILE, &old_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  bool ok_ = false;
  std::vector<UniqueFd> fillers_;
};

// door_create(3C) EMFILE: "The process has too many open descriptors."
TEST(DoorCreate, DescriptorTableFull_FailsWithEMFILE) {
  // A door made first, so that whatever the library sets up once per process already exists.
  LocalDoor warm_up(empty_handler());
  ASSERT_GE(warm_up.fd(), 0);
  FullDescriptorTable full(256);
  ASSERT_TRUE(full.ok());
  errno = 0;

  int rc = door_create(LocalDoor::procedure(), nullptr, 0);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EMFILE) << std::strerror(err);
  if (rc >= 0) door_revoke(rc);
}

}  // namespace
}  // namespace doors::test
