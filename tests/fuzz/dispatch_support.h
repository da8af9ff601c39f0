// The dispatch fuzz targets' common part: one request of fuzzed bytes, with fuzz-chosen
// descriptors, made to a typed door served in this process, through door_call and the runtime's
// own door procedure (validation, the generated dispatch switch, the example's handler, the
// reply or typed error). That is the exact path of a real call; only the client is hostile.
//
// Input: [descriptor byte] [request bytes...]. The descriptor byte's low two bits say how many
// descriptors go with the call (0-3), the next bits which kinds.
// Properties: the call is answered (door_call succeeds; ENOTSUP only for descriptors sent to a
// door that refuses them); the answer is a well-formed reply or a typed error; no
// crash or sanitizer report; no descriptor is left open once the call and its aftermath (a
// session door's unreferenced notification) are over.
#pragma once

#include <door.h>
#include <doors/ext.h>
#include <doors/runtime.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "fuzz_support.h"

namespace doors::fuzz {

// A directory for the servers' files (calculator's logs, fd_server's root), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  // Never destroyed: the exit handler that removes it runs after static destructors would.
  static const std::filesystem::path* dir = [] {
    char tmpl[] = "/tmp/doors-fuzz-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) fail("mkdtemp");
    auto* path = new std::filesystem::path(tmpl);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return path;
  }();
  return *dir;
}

// DOORS_FUZZ_ABANDON: reproduce README.md's open finding (calls abandoned by their deadline).
inline bool abandon_calls() {
  static const bool on = getenv("DOORS_FUZZ_ABANDON") != nullptr;
  return on;
}

// Served for the life of the process; never destroyed (a Service's destructor waits for calls),
// but kept reachable, so that LeakSanitizer does not count it.
inline int serve(std::shared_ptr<ServerBase> server) {
  set_log_level(LogLevel::kError);  // handlers log each call: too slow and noisy here
  static std::vector<std::unique_ptr<Service>>* services =
      new std::vector<std::unique_ptr<Service>>;
  services->push_back(std::make_unique<Service>(std::move(server)));
  return services->back()->fd();
}

inline int make_call_descriptor(unsigned kind) {
  switch (kind % 4) {
    case 0:
      return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    case 1: {
      int fd = ::memfd_create("fuzz", MFD_CLOEXEC);
      if (fd >= 0 && ::ftruncate(fd, 4096) != 0) {
        ::close(fd);
        return -1;
      }
      return fd;
    }
    case 2:
      return ::open("/", O_PATH | O_CLOEXEC);
    default:
      return ::dup(STDERR_FILENO);
  }
}

// Waits (bounded) for the descriptor count to come back to `before`: a session door dropped by
// the reply's close is revoked by its unreferenced notification, on a server thread.
inline void expect_no_descriptor_leak(int before) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (open_fd_count() > before) {
    if (std::chrono::steady_clock::now() > deadline) {
      fprintf(stderr, "%d descriptors open before the call, %d now:\n", before, open_fd_count());
      print_open_fds();
      if (getenv("DOORS_FUZZ_VERBOSE") != nullptr) {
        auto t0 = std::chrono::steady_clock::now();
        while (open_fd_count() > before &&
               std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        fprintf(stderr, "%d open after %lld ms more\n", open_fd_count(),
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - t0)
                                           .count()));
      }
      fail("a descriptor leaked");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling a count, bounded
  }
}

// bool refuses_descriptors: the door was created with DOOR_REFUSE_DESC.
inline void fuzz_call(int door, bool refuses_descriptors, const uint8_t* data, size_t size) {
  if (size == 0) return;
  // The descriptor count is taken before the call: the first call to a door also starts its
  // server threads and the client's connection, which keep their descriptors.
  static std::set<int> warmed_up;
  if (warmed_up.insert(door).second) {
    char probe[16] = {};
    door_arg_t a{probe, sizeof probe, nullptr, 0, nullptr, 0};
    doors_call_options_t o{0, DOORS_RESULTS_IN_PLACE};
    (void)doors_call(door, &a, &o);
  }
  int before = open_fd_count();
  unsigned desc_byte = data[0];
  unsigned ndesc = desc_byte & 3;
  door_desc_t descs[3];
  unsigned made = 0;
  for (unsigned i = 0; i < ndesc; ++i) {
    int fd = make_call_descriptor(desc_byte >> (2 + 2 * i));
    if (fd < 0) continue;
    std::memset(&descs[made], 0, sizeof descs[made]);
    descs[made].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;  // the server's from now on
    descs[made].d_data.d_desc.d_descriptor = fd;
    ++made;
  }
  // The request, 16-byte aligned as a caller's buffer would normally be.
  std::unique_ptr<uint64_t[]> req(new uint64_t[(size - 1 + 7) / 8 + 1]);
  std::memcpy(req.get(), data + 1, size - 1);
  door_arg_t arg{
      reinterpret_cast<char*>(req.get()), size - 1, made > 0 ? descs : nullptr, made, nullptr, 0};
  // Results in place: no result buffer to size or unmap. The deadline, below libFuzzer's
  // -timeout, is a backstop: no handler fuzzed here waits (see dispatch_kv_store.cpp), so a call
  // that takes 5 s is a hang. With DOORS_FUZZ_ABANDON set, calls are abandoned after 200 ms
  // instead (ETIMEDOUT accepted): the open finding of README.md.
  doors_call_options_t opts{abandon_calls() ? 200'000'000 : 5'000'000'000, DOORS_RESULTS_IN_PLACE};
  // libFuzzer's -timeout watchdog is a SIGALRM every second; a signal interrupts door_call
  // (EINTR, the call abandoned, as door_call(3C) says). Held back for the call's duration (which
  // the deadline bounds), it is delivered afterwards.
  sigset_t alarm, old_mask;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alarm, &old_mask);
  int rc = doors_call(door, &arg, &opts);
  int call_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = call_errno;
  if (rc != 0) {
    int err = errno;
    if (getenv("DOORS_FUZZ_VERBOSE") != nullptr)
      fprintf(stderr, "call failed: %s\n", strerror(err));
    FUZZ_CHECK((refuses_descriptors && made > 0 && err == ENOTSUP) ||
               (abandon_calls() && err == ETIMEDOUT));
    // DOOR_RELEASE descriptors are closed once sent, whatever the answer: nothing to close.
  } else {
    wire::Header h;
    FUZZ_CHECK(wire::check_header(arg.data_ptr, arg.data_size, &h) == wire::HeaderError::kNone);
    FUZZ_CHECK(h.kind == static_cast<uint16_t>(wire::Kind::kReply) ||
               h.kind == static_cast<uint16_t>(wire::Kind::kError));
    if (h.kind == static_cast<uint16_t>(wire::Kind::kError)) {
      FUZZ_CHECK(h.code != 0 && arg.desc_num == 0);
      FUZZ_CHECK(arg.data_size - wire::kHeaderSize <= wire::kMaxErrorText);
    }
    for (uint_t i = 0; i < arg.desc_num; ++i) {
      door_desc_t d;
      std::memcpy(&d, &arg.desc_ptr[i], sizeof d);
      if (d.d_attributes & DOOR_DESCRIPTOR) ::close(d.d_data.d_desc.d_descriptor);
    }
  }
  expect_no_descriptor_leak(before);
}

}  // namespace doors::fuzz
