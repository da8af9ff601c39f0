// door_getparam(3C) and door_setparam(3C) on a door served by another process: getparam works on
// any door, setparam only in the process that created it, and the limits hold for remote
// callers. One-process cases (defaults, every errno, the check order) are in
// tests/conformance/door_param_test.cpp.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

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
#include "forked_server.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using Setting = std::pair<int, std::size_t>;  // door_setparam(param, value)

// A server child that creates seen_proc's door with `attrs`, applies `settings` with
// door_setparam, attaches it, and serves; and a client descriptor for it.
struct ParamServer {
  ParamServer(uint_t attrs, std::vector<Setting> settings) {
    server = std::make_unique<ForkedServer>([&](ForkedServer::Child& child) {
      int d = child_serve_at(path, seen_proc, nullptr, attrs);
      for (auto [param, value] : settings)
        if (door_setparam(d, param, value) != 0) child_fail("door_setparam");
      child.ready();
      child_wait_forever();
    });
    auto ready = server->wait_ready();
    if (!ready) {
      ADD_FAILURE() << ready.message();
      server.reset();
      return;
    }
    client = open_door(path);
  }
  TempDir dir;
  std::string path = dir.file("door");
  std::unique_ptr<ForkedServer> server;
  UniqueFd client;
};

#define ASSERT_SERVER_OK(s)       \
  ASSERT_NE((s).server, nullptr); \
  ASSERT_TRUE((s).client.valid()) << std::strerror(errno)

// --- door_getparam -------------------------------------------------------------------------------

struct RemoteDefaultRow {
  const char* name;
  uint_t attrs;
  int param;
  std::size_t expected;
};

class DoorGetparam_RemoteDefault : public ::testing::TestWithParam<RemoteDefaultRow> {};

// door_getparam(3C) works on a door of another process and reads the documented defaults:
// DATA_MAX "is initialized to SIZE_MAX", DATA_MIN "to 0", DESC_MAX "to INT_MAX" (0 with
// DOOR_REFUSE_DESC).
TEST_P(DoorGetparam_RemoteDefault, IsTheDocumentedValue) {
  ParamServer s(GetParam().attrs, {});
  ASSERT_SERVER_OK(s);
  std::size_t sut = 12345;

  int rc = door_getparam(s.client.get(), GetParam().param, &sut);

  ASSERT_EQ(rc, 0) << std::strerror(errno);
  EXPECT_EQ(sut, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    DoorGetparam, DoorGetparam_RemoteDefault,
    ::testing::Values(RemoteDefaultRow{"DataMax", 0, DOOR_PARAM_DATA_MAX, SIZE_MAX},
                      RemoteDefaultRow{"DataMin", 0, DOOR_PARAM_DATA_MIN, 0},
                      RemoteDefaultRow{"DescMax", 0, DOOR_PARAM_DESC_MAX, INT_MAX},
                      RemoteDefaultRow{"RefuseDescDescMax", DOOR_REFUSE_DESC, DOOR_PARAM_DESC_MAX,
                                       0}),
    [](const auto& info) { return std::string(info.param.name); });

// The values a client reads are the ones its server set.
TEST(DoorGetparam, RemoteDoor_SeesTheServersSettings) {
  ParamServer s(0,
                {{DOOR_PARAM_DATA_MAX, 100}, {DOOR_PARAM_DATA_MIN, 4}, {DOOR_PARAM_DESC_MAX, 2}});
  ASSERT_SERVER_OK(s);
  std::size_t data_max = 0, data_min = 0, desc_max = 0;

  ASSERT_EQ(door_getparam(s.client.get(), DOOR_PARAM_DATA_MAX, &data_max), 0)
      << std::strerror(errno);
  ASSERT_EQ(door_getparam(s.client.get(), DOOR_PARAM_DATA_MIN, &data_min), 0)
      << std::strerror(errno);
  ASSERT_EQ(door_getparam(s.client.get(), DOOR_PARAM_DESC_MAX, &desc_max), 0)
      << std::strerror(errno);

  EXPECT_EQ(data_max, 100u);
  EXPECT_EQ(data_min, 4u);
  EXPECT_EQ(desc_max, 2u);
}

// --- door_setparam
// ---------------------------------------------------------------------------------

// door_setparam(3C) EPERM: "The d argument was not created by this process." The value stays.
TEST(DoorSetparam, FromClientProcess_FailsWithEPERM) {
  ParamServer s(0, {});
  ASSERT_SERVER_OK(s);
  errno = 0;

  int rc = door_setparam(s.client.get(), DOOR_PARAM_DATA_MAX, 10);
  int err = errno;

  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPERM) << std::strerror(err);
  std::size_t data_max = 0;
  ASSERT_EQ(door_getparam(s.client.get(), DOOR_PARAM_DATA_MAX, &data_max), 0);
  EXPECT_EQ(data_max, SIZE_MAX) << "a client changed the server's door";
}

