// A client that speaks libdoors' wire protocol (doors/src/wire.h) by hand, for tests that play a
// hostile peer: it can send any bytes with any descriptors at any stage of a connection. Also
// counts a process's open descriptors, to show that a server keeps none from an attack.
#pragma once

#include <dirent.h>
#include <doors/ext.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "deadline.h"
#include "fd.h"
#include "wire.h"

namespace doors::test::raw {

using detail::DescMeta;
using detail::Frame;
using detail::FrameKind;

// A frame header with the magic set.
inline Frame header(FrameKind kind, std::uint16_t flags = 0, std::uint32_t desc_num = 0,
                    std::uint64_t data_size = 0, std::uint64_t arena_offset = 0) {
  Frame f{};
  f.magic = detail::kFrameMagic;
  f.kind = kind;
  f.flags = flags;
  f.desc_num = desc_num;
  f.data_size = data_size;
  f.arena_offset = arena_offset;
  return f;
}

// The bytes of a message: header, inline data, then `metas` DescMeta entries (zeroed).
inline std::string message(const Frame& f, std::string_view data = {}, unsigned metas = 0) {
  std::string bytes(reinterpret_cast<const char*>(&f), sizeof f);
  bytes.append(data);
  bytes.append(metas * sizeof(DescMeta), '\0');
  return bytes;
}

// One sendmsg of `bytes` with `fds` (not closed). Returns 0 or the errno.
inline int send_raw(int sock, std::string_view bytes, const std::vector<int>& fds = {}) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    m.msg_control = control.data();
    m.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    if (::sendmsg(sock, &m, MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

// A message received by the raw client, with the descriptors it carried (owned).
struct Incoming {
  enum Outcome { kMessage, kEof, kReset, kTimeout, kError } outcome = kError;
  int err = 0;
  Frame frame{};
  std::string bytes;
  std::vector<UniqueFd> fds;

  std::string describe() const {
    switch (outcome) {
      case kMessage:
        return "a message of kind " + std::to_string(static_cast<int>(frame.kind));
      case kEof:
        return "end of file";
      case kReset:
        return "ECONNRESET";
      case kTimeout:
        return "nothing before the deadline";
      case kError:
        return std::string("error ") + std::strerror(err);
    }
    return "?";
  }
};

inline Incoming receive(int sock, Deadline deadline) {
  Incoming in;
  if (!poll_readable(sock, deadline)) {
    in.outcome = Incoming::kTimeout;
    return in;
  }
  std::vector<char> buf(detail::kMaxFrameBytes + 1);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
  iovec iov{buf.data(), buf.size()};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    in.err = errno;
    in.outcome = errno == ECONNRESET ? Incoming::kReset : Incoming::kError;
    return in;
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      in.fds.emplace_back(fd);
    }
  }
  if (n == 0) {
    in.outcome = Incoming::kEof;
    return in;
  }
  in.outcome = Incoming::kMessage;
  in.bytes.assign(buf.data(), static_cast<std::size_t>(n));
  if (in.bytes.size() >= sizeof(Frame)) std::memcpy(&in.frame, in.bytes.data(), sizeof(Frame));
  return in;
}

// Reads until the server closes the connection. "" when it did (EOF or ECONNRESET) before the
// deadline without sending anything; otherwise what came instead.
inline std::string expect_closed(int sock, Deadline deadline) {
  Incoming in = receive(sock, deadline);
  if (in.outcome == Incoming::kEof || in.outcome == Incoming::kReset) return "";
  return "expected the server to close the connection, got " + in.describe();
}

// A SOCK_SEQPACKET connection to the listener of the door attached at `path`: a pending
// connection, before kHello. Invalid on failure.
inline UniqueFd connect_listener(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  int n = doors_attach_name(st.st_dev, st.st_ino, a.sun_path + 1, sizeof a.sun_path - 1);
  if (n <= 0) return {};
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s.valid()) return {};
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), len) != 0) return {};
  return s;
}

// The handshake: kHello with the opened attached file; the primary socket from kWelcome.
inline UniqueFd hello(const std::string& path) {
  UniqueFd pending = connect_listener(path);
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pending.valid() || !file.valid()) return {};
  if (send_raw(pending.get(), message(header(FrameKind::kHello, 0, 1), {}, 1), {file.get()}) != 0)
    return {};
  Incoming in = receive(pending.get(), Deadline::standard());
  if (in.outcome != Incoming::kMessage || in.frame.kind != FrameKind::kWelcome ||
      in.fds.size() != 1)
    return {};
  return std::move(in.fds[0]);
}

// kAttach on `via`: a new call channel (socket only, no shuttle page). Our end, or invalid.
inline UniqueFd attach(int via) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return {};
  UniqueFd ours(sv[0]), theirs(sv[1]);
  if (send_raw(via, message(header(FrameKind::kAttach, 0, 1), {}, 1), {theirs.get()}) != 0)
    return {};
  return ours;
}

// Open descriptors of process `pid` (-1 when /proc cannot tell).
inline int count_fds(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

// What `pid`'s descriptors are ("3 -> socket:[123] ..."), to say what was left behind.
inline std::string describe_fds(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::string out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[256];
    ssize_t n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    out += std::string(e->d_name) + " -> " + target + "\n";
  }
  ::closedir(d);
  return out;
}

// Waits until `pid` has at most `expected` descriptors open; the last count seen.
inline int await_fd_count(pid_t pid, int expected, Deadline deadline) {
  int n = count_fds(pid);
  while (n > expected && !deadline.expired()) {
    struct timespec pause {
      0, 1'000'000
    };
    ::nanosleep(&pause, nullptr);  // polling another process's state: nothing to wait on
    n = count_fds(pid);
  }
  return n;
}

}  // namespace doors::test::raw
