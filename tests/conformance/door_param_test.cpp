// door_getparam(3C) and door_setparam(3C) on doors this process serves, and the limits they set
// as door_call(3C) enforces them. Remote doors (getparam works on any door, setparam only in the
// creating process) are in tests/integration/door_param_remote_test.cpp.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "door_support.h"
#include "fd.h"
#include "local_door.h"
#include "not_a_door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using Setting = std::pair<int, std::size_t>;  // door_setparam(param, value)

// Applies `settings` in order; false (with a test failure) if one fails.
bool apply(int d, const std::vector<Setting>& settings) {
  for (auto [param, value] : settings) {
    if (door_setparam(d, param, value) != 0) {
      ADD_FAILURE() << "setup: door_setparam(" << param << ", " << value
                    << "): " << std::strerror(errno);
      return false;
    }
  }
  return true;
}

std::size_t param_of(int d, int param) {
  std::size_t value = 0;
  EXPECT_EQ(door_getparam(d, param, &value), 0) << std::strerror(errno);
  return value;
}

const char* param_name(int param) {
  switch (param) {
    case DOOR_PARAM_DATA_MAX:
      return "DataMax";
    case DOOR_PARAM_DATA_MIN:
      return "DataMin";
    case DOOR_PARAM_DESC_MAX:
      return "DescMax";
    default:
      return "Unknown";
  }
}

// --- defaults ----------------------------------------------------------------------------------

struct DefaultRow {
  const char* name;
  uint_t attrs;
  int param;
  std::size_t expected;
};

class DoorGetparam_Default : public ::testing::TestWithParam<DefaultRow> {};

