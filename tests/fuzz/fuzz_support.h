// What the fuzz targets share: descriptor accounting (a leaked descriptor is a finding) and a
// loud abort that libFuzzer and the replay driver both report as a crash.
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace doors::fuzz {

[[noreturn]] inline void fail(const char* what) {
  fprintf(stderr, "fuzz property violated: %s\n", what);
  abort();
}

#define FUZZ_CHECK(cond)                                       \
  do {                                                         \
    if (!(cond)) ::doors::fuzz::fail(#cond " (" __FILE__ ")"); \
  } while (0)

// Descriptors open in this process (the directory's own descriptor not counted).
inline int open_fd_count() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) fail("cannot open /proc/self/fd");
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;
}

// What each open descriptor is (readlink of /proc/self/fd/N), for the report of a leak.
inline void print_open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char path[300], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
  }
  closedir(d);
}

// The bytes of a fuzz input, consumed from the front.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), left_(size) {}
  uint8_t byte() {
    if (left_ == 0) return 0;
    --left_;
    return *p_++;
  }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{byte()} << (8 * i);
    return v;
  }
  uint64_t u64() { return u32() | (uint64_t{u32()} << 32); }
  const uint8_t* rest() const { return p_; }
  size_t left() const { return left_; }

 private:
  const uint8_t* p_;
  size_t left_;
};

}  // namespace doors::fuzz
