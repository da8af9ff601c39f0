// An event that crosses threads and fork(): a pipe. Each signal() writes one byte
// (async-signal-safe, so a server procedure or a signal handler may call it); wait() takes
// `n` of them with a deadline. Made before fork(), it lets a child tell the parent "arrived".
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <vector>

#include "deadline.h"
#include "fd.h"

namespace doors::test {

class Gate {
 public:
  Gate() : pipe_(Pipe::make()) {}

  void signal() const {
    char c = 1;
    while (::write(pipe_.write_end.get(), &c, 1) < 0 && errno == EINTR) {
    }
  }
  // True once `n` signals arrived (each consumed); false when the deadline passes first.
  bool wait(Deadline deadline, std::size_t n = 1) const {
    std::vector<char> buf(n);
    return read_exact(pipe_.read_end.get(), buf.data(), n, deadline);
  }
  // A signal is waiting (not consumed).
  bool signaled() const { return poll_readable(pipe_.read_end.get(), Deadline::in({})); }

 private:
  Pipe pipe_;
};

}  // namespace doors::test
