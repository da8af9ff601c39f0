// fd_client: asks an fd_server to open files and prints their contents, read through the
// descriptors the server returns (the client itself may have no right to open them).
//
//   fd_client [--path PATH] FILE...
//
// FILE is relative to the server's --root. Without --path the client opens the interface's
// default path ($Door.path "fd_server"). Exit statuses: 0 success, 1 failure (one line on stderr,
// `error: CODE: message`; files before the failing one are printed), 2 bad usage.
#include <doors/runtime.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fd_server.door.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

void usage(std::FILE* out) {
  std::fputs(
      "usage: fd_client [--path PATH] FILE...\n"
      "prints each FILE (relative to the server's root), read through the descriptor the\n"
      "server opened\n",
      out);
}

// Copies everything from `in` to stdout. False with a message on stderr on failure.
bool copy_to_stdout(int in, const std::string& name) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "error: read %s: %s\n", name.c_str(), std::strerror(errno));
      return false;
    }
    if (n == 0) return true;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(STDOUT_FILENO, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        std::fprintf(stderr, "error: write to stdout: %s\n", std::strerror(errno));
        return false;
      }
      done += w;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (files.empty() && (a == "--help" || a == "-h")) {
      usage(stdout);
      return 0;
    }
    if (files.empty() && a == "--path" && i + 1 < argc) {
      path = argv[++i];
    } else if (files.empty() && a.substr(0, 7) == "--path=") {
      path = std::string(a.substr(7));
    } else if (files.empty() && a.substr(0, 2) == "--") {
      std::fprintf(stderr, "error: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return kExitUsage;
    } else {
      files.emplace_back(a);
    }
  }
  if (files.empty()) {
    usage(stderr);
    return kExitUsage;
  }
  try {
    auto door = path.empty() ? fdsrv::FileServerDoor::Client::open()
                             : fdsrv::FileServerDoor::Client::open(path);
    for (const std::string& file : files) {
      auto reply = door.open_(kj::StringPtr(file.c_str(), file.size()));
      doors::OwnedFd fd = reply.take_fd(reply->getFile());
      if (!copy_to_stdout(fd.get(), file)) return kExitFailure;
    }
    return 0;
  } catch (const doors::Error& e) {
    std::fprintf(stderr, "error: %s: %s\n", doors::code_name(e.code()), e.message().c_str());
    return kExitFailure;
  }
}
