// fattach(3C) and fdetach(3C) on Linux, and the client's side of an attached path: turning a
// descriptor of the attached file into a door descriptor on its first door operation.
#include <door.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <memory>
#include <mutex>

#include "client.h"
#include "doors/ext.h"
#include "server.h"
#include "sys.h"

namespace doors::detail {
namespace {

socklen_t attach_address(dev_t dev, ino_t ino, sockaddr_un* a) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  int n = doors_attach_name(dev, ino, a->sun_path + 1, sizeof(a->sun_path) - 1);
  DOORS_ASSERT(n > 0, "attach name fits sun_path");
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

// Connects to the listener of (dev, ino) and checks who runs it. Returns the socket or -1.
int connect_attached(const struct stat& st) {
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) return -1;
  sockaddr_un a;
  socklen_t len = attach_address(st.st_dev, st.st_ino, &a);
  if (retry_eintr([&] { return ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), len); }) != 0) {
    return -1;
  }
  // Abstract names have no permissions, so anyone could bind this one first. fattach(3C) lets
  // only the file's owner (or root) attach, so a listener run by anybody else is a squatter.
  struct ucred peer;
  socklen_t plen = sizeof(peer);
  if (::getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &peer, &plen) != 0 ||
      (peer.uid != st.st_uid && peer.uid != 0)) {
    errno = EACCES;
    return -1;
  }
  return s.release();
}

// One exchange with a listener: a request carrying one descriptor, then the answer in rx.
// False when either way fails (the caller reports EBADF or EINVAL as its function documents).
bool ask_listener(int sock, FrameKind kind, int fd, char* buf, Received& rx) {
  Outgoing req;
  req.frame.magic = kFrameMagic;
  req.frame.kind = kind;
  req.frame.desc_num = 1;
  DescMeta meta{};
  req.meta = &meta;
  req.fds = &fd;
  req.nfds = 1;
  // A listener that refuses a connection (a limit, resource_limits.h) says why and closes it at
  // once, possibly before the request goes out: its answer is still there to read.
  // A refusal that closed with our request unread reports ECONNRESET before the answer queued
  // ahead of it (the kernel reports the socket's error first, once).
  bool sent = send_frame(sock, req) == 0;
  int got = recv_frame(sock, buf, rx, /*interruptible=*/false);
  if (got < 0 && errno == ECONNRESET) got = recv_frame(sock, buf, rx, /*interruptible=*/false);
  if (got <= 0) return false;
  if (!sent && rx.frame.kind != FrameKind::kError) {
    rx.close_fds();
    return false;
  }
  return true;
}

}  // namespace

std::mutex& convert_mutex() {
  static std::mutex* mu = new std::mutex;  // never destroyed: used until the last thread ends
  return *mu;
}

int convert_attached(int fd) {
  std::lock_guard lk(convert_mutex());  // two threads converting one fd must not both replace it
  struct stat st;
  if (::fstat(fd, &st) != 0) return -1;
  if (S_ISSOCK(st.st_mode)) {
    uint64_t id;
    if (peer_door_id(fd, &id)) return 0;  // another thread converted it first
    errno = EBADF;
    return -1;
  }
  UniqueFd s(connect_attached(st));
  if (!s) {
    errno = EBADF;
    return -1;
  }
  // The opened file is the proof of access: whoever could not open the path cannot get here.
  auto buf = std::make_unique<char[]>(kMaxFrameBytes);
  auto rx = std::make_unique<Received>();
  if (!ask_listener(s.get(), FrameKind::kHello, fd, buf.get(), *rx)) {
    errno = EBADF;
    return -1;
  }
  const Frame& f = rx->frame;
  if (f.kind == FrameKind::kError && f.desc_num == 0 &&
      (f.error == EAGAIN || f.error == EMFILE || f.error == ENFILE || f.error == ENOMEM)) {
    // The server is at a limit (doors_setlimit) or out of descriptors or memory: door_call(3C)'s
    // EAGAIN, "the server was out of available resources", rather than "not a door".
    errno = EAGAIN;
    return -1;
  }
  if (f.kind != FrameKind::kWelcome || f.data_size != sizeof(WireInfo) || f.desc_num != 1 ||
      (f.flags & (kNewArena | kDataInArena))) {
    rx->close_fds();
    errno = EBADF;
    return -1;
  }
  UniqueFd primary(rx->fds[0]);
  rx->nfds = 0;
  WireInfo info;
  memcpy(&info, rx->inline_data, sizeof(info));
  uint64_t id;
  if (!peer_door_id(primary.get(), &id) || id != info.id) {
    errno = EBADF;
    return -1;
  }
  remember_info(info);
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::dup3(primary.get(), fd, (flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
    errno = EBADF;
    return -1;
  }
  return 0;
}

}  // namespace doors::detail

