// System-call helpers shared by libdoors' sources: EINTR policy, errno preservation, fd
// ownership, and the assertion macro for bugs.
#pragma once

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

// Entry points of the C API are the only symbols libdoors exports.
#define DOORS_EXPORT __attribute__((visibility("default")))

// A broken internal invariant is a bug, never an error to report: stop at once.
#define DOORS_ASSERT(cond, context)                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "libdoors: assertion failed: %s (%s) at %s:%d\n", #cond, context, \
                   __FILE__, __LINE__);                                                      \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace doors::detail {

// Internal waits retry on EINTR; only door_call surfaces EINTR to its caller (door_call(3C)).
template <typename F>
auto retry_eintr(F&& f) {
  for (;;) {
    auto r = f();
    if (r >= 0 || errno != EINTR) return r;
  }
}

// Keeps errno across cleanup, as illumos libc does on its error paths.
class ErrnoGuard {
 public:
  ErrnoGuard() : saved_(errno) {}
  ~ErrnoGuard() { errno = saved_; }
  ErrnoGuard(const ErrnoGuard&) = delete;
  ErrnoGuard& operator=(const ErrnoGuard&) = delete;

 private:
  int saved_;
};

// Closes a descriptor without disturbing errno; close(2) is never retried on EINTR on Linux.
inline void close_quietly(int fd) {
  if (fd < 0) return;
  ErrnoGuard keep;
  ::close(fd);
}

// Keeps thread cancellation off for a scope. A server procedure's thread is cancellable while
// it runs (client-abort cancellation); a forced unwind must never start inside a libdoors entry
// point, which is noexcept, so they hold cancellation off while they block.
class NoCancel {
 public:
  NoCancel() { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_); }
  ~NoCancel() { pthread_setcancelstate(old_, nullptr); }
  NoCancel(const NoCancel&) = delete;
  NoCancel& operator=(const NoCancel&) = delete;

 private:
  int old_;
};

// Owns one descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { close_quietly(fd_); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    close_quietly(fd_);
    fd_ = fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace doors::detail
