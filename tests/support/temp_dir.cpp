#include "temp_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <system_error>
#include <vector>

#include "fd.h"

namespace doors::test {
namespace {

std::string sanitized(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    out.push_back(ok ? c : '_');
  }
  return out;
}

std::string current_test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "notest";
  return sanitized(std::string(info->test_suite_name()) + "." + info->name());
}

[[noreturn]] void die(const char* what, const std::string& arg) {
  std::fprintf(stderr, "test support: %s %s: %s\n", what, arg.c_str(), std::strerror(errno));
  std::abort();
}

std::mutex& made_mutex() {
  static std::mutex* mu = new std::mutex;  // never destroyed: TempDirs may outlive main
  return *mu;
}
std::vector<std::string>& made_paths() {
  static auto* paths = new std::vector<std::string>;
  return *paths;
}

}  // namespace

std::vector<std::string> temp_dirs_made() {
  std::lock_guard lock(made_mutex());
  return made_paths();
}

Pipe Pipe::make() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) die("pipe2", "");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

int unused_descriptor() {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  int fd = lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > 65536
               ? 65535
               : static_cast<int>(lim.rlim_cur) - 1;
  while (fd > 0 && fd_is_open(fd)) --fd;
  return fd;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/doors-" +
                     current_test_name().substr(0, 80) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) die("mkdtemp", tmpl);
  path_ = buf.data();
  std::lock_guard lock(made_mutex());
  made_paths().push_back(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  if (ec)
    std::fprintf(stderr, "test support: cannot remove %s: %s\n", path_.c_str(),
                 ec.message().c_str());
}

std::string TempDir::file(std::string_view name) const { return path_ + "/" + std::string(name); }

std::string TempDir::make_file(std::string_view name, mode_t mode) const {
  std::string p = file(name);
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) die("open", p);
  if (::fchmod(fd.get(), mode) != 0) die("fchmod", p);
  return p;
}

void TempDir::chmod(mode_t mode) const {
  if (::chmod(path_.c_str(), mode) != 0) die("chmod", path_);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  return sanitized(prefix) + "-" + std::to_string(::getpid()) + "-" + current_test_name() + "-" +
         std::to_string(counter.fetch_add(1));
}

}  // namespace doors::test
