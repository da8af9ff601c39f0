#include "door_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stropts.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

// The byte-crunching helpers below read and write 64 MiB buffers that only one thread touches;
// ThreadSanitizer's per-access bookkeeping would make them most of a test's time (it still
// checks every access libdoors makes).
#if defined(__SANITIZE_THREAD__)
#define DOORS_TEST_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define DOORS_TEST_NO_TSAN
#endif

namespace doors::test {

int child_serve_at(const std::string& path, door_server_procedure_t* proc, void* cookie,
                   uint_t attrs, mode_t mode) {
  int d = door_create(proc, cookie, attrs);
  if (d < 0) child_fail("door_create");
  int f = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, mode);
  if (f < 0) child_fail("open (creating the door's file)");
  if (::fchmod(f, mode) != 0) child_fail("fchmod");
  ::close(f);
  if (fattach(d, path.c_str()) != 0) child_fail("fattach");
  return d;
}

std::unique_ptr<ForkedServer> fork_door_server(const std::string& path,
                                               door_server_procedure_t* proc,
                                               const ServeOptions& options) {
  auto server = std::make_unique<ForkedServer>([&](ForkedServer::Child& child) {
    if (options.setup) options.setup();
    int d = child_serve_at(path, proc, options.cookie, options.attrs, options.mode);
    ServedDoorInfo served{::getpid(), {}};
    if (door_info(d, &served.info) != 0) child_fail("door_info");
    child.ready_with(served);
    child_wait_forever();
  });
  auto ready = server->wait_ready();
  if (!ready) {
    ADD_FAILURE() << ready.message();
    return nullptr;
  }
  return server;
}

UniqueFd open_door(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

CallOutcome call_door(int d, std::string_view args, std::vector<door_desc_t> descs,
                      std::size_t rbuf_size) {
  std::vector<char> rbuf(rbuf_size);
  std::string data(args);
  door_arg_t arg{};
  arg.data_ptr = data.empty() ? nullptr : data.data();
  arg.data_size = data.size();
  arg.desc_ptr = descs.empty() ? nullptr : descs.data();
  arg.desc_num = static_cast<uint_t>(descs.size());
  arg.rbuf = rbuf_size == 0 ? nullptr : rbuf.data();
  arg.rsize = rbuf_size;

  CallOutcome out;
  out.rc = door_call(d, &arg);
  out.err = out.rc == 0 ? 0 : errno;
  if (out.rc != 0) return out;
  out.moved = arg.rbuf != (rbuf_size == 0 ? nullptr : rbuf.data());
  if (arg.data_size > 0 && arg.data_ptr != nullptr) out.data.assign(arg.data_ptr, arg.data_size);
  if (arg.desc_num > 0 && arg.desc_ptr != nullptr)
    out.descs.assign(arg.desc_ptr, arg.desc_ptr + arg.desc_num);
  if (out.moved && arg.rbuf != nullptr) ::munmap(arg.rbuf, arg.rsize);
  return out;
}

int call_door_in_place(int d, std::string_view args,
                       const std::function<void(std::string_view results)>& check) {
  char rbuf[4096];
  door_arg_t arg{};
  arg.data_ptr = args.empty() ? nullptr : const_cast<char*>(args.data());
  arg.data_size = args.size();
  arg.rbuf = rbuf;
  arg.rsize = sizeof rbuf;
  if (door_call(d, &arg) != 0) return -1;
  check(std::string_view(arg.data_size == 0 ? rbuf : arg.data_ptr, arg.data_size));
  for (uint_t i = 0; i < arg.desc_num; ++i) ::close(arg.desc_ptr[i].d_data.d_desc.d_descriptor);
  if (arg.rbuf != rbuf) ::munmap(arg.rbuf, arg.rsize);
  return 0;
}

door_desc_t descriptor(int fd, door_attr_t extra) {
  door_desc_t d{};
  d.d_attributes = DOOR_DESCRIPTOR | extra;
  d.d_data.d_desc.d_descriptor = fd;
  return d;
}

char* reply_buffer(std::size_t n) {
  // Not a std::vector: zero-filling 64 MiB first would double the work of the largest calls.
  thread_local std::unique_ptr<char[]> buf;
  thread_local std::size_t size = 0;
  if (size < n) {
    buf.reset(new char[n]);
    size = n;
  }
  return buf.get();
}

void reply(std::string_view data, door_desc_t* desc, uint_t n_desc) {
  char* buf = reply_buffer(0);
  if (data.data() != buf) {  // not built in place (reply_pattern, transform procedures)
    buf = reply_buffer(data.size());
    if (!data.empty()) std::memmove(buf, data.data(), data.size());
  }
  door_return(data.empty() ? nullptr : buf, data.size(), desc, n_desc);
  int saved = errno;
  std::fprintf(stderr, "server %d: door_return(%zu bytes, %u descriptors): %s\n",
               static_cast<int>(::getpid()), data.size(), n_desc, std::strerror(saved));
  door_return(nullptr, 0, nullptr, 0);
  std::fprintf(stderr, "server %d: door_return(NULL, 0, NULL, 0): %s\n",
               static_cast<int>(::getpid()), std::strerror(errno));
}

DOORS_TEST_NO_TSAN void fill_pattern(char* dst, std::size_t n, std::uint64_t seed) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  std::size_t i = 0;
  while (i < n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::size_t k = n - i < sizeof x ? n - i : sizeof x;
    std::memcpy(dst + i, &x, k);
    i += k;
  }
}

