#include "doors/runtime/door_handle.h"

#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>

#include "doors/runtime/detail/message.h"
#include "doors/runtime/error.h"

namespace doors {

std::string resolve_door_path(std::string_view name) {
  if (name.empty()) throw Error(Code::kInvalidArgument, "empty door name");
  if (name.find('/') != std::string_view::npos) return std::string(name);
  std::string path;
  const char* xdg = ::getenv("XDG_RUNTIME_DIR");
  if (xdg != nullptr && xdg[0] != '\0' && ::geteuid() != 0) {
    path = xdg;
    path += "/doors/";
  } else {
    path = "/run/doors/";
  }
  path += name;
  return path;
}

DoorHandle DoorHandle::open(std::string_view name) {
  std::string path = resolve_door_path(name);
  // O_NONBLOCK: a FIFO or a device at the path must not hang the open (it is then no door).
  OwnedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    int err = errno;
    throw Error::from_errno(code_for_errno(err), err, "open " + path);
  }
  // door_info is a door operation: the thread's in-place reply must be copied out first.
  detail::before_door_operation();
  door_info_t info;
  if (::door_info(fd.get(), &info) != 0) {
    int err = errno;
    if (err == EBADF) {
      throw Error::from_errno(Code::kFailedPrecondition, err,
                              path + " is not a door (no server attached)");
    }
    throw Error::from_errno(code_for_errno(err), err, "door_info " + path);
  }
  door_id_t id;
  std::memcpy(&id, &info.di_uniquifier, sizeof id);  // packed member
  if (info.di_attributes & DOOR_REVOKED) {
    throw Error::from_errno(Code::kUnavailable, EBADF,
                            path + ": the door was revoked or its server is gone");
  }
  return DoorHandle(std::move(fd), id);
}

}  // namespace doors
