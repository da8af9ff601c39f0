// doors_bench_quick: door_call against plain Unix sockets, between two processes, in one run.
//
// Every case forks a server before any thread exists; the parent is the client. Each server reads
// every argument byte (it checksums them) and replies with the 8-byte checksum, so a mechanism
// that merely maps memory cannot look faster than one that copies it. The client checks every
// reply. Absolute numbers move 2-3x between machines: compare only the rows of one run.
//
//   door_call/null            0-byte argument, 8-byte reply; p50/p99 per call
//   unix_seqpacket/null       8-byte message each way over a socketpair; p50/p99 per call
//   door_call/arg:N           N-byte argument, 8-byte reply
//   unix_stream/arg:N         8-byte length + N bytes over a stream socketpair, 8-byte reply
//   typed/null                the generated client's Bench.ping: no parameters, no results
//   typed/arg:N               Bench.checksum with an N-byte Data parameter, UInt64 result
//
// After the table comes the typed stubs' cost as ratios to door_call in the same run.
//
// The door server is reached the way users reach one: it fattach()es in a temporary directory and
// the client open()s the path. A door must be served by the process that created it, so the
// child calls door_create and signals readiness with a byte on a pipe.

#include <benchmark/benchmark.h>
#include <dirent.h>
#include <door.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stropts.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench.door.h"

namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;
constexpr size_t kArgMax = 1 * kMiB;     // largest argument any case sends
constexpr int kReadyTimeoutMs = 10'000;  // a server that is not up by then is broken
constexpr int kExitTimeoutMs = 5'000;    // grace after SIGTERM before SIGKILL
constexpr const char* kDefaultMinTime = "--benchmark_min_time=1";  // ~1-2 s per case

// Sums 64-bit words (and the tail bytes): touches every byte at memory speed, so the server's
// reading costs about what a memcpy of the argument would, and the same in every case.
uint64_t checksum(const char* p, size_t n) {
  uint64_t acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, sizeof w);  // the argument need not be 8-byte aligned
    acc[0] += w[0];
    acc[1] += w[1];
    acc[2] += w[2];
    acc[3] += w[3];
  }
  for (; i < n; ++i) acc[0] += static_cast<unsigned char>(p[i]);
  return acc[0] + acc[1] + acc[2] + acc[3];
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// read(2) until n bytes arrived; false on EOF or error (errno 0 on EOF).
bool read_full(int fd, void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t got = read(fd, p, n);
    if (got == 0) {
      errno = 0;
      return false;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

bool write_full(int fd, const void* buf, size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t put = send(fd, p, n, MSG_NOSIGNAL);
    if (put < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += put;
    n -= static_cast<size_t>(put);
  }
  return true;
}

// ---- servers (each runs in a forked child and ends with _exit) ----

// A child must not outlive the benchmark, even when the parent is killed.
void die_with_parent(pid_t parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent) _exit(1);
}

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

[[noreturn]] void run_door_server(const std::string& path, int ready_fd) {
  // Blocked before door_create, so the library's server threads inherit the mask and SIGTERM is
  // taken only by sigwait below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (int err = pthread_sigmask(SIG_BLOCK, &stop, nullptr); err != 0) {
    std::fprintf(stderr, "door server: pthread_sigmask: %s\n", std::strerror(err));
    _exit(1);
  }
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
  char ready = 'r';
  if (write(ready_fd, &ready, 1) != 1) _exit(1);
  close(ready_fd);
  int sig = 0;
  sigwait(&stop, &sig);
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
        ::checksum(reinterpret_cast<const char*>(payload.begin()), payload.size()));
  }
};

[[noreturn]] void run_typed_server(const std::string& path, int ready_fd) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (int err = pthread_sigmask(SIG_BLOCK, &stop, nullptr); err != 0) _exit(1);
  try {
    doors::Service service(std::make_shared<TypedBench>());
    service.attach(path, 0600);
    char ready = 'r';
    if (write(ready_fd, &ready, 1) != 1) _exit(1);
    close(ready_fd);
    int sig = 0;
    sigwait(&stop, &sig);
    service.detach();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "typed server: %s\n", e.what());
    _exit(1);
  }
  _exit(0);
}

