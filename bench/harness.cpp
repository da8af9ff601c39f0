#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace bench {
namespace {

constexpr int kReadyTimeoutMs = 20'000;          // a server that is not up by then is broken
constexpr int kExitTimeoutMs = 5'000;            // grace after SIGTERM before SIGKILL
constexpr size_t kMaxSamples = size_t{1} << 23;  // bounds the memory of very long runs

using Clock = std::chrono::steady_clock;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The q-quantile of sorted samples (nearest rank below).
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

void set_percentiles(Result& r, std::vector<double>& samples) {
  std::sort(samples.begin(), samples.end());
  r.p50_us = quantile(samples, 0.50);
  r.p99_us = quantile(samples, 0.99);
}

void add_counters(benchmark::State& state, const Result& r) {
  if (!std::isnan(r.p50_us)) state.counters["p50_us"] = r.p50_us;
  if (!std::isnan(r.p99_us)) state.counters["p99_us"] = r.p99_us;
  if (!std::isnan(r.calls_per_s)) state.counters["calls_per_s"] = r.calls_per_s;
  if (!std::isnan(r.mb_per_s)) state.counters["MB_per_s"] = r.mb_per_s;
  if (!std::isnan(r.fairness)) state.counters["fairness"] = r.fairness;
  if (!std::isnan(r.value)) state.counters[r.unit] = r.value;
}

// What each run of a case recorded, in run order, by case name: the runs that probe for an
// iteration count (first pass only; later passes reuse the count), then one final run per pass.
// Google Benchmark reports a case's final runs together once all its passes are done (even when
// the passes are interleaved with other cases'), so the last n entries are its n final runs; the
// reporter keeps those (in kept) and drops the rest.
using Recorded = std::vector<Result>;  // what one run recorded (usually one Result)
std::map<std::string, std::vector<Recorded>>& pending() {
  static std::map<std::string, std::vector<Recorded>> p;
  return p;
}
std::map<std::string, std::vector<Result>>& kept() {  // by result name, one per repetition
  static std::map<std::string, std::vector<Result>> k;
  return k;
}
std::map<std::string, Result>& final_results() {
  static std::map<std::string, Result> r;
  return r;
}

void record(benchmark::State& state, const std::string& name, std::vector<Result> rs) {
  if (!rs.empty()) add_counters(state, rs.front());
  pending()[name].push_back(std::move(rs));
}

void record_error(benchmark::State& state, const std::string& name, const std::string& what) {
  state.SkipWithError(what.c_str());
  Result r;
  r.name = name;
  r.error = what;
  pending()[name].push_back({std::move(r)});
}

// The median of the figures that are not NaN.
double median(std::vector<double> v) {
  std::erase_if(v, [](double x) { return std::isnan(x); });
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

}  // namespace

Options& options() {
  static Options o;
  return o;
}

// ---- bytes ----

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

std::vector<char> make_argument(size_t size) {
  std::vector<char> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<char>(i * 131 + 7);
  return v;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

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
    ssize_t put = write(fd, p, n);
    if (put < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += put;
    n -= static_cast<size_t>(put);
  }
  return true;
}

void fail(const std::string& what) { throw std::runtime_error(what); }

// ---- CPU placement ----

const std::vector<int>& allowed_cpus() {
  static const std::vector<int> cpus = [] {
    std::vector<int> v;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) v.push_back(c);
      }
    }
    return v;
  }();
  return cpus;
}

void pin_process(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) == -1) {
    std::fprintf(stderr, "server: sched_setaffinity(%d): %s\n", cpu, std::strerror(errno));
    _exit(1);
  }
}

PinThread::PinThread(int cpu) {
  if (cpu < 0) return;
  saved_.resize(sizeof(cpu_set_t));
  auto* saved = reinterpret_cast<cpu_set_t*>(saved_.data());
  if (sched_getaffinity(0, sizeof *saved, saved) == -1) fail(errno_text("sched_getaffinity"));
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) == -1) fail(errno_text("sched_setaffinity"));
  pinned_ = true;
}

PinThread::~PinThread() {
  if (pinned_) sched_setaffinity(0, sizeof(cpu_set_t), reinterpret_cast<cpu_set_t*>(saved_.data()));
}

// ---- forked servers ----

namespace {

int thread_count() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
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
      std::fprintf(stderr, "error: server %d ignored SIGTERM; killing it\n", static_cast<int>(pid));
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

}  // namespace

pid_t Children::spawn(const std::function<void()>& body) {
  // fork() copies only the calling thread; a thread holding a lock (malloc's, the library's)
  // at that moment would leave the child deadlocked.
  if (int n = thread_count(); n > 1) {
    std::fprintf(stderr, "warning: %d threads exist before fork(); servers may deadlock\n", n);
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == -1) {
    std::perror("error: fork");
    return -1;
  }
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent) _exit(1);
    signal(SIGPIPE, SIG_IGN);  // a client that goes away is an error return, not a death
    body();
    _exit(1);  // a server that returns is broken
  }
  pids_.push_back(pid);
  return pid;
}

