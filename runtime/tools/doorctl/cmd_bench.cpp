// doorctl bench: a method's latency and throughput, measured from the client.
#include <capnp/message.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "call_support.h"
#include "commands.h"
#include "json.h"

namespace doorctl {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMaxThreads = 256;
constexpr uint64_t kMaxCalls = 100000000;

struct Plan {
  uint64_t calls = 10000;
  std::optional<std::chrono::nanoseconds> duration;
  uint64_t threads = 1;
  uint64_t warmup = 100;
};

// What the threads share while they run.
struct Run {
  std::atomic<uint64_t> remaining{0};  // calls left to start (-n)
  std::atomic<bool> stop{false};       // --duration passed
  std::atomic<uint64_t> done{0};       // calls finished, for the progress line
  std::atomic<uint64_t> errors{0};
  std::mutex mu;  // guards first_error
  std::string first_error;
  // The start line: every thread warms up, then they all start counting at once.
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  uint64_t warmed = 0;
  bool go = false;
};

// One thread's calls: counted latencies in nanoseconds.
std::vector<uint64_t> call_loop(const doors::ClientBase& client,
                                const std::shared_ptr<const doors::RemoteInterface>& interface,
                                capnp::InterfaceSchema::Method method,
                                capnp::DynamicStruct::Reader params, const std::vector<int>& fds,
                                const doors::CallOptions& options, uint64_t warmup, Run& run) {
  std::vector<uint64_t> latencies;
  // Warm-up calls (counted = false) neither count nor report their errors.
  auto one = [&](bool counted) -> bool {
    try {
      doors::DynamicRequest request(client, interface, method, options);
      request.set_params(params);
      for (int fd : fds) request.add_fd(fd);
      doors::DynamicReply reply = request.send();
      (void)reply.results();
      return true;
    } catch (const doors::Error& e) {
      if (!counted) return false;
      run.errors.fetch_add(1);
      std::lock_guard lock(run.mu);
      if (run.first_error.empty()) run.first_error = e.what();
      return false;
    }
  };
  for (uint64_t i = 0; i < warmup; ++i) one(false);
  {
    std::unique_lock lock(run.gate_mu);
    ++run.warmed;
    run.gate_cv.notify_all();
    run.gate_cv.wait(lock, [&] { return run.go; });
  }
  for (;;) {
    if (run.stop.load()) break;
    uint64_t left = run.remaining.load();
    do {
      if (left == 0) return latencies;
    } while (!run.remaining.compare_exchange_weak(left, left - 1));
    auto start = Clock::now();
    bool ok = one(true);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    if (ok) latencies.push_back(static_cast<uint64_t>(ns));
    run.done.fetch_add(1);
  }
  return latencies;
}

uint64_t percentile(const std::vector<uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
  if (rank == 0) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

}  // namespace

int run_bench(Args& args, GlobalOptions& global) {
  Plan plan;
  Descriptors fds;
  std::vector<std::string> operands;
  bool calls_given = false;  // -n: a count of calls, which --duration excludes
  while (!args.done()) {
    if (global_option(args, global)) continue;
    if (auto n = args.option("-n", "--calls")) {
      plan.calls = parse_count("-n", *n, kMaxCalls);
      calls_given = true;
    } else if (auto c = args.option("-c", "--threads")) {
      plan.threads = parse_count("-c", *c, kMaxThreads);
    } else if (auto d = args.option("--duration")) {
      plan.duration = parse_timeout("--duration", *d);
      if (!plan.duration) throw UsageError{"--duration must be more than 0"};
    } else if (auto w = args.option("--warmup")) {
      plan.warmup = *w == "0" ? 0 : parse_count("--warmup", *w, kMaxCalls);
    } else if (auto f = args.option("--fd")) {
      fds.add(*f);
    } else {
      operands.push_back(operand(args, "PATH"));
    }
  }
  if (calls_given && plan.duration) throw UsageError{"-n and --duration exclude each other"};
  CallTarget target = open_call(operands, global);
  auto& [door, interface, method, json, options] = target;
  // The parameters are decoded once, then copied into each request.
  capnp::MallocMessageBuilder params_message;
  {
    ValueCodec codec(interface, false);
    // A door (interface-typed value) cannot be stored here: no descriptor list to hold it.
    codec.decode(json, params_message.initRoot<capnp::DynamicStruct>(method.getParamType()));
  }
  auto params = params_message.getRoot<capnp::DynamicStruct>(method.getParamType()).asReader();

  Run run;
  run.remaining.store(plan.duration ? UINT64_MAX : plan.calls);
  std::vector<std::vector<uint64_t>> results(plan.threads);
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < plan.threads; ++t) {
    threads.emplace_back([&, t] {
      results[t] =
          call_loop(door.client, interface, method, params, fds.fds, options, plan.warmup, run);
    });
  }
  // Time (and --duration) counts from when every thread has warmed up. Each warm-up call has the
  // call deadline, so this wait ends.
  Clock::time_point start;
  {
    std::unique_lock lock(run.gate_mu);
    run.gate_cv.wait(lock, [&] { return run.warmed == plan.threads; });
    run.go = true;
    start = Clock::now();
  }
  run.gate_cv.notify_all();
  // Progress on a terminal, and the --duration deadline; both only watch the clock.
  bool progress = is_terminal(STDERR_FILENO) && !global.json;
  std::mutex wait_mu;
  std::condition_variable wait_cv;
  bool finished = false;
  std::thread joiner([&] {
    for (auto& th : threads) th.join();
    std::lock_guard lock(wait_mu);
    finished = true;
    wait_cv.notify_all();
  });
  {
    std::unique_lock lock(wait_mu);
    auto deadline = plan.duration ? start + *plan.duration : Clock::time_point::max();
    while (!finished) {
      auto next = std::min(Clock::now() + std::chrono::milliseconds(200), deadline);
      wait_cv.wait_until(lock, next, [&] { return finished; });
      if (Clock::now() >= deadline) run.stop.store(true);
      if (progress && !finished) {
        double s = std::chrono::duration<double>(Clock::now() - start).count();
        uint64_t done = run.done.load();
        if (plan.duration) {
          std::fprintf(stderr, "\r%llu calls, %.0f calls/s, %.1f s  ",
                       static_cast<unsigned long long>(done), s > 0 ? done / s : 0.0, s);
        } else {
          std::fprintf(stderr, "\r%llu/%llu calls, %.0f calls/s  ",
                       static_cast<unsigned long long>(done),
                       static_cast<unsigned long long>(plan.calls), s > 0 ? done / s : 0.0);
        }
      }
    }
  }
  joiner.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (progress) std::fputs("\r\033[K", stderr);

