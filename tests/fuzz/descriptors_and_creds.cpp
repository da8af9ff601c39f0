// Fuzz target: descriptors and credentials as libdoors receives them, through a real socket.
//
// Per input: a SOCK_SEQPACKET socketpair whose receiving end has SO_PASSCRED (as every door
// connection does), one message of fuzzed bytes carrying a fuzz-chosen set of real descriptors
// (memfds sealed or not, of fuzzed sizes; pipe ends; sockets; /dev/null), received by
// recv_frame. An accepted message's arena descriptor goes through ReaderMapping::adopt, and its
// data through ReaderMapping::range, at the frame's offsets and at fuzzed ones.
// Input: [ndesc] [kind of each...] [size byte of each memfd...] [fuzzed offsets] [frame bytes].
// Properties: no crash, no sanitizer report, no SIGBUS; refusals are errors (EPROTO), never
// crashes; the kernel's credentials are the ones reported; not one descriptor leaks.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "arena.h"
#include "fuzz_support.h"
#include "wire.h"

using doors::fuzz::Input;
using namespace doors::detail;

namespace {

constexpr unsigned kMaxSent = 6;

// Descriptor kinds a peer may pass.
int make_descriptor(uint8_t kind, uint8_t size_code, int* extra) {
  *extra = -1;
  static const size_t sizes[] = {0, 1, 4096, 4097, 65536, 1 << 20, 17, 8192};
  switch (kind % 7) {
    case 0:    // a memfd sealed against shrinking (an arena as a peer should send it)
    case 1: {  // a memfd with fuzzed seals, maybe none
      int fd = ::memfd_create("fuzz-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (fd < 0) return -1;
      if (::ftruncate(fd, static_cast<off_t>(sizes[size_code % 8])) != 0) {
        ::close(fd);
        return -1;
      }
      int seals = kind % 7 == 0 ? F_SEAL_SHRINK | F_SEAL_GROW
                                : (size_code >> 3) & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
      if (seals != 0) ::fcntl(fd, F_ADD_SEALS, seals);
      return fd;
    }
    case 2: {  // a pipe's read end (the write end stays with us, closed after the call)
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return -1;
      *extra = p[1];
      return p[0];
    }
    case 3: {  // a socket (not a door's)
      int s[2];
      if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s) != 0) return -1;
      *extra = s[1];
      return s[0];
    }
    case 4:
      return ::open("/dev/null", O_RDWR | O_CLOEXEC);
    case 5:  // a directory
      return ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    default:  // an O_PATH descriptor
      return ::open("/proc/self/exe", O_PATH | O_CLOEXEC);
  }
}

void read_range(const char* p, uint64_t len) {
  if (p == nullptr || len == 0) return;
  volatile char sink = p[0];
  sink = sink + p[len - 1];
}

void exercise_arena(Received& r, Input& in) {
  const Frame& f = r.frame;
  int arena = r.arena_fd();
  if (arena < 0) return;
  r.fds[0] = -1;  // adopt takes it
  ReaderMapping mapping;
  if (mapping.adopt(arena) != 0) {
    FUZZ_CHECK(errno == EPROTO || errno == ENOMEM || errno == EINVAL || errno == ENODEV ||
               errno == EACCES);
    FUZZ_CHECK(mapping.range(0, 0) == nullptr);
    return;
  }
  if (f.flags & kDataInArena) read_range(mapping.range(f.arena_offset, f.data_size), f.data_size);
  for (int i = 0; i < 3; ++i) {
    uint64_t offset = in.u64(), len = in.u64();
    read_range(mapping.range(offset, len), len);
    read_range(mapping.range(offset % (1 << 21), len % (1 << 21)), len % (1 << 21));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  int before = doors::fuzz::open_fd_count();
  unsigned ndesc = in.byte() % (kMaxSent + 1);
  uint8_t kinds[kMaxSent], size_codes[kMaxSent];
  for (unsigned i = 0; i < ndesc; ++i) kinds[i] = in.byte();
  for (unsigned i = 0; i < ndesc; ++i) size_codes[i] = in.byte();
  uint8_t arena_offsets[48];
  for (auto& b : arena_offsets) b = in.byte();
  Input offsets(arena_offsets, sizeof arena_offsets);

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  int on = 1;
  ::setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);

  int fds[kMaxSent], extras[kMaxSent];
  unsigned made = 0;
  for (unsigned i = 0; i < ndesc; ++i) {
    int fd = make_descriptor(kinds[i], size_codes[i], &extras[made]);
    if (fd >= 0) fds[made++] = fd;
  }
  // The message: the rest of the input, at most a little more than recv_frame's buffer holds
  // (so that MSG_TRUNC happens).
  size_t len = std::min(in.left(), kMaxFrameBytes + 16);
  iovec iov{const_cast<uint8_t*>(in.rest()), len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * kMaxSent)];
  if (made > 0) {
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * made);
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * made);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * made);
  }
  bool sent = ::sendmsg(sv[0], &m, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0;
  for (unsigned i = 0; i < made; ++i) {
    ::close(fds[i]);
    if (extras[i] >= 0) ::close(extras[i]);
  }
  ::close(sv[0]);  // after one message, the peer hangs up: the next receive reads 0

  if (sent) {
    auto buf = std::make_unique<char[]>(kMaxFrameBytes);
    auto r = std::make_unique<Received>();
    int rc = recv_frame(sv[1], buf.get(), *r, /*interruptible=*/false);
    if (rc == 1) {
      FUZZ_CHECK(r->creds.valid && r->creds.pid == ::getpid() && r->creds.uid == ::getuid() &&
                 r->creds.gid == ::getgid());
      FUZZ_CHECK(r->nfds == made);
      for (unsigned i = 0; i < r->nfds; ++i) {
        uint64_t id;
        FUZZ_CHECK(!peer_door_id(r->fds[i], &id));  // none of them is a door's socket
        FUZZ_CHECK(::fcntl(r->fds[i], F_GETFD) == FD_CLOEXEC);
      }
      exercise_arena(*r, offsets);
      r->close_fds();
    } else if (rc == 0) {
      FUZZ_CHECK(len == 0);  // an empty record reads as end of stream: nothing to check
    } else {
      FUZZ_CHECK(rc == -1 && errno == EPROTO && r->nfds == 0);
    }
    // The peer is gone: end of stream, and nothing else.
    FUZZ_CHECK(recv_frame(sv[1], buf.get(), *r, false) == 0);
  }
  ::close(sv[1]);
  FUZZ_CHECK(doors::fuzz::open_fd_count() == before);
  return 0;
}