// door_getparam(3C): DATA_MAX "At door creation time, this parameter is initialized to SIZE_MAX";
// DATA_MIN "is initialized to 0"; DESC_MAX "If the door was created with the DOOR_REFUSE_DESC
// flag, this parameter is initialized to 0 ... Otherwise, it is initialized to INT_MAX".
TEST_P(DoorGetparam_Default, IsTheDocumentedValue) {
  LocalDoor door(empty_handler(), GetParam().attrs);
  ASSERT_GE(door.fd(), 0);
  std::size_t sut = 12345;

  int rc = door_getparam(door.fd(), GetParam().param, &sut);

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  EXPECT_EQ(sut, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    DoorGetparam, DoorGetparam_Default,
    ::testing::Values(DefaultRow{"DataMax", 0, DOOR_PARAM_DATA_MAX, SIZE_MAX},
                      DefaultRow{"DataMin", 0, DOOR_PARAM_DATA_MIN, 0},
                      DefaultRow{"DescMax", 0, DOOR_PARAM_DESC_MAX, INT_MAX},
                      DefaultRow{"RefuseDescDescMax", DOOR_REFUSE_DESC, DOOR_PARAM_DESC_MAX, 0},
                      DefaultRow{"RefuseDescDataMax", DOOR_REFUSE_DESC, DOOR_PARAM_DATA_MAX,
                                 SIZE_MAX},
                      DefaultRow{"PrivateDataMax", DOOR_PRIVATE, DOOR_PARAM_DATA_MAX, SIZE_MAX}),
    [](const auto& info) { return std::string(info.param.name); });

// --- door_setparam: setup, call, expected return and errno --------------------------------------

struct SetparamRow {
  const char* name;
  uint_t attrs;
  std::vector<Setting> before;  // applied first, each must succeed
  int param;
  std::size_t value;
  int rc;   // expected return
  int err;  // expected errno when rc == -1
};

class DoorSetparam_Row : public ::testing::TestWithParam<SetparamRow> {};

// A row's call returns what the row says; a success takes effect (door_getparam reads it back), a
// failure changes nothing.
TEST_P(DoorSetparam_Row, ReturnsTheDocumentedResult) {
  const SetparamRow& row = GetParam();
  LocalDoor door(empty_handler(), row.attrs);
  ASSERT_GE(door.fd(), 0);
  ASSERT_TRUE(apply(door.fd(), row.before));
  bool known = row.param >= DOOR_PARAM_DESC_MAX && row.param <= DOOR_PARAM_DATA_MIN;
  std::size_t old_value = known ? param_of(door.fd(), row.param) : 0;
  errno = 0;

  int rc = door_setparam(door.fd(), row.param, row.value);
  int err = errno;

  ASSERT_EQ(rc, row.rc) << "errno " << std::strerror(err);
  if (rc == 0) {
    EXPECT_EQ(param_of(door.fd(), row.param), row.value) << param_name(row.param);
  } else {
    EXPECT_EQ(err, row.err) << "got " << std::strerror(err) << ", expected "
                            << std::strerror(row.err);
    if (known) {
      EXPECT_EQ(param_of(door.fd(), row.param), old_value) << "a failed set changed it";
    }
  }
}

const std::size_t kAboveIntMax = static_cast<std::size_t>(INT_MAX) + 1;

INSTANTIATE_TEST_SUITE_P(
    DoorSetparam, DoorSetparam_Row,
    ::testing::Values(
        // DATA_MAX "can be set to any value from 0 to SIZE_MAX, inclusive".
        SetparamRow{"DataMaxZero", 0, {}, DOOR_PARAM_DATA_MAX, 0, 0, 0},
        SetparamRow{"DataMaxSizeMax", 0, {}, DOOR_PARAM_DATA_MAX, SIZE_MAX, 0, 0},
        // DATA_MIN "can be set to any value from 0 to SIZE_MAX, inclusive".
        SetparamRow{"DataMinSizeMax", 0, {}, DOOR_PARAM_DATA_MIN, SIZE_MAX, 0, 0},
        SetparamRow{
            "DataMinEqualToDataMax", 0, {{DOOR_PARAM_DATA_MAX, 10}}, DOOR_PARAM_DATA_MIN, 10, 0, 0},
        SetparamRow{
            "DataMaxEqualToDataMin", 0, {{DOOR_PARAM_DATA_MIN, 10}}, DOOR_PARAM_DATA_MAX, 10, 0, 0},
        // DESC_MAX "can be set to any value from 0 to INT_MAX, inclusive".
        SetparamRow{"DescMaxZero", 0, {}, DOOR_PARAM_DESC_MAX, 0, 0, 0},
        SetparamRow{
            "DescMaxIntMax", 0, {{DOOR_PARAM_DESC_MAX, 3}}, DOOR_PARAM_DESC_MAX, INT_MAX, 0, 0},
        // "If the door was created with the DOOR_REFUSE_DESC flag, this parameter is
        // initialized to 0 and cannot be changed to any other value": 0 itself is fine.
        SetparamRow{"RefuseDescDescMaxZero", DOOR_REFUSE_DESC, {}, DOOR_PARAM_DESC_MAX, 0, 0, 0},
        // EINVAL: "The param argument is not a recognized parameter".
        SetparamRow{"UnknownParamZero", 0, {}, 0, 1, -1, EINVAL},
        SetparamRow{"UnknownParamFour", 0, {}, 4, 1, -1, EINVAL},
        SetparamRow{"UnknownParamNegative", 0, {}, -1, 1, -1, EINVAL},
        // EINVAL: "the requested change would make DOOR_PARAM_DATA_MIN greater than
        // DOOR_PARAM_DATA_MAX".
        SetparamRow{"DataMinAboveDataMax",
                    0,
                    {{DOOR_PARAM_DATA_MAX, 10}},
                    DOOR_PARAM_DATA_MIN,
                    11,
                    -1,
                    EINVAL},
        SetparamRow{"DataMaxBelowDataMin",
                    0,
                    {{DOOR_PARAM_DATA_MIN, 10}},
                    DOOR_PARAM_DATA_MAX,
                    9,
                    -1,
                    EINVAL},
        // ERANGE: "The val argument is not in supported range of param."
        SetparamRow{"DescMaxAboveIntMax", 0, {}, DOOR_PARAM_DESC_MAX, kAboveIntMax, -1, ERANGE},
        SetparamRow{"DescMaxSizeMax", 0, {}, DOOR_PARAM_DESC_MAX, SIZE_MAX, -1, ERANGE},
        // ENOTSUP: "The param argument is DOOR_PARAM_DESC_MAX, d was created with the
        // DOOR_REFUSE_DESC flag, and val is not zero."
        SetparamRow{
            "RefuseDescDescMaxOne", DOOR_REFUSE_DESC, {}, DOOR_PARAM_DESC_MAX, 1, -1, ENOTSUP}),
    [](const auto& info) { return std::string(info.param.name); });

// door_setparam(3C) EBADF: "The d argument is not a door descriptor or has been revoked."
class DoorSetparam_NotADoor : public ::testing::TestWithParam<NotADoor> {};

TEST_P(DoorSetparam_NotADoor, FailsWithEBADF) {
  TempDir dir;
  UniqueFd fd = GetParam().make(dir);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  errno = 0;

  int rc = door_setparam(fd.get(), DOOR_PARAM_DATA_MAX, 10);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EBADF) << std::strerror(err);
}

