// The small harness under doors_bench: forked servers, CPU placement, per-call samples, the
// results every case records, and the Google Benchmark registrations that fill them.
//
// Each case file (door_cases.cpp, limit_cases.cpp, peer_*.cpp) has two entry points, declared
// in cases.h: start_*() forks its servers (main calls every one of them before any thread
// exists, because fork() copies only the calling thread), and register_*() registers its cases.
// A case's client side runs in the parent, on the benchmark's thread or on threads it makes.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/types.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bench {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

// Run-time settings, from main's flags.
struct Options {
  double thread_seconds = 2.0;  // how long each case with client threads runs
  int idle_connections = 1000;  // the memory case's connections
};
Options& options();

// ---- bytes ----

// Sums 64-bit words (and the tail bytes): touches every byte at memory speed, so every server
// pays about a memcpy of the argument to read it, the same in every case.
uint64_t checksum(const char* p, size_t n);

// A deterministic argument of size bytes.
std::vector<char> make_argument(size_t size);

// "what: strerror(errno)".
std::string errno_text(const char* what);

// read(2) until n bytes arrived; false on EOF (errno 0) or error.
bool read_full(int fd, void* buf, size_t n);

// write(2) until n bytes left; false on error. Callers ignore SIGPIPE.
bool write_full(int fd, const void* buf, size_t n);

// A failed call in a client: throws, and the case reports it with SkipWithError.
[[noreturn]] void fail(const std::string& what);

// ---- CPU placement ----

// The CPUs this process may run on at start, in order (sched_getaffinity).
const std::vector<int>& allowed_cpus();

// Confines the whole calling process to cpu; for a forked server before it makes threads,
// which then inherit it. Exits the child on failure.
void pin_process(int cpu);

// Confines the calling thread to cpu for its lifetime, then restores its previous affinity.
// With cpu < 0 it does nothing.
class PinThread {
 public:
  explicit PinThread(int cpu);
  ~PinThread();
  PinThread(const PinThread&) = delete;
  PinThread& operator=(const PinThread&) = delete;

 private:
  bool pinned_ = false;
  std::vector<unsigned char> saved_;  // a cpu_set_t
};

// ---- forked servers ----

// Owns every forked server: stop() sends SIGTERM, waits with a deadline, then SIGKILLs.
class Children {
 public:
  Children() = default;
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;
  ~Children() { stop(); }

  // Forks body (which must not return; a server ends with _exit); the child dies with the
  // parent. Returns the pid, or -1 with a message on stderr.
  pid_t spawn(const std::function<void()>& body);

  // Forks body(ready_fd) and waits, bounded, for the byte it writes there once it serves.
  // Returns the pid, or -1 with a message on stderr.
  pid_t spawn_ready(const char* what, const std::function<void(int ready_fd)>& body);

  // A fresh temporary directory for paths (door files, sockets), removed by stop().
  const std::string& dir();

  // Stops every server; false when one ended other than by our SIGTERM or exit 0.
  bool stop();

 private:
  std::string dir_;
  std::vector<pid_t> pids_;
};

// Written by a server once it is ready to serve; exits the child on failure.
void signal_ready(int ready_fd);

// Blocks SIGTERM and SIGINT in a server (before it makes threads) and waits for one of them.
void block_stop_signals();
void wait_for_stop_signal();

// ---- results ----

// What one case measured. NaN where it does not apply.
struct Result {
  std::string name;
  double calls_per_s = NAN;
  double p50_us = NAN;
  double p99_us = NAN;
  double mb_per_s = NAN;           // argument bytes per second / 1e6
  double fairness = NAN;           // min/max calls per client thread
  double value = NAN;              // a case's own figure (e.g. KiB of RSS), named by unit
  std::string unit;                // of value
  std::string error;               // why the case failed, when it did
  std::vector<double> p50_passes;  // after finalize_results(): each pass's p50, in run order
};

// Every case's result once the run is over (finalize_results()): with repetitions, the median of
// each figure over the repetitions; a case that failed in any repetition carries the error.
const std::map<std::string, Result>& results();

// Takes each final run of a case from Google Benchmark (the runs that only probe for an iteration
// count are never reported), keeps what the case recorded for it, and shows progress on stderr.
class ResultReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override;
  // Cases that failed.
  int errors() const { return errors_; }

 private:
  int errors_ = 0;
};

// Computes results() from the runs the reporter kept.
void finalize_results();

// ---- cases ----

// One call of a case; throws (fail()) when it goes wrong.
using Call = std::function<void()>;
// Makes the caller of one client thread (its own connection): invoked on that thread, and the
// Call it returns is destroyed there too.
using MakeCall = std::function<Call(int thread_index)>;

// A one-thread case: p50/p99 over every call of the final run, calls/s, and MB/s when
// bytes_per_call > 0. With pin_cpu >= 0 the client thread runs on that CPU for the case.
void add_latency_case(const std::string& name, MakeCall make, size_t bytes_per_call,
                      int pin_cpu = -1);

// threads client threads, each with its own Call, calling as fast as they can for
// options().thread_seconds: calls/s in total, p50/p99 over every call, fairness.
void add_threads_case(const std::string& name, MakeCall make, int threads);

// A case that measures once, in one repetition whatever the flags say (e.g. memory growth, which
// a second pass in the same server would not see again). It returns its results, each named.
void add_once_case(const std::string& name, std::function<std::vector<Result>()> run);

}  // namespace bench
