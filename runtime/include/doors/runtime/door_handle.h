// DoorHandle: an open door descriptor, and where a door's name leads (resolve_door_path).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "doors/runtime/owned_fd.h"

namespace doors {

// Where a door called `name` lives: a path containing '/' is used as is; a bare name goes under
// "$XDG_RUNTIME_DIR/doors/" when XDG_RUNTIME_DIR is set (non-empty) and the process is not root
// (effective uid), else under "/run/doors/". Throws Error(kInvalidArgument) for an empty name.
std::string resolve_door_path(std::string_view name);

// An open door descriptor, owned. Not copyable; movable. ClientBase shares one through a
// std::shared_ptr: the last copy closing it is the door's last reference held here.
class DoorHandle {
 public:
  DoorHandle() = default;
  // Adopts a descriptor known to be a door (a door_create(3C) result, or one received in a
  // message). `id` is its di_uniquifier when known, else 0.
  explicit DoorHandle(OwnedFd fd, uint64_t id = 0) noexcept : fd_(std::move(fd)), id_(id) {}

  // Opens the door at resolve_door_path(path) (open(2) O_RDONLY, then door_info(3C) to check it
  // is a door). Throws Error: kNotFound (ENOENT, ENOTDIR), kPermissionDenied (EACCES, EPERM),
  // kFailedPrecondition (a file with no door attached, or not a door), kUnavailable (the door was
  // revoked or its server is gone), kResourceExhausted (EMFILE...), kInvalidArgument (ELOOP,
  // ENAMETOOLONG, empty name); sys_errno() gives the errno.
  static DoorHandle open(std::string_view path);

  int fd() const noexcept { return fd_.get(); }
  bool valid() const noexcept { return fd_.valid(); }
  explicit operator bool() const noexcept { return valid(); }
  // The door's di_uniquifier (door_info(3C)) when known, else 0.
  uint64_t id() const noexcept { return id_; }
  // Gives up the descriptor.
  OwnedFd release() noexcept {
    id_ = 0;
    return std::move(fd_);
  }

 private:
  OwnedFd fd_;
  uint64_t id_ = 0;
};

}  // namespace doors
