// Fuzz target: the FileServer example's generated dispatch and handlers (dispatch_support.h).
// The example's server.cpp is compiled in, its main renamed: the handlers fuzzed are the
// example's own, serving a scratch root that holds a file, a directory, a FIFO and symbolic
// links leading out of it. Both resolvers are fuzzed (openat2, and the --walk one): the
// descriptor byte's bit 7 chooses.
#define main fd_server_main
#include "server.cpp"
#undef main

#include <sys/stat.h>

#include <fstream>

#include "dispatch_support.h"

namespace {

int serve_root(bool walk) {
  static const std::filesystem::path root = [] {
    auto dir = doors::fuzz::scratch_dir() / "root";
    std::filesystem::create_directories(dir / "sub");
    std::ofstream(dir / "a.txt") << "a";
    std::ofstream(dir / "sub" / "b.txt") << "b";
    ::mkfifo((dir / "fifo").c_str(), 0600);
    std::filesystem::create_symlink("/etc/passwd", dir / "out");
    std::filesystem::create_symlink("..", dir / "sub" / "up");
    std::filesystem::create_symlink("a.txt", dir / "in");
    return dir;
  }();
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) doors::fuzz::fail("cannot open the fd_server root");
  return doors::fuzz::serve(std::make_shared<FileServer>(fd, walk));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int door_openat2 = serve_root(false);
  static const int door_walk = serve_root(true);
  bool walk = size > 0 && (data[0] & 0x80);
  doors::fuzz::fuzz_call(walk ? door_walk : door_openat2, /*refuses_descriptors=*/true, data, size);
  return 0;
}