using namespace doors::detail;

extern "C" DOORS_EXPORT int doors_attach_name(dev_t dev, ino_t ino, char* buf,
                                              size_t len) noexcept {
  int n = snprintf(buf, len, "doors-path/%016llx/%016llx", static_cast<unsigned long long>(dev),
                   static_cast<unsigned long long>(ino));
  if (n < 0 || static_cast<size_t>(n) >= len) {
    errno = ERANGE;
    return -1;
  }
  return n;
}

extern "C" DOORS_EXPORT int fattach(int fd, const char* path) noexcept {
  NoCancel no_cancel;  // see sys.h
  if (path == nullptr) {
    errno = EFAULT;
    return -1;
  }
  if (::fcntl(fd, F_GETFD) < 0) {
    errno = EBADF;
    return -1;
  }
  uint64_t id;
  if (resolve_door(fd, &id) != 0) {
    errno = EINVAL;  // fattach(3C): fd is neither a door nor a STREAM
    return -1;
  }
  // ENOENT, ENOTDIR, EACCES, ELOOP, ENAMETOOLONG as open(2) reports them. The descriptor pins
  // the file's inode for as long as it is attached (see Connection::pin_fd).
  UniqueFd pin(::open(path, O_PATH | O_CLOEXEC));
  struct stat st;
  if (!pin || ::fstat(pin.get(), &st) != 0) return -1;
  uid_t me = ::geteuid();
  if (me != 0 && st.st_uid != me) {
    errno = EPERM;  // fattach(3C): not the owner of path
    return -1;
  }
  if (me != 0 && ::faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0) {
    errno = EACCES;  // fattach(3C): the owner lacks write permission on path
    return -1;
  }
  return attach_local_door(id, pin.release(), st.st_dev, st.st_ino);
}

extern "C" DOORS_EXPORT int fdetach(const char* path) noexcept {
  NoCancel no_cancel;  // see sys.h
  if (path == nullptr) {
    errno = EFAULT;
    return -1;
  }
  struct stat st;
  if (::stat(path, &st) != 0) return -1;
  uid_t me = ::geteuid();
  if (me != 0 && st.st_uid != me) {
    errno = EPERM;  // fdetach(3C): not the owner of path
    return -1;
  }
  if (detach_local(st.st_dev, st.st_ino) == 0) return 0;
  // Attached by another process: ask it, naming the file with a descriptor of it.
  UniqueFd s(connect_attached(st));
  UniqueFd file(::open(path, O_PATH | O_CLOEXEC));
  if (!s || !file) {
    errno = EINVAL;  // fdetach(3C): path is not attached
    return -1;
  }
  struct stat fst;
  if (::fstat(file.get(), &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
    errno = EINVAL;
    return -1;
  }
  auto buf = std::make_unique<char[]>(kMaxFrameBytes);
  auto rx = std::make_unique<Received>();
  if (!ask_listener(s.get(), FrameKind::kDetach, file.get(), buf.get(), *rx)) {
    errno = EINVAL;
    return -1;
  }
  rx->close_fds();
  if (rx->frame.kind != FrameKind::kError) {
    errno = EINVAL;
    return -1;
  }
  if (rx->frame.error == 0) return 0;
  errno = rx->frame.error == EPERM ? EPERM : EINVAL;
  return -1;
}