// One datagram in, its checksum out, until the parent goes away.
[[noreturn]] void run_seqpacket_server(int fd) {
  static char buf[64 * kKiB];
  for (;;) {
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) _exit(got == 0 ? 0 : 1);
    uint64_t sum = checksum(buf, static_cast<size_t>(got));
    if (!write_full(fd, &sum, sizeof sum)) _exit(1);
  }
}

// An 8-byte length, that many bytes, then its checksum back, until the parent goes away.
[[noreturn]] void run_stream_server(int fd) {
  static char buf[kArgMax];
  for (;;) {
    uint64_t len = 0;
    if (!read_full(fd, &len, sizeof len)) _exit(errno == 0 ? 0 : 1);
    if (len > sizeof buf || !read_full(fd, buf, len)) _exit(1);
    uint64_t sum = checksum(buf, len);
    if (!write_full(fd, &sum, sizeof sum)) _exit(1);
  }
}

// ---- the parent's view of the servers ----

int thread_count() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// Owns the forked servers: stop() sends SIGTERM, waits with a deadline, then SIGKILLs.
class Servers {
 public:
  Servers() = default;
  Servers(const Servers&) = delete;
  Servers& operator=(const Servers&) = delete;
  ~Servers() { stop(); }

  // Forks every server; false (with a message on stderr) when one could not be started.
  bool start() {
    // fork() copies only the calling thread; a thread holding a lock (malloc's, the library's)
    // at that moment would leave the child deadlocked.
    if (int n = thread_count(); n > 1) {
      std::fprintf(stderr, "warning: %d threads exist before fork(); servers may deadlock\n", n);
    }
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/doors_bench_quick.XXXXXX";
    if (mkdtemp(dir_.data()) == nullptr) return fail(errno_text("mkdtemp"));
    door_path_ = dir_ + "/door";
    typed_path_ = dir_ + "/typed";

    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
      return fail(errno_text("socketpair(SOCK_SEQPACKET)"));
    }
    seqpacket_fd_ = sp[0];
    auto seqpacket_child = [&] {
      close(sp[0]);
      run_seqpacket_server(sp[1]);
    };
    if (!spawn(seqpacket_child)) return false;
    close(sp[1]);

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
      return fail(errno_text("socketpair(SOCK_STREAM)"));
    }
    stream_fd_ = sp[0];
    auto stream_child = [&] {
      close(sp[0]);
      run_stream_server(sp[1]);
    };
    if (!spawn(stream_child)) return false;
    close(sp[1]);

    if (!spawn_attached("door server", door_path_, run_door_server)) return false;
    door_fd_ = open(door_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (door_fd_ == -1) return fail(errno_text(("open " + door_path_).c_str()));
    if (!spawn_attached("typed server", typed_path_, run_typed_server)) return false;
    try {
      typed_.emplace(doors_bench::BenchDoor::Client::open(typed_path_));
    } catch (const doors::Error& e) {
      return fail(std::string("typed client: ") + e.what());
    }
    return true;
  }

  // Stops every server; false when one of them ended other than by our SIGTERM or exit 0.
  bool stop() {
    bool clean = true;
    typed_.reset();
    for (int* fd : {&door_fd_, &seqpacket_fd_, &stream_fd_}) {
      if (*fd != -1) close(*fd);
      *fd = -1;
    }
    for (pid_t pid : children_) kill(pid, SIGTERM);
    for (pid_t pid : children_) clean &= reap(pid);
    children_.clear();
    if (!dir_.empty()) {
      unlink(door_path_.c_str());  // the door servers normally leave the files behind
      unlink(typed_path_.c_str());
      rmdir(dir_.c_str());
      dir_.clear();
    }
    return clean;
  }

  int door_fd() const { return door_fd_; }
  const doors_bench::BenchDoor::Client& typed() const { return *typed_; }
  int seqpacket_fd() const { return seqpacket_fd_; }
  int stream_fd() const { return stream_fd_; }

 private:
  bool fail(const std::string& what) {
    std::fprintf(stderr, "error: %s\n", what.c_str());
    return false;
  }

  // Forks a server that attaches a door at path and writes a byte to its ready descriptor, and
  // waits (bounded) for that byte.
  bool spawn_attached(const char* what, const std::string& path,
                      void (*serve)(const std::string&, int)) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) == -1) return fail(errno_text("pipe2"));
    bool spawned = spawn([&] {
      close(ready[0]);
      serve(path, ready[1]);
    });
    close(ready[1]);
    if (!spawned) {
      close(ready[0]);
      return false;
    }
    // The child closes its end when it dies, so poll also wakes (POLLHUP) if it fails first.
    pollfd p{ready[0], POLLIN, 0};
    int rc;
    do rc = poll(&p, 1, kReadyTimeoutMs);
    while (rc == -1 && errno == EINTR);
    char byte = 0;
    bool up = rc == 1 && read(ready[0], &byte, 1) == 1;
    close(ready[0]);
    if (!up) return fail(std::string(what) + (rc == 0 ? " not ready in time" : " failed to start"));
    return true;
  }

  template <typename Body>
  bool spawn(Body body) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1) return fail(errno_text("fork"));
    if (pid == 0) {
      die_with_parent(parent);
      body();  // never returns
    }
    children_.push_back(pid);
    return true;
  }

  // Waits for pid with a deadline (a pidfd makes the wait pollable), SIGKILL after it.
  bool reap(pid_t pid) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd != -1) {
      pollfd p{pidfd, POLLIN, 0};
      int rc;
      do rc = poll(&p, 1, kExitTimeoutMs);
      while (rc == -1 && errno == EINTR);
      close(pidfd);
      if (rc == 0) {
        std::fprintf(stderr, "error: server %d ignored SIGTERM; killing it\n",
                     static_cast<int>(pid));
        kill(pid, SIGKILL);
      }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) return true;
    if (WIFEXITED(status)) {
      std::fprintf(stderr, "error: server %d exited with %d\n", static_cast<int>(pid),
                   WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      std::fprintf(stderr, "error: server %d died of signal %d\n", static_cast<int>(pid),
                   WTERMSIG(status));
    }
    return false;
  }

  std::string dir_;
  std::string door_path_;
  std::string typed_path_;
  std::optional<doors_bench::BenchDoor::Client> typed_;
  std::vector<pid_t> children_;
  int door_fd_ = -1;
  int seqpacket_fd_ = -1;
  int stream_fd_ = -1;
};