  std::vector<uint64_t> all;
  for (auto& r : results) all.insert(all.end(), r.begin(), r.end());
  std::sort(all.begin(), all.end());
  uint64_t errors = run.errors.load();
  uint64_t calls = all.size() + errors;
  uint64_t sum = 0;
  for (uint64_t v : all) sum += v;
  uint64_t mean = all.empty() ? 0 : sum / all.size();
  double rate = seconds > 0 ? static_cast<double>(calls) / seconds : 0;
  uint64_t p50 = percentile(all, 0.5), p90 = percentile(all, 0.9), p99 = percentile(all, 0.99),
           p999 = percentile(all, 0.999), max = all.empty() ? 0 : all.back();

  if (global.json) {
    JsonWriter w;
    w.begin_object();
    w.key("interface").value(interface->name()).key("method").value(operands[1]);
    w.key("calls").value(calls).key("errors").value(errors).key("seconds").value(seconds);
    w.key("callsPerSecond").value(rate).key("threads").value(plan.threads);
    w.key("latencyNs").begin_object();
    w.key("p50").value(p50).key("p90").value(p90).key("p99").value(p99);
    w.key("p999").value(p999).key("max").value(max).key("mean").value(mean);
    w.end_object();
    w.key("firstError");
    run.first_error.empty() ? w.null() : w.value(run.first_error);
    w.end_object();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::printf("%s.%s on %s: %llu calls from %llu thread%s in %.2f s\n", interface->name().c_str(),
                operands[1].c_str(), door.path.c_str(), static_cast<unsigned long long>(calls),
                static_cast<unsigned long long>(plan.threads), plan.threads == 1 ? "" : "s",
                seconds);
    std::printf("  calls/s   %.0f\n", rate);
    if (!all.empty()) {
      std::printf("  latency   p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
                  format_ns(p50).c_str(), format_ns(p90).c_str(), format_ns(p99).c_str(),
                  format_ns(p999).c_str(), format_ns(max).c_str(), format_ns(mean).c_str());
    }
    std::printf("  errors    %llu\n", static_cast<unsigned long long>(errors));
  }
  std::fflush(stdout);
  if (errors != 0) {
    throw Failure{kExitCallFailed, std::to_string(errors) + " of " + std::to_string(calls) +
                                       " calls failed; the first: " + run.first_error};
  }
  return kExitOk;
}

}  // namespace doorctl
