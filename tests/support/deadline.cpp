#include "deadline.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace doors::test {

Deadline::Clock::duration Deadline::remaining() const {
  auto left = when_ - Clock::now();
  return left < Clock::duration::zero() ? Clock::duration::zero() : left;
}

int Deadline::poll_timeout_ms() const {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(remaining()).count();
  return left > INT_MAX ? INT_MAX : static_cast<int>(left);
}

bool poll_readable(int fd, Deadline deadline) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (rc > 0) return true;  // POLLIN, POLLHUP, POLLERR or POLLNVAL: a read will not block
    if (rc == 0) {
      if (deadline.expired()) return false;
      continue;  // poll's timeout is rounded; look again until the deadline really passed
    }
    if (errno != EINTR) return false;
  }
}

bool read_exact(int fd, void* buf, std::size_t n, Deadline deadline) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    if (!poll_readable(fd, deadline)) {
      errno = ETIMEDOUT;
      return false;
    }
    ssize_t got = ::read(fd, p, n);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    if (got == 0) {
      errno = 0;
      return false;
    }
    p += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

bool write_all(int fd, const void* buf, std::size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t put = ::write(fd, p, n);
    if (put < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += put;
    n -= static_cast<std::size_t>(put);
  }
  return true;
}

}  // namespace doors::test
