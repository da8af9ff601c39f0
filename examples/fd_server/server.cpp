// fd_server: serves the FileServer interface of fd_server.capnp: opens files under a root
// directory on behalf of its callers and hands them the descriptors, the classic door use.
//
//   fd_server --root DIR [--path PATH] [--walk]
//
// Paths are resolved with openat2(2) and RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so that no
// "..", absolute path or symbolic link leads outside DIR. On a kernel without openat2 (before
// 5.6), or with --walk, a stricter walk with openat(2) is used instead: one component at a time,
// never "..", never a symbolic link. Every open and every refusal is logged on stderr with the
// caller's uid and pid. See README.md.
#include <doors/runtime.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "fd_server.door.h"

namespace {

using doors::Code;
using doors::Error;

// Flags of the final open: read-only; O_NONBLOCK so that opening a FIFO (which is then refused
// as not a regular file) cannot block the server thread; O_NOCTTY for terminals.
constexpr int kOpenFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

// An owned descriptor for the walk; doors::OwnedFd is for what goes into replies.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

// The Code for an errno from resolving a caller's path.
Error open_error(int err, std::string_view path) {
  std::string p = "'" + std::string(path) + "'";
  switch (err) {
    case EXDEV:  // RESOLVE_BENEATH: the path leads outside the root
      return Error(Code::kPermissionDenied, p + " leads outside the served directory");
    case ELOOP:  // a symbolic link where none is followed, a magic link, or a loop
      return Error(Code::kPermissionDenied, p + ": symbolic link not followed");
    case ENOENT:
    case ENOTDIR:
      return Error(Code::kNotFound, p + ": no such file");
    case EACCES:
    case EPERM:
      return Error(Code::kPermissionDenied, p + ": " + std::strerror(err));
    case ENAMETOOLONG:
      return Error(Code::kInvalidArgument, p + ": name too long");
    default:
      return Error(Code::kInternal, p + ": " + std::strerror(err));
  }
}

// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS. Returns the descriptor, or -1 with
// errno (ENOSYS on a kernel without openat2).
int open_beneath(int root, const std::string& path) {
  open_how how{};
  how.flags = kOpenFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename made the kernel give up on proving the path stays beneath the
    // root; openat2(2) says to retry.
    if ((errno == EAGAIN || errno == EINTR) && attempt < 16) continue;
    return -1;
  }
}

// The fallback: one component at a time with O_NOFOLLOW, refusing "..", absolute paths and every
// symbolic link (stricter than openat2, which follows links that stay beneath the root).
int open_walk(int root, const std::string& path) {
  if (!path.empty() && path[0] == '/') {
    errno = EXDEV;
    return -1;
  }
  Fd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (dir.fd < 0) return -1;
  size_t pos = 0;
  for (;;) {
    size_t slash = path.find('/', pos);
    std::string part =
        path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    bool last =
        slash == std::string::npos || path.find_first_not_of('/', slash) == std::string::npos;
    if (part == "..") {
      errno = EXDEV;
      return -1;
    }
    if (last) {
      if (part.empty() || part == ".") part = ".";
      return ::openat(dir.fd, part.c_str(), kOpenFlags | O_NOFOLLOW);  // ELOOP for a symlink
    }
    if (!part.empty() && part != ".") {
      Fd next(::openat(dir.fd, part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (next.fd < 0) return -1;
      struct stat st;
      if (::fstat(next.fd, &st) != 0) return -1;
      if (S_ISLNK(st.st_mode)) {
        errno = ELOOP;
        return -1;
      }
      if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
      }
      std::swap(dir.fd, next.fd);
    }
    pos = path.find_first_not_of('/', slash);
  }
}

class FileServer final : public fdsrv::FileServerDoor::Server {
 public:
  FileServer(int root, bool walk) : root_(root), walk_(walk) {}
  ~FileServer() override { ::close(root_); }

  void open(OpenContext& ctx) override {
    auto text = ctx.params().getPath();
    std::string path(text.cStr(), text.size());
    doors::Caller caller = ctx.caller();
    try {
      ctx.set_fd(ctx.results().initFile(), open_file(path));
    } catch (const Error& e) {
      DOORS_LOG_INFO("uid %u (pid %d) refused: %s", static_cast<unsigned>(caller.uid),
                     static_cast<int>(caller.pid), e.what());
      throw;
    }
    DOORS_LOG_INFO("uid %u (pid %d) opened '%s'", static_cast<unsigned>(caller.uid),
                   static_cast<int>(caller.pid), path.c_str());
  }

 private:
  doors::OwnedFd open_file(const std::string& path) {
    if (path.empty()) throw Error(Code::kInvalidArgument, "empty path");
    if (path.size() > PATH_MAX || path.find('\0') != std::string::npos)
      throw Error(Code::kInvalidArgument, "bad path (too long, or a NUL byte)");
    int fd = walk_ ? -1 : open_beneath(root_, path);
    if (fd < 0 && (walk_ || errno == ENOSYS)) fd = open_walk(root_, path);
    if (fd < 0) throw open_error(errno, path);
    Fd file(fd);
    struct stat st;
    if (::fstat(file.fd, &st) != 0) throw open_error(errno, path);
    if (!S_ISREG(st.st_mode))
      throw Error(Code::kInvalidArgument, "'" + path + "' is not a regular file");
    // The caller gets an ordinary blocking descriptor.
    if (::fcntl(file.fd, F_SETFL, O_RDONLY) != 0) throw open_error(errno, path);
    return doors::OwnedFd(file.release());
  }

  const int root_;  // O_PATH descriptor of --root, owned
  const bool walk_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string root;
  bool walk = false;
  doors::ServerMain server_main(fdsrv::FileServerDoor::kInfo, "fd_server",
                                "Hands out read-only descriptors of the files under a directory "
                                "(examples/fd_server).");
  server_main.add_option("--root", "DIR", "the directory whose files are served (required)", &root);
  server_main.add_flag("--walk", "resolve with openat(2) steps, following no link, not openat2",
                       &walk);
  return server_main.run(argc, argv, [&](doors::ServerMain&) {
    if (root.empty()) throw doors::ServerMain::UsageError("--root DIR is required");
    int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      throw Error(Code::kFailedPrecondition, "--root " + root + ": " + std::strerror(err));
    }
    return std::make_shared<FileServer>(fd, walk);
  });
}
