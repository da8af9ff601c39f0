// Fuzz target: libdoors' checks of a received message (check_received, the part of recv_frame
// after recvmsg) and of a frame read from a shuttle page (valid_shuttle_call/_reply).
//
// Input: [nfds claimed] [msg_flags bits] [message bytes...]. The first descriptors the message
// "carried" are real (duplicates of /dev/null), so that the closing of a refused message's
// descriptors is checked: nothing may leak and nothing may be closed twice.
// Properties: no crash or sanitizer report; a refused message leaves no descriptor open; an
// accepted one is consistent (descriptor count, sizes within the message, metadata copied).
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <new>

#include "fuzz_support.h"
#include "shuttle.h"
#include "wire.h"

using doors::fuzz::Input;
using namespace doors::detail;

namespace {

constexpr unsigned kRealFds = 4;

void check_shuttle_checks(const uint8_t* data, size_t size) {
  if (size < sizeof(Frame)) return;
  // The page as a hostile peer left it: the fuzz bytes as the frame and the data after it.
  auto page = std::make_unique<ShuttlePage>();
  std::memcpy(&page->frame, data, sizeof(Frame));
  size_t data_bytes = std::min(size - sizeof(Frame), sizeof(page->data));
  std::memcpy(page->data, data + sizeof(Frame), data_bytes);
  Frame f;
  std::memcpy(&f, &page->frame, sizeof f);
  // What server and client do with a frame that passed: copy its inline data into a receive
  // buffer of kMaxFrameBytes after the header. ASan reports any overflow.
  auto buf = std::make_unique<char[]>(kMaxFrameBytes);
  if (valid_shuttle_call(f)) {
    FUZZ_CHECK(f.kind == FrameKind::kCall && f.desc_num == 0 && !(f.flags & kNewArena));
    if (!(f.flags & kDataInArena)) std::memcpy(buf.get() + sizeof(Frame), page->data, f.data_size);
  }
  if (valid_shuttle_reply(f)) {
    FUZZ_CHECK(f.kind != FrameKind::kCall && f.desc_num == 0 && !(f.flags & kNewArena));
    if (!(f.flags & kDataInArena)) std::memcpy(buf.get() + sizeof(Frame), page->data, f.data_size);
  }
  FUZZ_CHECK(!(valid_shuttle_call(f) && valid_shuttle_reply(f)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  unsigned nfds = in.byte() % (kMaxDescs + 2);
  uint8_t flag_bits = in.byte();
  int msg_flags = 0;
  if ((flag_bits & 0x0f) == 1) msg_flags |= MSG_TRUNC;
  if ((flag_bits & 0xf0) == 0x10) msg_flags |= MSG_CTRUNC;
  size_t n = in.left();
  // The receive buffer as recv_frame has it: kMaxFrameBytes, the message at its start.
  auto buf = std::make_unique<char[]>(kMaxFrameBytes + 64);
  std::memcpy(buf.get(), in.rest(), std::min(n, kMaxFrameBytes + 64));

  int before = doors::fuzz::open_fd_count();
  auto r = std::make_unique<Received>();
  r->nfds = nfds;
  for (unsigned i = 0; i < nfds; ++i) {
    r->fds[i] = i < kRealFds ? ::open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
    if (i < kRealFds && r->fds[i] < 0) doors::fuzz::fail("cannot open /dev/null");
  }
  int rc = check_received(buf.get(), n, msg_flags, *r);
  if (rc == 1) {
    const Frame& f = r->frame;
    FUZZ_CHECK(f.magic == kFrameMagic && f.desc_num <= kMaxDescs);
    FUZZ_CHECK(r->nfds == f.desc_num + ((f.flags & kNewArena) ? 1u : 0u));
    FUZZ_CHECK(n <= kMaxFrameBytes && !(msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
    size_t inline_len = (f.flags & kDataInArena) ? 0 : f.data_size;
    FUZZ_CHECK(inline_len <= kInlineDataMax);
    FUZZ_CHECK(sizeof(Frame) + inline_len + f.desc_num * sizeof(DescMeta) == n);
    FUZZ_CHECK(r->inline_data == buf.get() + sizeof(Frame));
    if (f.desc_num > 0) {
      FUZZ_CHECK(std::memcmp(&r->meta[f.desc_num - 1], buf.get() + n - sizeof(DescMeta),
                             sizeof(DescMeta)) == 0);
    }
    // The consumer's reading of the inline data: every byte within the buffer.
    volatile char sink = 0;
    for (size_t i = 0; i < inline_len; i += 512) sink = sink + r->inline_data[i];
    if (inline_len > 0) sink = sink + r->inline_data[inline_len - 1];
    FUZZ_CHECK(r->arena_fd() == ((f.flags & kNewArena) ? r->fds[0] : -1));
    r->close_fds();
  } else {
    FUZZ_CHECK(rc == -1);
    FUZZ_CHECK(errno == ((msg_flags & MSG_CTRUNC) ? EMFILE : EPROTO));
    FUZZ_CHECK(r->nfds == 0);
  }
  FUZZ_CHECK(doors::fuzz::open_fd_count() == before);
  check_shuttle_checks(in.rest(), in.left());
  return 0;
}