pid_t Children::spawn_ready(const char* what, const std::function<void(int)>& body) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) == -1) {
    std::perror("error: pipe2");
    return -1;
  }
  pid_t pid = spawn([&] {
    close(ready[0]);
    body(ready[1]);
  });
  close(ready[1]);
  if (pid == -1) {
    close(ready[0]);
    return -1;
  }
  // The child closes its end when it dies, so poll also wakes (POLLHUP) if it fails first.
  pollfd p{ready[0], POLLIN, 0};
  int rc;
  do rc = poll(&p, 1, kReadyTimeoutMs);
  while (rc == -1 && errno == EINTR);
  char byte = 0;
  bool up = rc == 1 && read(ready[0], &byte, 1) == 1;
  close(ready[0]);
  if (!up) {
    std::fprintf(stderr, "error: %s %s\n", what, rc == 0 ? "not ready in time" : "failed to start");
    return -1;
  }
  return pid;
}

const std::string& Children::dir() {
  if (dir_.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string d =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/doors_bench.XXXXXX";
    if (mkdtemp(d.data()) == nullptr) {
      std::perror("error: mkdtemp");
      std::exit(1);
    }
    dir_ = d;
  }
  return dir_;
}

bool Children::stop() {
  bool clean = true;
  for (pid_t pid : pids_) kill(pid, SIGTERM);
  for (pid_t pid : pids_) clean &= reap(pid);
  pids_.clear();
  if (!dir_.empty()) {
    // The servers normally leave their files (door paths, sockets) behind.
    if (DIR* d = opendir(dir_.c_str())) {
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') unlink((dir_ + "/" + e->d_name).c_str());
      }
      closedir(d);
    }
    rmdir(dir_.c_str());
    dir_.clear();
  }
  return clean;
}

void signal_ready(int ready_fd) {
  char ready = 'r';
  if (write(ready_fd, &ready, 1) != 1) _exit(1);
  close(ready_fd);
}

namespace {
sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  return s;
}
}  // namespace

void block_stop_signals() {
  sigset_t s = stop_signals();
  if (int err = pthread_sigmask(SIG_BLOCK, &s, nullptr); err != 0) {
    std::fprintf(stderr, "server: pthread_sigmask: %s\n", std::strerror(err));
    _exit(1);
  }
}

void wait_for_stop_signal() {
  sigset_t s = stop_signals();
  int sig = 0;
  sigwait(&s, &sig);
}

// ---- results ----

const std::map<std::string, Result>& results() { return final_results(); }

void ResultReporter::ReportRuns(const std::vector<Run>& runs) {
  std::map<std::string, size_t> finals;  // final runs reported now, by case
  for (const Run& run : runs) {
    if (run.run_type != Run::RT_Iteration) continue;  // Google Benchmark's own aggregates
    const std::string& name = run.run_name.function_name;
    ++finals[name];
    if (run.error_occurred) {
      std::fprintf(stderr, "  %-34s ERROR: %s\n", name.c_str(), run.error_message.c_str());
      ++errors_;
    } else {
      std::fprintf(stderr, "  %-34s done\n", name.c_str());
    }
  }
  for (const auto& [name, n] : finals) {
    std::vector<Recorded> recorded = std::move(pending()[name]);
    pending().erase(name);
    if (recorded.size() < n) {  // failed before it could record anything
      Result r;
      r.name = name;
      r.error = "no result recorded";
      kept()[name].push_back(r);
    }
    for (size_t i = recorded.size() > n ? recorded.size() - n : 0; i < recorded.size(); ++i) {
      for (Result& r : recorded[i]) kept()[r.name].push_back(std::move(r));
    }
  }
}

void finalize_results() {
  auto& out = final_results();
  out.clear();
  for (const auto& [name, reps] : kept()) {
    Result r;
    r.name = name;
    for (const Result& rep : reps) {
      if (!rep.error.empty() && r.error.empty()) r.error = rep.error;
      if (!rep.unit.empty()) r.unit = rep.unit;
    }
    for (const Result& rep : reps) {
      if (!std::isnan(rep.p50_us)) r.p50_passes.push_back(rep.p50_us);
    }
    auto each = [&](double Result::*field) {
      std::vector<double> v;
      for (const Result& rep : reps) v.push_back(rep.*field);
      r.*field = median(std::move(v));
    };
    for (double Result::*field : {&Result::calls_per_s, &Result::p50_us, &Result::p99_us,
                                  &Result::mb_per_s, &Result::fairness, &Result::value}) {
      each(field);
    }
    out[name] = std::move(r);
  }
}

// ---- cases ----

namespace {
// Wall time, not CPU time: a client blocked in a call uses almost no CPU.
void common(benchmark::internal::Benchmark* b) { b->UseRealTime()->Unit(benchmark::kMicrosecond); }
}  // namespace