// ---- the client side of each case ----

// Per-call wall time, kept only for the null calls, whose distribution is the interesting part.
class Latencies {
 public:
  // Reserving keeps allocation out of the timed loop; the cap bounds memory for very long runs.
  explicit Latencies(benchmark::State& state) {
    samples_.reserve(static_cast<size_t>(std::min<int64_t>(state.max_iterations, 1 << 22)));
  }
  void add(std::chrono::steady_clock::duration d) {
    samples_.push_back(std::chrono::duration<double, std::micro>(d).count());
  }
  void report(benchmark::State& state) {
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    auto at = [&](double q) { return samples_[static_cast<size_t>(q * (samples_.size() - 1))]; };
    state.counters["p50_us"] = at(0.50);
    state.counters["p99_us"] = at(0.99);
  }

 private:
  std::vector<double> samples_;
};

// One door_call with a fresh door_arg_t (every member is in/out); false after SkipWithError.
bool door_call_once(benchmark::State& state, int fd, const char* data, size_t size,
                    uint64_t expect) {
  alignas(8) char rbuf[8];
  door_arg_t arg;
  arg.data_ptr = const_cast<char*>(data);
  arg.data_size = size;
  arg.desc_ptr = nullptr;
  arg.desc_num = 0;
  arg.rbuf = rbuf;
  arg.rsize = sizeof rbuf;
  if (door_call(fd, &arg) == -1) {
    state.SkipWithError(errno_text("door_call").c_str());
    return false;
  }
  uint64_t got = 0;
  bool ok = arg.data_size == sizeof got;
  if (ok) std::memcpy(&got, arg.data_ptr, sizeof got);
  // door_call(3C): results that did not fit rbuf come in a new mapping the caller unmaps.
  if (arg.rbuf != rbuf) munmap(arg.rbuf, arg.rsize);
  if (!ok || got != expect) {
    state.SkipWithError("door_call: wrong reply");
    return false;
  }
  return true;
}

