#include "shuttle.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

namespace doors::detail {

bool valid_shuttle_call(const Frame& f) {
  bool inline_data = !(f.flags & kDataInArena);
  return f.magic == kFrameMagic && f.kind == FrameKind::kCall && f.desc_num == 0 &&
         (f.flags & ~(kDataInArena | kNoResults)) == 0 &&
         !(inline_data && f.data_size > kShuttleDataMax);
}

bool valid_shuttle_reply(const Frame& f) {
  bool inline_data = !(f.flags & kDataInArena);
  bool known = f.kind == FrameKind::kReply || f.kind == FrameKind::kError ||
               f.kind == FrameKind::kRevoked || f.kind == FrameKind::kClosed;
  return f.magic == kFrameMagic && known && f.desc_num == 0 && !(f.flags & kNewArena) &&
         !(inline_data && f.data_size > kShuttleDataMax);
}

int create_shuttle(ShuttlePage** page) {
  UniqueFd fd(::memfd_create("doors-shuttle", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return -1;
  if (::ftruncate(fd.get(), kShuttleBytes) != 0 ||
      ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return -1;
  }
  void* m = ::mmap(nullptr, kShuttleBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (m == MAP_FAILED) return -1;
  *page = static_cast<ShuttlePage*>(m);  // a fresh memfd reads as zeros: kShuttleIdle
  (*page)->suggested_cpu = -1;
  return fd.release();
}

ShuttlePage* map_shuttle(int fd) {
  UniqueFd owned(fd);
  struct stat st;
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW) ||
      ::fstat(fd, &st) != 0 || st.st_size != static_cast<off_t>(kShuttleBytes)) {
    errno = EPROTO;
    return nullptr;
  }
  void* m = ::mmap(nullptr, kShuttleBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return m == MAP_FAILED ? nullptr : static_cast<ShuttlePage*>(m);
}

void unmap_shuttle(ShuttlePage* page) {
  if (page != nullptr) ::munmap(page, kShuttleBytes);
}

int futex_wait(std::atomic<uint32_t>* word, uint32_t expected, const timespec* timeout) {
  // Not FUTEX_PRIVATE_FLAG: the word is shared with another process.
  long r = ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, timeout,
                     nullptr, 0);
  if (r == 0 || errno == EAGAIN) return 0;
  return -1;
}

void futex_wake(std::atomic<uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

}  // namespace doors::detail