DOORS_TEST_NO_TSAN bool is_pattern(std::string_view bytes, std::uint64_t seed) {
  char chunk[4096];
  // The generator's state carries across chunks only in whole words: 4096 is a multiple of 8.
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t at = 0; at < bytes.size(); at += sizeof chunk) {
    std::size_t k = std::min(sizeof chunk, bytes.size() - at);
    for (std::size_t i = 0; i < k; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(chunk + i, &x, std::min<std::size_t>(8, k - i));
    }
    if (std::memcmp(chunk, bytes.data() + at, k) != 0) return false;
  }
  return true;
}

std::string pattern(std::size_t n, std::uint64_t seed) {
  std::string s(n, '\0');
  fill_pattern(s.data(), n, seed);
  return s;
}

DOORS_TEST_NO_TSAN void transform_into(char* dst, const char* src, std::size_t n) {
  // Eight bytes at a time: sanitizer builds instrument every access, and 64 MiB calls must stay
  // well inside the test timeout there.
  constexpr std::uint64_t kMask = 0xA5A5A5A5A5A5A5A5ull;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, src + n - i - 8, 8);
    w = __builtin_bswap64(w) ^ kMask;
    std::memcpy(dst + i, &w, 8);
  }
  for (; i < n; ++i) dst[i] = static_cast<char>(src[n - 1 - i] ^ 0xA5);
}

std::string transformed(std::string_view bytes) {
  std::string out(bytes.size(), '\0');
  transform_into(out.data(), bytes.data(), bytes.size());
  return out;
}

DOORS_TEST_NO_TSAN bool is_transformed(std::string_view reply, std::string_view args) {
  if (reply.size() != args.size()) return false;
  char chunk[4096];
  for (std::size_t at = 0; at < args.size(); at += sizeof chunk) {
    std::size_t k = std::min(sizeof chunk, args.size() - at);
    // reply[at .. at+k) is the transform of args[n-at-k .. n-at).
    transform_into(chunk, args.data() + args.size() - at - k, k);
    if (std::memcmp(chunk, reply.data() + at, k) != 0) return false;
  }
  return true;
}

void reply_pattern(std::size_t n, std::uint64_t seed) {
  char* buf = reply_buffer(n);
  fill_pattern(buf, n, seed);
  reply(std::string_view(buf, n));
}

DOORS_TEST_NO_TSAN std::uint64_t digest(const void* data, std::size_t n) {
  // FNV-1a over 64-bit words (then the tail bytes): order- and position-sensitive, and eight
  // times fewer instrumented accesses than a byte loop.
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = 0xcbf29ce484222325ull ^ n;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

bool running_as_root() { return ::geteuid() == 0; }

}  // namespace doors::test
