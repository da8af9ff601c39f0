// Door-specific test helpers: serving a door from a forked child, calling one, test data.
#pragma once

#include <door.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "deadline.h"
#include "fd.h"
#include "forked_server.h"

namespace doors::test {

// What fork_door_server()'s child reports when ready: its pid and door_info() of its door,
// as the server itself sees it.
struct ServedDoorInfo {
  pid_t pid;
  door_info_t info;
};

// In a forked server child only: door_create(proc, cookie, attrs), a regular file at `path` with
// exactly `mode` (made if missing), fattach(). Any failure ends the child through child_fail().
// Returns the door descriptor.
int child_serve_at(const std::string& path, door_server_procedure_t* proc, void* cookie = nullptr,
                   uint_t attrs = 0, mode_t mode = 0644);

// How fork_door_server() serves its door.
struct ServeOptions {
  uint_t attrs = 0;             // door_create attributes
  mode_t mode = 0644;           // the attached file's mode
  void* cookie = nullptr;       // door_create cookie
  std::function<void()> setup;  // run in the child before door_create
};

// Forks a server whose child runs options.setup (if any), serves `proc` at `path` like
// child_serve_at(), reports ServedDoorInfo and waits to be stopped. Returns the server once it
// is ready, or nullptr after a test failure saying why.
std::unique_ptr<ForkedServer> fork_door_server(const std::string& path,
                                               door_server_procedure_t* proc,
                                               const ServeOptions& options = {});

// open(path, O_RDONLY | O_CLOEXEC), the way a Solaris client reaches an attached door.
UniqueFd open_door(const std::string& path);

// A door_call() and what came back, copied out; a result buffer door_call mapped is unmapped.
struct CallOutcome {
  int rc = -1;
  int err = 0;                     // errno when rc == -1
  std::string data;                // result data
  std::vector<door_desc_t> descs;  // result descriptors (the caller owns the fds in them)
  bool moved = false;              // the results came back in a new mapping (rbuf changed)
};

// door_call(d) with `args` and a 4 KiB rbuf, for large results: `check` sees the result data
// where door_call left it (rbuf or the new mapping, unmapped afterwards), without a copy.
// Returns door_call's return value, with errno; `check` runs only on success.
int call_door_in_place(int d, std::string_view args,
                       const std::function<void(std::string_view results)>& check);

// door_call(d, ...) with `args` as data, `descs` as descriptors and a result buffer of
// `rbuf_size` bytes (none if 0).
CallOutcome call_door(int d, std::string_view args, std::vector<door_desc_t> descs = {},
                      std::size_t rbuf_size = 4096);

// A door_desc_t carrying `fd` with DOOR_DESCRIPTOR (plus `extra` attributes, e.g. DOOR_RELEASE).
door_desc_t descriptor(int fd, door_attr_t extra = 0);

// In a server procedure: a per-thread buffer of at least `n` bytes for door_return() results.
// door_return() does not return, so results cannot live in the procedure's own C++ objects.
char* reply_buffer(std::size_t n);

// Fixed-size values in call data.
template <class T>
std::string_view as_bytes(const T& value) {
  return {reinterpret_cast<const char*>(&value), sizeof value};
}
template <class T>
bool read_value(std::string_view bytes, T* out) {
  if (bytes.size() != sizeof(T)) return false;
  std::memcpy(out, bytes.data(), sizeof(T));
  return true;
}

// In a server procedure: door_return(data, desc) with `data` copied into reply_buffer() first
// (so it may point anywhere, even at the arguments). door_return() returns only on failure;
// then this reports it on stderr, returns no results, and if even that fails, returns (which
// ends the server thread and gives the caller EINTR).
void reply(std::string_view data, door_desc_t* desc = nullptr, uint_t n_desc = 0);
template <class T>
void reply_value(const T& value) {
  reply(as_bytes(value));
}

// Deterministic test data: `n` bytes from a xorshift generator seeded with `seed`.
std::string pattern(std::size_t n, std::uint64_t seed);
void fill_pattern(char* dst, std::size_t n, std::uint64_t seed);
// True when `bytes` is pattern(bytes.size(), seed); compares without allocating.
bool is_pattern(std::string_view bytes, std::uint64_t seed);
// The servers' "transformed copy": the bytes reversed, each XORed with 0xA5, so that a reply
// proves the server saw every argument byte in place. transform_into() may not overlap.
std::string transformed(std::string_view bytes);
void transform_into(char* dst, const char* src, std::size_t n);
// True when `reply` is transformed(args); compares without allocating.
bool is_transformed(std::string_view reply, std::string_view args);
// In a server procedure: reply with pattern(n, seed).
void reply_pattern(std::size_t n, std::uint64_t seed);
// A 64-bit digest of the bytes (FNV-1a style, over words).
std::uint64_t digest(const void* data, std::size_t n);

// door_desc_t and door_info_t are packed (the illumos layout), so their 64-bit members may be
// misaligned, and gtest's EXPECT_EQ binds references to its arguments, which is undefined for
// them. Compare copies: EXPECT_EQ(value_of(info.di_uniquifier), ...).
template <class T>
constexpr T value_of(T v) {
  return v;
}

// True when running as root (the access-control tests need to change uid).
bool running_as_root();

inline constexpr uid_t kNobodyUid = 65534;
inline constexpr gid_t kNobodyGid = 65534;

}  // namespace doors::test