// --- door_call against the server's limits
// --------------------------------------------------------

struct RemoteLimitRow {
  const char* name;
  uint_t attrs;
  std::vector<Setting> settings;
  std::size_t data_size;
  unsigned n_desc;
  int rc;
  int err;
};

class DoorCall_RemoteLimit : public ::testing::TestWithParam<RemoteLimitRow> {};

// door_getparam(3C): a call breaking DATA_MIN or DATA_MAX "will fail with ENOBUFS", one breaking
// DESC_MAX "will fail with ENFILE"; the server's limits hold for callers in other processes.
TEST_P(DoorCall_RemoteLimit, ReturnsTheDocumentedResult) {
  const RemoteLimitRow& row = GetParam();
  ParamServer s(row.attrs, row.settings);
  ASSERT_SERVER_OK(s);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(devnull.valid());
  std::vector<door_desc_t> descs(row.n_desc, descriptor(devnull.get()));

  CallOutcome sut = call_door(s.client.get(), pattern(row.data_size, 2), descs);

  ASSERT_EQ(sut.rc, row.rc) << "errno " << std::strerror(sut.err);
  if (row.rc == -1) {
    EXPECT_EQ(sut.err, row.err) << "got " << std::strerror(sut.err) << ", expected "
                                << std::strerror(row.err);
  } else {
    Seen seen{};
    ASSERT_TRUE(read_value(sut.data, &seen));
    EXPECT_EQ(seen.arg_size, row.data_size);
    EXPECT_EQ(seen.n_desc, row.n_desc);
  }
}

INSTANTIATE_TEST_SUITE_P(
    DoorCall, DoorCall_RemoteLimit,
    ::testing::Values(
        RemoteLimitRow{"BelowDataMin", 0, {{DOOR_PARAM_DATA_MIN, 8}}, 7, 0, -1, ENOBUFS},
        RemoteLimitRow{"AtDataMin", 0, {{DOOR_PARAM_DATA_MIN, 8}}, 8, 0, 0, 0},
        RemoteLimitRow{"AboveDataMax", 0, {{DOOR_PARAM_DATA_MAX, 8}}, 9, 0, -1, ENOBUFS},
        RemoteLimitRow{"LargeAboveDataMax",
                       0,
                       {{DOOR_PARAM_DATA_MAX, 1 << 20}},
                       (1 << 20) + 1,
                       0,
                       -1,
                       ENOBUFS},
        RemoteLimitRow{"AboveDescMax", 0, {{DOOR_PARAM_DESC_MAX, 1}}, 0, 2, -1, ENFILE},
        RemoteLimitRow{"AtDescMax", 0, {{DOOR_PARAM_DESC_MAX, 1}}, 0, 1, 0, 0},
        RemoteLimitRow{"AboveDataMaxAndRefuseDesc",
                       DOOR_REFUSE_DESC,
                       {{DOOR_PARAM_DATA_MAX, 8}},
                       9,
                       1,
                       -1,
                       ENOBUFS}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace doors::test
