// kv_client: calls a kv_server through the generated KvStoreDoor::Client.
//
//   kv_client [--path PATH] put KEY VALUE        stores the text VALUE under KEY
//   kv_client [--path PATH] put KEY @FILE        stores the contents of FILE (@- : stdin)
//   kv_client [--path PATH] get KEY              writes the value to stdout, byte for byte
//   kv_client [--path PATH] delete KEY           removes KEY
//   kv_client [--path PATH] list [PREFIX]        prints the keys, one a line
//   kv_client [--path PATH] wait KEY [MS]        waits up to MS (default 10000) ms for KEY to
//                                                be set, then writes its value like get
//
// Without --path the client opens the interface's default path ($Door.path "kv_store").
// Exit statuses: 0 success, 1 failure (one line on stderr, `error: CODE: message`), 2 bad usage.
#include <doors/runtime.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kv_store.door.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr size_t kMaxValue = size_t{64} << 20;

void usage(std::FILE* out) {
  std::fputs(
      "usage: kv_client [--path PATH] COMMAND [ARGS...]\n"
      "commands:\n"
      "  put KEY VALUE     store the text VALUE under KEY\n"
      "  put KEY @FILE     store the contents of FILE (@- reads stdin)\n"
      "  get KEY           write the value of KEY to stdout\n"
      "  delete KEY        remove KEY\n"
      "  list [PREFIX]     print the keys starting with PREFIX\n"
      "  wait KEY [MS]     wait up to MS milliseconds (default 10000) for KEY, then get it\n",
      out);
}

struct UsageError {
  std::string message;
};
// A local failure (a file that cannot be read, stdout closed): `error: what`, exit 1.
struct LocalError {
  std::string message;
};

kj::StringPtr text(const std::string& s) { return kj::StringPtr(s.c_str(), s.size()); }

void write_all(int fd, const kj::byte* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw LocalError{std::string("write to stdout: ") + std::strerror(errno)};
    data += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads all of fd into a std::string (stdin, pipes: sizes not known in advance).
std::string read_stream(int fd, const std::string& name) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw LocalError{"read " + name + ": " + std::strerror(errno)};
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

kv::KvStoreDoor::Client open_door(const std::string& path) {
  return path.empty() ? kv::KvStoreDoor::Client::open() : kv::KvStoreDoor::Client::open(path);
}

// put KEY @FILE: a regular file is read straight into the request, which for a large value is
// the shared memory the server reads it from: the value is copied once, by read(2).
void put_file(const std::string& path, const std::string& key, const std::string& file) {
  int fd = file == "-" ? STDIN_FILENO : ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw LocalError{file + ": " + std::strerror(errno)};
  struct Closer {
    int fd;
    ~Closer() {
      if (fd != STDIN_FILENO) ::close(fd);
    }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) throw LocalError{file + ": " + std::strerror(errno)};
  auto door = open_door(path);
  auto req = door.putRequest();
  req->setKey(text(key));
  size_t size;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<size_t>(st.st_size);
    // The store's own limit; checked here too so that a huge file is not read for nothing.
    if (size > kMaxValue) throw LocalError{file + ": larger than 64 MiB, the largest value"};
    auto value = req->initValue(static_cast<unsigned>(size));
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::read(fd, value.begin() + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw LocalError{"read " + file + ": " + std::strerror(errno)};
      if (n == 0) throw LocalError{"read " + file + ": the file shrank while being read"};
      done += static_cast<size_t>(n);
    }
  } else {
    std::string data = read_stream(fd, file);
    size = data.size();
    req->setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
  }
  req.send();
  std::printf("put %s: %zu bytes\n", key.c_str(), size);
}

int run(const std::string& path, const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  if (cmd == "put") {
    if (args.size() != 3) throw UsageError{"put takes a key and a value (or @FILE)"};
    const std::string& key = args[1];
    const std::string& value = args[2];
    if (!value.empty() && value[0] == '@') {
      put_file(path, key, value.substr(1));
    } else {
      open_door(path).put(
          text(key), kj::arrayPtr(reinterpret_cast<const kj::byte*>(value.data()), value.size()));
      std::printf("put %s: %zu bytes\n", key.c_str(), value.size());
    }
    return 0;
  }
  if (cmd == "get" || cmd == "wait") {
    if (args.size() != 2 && !(cmd == "wait" && args.size() == 3))
      throw UsageError{cmd + " takes a key" + (cmd == "wait" ? " and a timeout" : "")};
    uint32_t ms = 10'000;
    if (args.size() == 3) {
      const std::string& s = args[2];
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
      if (ec != std::errc() || end != s.data() + s.size())
        throw UsageError{"not a number of milliseconds: '" + s + "'"};
    }
    auto door = open_door(path);
    if (cmd == "get") {
      auto reply = door.get(text(args[1]));
      auto v = reply->getValue();
      write_all(STDOUT_FILENO, v.begin(), v.size());  // in place: no copy of the value
    } else {
      // The call's own deadline is a little longer than the wait, so that a key that never
      // comes is reported by the server (DEADLINE_EXCEEDED with its message).
      auto reply = door.waitFor(
          text(args[1]), ms, {.timeout = std::chrono::milliseconds(ms) + std::chrono::seconds(5)});
      auto v = reply->getValue();
      write_all(STDOUT_FILENO, v.begin(), v.size());
    }
    return 0;
  }
  if (cmd == "delete") {
    if (args.size() != 2) throw UsageError{"delete takes a key"};
    open_door(path).delete_(text(args[1]));
    std::printf("deleted %s\n", args[1].c_str());
    return 0;
  }
  if (cmd == "list") {
    if (args.size() > 2) throw UsageError{"list takes at most a prefix"};
    std::string prefix = args.size() == 2 ? args[1] : "";
    auto reply = open_door(path).list(text(prefix));
    for (auto key : reply->getKeys()) std::printf("%s\n", key.cStr());
    return 0;
  }
  throw UsageError{"unknown command '" + cmd + "'"};
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (args.empty() && (a == "--help" || a == "-h")) {
      usage(stdout);
      return 0;
    }
    if (args.empty() && a == "--path" && i + 1 < argc) {
      path = argv[++i];
    } else if (args.empty() && a.substr(0, 7) == "--path=") {
      path = std::string(a.substr(7));
    } else if (args.empty() && a.substr(0, 2) == "--") {
      std::fprintf(stderr, "error: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return kExitUsage;
    } else {
      args.emplace_back(a);
    }
  }
  if (args.empty()) {
    usage(stderr);
    return kExitUsage;
  }
  try {
    int rc = run(path, args);
    if (std::fflush(stdout) != 0) return kExitFailure;
    return rc;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    usage(stderr);
    return kExitUsage;
  } catch (const LocalError& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return kExitFailure;
  } catch (const doors::Error& e) {
    std::fprintf(stderr, "error: %s: %s\n", doors::code_name(e.code()), e.message().c_str());
    return kExitFailure;
  }
}