INSTANTIATE_TEST_SUITE_P(DoorSetparam, DoorSetparam_NotADoor,
                         ::testing::ValuesIn(not_a_door_rows()), not_a_door_name);

TEST(DoorSetparam, RevokedDoor_FailsWithEBADF) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd other(::dup(door.fd()));  // door_revoke closes the descriptor it is given
  ASSERT_TRUE(other.valid());
  ASSERT_EQ(door_revoke(door.fd()), 0) << std::strerror(errno);
  door.forget();
  errno = 0;

  int rc = door_setparam(other.get(), DOOR_PARAM_DATA_MAX, 10);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EBADF) << std::strerror(err);
}

// --- door_getparam errors ----------------------------------------------------------------------

// door_getparam(3C) EINVAL: "The param argument is not a recognized parameter."
TEST(DoorGetparam, UnknownParam_FailsWithEINVAL) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  std::size_t out = 0;
  errno = 0;

  int rc = door_getparam(door.fd(), 4, &out);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EINVAL) << std::strerror(err);
}

// door_getparam(3C) EFAULT: "The out argument is not a valid address."
TEST(DoorGetparam, NullOut_FailsWithEFAULT) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  errno = 0;

  int rc = door_getparam(door.fd(), DOOR_PARAM_DATA_MAX, nullptr);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EFAULT) << std::strerror(err);
}

// door_getparam(3C) EBADF: "The d argument is not a door descriptor."
class DoorGetparam_NotADoor : public ::testing::TestWithParam<NotADoor> {};

TEST_P(DoorGetparam_NotADoor, FailsWithEBADF) {
  TempDir dir;
  UniqueFd fd = GetParam().make(dir);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  std::size_t out = 0;
  errno = 0;

  int rc = door_getparam(fd.get(), DOOR_PARAM_DATA_MAX, &out);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EBADF) << std::strerror(err);
}

INSTANTIATE_TEST_SUITE_P(DoorGetparam, DoorGetparam_NotADoor,
                         ::testing::ValuesIn(not_a_door_rows()), not_a_door_name);

// --- door_call against the limits: setup, call, expected return and errno ---------------------

struct LimitRow {
  const char* name;
  uint_t attrs;
  std::vector<Setting> settings;
  std::size_t data_size;
  unsigned n_desc;
  int rc;
  int err;
};

class DoorCall_Limit : public ::testing::TestWithParam<LimitRow> {};

// A call within the limits reaches the procedure; one outside them fails with the row's errno
// and never reaches it.
TEST_P(DoorCall_Limit, ReturnsTheDocumentedResult) {
  const LimitRow& row = GetParam();
  auto invocations = std::make_shared<std::atomic<int>>(0);
  LocalDoor door(
      [invocations](char*, std::size_t, door_desc_t* dp, uint_t n) {
        for (uint_t i = 0; i < n; ++i) ::close(dp[i].d_data.d_desc.d_descriptor);
        invocations->fetch_add(1);
        door_return(nullptr, 0, nullptr, 0);
      },
      row.attrs);
  ASSERT_GE(door.fd(), 0);
  ASSERT_TRUE(apply(door.fd(), row.settings));
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(devnull.valid());
  std::vector<door_desc_t> descs(row.n_desc, descriptor(devnull.get()));

  CallOutcome sut = call_door(door.fd(), pattern(row.data_size, 1), descs);

  ASSERT_EQ(sut.rc, row.rc) << "errno " << std::strerror(sut.err);
  if (row.rc == -1) {
    EXPECT_EQ(sut.err, row.err) << "got " << std::strerror(sut.err) << ", expected "
                                << std::strerror(row.err);
    EXPECT_EQ(invocations->load(), 0) << "a refused call reached the procedure";
  } else {
    EXPECT_EQ(invocations->load(), 1);
  }
}

