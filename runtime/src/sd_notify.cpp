// sd_notify(3) without libsystemd (sd_notify.h).
#include "sd_notify.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>

#include "doors/runtime/owned_fd.h"

namespace doors::detail {

bool sd_notify(std::string_view state) noexcept {
  const char* path = ::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return true;
  size_t len = ::strlen(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // "@name" is an abstract socket; anything else must be an absolute path.
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) return false;
  ::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  OwnedFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  ssize_t n = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), addr_len);
  return n == static_cast<ssize_t>(state.size());
}

}  // namespace doors::detail