void add_latency_case(const std::string& name, MakeCall make, size_t bytes_per_call, int pin_cpu) {
  auto run = [=](benchmark::State& state) {
    try {
      PinThread pin(pin_cpu);
      Call call = make(0);
      std::vector<double> samples;
      // Reserving keeps allocation out of the timed loop.
      samples.reserve(static_cast<size_t>(
          std::min<int64_t>(state.max_iterations, static_cast<int64_t>(kMaxSamples))));
      auto start = Clock::now();
      for (auto _ : state) {
        auto t0 = Clock::now();
        call();
        if (samples.size() < kMaxSamples) samples.push_back(micros(Clock::now() - t0));
      }
      double elapsed = seconds(Clock::now() - start);
      Result r;
      r.name = name;
      r.calls_per_s = static_cast<double>(state.iterations()) / elapsed;
      if (bytes_per_call > 0)
        r.mb_per_s = r.calls_per_s * static_cast<double>(bytes_per_call) / 1e6;
      set_percentiles(r, samples);
      if (bytes_per_call > 0) {
        state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes_per_call));
      }
      record(state, name, {std::move(r)});
    } catch (const std::exception& e) {
      record_error(state, name, e.what());
    }
  };
  common(benchmark::RegisterBenchmark(name.c_str(), run));
}

void add_threads_case(const std::string& name, MakeCall make, int threads) {
  auto run = [=](benchmark::State& state) {
    for (auto _ : state) {
      std::vector<uint64_t> calls(static_cast<size_t>(threads), 0);
      std::vector<std::vector<double>> samples(static_cast<size_t>(threads));
      std::atomic<int> ready{0};
      std::atomic<bool> go{false};
      std::atomic<bool> stop{false};
      std::mutex error_mu;
      std::condition_variable failed;  // with error_mu: a thread set error and stop
      std::string error;
      auto body = [&](int i) {
        try {
          Call call = make(i);
          auto& mine = samples[static_cast<size_t>(i)];
          mine.reserve(std::min<size_t>(kMaxSamples / static_cast<size_t>(threads),
                                        static_cast<size_t>(options().thread_seconds * 400'000)));
          uint64_t n = 0;
          ready.fetch_add(1);
          while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
          while (!stop.load(std::memory_order_relaxed)) {
            auto t0 = Clock::now();
            call();
            if (mine.size() < mine.capacity()) mine.push_back(micros(Clock::now() - t0));
            ++n;
          }
          calls[static_cast<size_t>(i)] = n;
        } catch (const std::exception& e) {
          std::lock_guard lk(error_mu);
          if (error.empty()) error = e.what();
          stop.store(true);
          ready.fetch_add(1);  // harmless if it already counted: main only waits for >= threads
          failed.notify_all();
        }
      };
      std::vector<std::thread> pool;
      for (int i = 0; i < threads; ++i) pool.emplace_back(body, i);
      while (ready.load() < threads) std::this_thread::yield();
      auto start = Clock::now();
      go.store(true, std::memory_order_release);
      auto until = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options().thread_seconds));
      {
        // One wait for the whole run, not a polling loop: a thread of ours that wakes every
        // few milliseconds is activity that changes where the scheduler places the client and
        // server threads (a 10 ms poll made pipe/null/threads:1 differ from pipe/null).
        std::unique_lock lk(error_mu);
        failed.wait_until(lk, until, [&] { return stop.load(); });
      }
      stop.store(true);
      for (auto& t : pool) t.join();
      double elapsed = seconds(Clock::now() - start);
      state.SetIterationTime(elapsed);
      if (!error.empty()) {
        record_error(state, name, error);
        return;
      }
      Result r;
      r.name = name;
      uint64_t total = 0;
      uint64_t lo = UINT64_MAX;
      uint64_t hi = 0;
      std::vector<double> all;
      for (int i = 0; i < threads; ++i) {
        uint64_t n = calls[static_cast<size_t>(i)];
        total += n;
        lo = std::min(lo, n);
        hi = std::max(hi, n);
        all.insert(all.end(), samples[static_cast<size_t>(i)].begin(),
                   samples[static_cast<size_t>(i)].end());
      }
      r.calls_per_s = static_cast<double>(total) / elapsed;
      r.fairness = hi > 0 ? static_cast<double>(lo) / static_cast<double>(hi) : NAN;
      set_percentiles(r, all);
      record(state, name, {std::move(r)});
    }
  };
  benchmark::RegisterBenchmark(name.c_str(), run)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

void add_once_case(const std::string& name, std::function<std::vector<Result>()> measure) {
  auto run = [=](benchmark::State& state) {
    for (auto _ : state) {
      auto start = Clock::now();
      std::vector<Result> rs;
      try {
        rs = measure();
      } catch (const std::exception& e) {
        record_error(state, name, e.what());
        return;
      }
      state.SetIterationTime(seconds(Clock::now() - start));
      record(state, name, std::move(rs));
    }
  };
  benchmark::RegisterBenchmark(name.c_str(), run)
      ->Iterations(1)
      ->Repetitions(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace bench
