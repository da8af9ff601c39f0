// An honest client that keeps calling a digest_proc door (procedures.h) from its own thread while
// a test attacks the same server, and checks every answer.
#pragma once

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "procedures.h"

namespace doors::test {

// Calls digest_proc in a loop with inline and arena-borne arguments, checking every answer.
class HonestClient {
 public:
  explicit HonestClient(const std::string& path)
      : door_(open_door(path)), thread_([this] { run(); }) {}
  ~HonestClient() { stop(); }

  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  // True once `n` calls succeeded (or false after a failure or the deadline).
  bool await_calls(long n, Deadline deadline) const {
    while (calls_.load() < n && failures_.load() == 0 && !deadline.expired())
      std::this_thread::yield();
    return calls_.load() >= n;
  }
  long calls() const { return calls_.load(); }
  long failures() const { return failures_.load(); }
  std::string first_failure() {
    std::lock_guard lk(mu_);
    return first_failure_;
  }

 private:
  void run() {
    const std::string small = pattern(100, 1);
    const std::string large = pattern(200'000, 2);
    for (long i = 0; !stop_.load(); ++i) {
      const std::string& args = (i % 2 == 0) ? small : large;
      CallOutcome out = call_door(door_.get(), args);
      Digest got{};
      if (out.rc != 0 || !read_value(out.data, &got) || got.size != args.size() ||
          got.hash != digest(args.data(), args.size())) {
        std::lock_guard lk(mu_);
        if (failures_.fetch_add(1) == 0) {
          first_failure_ =
              out.rc != 0 ? std::string("door_call: ") + std::strerror(out.err) : "a wrong answer";
        }
        continue;
      }
      calls_.fetch_add(1);
    }
  }

  UniqueFd door_;
  std::atomic<bool> stop_{false};
  std::atomic<long> calls_{0};
  std::atomic<long> failures_{0};
  std::mutex mu_;
  std::string first_failure_;
  std::thread thread_;
};

}  // namespace doors::test
