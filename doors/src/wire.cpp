#include "wire.h"

#include <string.h>
#include <sys/un.h>

#include "sys.h"

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace doors::detail {
namespace {

// A message on a socket orders what its sender did before sending before what its receiver does
// after receiving, but ThreadSanitizer cannot see through the kernel. Between threads of one
// process, every frame is therefore a release/acquire on this object.
[[maybe_unused]] char wire_sync;

void sent_happens_before() {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(&wire_sync);
#endif
}

void received_happens_after() {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(&wire_sync);
#endif
}

constexpr char kNamePrefix[] = "doors/";  // after the abstract namespace's leading NUL
constexpr size_t kNamePrefixLen = sizeof(kNamePrefix) - 1;
constexpr size_t kIdHexLen = 16;

void put_hex(char* out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = digits[v & 0xf];
}

bool parse_hex(const char* in, uint64_t* v) {
  uint64_t r = 0;
  for (size_t i = 0; i < kIdHexLen; ++i) {
    char c = in[i];
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return false;
    }
    r = (r << 4) | d;
  }
  *v = r;
  return true;
}

bool valid_kind(FrameKind k) { return k >= FrameKind::kCall && k <= FrameKind::kShuttleWake; }

}  // namespace

void Received::close_fds() {
  for (unsigned i = 0; i < nfds; ++i) close_quietly(fds[i]);
  nfds = 0;
}

int send_frame(int sock, const Outgoing& out) {
  iovec iov[3];
  int n = 0;
  iov[n++] = {const_cast<Frame*>(&out.frame), sizeof(Frame)};
  const void* payload = out.body ? out.body : out.inline_data;
  if (!(out.frame.flags & kDataInArena) && out.frame.data_size > 0) {
    iov[n++] = {const_cast<void*>(payload), out.frame.data_size};
  }
  if (out.frame.desc_num > 0) {
    iov[n++] = {const_cast<DescMeta*>(out.meta), out.frame.desc_num * sizeof(DescMeta)};
  }
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = n;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * (kMaxDescs + 1))];
  if (out.nfds > 0) {
    DOORS_ASSERT(out.nfds <= kMaxDescs + 1, "too many descriptors in one frame");
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * out.nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * out.nfds);
    memcpy(CMSG_DATA(c), out.fds, sizeof(int) * out.nfds);
  }
  sent_happens_before();
  ssize_t r = retry_eintr([&] { return ::sendmsg(sock, &m, MSG_NOSIGNAL); });
  return r < 0 ? -1 : 0;
}

int recv_frame(int sock, char* buf, Received& r, bool interruptible) {
  r.nfds = 0;
  r.creds.valid = false;
  alignas(cmsghdr) char
      cbuf[CMSG_SPACE(sizeof(int) * (kMaxDescs + 1)) + CMSG_SPACE(sizeof(struct ucred))];
  iovec iov{buf, kMaxFrameBytes};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof(cbuf);
  ssize_t n;
  for (;;) {
    n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    if (n >= 0 || errno != EINTR || interruptible) break;
  }
  if (n < 0) return -1;
  received_happens_after();

  // Take every descriptor first, so that no error path below can leak one.
  take_ancillary(m, r);
  if (n == 0) {
    r.close_fds();
    return 0;
  }
  return check_received(buf, static_cast<size_t>(n), m.msg_flags, r);
}

void take_ancillary(msghdr& m, Received& r) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char* p = CMSG_DATA(c);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        memcpy(&fd, p + i * sizeof(int), sizeof(int));
        if (r.nfds < kMaxDescs + 1) {
          r.fds[r.nfds++] = fd;
        } else {
          close_quietly(fd);
        }
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred uc;
      memcpy(&uc, CMSG_DATA(c), sizeof(uc));
      r.creds = {true, uc.pid, uc.uid, uc.gid};
    }
  }
}

int check_received(const char* buf, size_t n, int msg_flags, Received& r) {
  auto malformed = [&] {
    r.close_fds();
    errno = EPROTO;
    return -1;
  };
  if (msg_flags & MSG_CTRUNC) {  // descriptors were lost: we are at our descriptor limit
    r.close_fds();
    errno = EMFILE;
    return -1;
  }
  if ((msg_flags & MSG_TRUNC) || n < sizeof(Frame) || n > kMaxFrameBytes) return malformed();
  memcpy(&r.frame, buf, sizeof(Frame));
  const Frame& f = r.frame;
  if (f.magic != kFrameMagic || !valid_kind(f.kind) || f.desc_num > kMaxDescs ||
      (f.flags & ~(kDataInArena | kNewArena | kNoResults)) != 0) {
    return malformed();
  }
  unsigned expected_fds = f.desc_num + ((f.flags & kNewArena) ? 1u : 0u);
  if (r.nfds != expected_fds) return malformed();
  size_t inline_len = 0;
  if (!(f.flags & kDataInArena)) {
    if (f.data_size > kInlineDataMax) return malformed();
    inline_len = f.data_size;
  }
  if (n != sizeof(Frame) + inline_len + f.desc_num * sizeof(DescMeta)) return malformed();
  r.inline_data = buf + sizeof(Frame);
  memcpy(r.meta, buf + sizeof(Frame) + inline_len, f.desc_num * sizeof(DescMeta));
  return 1;
}

bool peer_door_id(int fd, uint64_t* id) {
  sockaddr_un a;
  socklen_t len = sizeof(a);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return false;
  size_t path_len = len - offsetof(sockaddr_un, sun_path);
  if (len <= offsetof(sockaddr_un, sun_path) || path_len < 1 + kNamePrefixLen + kIdHexLen ||
      a.sun_path[0] != '\0' || memcmp(a.sun_path + 1, kNamePrefix, kNamePrefixLen) != 0) {
    errno = EBADF;
    return false;
  }
  if (!parse_hex(a.sun_path + 1 + kNamePrefixLen, id)) {
    errno = EBADF;
    return false;
  }
  return true;
}

int bind_door_name(int sock, uint64_t id, const uint64_t* serial) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  char* p = a.sun_path + 1;  // sun_path[0] == '\0': the abstract namespace
  memcpy(p, kNamePrefix, kNamePrefixLen);
  p += kNamePrefixLen;
  put_hex(p, id);
  p += kIdHexLen;
  if (serial != nullptr) {
    *p++ = '/';
    put_hex(p, *serial);
    p += kIdHexLen;
  }
  socklen_t len = static_cast<socklen_t>(p - reinterpret_cast<char*>(&a));
  return ::bind(sock, reinterpret_cast<sockaddr*>(&a), len);
}

}  // namespace doors::detail
