#include "doors/runtime/owned_fd.h"

#include <unistd.h>

namespace doors {

void OwnedFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // Linux closes the descriptor even when close(2) fails
  fd_ = fd;
}

}  // namespace doors
