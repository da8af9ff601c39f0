// The project's cases: door_call through the C API, the generated typed stubs of bench.capnp,
// client threads, both processes on one CPU, and the server's memory per connection.
//
// Each door server is reached the way users reach one: it fattach()es a file in the run's
// temporary directory and the client open()s the path. A door must be served by the process that
// created it, so the forked child calls door_create and then signals readiness.
#include <dirent.h>
#include <door.h>
#include <fcntl.h>
#include <pthread.h>
#include <stropts.h>
#include <sys/mman.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "bench.door.h"
#include "cases.h"

namespace bench {
namespace {

std::string g_door_path;    // unpinned C API server
std::string g_typed_path;   // generated server of bench.capnp
std::string g_cpu0_path;    // C API server confined to the first CPU
std::string g_memory_path;  // C API server only the memory case calls
pid_t g_memory_pid = -1;
int g_door_fd = -1;
int g_cpu0_fd = -1;

// ---- servers (each runs in a forked child and ends with _exit) ----

void door_checksum_proc(void*, char* argp, size_t arg_size, door_desc_t* dp, uint_t n_desc) {
  // Nobody sends descriptors here; close any that arrive rather than leak them.
  for (uint_t i = 0; i < n_desc; ++i) {
    if (dp[i].d_attributes & DOOR_DESCRIPTOR) close(dp[i].d_data.d_desc.d_descriptor);
  }
  uint64_t sum = arg_size > 0 ? checksum(argp, arg_size) : 0;
  door_return(reinterpret_cast<char*>(&sum), sizeof sum, nullptr, 0);
  // door_return(3C) came back, so it failed; the caller still waits: release it empty-handed.
  door_return(nullptr, 0, nullptr, 0);
}

// With cpu >= 0 the whole server (the library's threads inherit it) runs on that CPU.
[[noreturn]] void run_door_server(const std::string& path, int ready_fd, int cpu) {
  if (cpu >= 0) pin_process(cpu);
  // Blocked before door_create, so the library's server threads inherit the mask and SIGTERM is
  // taken only by sigwait below.
  block_stop_signals();
  int did = door_create(door_checksum_proc, nullptr, 0);
  if (did == -1) {
    std::perror("door server: door_create");
    _exit(1);
  }
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd == -1) {
    std::perror("door server: open");
    _exit(1);
  }
  close(fd);
  if (fattach(did, path.c_str()) == -1) {
    std::perror("door server: fattach");
    _exit(1);
  }
  signal_ready(ready_fd);
  wait_for_stop_signal();
  if (fdetach(path.c_str()) == -1) {
    std::perror("door server: fdetach");
    _exit(1);
  }
  _exit(0);
}

// The typed server: Bench of bench.capnp through the generated server base.
class TypedBench final : public doors_bench::BenchDoor::Server {
  void ping(PingContext&) override {}
  void checksum(ChecksumContext& context) override {
    capnp::Data::Reader payload = context.params().getPayload();
    context.results().setSum(
        bench::checksum(reinterpret_cast<const char*>(payload.begin()), payload.size()));
  }
};

[[noreturn]] void run_typed_server(const std::string& path, int ready_fd) {
  block_stop_signals();
  try {
    doors::Service service(std::make_shared<TypedBench>());
    service.attach(path, 0600);
    signal_ready(ready_fd);
    wait_for_stop_signal();
    service.detach();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "typed server: %s\n", e.what());
    _exit(1);
  }
  _exit(0);
}

// ---- the client side ----

// One door_call with a fresh door_arg_t (every member is in/out); throws on failure.
void door_call_once(int fd, const char* data, size_t size, uint64_t expect) {
  alignas(8) char rbuf[8];
  door_arg_t arg;
  arg.data_ptr = const_cast<char*>(data);
  arg.data_size = size;
  arg.desc_ptr = nullptr;
  arg.desc_num = 0;
  arg.rbuf = rbuf;
  arg.rsize = sizeof rbuf;
  if (door_call(fd, &arg) == -1) fail(errno_text("door_call"));
  uint64_t got = 0;
  bool ok = arg.data_size == sizeof got;
  if (ok) std::memcpy(&got, arg.data_ptr, sizeof got);
  // door_call(3C): results that did not fit rbuf come in a new mapping the caller unmaps.
  if (arg.rbuf != rbuf) munmap(arg.rbuf, arg.rsize);
  if (!ok || got != expect) fail("door_call: wrong reply");
}

