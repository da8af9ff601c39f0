// Access control is the attached file's (DESIGN.md): whoever cannot open the path cannot call the
// door, and nobody can squat the abstract socket name and pose as the door's server. Needs root
// (to run clients as another user); skipped otherwise.
#include <door.h>
#include <doors/ext.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

#define REQUIRE_ROOT()    \
  if (!running_as_root()) \
  GTEST_SKIP() << "needs root: clients run as uid " << kNobodyUid << " (setuid)"

// Exit codes of the unprivileged client.
constexpr int kCalledOk = 0;
constexpr int kCannotDropPrivileges = 100;
constexpr int kCallFailed = 101;
constexpr int kWrongReply = 102;

// In a child: become nobody, open `path` and call it. Returns kCalledOk, or open's errno, or
// one of the codes above.
int call_as_nobody(const std::string& path) {
  if (!drop_privileges(kNobodyUid, kNobodyGid)) return kCannotDropPrivileges;
  UniqueFd fd = open_door(path);
  if (!fd.valid()) return errno;
  CallOutcome out = call_door(fd.get(), "as nobody");
  if (out.rc != 0) return kCallFailed;
  return out.data == transformed("as nobody") ? kCalledOk : kWrongReply;
}

// A door attached to a file owned by root with `mode`, in a directory everybody may search.
struct RootsDoor {
  explicit RootsDoor(mode_t mode)
      : server([&] {
          dir.chmod(0755);
          ServeOptions options;
          options.mode = mode;
          return fork_door_server(path, transform_proc, options);
        }()) {}
  TempDir dir;
  std::string path = dir.file("door");
  std::unique_ptr<ForkedServer> server;
};

// open(2) of a mode 0600 root file fails for others with EACCES, so they never get a
// descriptor to call.
TEST(AccessControl, Mode0600RootFile_OtherUserCannotOpen) {
  REQUIRE_ROOT();
  RootsDoor door(0600);
  ASSERT_NE(door.server, nullptr);

  ChildStatus sut = run_in_child([&] { return call_as_nobody(door.path); });

  ASSERT_TRUE(sut.exited) << sut.describe();
  EXPECT_EQ(sut.exit_code, EACCES) << "the client " << sut.describe() << " (0: it called the door)";
}

TEST(AccessControl, Mode0644RootFile_OtherUserCanOpenAndCall) {
  REQUIRE_ROOT();
  RootsDoor door(0644);
  ASSERT_NE(door.server, nullptr);

  ChildStatus sut = run_in_child([&] { return call_as_nobody(door.path); });

  EXPECT_TRUE(sut.exited_with(kCalledOk))
      << "the client " << sut.describe() << " (" << EACCES << ": open EACCES, " << kCallFailed
      << ": door_call failed)";
}

// --- a squatter on the abstract name -------------------------------------------------------

// What the squatter received.
struct SquatReport {
  std::uint32_t connections;
  std::uint32_t bytes;
  std::uint32_t descriptors;
};

// Accepts pending connections and reads everything pending on them without blocking, counting
// bytes and descriptors (which it closes).
void drain(int listener, std::vector<int>& conns, SquatReport& r) {
  for (;;) {
    int c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) break;
    conns.push_back(c);
    ++r.connections;
  }
  for (int c : conns) {
    for (;;) {
      char data[65536];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
      iovec iov{data, sizeof data};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t got = ::recvmsg(c, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (got <= 0) break;
      r.bytes += static_cast<std::uint32_t>(got);
      for (cmsghdr* h = CMSG_FIRSTHDR(&msg); h != nullptr; h = CMSG_NXTHDR(&msg, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
        std::size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < n; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
          ::close(fd);
          ++r.descriptors;
        }
      }
    }
  }
}

// DESIGN.md: "the client checks the listener's SO_PEERCRED uid is the file's owner or root, so
// nobody can squat the abstract name and impersonate a door". A process of another user binds
// the name of a root file first; a root client's call must fail (EBADF: not a door) without the
// squatter receiving any argument byte or descriptor.
TEST(AccessControl, SquatterOnAbstractName_CallFailsWithEBADFAndSquatterGetsNothing) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string path = dir.make_file("door", 0644);  // root's, never attached
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  char name[108] = {};
  int len = doors_attach_name(st.st_dev, st.st_ino, name, sizeof name - 1);
  ASSERT_GT(len, 0) << std::strerror(errno);
  Pipe commands = Pipe::make();
  Pipe reports = Pipe::make();
  ForkedServer squatter([&](ForkedServer::Child& child) {
    if (!drop_privileges(kNobodyUid, kNobodyGid)) child_fail("drop_privileges");
    int listener = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name, static_cast<std::size_t>(len));  // abstract: NUL first
    auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) child_fail("bind");
    if (::listen(listener, 64) != 0) child_fail("listen");
    child.ready();
    std::vector<int> conns;
    SquatReport report{};
    char c;
    while (::read(commands.read_end.get(), &c, 1) == 1) {
      drain(listener, conns, report);
      if (!write_all(reports.write_end.get(), &report, sizeof report)) child_fail("report");
    }
    ::_exit(0);
  });
  ASSERT_TRUE(squatter.wait_ready());
  squatter.skip_leak_check(
      "the squatter is the test's impostor, no libdoors server: it keeps "
      "every connection it accepts");
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  Async<CallOutcome> call([d = client.get()] { return call_door(d, "secret arguments"); });

  bool finished = call.wait(Deadline::standard());
  ASSERT_TRUE(write_all(commands.write_end.get(), "c", 1));
  SquatReport report{};
  ASSERT_TRUE(read_exact(reports.read_end.get(), &report, sizeof report, Deadline::standard()));
  ASSERT_TRUE(finished) << "door_call to the squatter hangs";
  EXPECT_EQ(call.result().rc, -1);
  EXPECT_EQ(call.result().err, EBADF) << std::strerror(call.result().err);
  EXPECT_EQ(report.bytes, 0u) << "the squatter received bytes from the client";
  EXPECT_EQ(report.descriptors, 0u) << "the squatter received the client's descriptors";
}

}  // namespace
}  // namespace doors::test