const std::size_t kInline = 64 * 1024;  // DOORS_INLINE_DATA_MAX: larger data goes by arena

INSTANTIATE_TEST_SUITE_P(
    DoorCall, DoorCall_Limit,
    ::testing::Values(
        // door_getparam(3C) DATA_MIN: "Any attempt to call door_call(3C) on a door with a
        // data_size value smaller than the door's DOOR_PARAM_DATA_MIN parameter will fail with
        // ENOBUFS."
        LimitRow{"BelowDataMin", 0, {{DOOR_PARAM_DATA_MIN, 8}}, 7, 0, -1, ENOBUFS},
        LimitRow{"NoDataBelowDataMin", 0, {{DOOR_PARAM_DATA_MIN, 1}}, 0, 0, -1, ENOBUFS},
        LimitRow{"AtDataMin", 0, {{DOOR_PARAM_DATA_MIN, 8}}, 8, 0, 0, 0},
        // DATA_MAX: "... with a data_size value larger than the door's DOOR_PARAM_DATA_MAX
        // parameter will fail with ENOBUFS."
        LimitRow{"AboveDataMax", 0, {{DOOR_PARAM_DATA_MAX, 8}}, 9, 0, -1, ENOBUFS},
        LimitRow{"AtDataMax", 0, {{DOOR_PARAM_DATA_MAX, 8}}, 8, 0, 0, 0},
        LimitRow{"DataMaxZeroWithData", 0, {{DOOR_PARAM_DATA_MAX, 0}}, 1, 0, -1, ENOBUFS},
        LimitRow{"DataMaxZeroWithoutData", 0, {{DOOR_PARAM_DATA_MAX, 0}}, 0, 0, 0, 0},
        LimitRow{
            "LargeAboveDataMax", 0, {{DOOR_PARAM_DATA_MAX, kInline}}, kInline + 1, 0, -1, ENOBUFS},
        LimitRow{"LargeAtDataMax", 0, {{DOOR_PARAM_DATA_MAX, kInline + 1}}, kInline + 1, 0, 0, 0},
        // DESC_MAX: "... with a desc_num value larger than the door's DOOR_PARAM_DESC_MAX
        // parameter will fail with ENFILE."
        LimitRow{"AboveDescMax", 0, {{DOOR_PARAM_DESC_MAX, 1}}, 0, 2, -1, ENFILE},
        LimitRow{"AtDescMax", 0, {{DOOR_PARAM_DESC_MAX, 1}}, 0, 1, 0, 0},
        LimitRow{"DescMaxZeroWithOne", 0, {{DOOR_PARAM_DESC_MAX, 0}}, 0, 1, -1, ENFILE},
        // The kernel's order: DATA_MIN, DATA_MAX (ENOBUFS), then DOOR_REFUSE_DESC (ENOTSUP),
        // then DESC_MAX (ENFILE).
        LimitRow{"AboveDataMaxAndRefuseDesc",
                 DOOR_REFUSE_DESC,
                 {{DOOR_PARAM_DATA_MAX, 8}},
                 9,
                 1,
                 -1,
                 ENOBUFS},
        LimitRow{"BelowDataMinAndAboveDescMax",
                 0,
                 {{DOOR_PARAM_DATA_MIN, 8}, {DOOR_PARAM_DESC_MAX, 0}},
                 7,
                 1,
                 -1,
                 ENOBUFS},
        LimitRow{"AboveDataMaxAndAboveDescMax",
                 0,
                 {{DOOR_PARAM_DATA_MAX, 8}, {DOOR_PARAM_DESC_MAX, 1}},
                 9,
                 2,
                 -1,
                 ENOBUFS},
        // A DOOR_REFUSE_DESC door's DESC_MAX is 0, so a descriptor breaks both: ENOTSUP first.
        LimitRow{"RefuseDescBeforeDescMax", DOOR_REFUSE_DESC, {}, 0, 1, -1, ENOTSUP}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace doors::test
