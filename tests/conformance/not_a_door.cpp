#include "not_a_door.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace doors::test {
namespace {

UniqueFd pipe_read_end(const TempDir&) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return UniqueFd();
  ::close(fds[1]);
  return UniqueFd(fds[0]);
}

UniqueFd regular_file(const TempDir& dir) {
  return UniqueFd(::open(dir.make_file("plain").c_str(), O_RDONLY | O_CLOEXEC));
}

UniqueFd dev_null(const TempDir&) { return UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC)); }

UniqueFd seqpacket_socket(const TempDir&) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return UniqueFd();
  ::close(sv[1]);
  return UniqueFd(sv[0]);
}

UniqueFd directory(const TempDir& dir) {
  return UniqueFd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

}  // namespace

std::vector<NotADoor> not_a_door_rows() {
  return {{"Pipe", pipe_read_end},
          {"RegularFileNeverAttached", regular_file},
          {"DevNull", dev_null},
          {"UnixSocket", seqpacket_socket},
          {"Directory", directory}};
}

}  // namespace doors::test