// door_call on fd with a size-byte argument. Every client thread shares the descriptor: the
// library gives each calling thread its own channel to the door.
MakeCall door_caller(const int* fd, size_t size) {
  return [fd, size](int) -> Call {
    auto arg = std::make_shared<std::vector<char>>(make_argument(size));
    uint64_t expect = checksum(arg->data(), size);
    return [fd, arg, expect] { door_call_once(*fd, arg->data(), arg->size(), expect); };
  };
}

int open_door(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd == -1) fail(errno_text(("open " + path).c_str()));
  return fd;
}

// Opened on first use, after every fork.
const int* lazy_fd(int* fd, const std::string* path) {
  static std::mutex mu;
  std::lock_guard lk(mu);
  if (*fd == -1) *fd = open_door(*path);
  return fd;
}

MakeCall door_caller_at(int* fd, const std::string* path, size_t size) {
  return [fd, path, size](int i) -> Call { return door_caller(lazy_fd(fd, path), size)(i); };
}

MakeCall typed_caller(size_t size) {
  return [size](int) -> Call {
    auto client = std::make_shared<doors_bench::BenchDoor::Client>(
        doors_bench::BenchDoor::Client::open(g_typed_path));
    if (size == 0) return [client] { client->ping(); };
    auto arg = std::make_shared<std::vector<char>>(make_argument(size));
    uint64_t expect = checksum(arg->data(), size);
    return [client, arg, expect] {
      // The one copy: from the caller's buffer into shared memory when the request is sent.
      auto request = client->checksumRequest();
      const kj::ArrayPtr<const kj::byte> payload(reinterpret_cast<const kj::byte*>(arg->data()),
                                                 arg->size());
      request->adoptPayload(request.reference_data(payload));
      if (request.send()->getSum() != expect) fail("typed: wrong reply");
    };
  };
}

// ---- memory per connection ----

// VmRSS of pid in KiB.
long vm_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  fail("no VmRSS in /proc/" + std::to_string(pid) + "/status");
}

// Open descriptors of pid.
int fd_count(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) fail(errno_text(("opendir " + dir).c_str()));
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// n client threads each open the door path and call through their descriptor, so the server
// holds n connections: libdoors keeps one channel per client thread and door, so opening the
// path n times from one thread would give one. The calls take turns, so the server's pool does
// not grow for them and what is measured is the connections. Phase 1: a null call each (idle
// connections); phase 2: a 64 KiB argument each (a connection right after a busy call).
std::vector<Result> measure_memory() {
  const int n = options().idle_connections;
  const std::vector<char> big = make_argument(64 * kKiB);
  const uint64_t big_sum = checksum(big.data(), big.size());
  int main_fd = open_door(g_memory_path);
  // Warm up: the server's first thread, channel and arenas are not per-connection costs.
  door_call_once(main_fd, nullptr, 0, 0);
  door_call_once(main_fd, big.data(), big.size(), big_sum);
  long rss0 = vm_rss_kib(g_memory_pid);
  int fds0 = fd_count(g_memory_pid);

  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::mutex turn;  // one call at a time
    int phase = 1;
    int done = 0;
    std::string error;
  } s;
  struct Arg {
    Shared* s;
    const std::vector<char>* big;
    uint64_t big_sum;
  } arg{&s, &big, big_sum};

  auto body = [](void* p) -> void* {
    auto* a = static_cast<Arg*>(p);
    Shared& s = *a->s;
    int fd = -1;
    auto step = [&](int phase) {
      std::string error;
      try {
        std::lock_guard turn(s.turn);
        if (phase == 1) {
          fd = open_door(g_memory_path);
          door_call_once(fd, nullptr, 0, 0);
        } else if (fd != -1) {
          door_call_once(fd, a->big->data(), a->big->size(), a->big_sum);
        }
      } catch (const std::exception& e) {
        error = e.what();
      }
      std::unique_lock lk(s.mu);
      if (!error.empty() && s.error.empty()) s.error = error;
      ++s.done;
      s.cv.notify_all();
      s.cv.wait(lk, [&] { return s.phase > phase; });
    };
    step(1);
    step(2);
    if (fd != -1) close(fd);
    return nullptr;
  };

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * kKiB);  // n threads of 8 MiB stacks would be a lot
  std::vector<pthread_t> threads;
  threads.reserve(static_cast<size_t>(n));
  std::string create_error;
  for (int i = 0; i < n; ++i) {
    pthread_t t;
    if (int err = pthread_create(&t, &attr, body, &arg); err != 0) {
      create_error = std::string("pthread_create: ") + std::strerror(err);
      break;
    }
    threads.push_back(t);
  }
  pthread_attr_destroy(&attr);
  const int started = static_cast<int>(threads.size());
  long rss1 = 0;
  int fds1 = 0;
  long rss2 = 0;
  {
    std::unique_lock lk(s.mu);
    s.cv.wait(lk, [&] { return s.done == started; });
    rss1 = vm_rss_kib(g_memory_pid);
    fds1 = fd_count(g_memory_pid);
    s.phase = 2;
    s.cv.notify_all();
    s.cv.wait(lk, [&] { return s.done == 2 * started; });
    rss2 = vm_rss_kib(g_memory_pid);
    s.phase = 3;
    s.cv.notify_all();
  }
  for (pthread_t t : threads) pthread_join(t, nullptr);
  close(main_fd);
  if (!create_error.empty()) fail(create_error);
  if (!s.error.empty()) fail("memory case: " + s.error);

  // The server must have held a descriptor (its end of the channel) per connection, or the
  // figures above say nothing about connections.
  if (fds1 - fds0 < n) {
    fail("memory case: the server gained " + std::to_string(fds1 - fds0) + " descriptors for " +
         std::to_string(n) + " connections");
  }
  Result idle;
  idle.name = "memory/idle_connection";
  idle.value = static_cast<double>(rss1 - rss0) / n;
  idle.unit = "KiB_RSS";
  Result busy;
  busy.name = "memory/busy_connection";
  busy.value = static_cast<double>(rss2 - rss0) / n;
  busy.unit = "KiB_RSS";
  return {idle, busy};
}

}  // namespace