bool seqpacket_once(benchmark::State& state, int fd, uint64_t ping) {
  uint64_t pong = 0;
  if (send(fd, &ping, sizeof ping, MSG_NOSIGNAL) != sizeof ping ||
      recv(fd, &pong, sizeof pong, 0) != sizeof pong) {
    state.SkipWithError(errno_text("seqpacket").c_str());
    return false;
  }
  if (pong != checksum(reinterpret_cast<const char*>(&ping), sizeof ping)) {
    state.SkipWithError("seqpacket: wrong reply");
    return false;
  }
  return true;
}

bool stream_once(benchmark::State& state, int fd, const char* data, size_t size, uint64_t expect) {
  uint64_t len = size;
  uint64_t got = 0;
  iovec iov[2] = {{&len, sizeof len}, {const_cast<char*>(data), size}};
  // One writev for header and payload, then plain sends for whatever it left over.
  ssize_t put = writev(fd, iov, 2);
  if (put < 0) {
    state.SkipWithError(errno_text("writev").c_str());
    return false;
  }
  size_t sent = static_cast<size_t>(put);
  if (sent < sizeof len) {
    if (!write_full(fd, reinterpret_cast<char*>(&len) + sent, sizeof len - sent)) {
      state.SkipWithError(errno_text("send").c_str());
      return false;
    }
    sent = sizeof len;
  }
  if (!write_full(fd, data + (sent - sizeof len), size - (sent - sizeof len)) ||
      !read_full(fd, &got, sizeof got)) {
    state.SkipWithError(errno ? errno_text("stream").c_str() : "stream: server closed");
    return false;
  }
  if (got != expect) {
    state.SkipWithError("stream: wrong reply");
    return false;
  }
  return true;
}

std::vector<char> make_argument(size_t size) {
  std::vector<char> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<char>(i * 131 + 7);
  return v;
}

