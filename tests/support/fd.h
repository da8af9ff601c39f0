// Owned file descriptors and pipes for tests.
#pragma once

#include <unistd.h>

#include <utility>

namespace doors::test {

// Owns one descriptor and closes it on destruction. Movable, not copyable.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership (for descriptors something else closes, e.g. DOOR_RELEASE).
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A pipe(2) with both ends owned; O_CLOEXEC so that nothing exec'd inherits it.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;

  // Aborts the test process if the pipe cannot be made (the test could not run anyway).
  static Pipe make();
};

// True when `fd` is an open descriptor in this process.
bool fd_is_open(int fd);

// A descriptor number that is not open and that nothing will be given soon: the highest one
// RLIMIT_NOFILE allows (the kernel hands out the lowest free number). Closing a descriptor and
// reusing its number is no substitute: the library may open a socket that takes it.
int unused_descriptor();

}  // namespace doors::test
