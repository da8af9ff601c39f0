// Work on another thread that the test's thread waits for with a deadline.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "deadline.h"

namespace doors::test {

// Runs `fn` on a new thread. wait() bounds the wait; a thread that never finishes (a hung
// door_call: a bug the test then reports) is detached at destruction, and because the state it
// writes is shared, it can finish later without touching freed memory. `fn` must therefore own
// everything it uses (capture by value). Not copyable, not movable.
template <class R>
class Async {
 public:
  explicit Async(std::function<R()> fn) : state_(std::make_shared<State>()) {
    thread_ = std::thread([state = state_, fn = std::move(fn)] {
      R r = fn();
      std::lock_guard lock(state->mu);
      state->result.emplace(std::move(r));
      state->cv.notify_all();
    });
  }
  Async(const Async&) = delete;
  Async& operator=(const Async&) = delete;
  ~Async() {
    if (wait(Deadline::in(std::chrono::seconds(0))))
      thread_.join();
    else
      thread_.detach();
  }

  // True once `fn` has returned; false if the deadline passed first.
  bool wait(Deadline deadline) {
    std::unique_lock lock(state_->mu);
    return state_->cv.wait_until(lock, deadline.when(), [&] { return state_->result.has_value(); });
  }
  // What `fn` returned. Only after wait() returned true.
  const R& result() const { return *state_->result; }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<R> result;
  };
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace doors::test
