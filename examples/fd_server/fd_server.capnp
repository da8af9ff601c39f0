# The file server example: the classic door use, a server that opens files on behalf of its
# callers and hands them the descriptors.
@0xf924955c87ff34f2;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("fdsrv");

using Door = import "/doors/door.capnp";

interface FileServer $Door.path("fd_server") $Door.refuseDescriptors {
  # Callers send no descriptors (the door refuses them); the server sends one back.

  open @0 (path :Text) -> (file :Door.Fd);
  # Opens path, relative to the server's root directory, read-only, and returns the descriptor.
  # Only regular files are served. A path that leads outside the root (through "..", an absolute
  # path or a symbolic link) fails with PERMISSION_DENIED, a missing file with NOT_FOUND, a
  # directory or device with INVALID_ARGUMENT.
}
