// Bounded waiting for tests: every blocking wait in a test goes through a Deadline, so a broken
// library fails a test instead of hanging it until the CTest TIMEOUT.
#pragma once

#include <chrono>
#include <cstddef>

namespace doors::test {

// How long a test waits for something that should happen "at once" (a child getting ready, a
// reply arriving). Generous, because sanitizer builds on loaded CI machines are slow; a passing
// test never waits this long.
inline constexpr std::chrono::milliseconds kPatience{10'000};

// A point on the steady clock after which a wait gives up.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(Clock::time_point when) : when_(when) {}

  // A deadline `d` from now.
  static Deadline in(Clock::duration d) { return Deadline(Clock::now() + d); }
  // The default deadline: kPatience from now.
  static Deadline standard() { return in(kPatience); }

  bool expired() const { return Clock::now() >= when_; }
  Clock::time_point when() const { return when_; }
  Clock::duration remaining() const;
  // Milliseconds left, rounded up, for poll(2): 0 once expired, never -1 (infinite).
  int poll_timeout_ms() const;

 private:
  Clock::time_point when_;
};

// Waits until `fd` is readable, or has hung up or failed (any of which makes a read return at
// once). False when the deadline passes first. EINTR is retried.
bool poll_readable(int fd, Deadline deadline);

// Reads exactly `n` bytes. False on timeout, end of file or error; errno tells which (ETIMEDOUT
// for the deadline, 0 for end of file).
bool read_exact(int fd, void* buf, std::size_t n, Deadline deadline);

// Writes all `n` bytes (blocking), retrying EINTR and short writes. False on error.
bool write_all(int fd, const void* buf, std::size_t n);

}  // namespace doors::test