void register_benchmarks(const Servers& servers) {
  using std::chrono::steady_clock;
  const int door = servers.door_fd();
  const int seqpacket = servers.seqpacket_fd();
  const int stream = servers.stream_fd();

  auto door_null = [door](benchmark::State& state) {
    Latencies lat(state);
    for (auto _ : state) {
      auto t0 = steady_clock::now();
      if (!door_call_once(state, door, nullptr, 0, 0)) break;
      lat.add(steady_clock::now() - t0);
    }
    lat.report(state);
    state.SetItemsProcessed(state.iterations());
  };
  auto seqpacket_null = [seqpacket](benchmark::State& state) {
    Latencies lat(state);
    uint64_t ping = 0;
    for (auto _ : state) {
      auto t0 = steady_clock::now();
      if (!seqpacket_once(state, seqpacket, ++ping)) break;
      lat.add(steady_clock::now() - t0);
    }
    lat.report(state);
    state.SetItemsProcessed(state.iterations());
  };
  auto door_arg = [door](benchmark::State& state) {
    const auto size = static_cast<size_t>(state.range(0));
    const std::vector<char> arg = make_argument(size);
    const uint64_t expect = checksum(arg.data(), size);
    for (auto _ : state) {
      if (!door_call_once(state, door, arg.data(), size, expect)) break;
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  };
  auto stream_arg = [stream](benchmark::State& state) {
    const auto size = static_cast<size_t>(state.range(0));
    const std::vector<char> arg = make_argument(size);
    const uint64_t expect = checksum(arg.data(), size);
    for (auto _ : state) {
      if (!stream_once(state, stream, arg.data(), size, expect)) break;
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  };

  const doors_bench::BenchDoor::Client* typed = &servers.typed();
  auto typed_null = [typed](benchmark::State& state) {
    Latencies lat(state);
    for (auto _ : state) {
      auto t0 = steady_clock::now();
      try {
        typed->ping();
      } catch (const doors::Error& e) {
        state.SkipWithError(e.what());
        break;
      }
      lat.add(steady_clock::now() - t0);
    }
    lat.report(state);
    state.SetItemsProcessed(state.iterations());
  };
  auto typed_arg = [typed](benchmark::State& state) {
    const auto size = static_cast<size_t>(state.range(0));
    const std::vector<char> arg = make_argument(size);
    const uint64_t expect = checksum(arg.data(), size);
    const kj::ArrayPtr<const kj::byte> payload(reinterpret_cast<const kj::byte*>(arg.data()), size);
    for (auto _ : state) {
      try {
        // The one copy: from the caller's buffer into shared memory when the request is sent.
        auto request = typed->checksumRequest();
        request->adoptPayload(request.reference_data(payload));
        if (request.send()->getSum() != expect) {
          state.SkipWithError("typed: wrong reply");
          break;
        }
      } catch (const doors::Error& e) {
        state.SkipWithError(e.what());
        break;
      }
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  };

  // Peers sit next to each other. Wall time, not CPU time: a client blocked in a call uses
  // almost no CPU, and CPU-time iteration counts would run for ever.
  auto common = [](benchmark::internal::Benchmark* b) {
    b->UseRealTime()->Unit(benchmark::kMicrosecond);
  };
  common(benchmark::RegisterBenchmark("door_call/null", door_null));
  common(benchmark::RegisterBenchmark("unix_seqpacket/null", seqpacket_null));
  common(benchmark::RegisterBenchmark("typed/null", typed_null));
  for (int64_t size : {int64_t{64 * kKiB}, int64_t{kArgMax}}) {
    common(benchmark::RegisterBenchmark("door_call/arg", door_arg)->Arg(size));
    common(benchmark::RegisterBenchmark("unix_stream/arg", stream_arg)->Arg(size));
    common(benchmark::RegisterBenchmark("typed/arg", typed_arg)->Arg(size));
  }
}

// The console table, plus each run's figures kept for the ratios printed after it.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
      std::string name = run.benchmark_name();
      if (name.ends_with("/real_time")) name.resize(name.size() - 10);
      time_per_call_[name] = run.GetAdjustedRealTime();
    }
  }

  // The typed stubs against door_call (issue targets: null <= 1.1x, 1 MiB >= 0.9x).
  void print_ratios() const {
    std::printf("\nratios in this run (typed stubs vs door_call):\n");
    ratio("typed/null time / door_call/null time", "typed/null", "door_call/null", false, 1.1);
    std::string mib = "/" + std::to_string(kArgMax);
    std::string kib = "/" + std::to_string(64 * kKiB);
    ratio("typed/arg 64 KiB bytes/s / door_call/arg 64 KiB bytes/s", "typed/arg" + kib,
          "door_call/arg" + kib, true, 0.9);
    ratio("typed/arg 1 MiB bytes/s / door_call/arg 1 MiB bytes/s", "typed/arg" + mib,
          "door_call/arg" + mib, true, 0.9);
  }

 private:
  // Same payload in both cases, so bytes/s compare as the inverse of the time per call.
  void ratio(const std::string& label, const std::string& a, const std::string& b, bool throughput,
             double target) const {
    auto ta = time_per_call_.find(a);
    auto tb = time_per_call_.find(b);
    if (ta == time_per_call_.end() || tb == time_per_call_.end()) return;  // filtered out
    double r = throughput ? tb->second / ta->second : ta->second / tb->second;
    bool met = throughput ? r >= target : r <= target;
    std::printf("  %-58s %5.2f  (target %s %.1f: %s)\n", label.c_str(), r,
                throughput ? ">=" : "<=", target, met ? "met" : "NOT met");
  }

  std::map<std::string, double> time_per_call_;
};

}  // namespace

int main(int argc, char** argv) {
  // The default run is short; a --benchmark_min_time on the command line comes later and wins.
  std::vector<char*> args;
  args.push_back(argv[0]);
  args.push_back(const_cast<char*>(kDefaultMinTime));
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  // Flags first: --help exits here, before any server exists. Initialize starts no thread.
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 2;

  Servers servers;
  if (!servers.start()) return 1;
  register_benchmarks(servers);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return servers.stop() ? 0 : 1;
}