bool start_door_servers(Children& children) {
  const std::string& dir = children.dir();
  g_door_path = dir + "/door";
  g_typed_path = dir + "/typed";
  g_cpu0_path = dir + "/door_cpu0";
  g_memory_path = dir + "/door_memory";
  const int cpu0 = allowed_cpus().empty() ? 0 : allowed_cpus().front();
  auto door = [](const std::string* path, int cpu) {
    return [path, cpu](int ready) { run_door_server(*path, ready, cpu); };
  };
  if (children.spawn_ready("door server", door(&g_door_path, -1)) == -1) return false;
  if (children.spawn_ready("door server on one CPU", door(&g_cpu0_path, cpu0)) == -1) return false;
  g_memory_pid = children.spawn_ready("door server for the memory case", door(&g_memory_path, -1));
  if (g_memory_pid == -1) return false;
  auto typed = [](int ready) { run_typed_server(g_typed_path, ready); };
  return children.spawn_ready("typed server", typed) != -1;
}

void register_door_cases() {
  add_latency_case("door_call/null", door_caller_at(&g_door_fd, &g_door_path, 0), 0);
  const std::pair<const char*, size_t> sizes[] = {{"arg:64B", 64},
                                                  {"arg:4KiB", 4 * kKiB},
                                                  {"arg:64KiB", 64 * kKiB},
                                                  {"arg:1MiB", kMiB},
                                                  {"arg:16MiB", 16 * kMiB}};
  for (const auto& [label, size] : sizes) {
    add_latency_case(std::string("door_call/") + label,
                     door_caller_at(&g_door_fd, &g_door_path, size), size);
  }
  add_latency_case("typed/null", typed_caller(0), 0);
  add_latency_case("typed/arg:1MiB", typed_caller(kMiB), kMiB);
  for (int threads : kThreadCounts) {
    add_threads_case("door_call/null/threads:" + std::to_string(threads),
                     door_caller_at(&g_door_fd, &g_door_path, 0), threads);
  }
  // Both processes on the first CPU, as `taskset -c 0` would put them.
  const int cpu0 = allowed_cpus().empty() ? 0 : allowed_cpus().front();
  add_latency_case("single_cpu/door_call/null", door_caller_at(&g_cpu0_fd, &g_cpu0_path, 0), 0,
                   cpu0);
  add_once_case("memory/idle_connection", measure_memory);
}

}  // namespace bench
