// OwnedFd: one file descriptor, closed on destruction. Move-only.
#pragma once

#include <utility>

namespace doors {

class OwnedFd {
 public:
  OwnedFd() noexcept = default;
  // Takes ownership of fd (-1 for none).
  explicit OwnedFd(int fd) noexcept : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(other.release()) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  // Gives up ownership and returns the descriptor (-1 when empty).
  int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the descriptor held (errors of close(2) are ignored) and takes fd.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace doors
