#include "forked_server.h"

#include <doors/ext.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>
#include <thread>

namespace doors::test {
namespace {

constexpr std::uint32_t kMaxPayload = 4000;  // header + payload stay under PIPE_BUF

ChildStatus decode(int wstatus) {
  ChildStatus s;
  s.reaped = true;
  if (WIFEXITED(wstatus)) {
    s.exited = true;
    s.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signaled = true;
    s.signal = WTERMSIG(wstatus);
  }
  return s;
}

// The first thing every forked child does: die with the parent, even if the parent died
// between fork() and prctl().
void become_child(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(kChildSetupFailed);
}

}  // namespace

std::string ChildStatus::describe() const {
  if (!reaped) return timed_out ? "timed out and could not be reaped" : "still running";
  std::string s = timed_out ? "timed out (killed) and " : "";
  if (exited) {
    s += "exited with status " + std::to_string(exit_code);
    if (exit_code == kChildSetupFailed) s += " (a set-up step failed; see stderr)";
    if (exit_code == kChildThrew) s += " (the child threw; see stderr)";
  } else if (signaled) {
    s += "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else {
    s += "ended in an unknown way";
  }
  return s;
}

ChildStatus wait_child(pid_t pid, Deadline deadline) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    int wstatus = 0;
    pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) {
      if (pidfd >= 0) ::close(pidfd);
      return decode(wstatus);
    }
    if (r < 0 && errno != EINTR) break;  // not our child (ECHILD)
    if (deadline.expired()) break;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, deadline.poll_timeout_ms());  // readable once the child has ended
    } else {
      // No pidfd_open (kernel < 5.3): poll the child's state; still bounded by the deadline.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return ChildStatus{};
}

void child_fail(const char* what) {
  std::fprintf(stderr, "child %d: %s: %s\n", static_cast<int>(::getpid()), what,
               std::strerror(errno));
  ::_exit(kChildSetupFailed);
}

void child_wait_forever() {
  for (;;) ::pause();
}

bool drop_privileges(uid_t uid, gid_t gid) {
  if (::setgroups(0, nullptr) != 0) return false;
  if (::setgid(gid) != 0) return false;
  if (::setuid(uid) != 0) return false;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  return true;
}

void ForkedServer::Child::ready(std::string_view payload) {
  if (payload.size() > kMaxPayload) {
    errno = EMSGSIZE;
    child_fail("ready: payload too large");
  }
  std::string msg(sizeof(std::uint32_t), '\0');
  auto len = static_cast<std::uint32_t>(payload.size());
  std::memcpy(msg.data(), &len, sizeof len);
  msg.append(payload);
  if (!write_all(fd_, msg.data(), msg.size())) child_fail("ready: write");
}

ForkedServer::ForkedServer(Body body) {
  Pipe ready = Pipe::make();
  pid_t parent = ::getpid();
  std::fflush(nullptr);  // nothing buffered twice
  pid_ = ::fork();
  if (pid_ < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    reaped_ = true;
    return;
  }
  if (pid_ == 0) {
    become_child(parent);
    ready.read_end.reset();
    int code = 0;
    try {
      Child child(ready.write_end.get());
      body(child);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: threw: %s\n", static_cast<int>(::getpid()), e.what());
      code = kChildThrew;
    } catch (...) {
      std::fprintf(stderr, "child %d: threw\n", static_cast<int>(::getpid()));
      code = kChildThrew;
    }
    ::_exit(code);
  }
  ready_fd_ = std::move(ready.read_end);
}

::testing::AssertionResult ForkedServer::wait_ready(Deadline deadline) {
  if (pid_ < 0) return ::testing::AssertionFailure() << "the server was never forked";
  std::uint32_t len = 0;
  if (read_exact(ready_fd_.get(), &len, sizeof len, deadline) && len <= kMaxPayload) {
    payload_.assign(len, '\0');
    if (len == 0 || read_exact(ready_fd_.get(), payload_.data(), len, deadline)) {
      if (leak_check_enabled()) {
        ready_snapshot_ = take_snapshot(pid_);
        check_leaks_ = ready_snapshot_.complete;
      }
      return ::testing::AssertionSuccess();
    }
  }
  // Not ready: say why (its exit status, or that it hangs), and stop it.
  bool timed_out = errno == ETIMEDOUT;
  ChildStatus s = reaped_ ? status_ : wait_child(pid_, Deadline::in(std::chrono::seconds(2)));
  if (!s.reaped) s = kill_and_reap(SIGKILL);
  status_ = s;
  reaped_ = true;
  return ::testing::AssertionFailure()
         << "server " << pid_ << " did not get ready" << (timed_out ? " before the deadline" : "")
         << "; it " << s.describe();
}

ChildStatus ForkedServer::kill_and_reap(int sig, Deadline deadline) {
  if (reaped_) return status_;
  ::kill(pid_, sig);
  status_ = wait_child(pid_, deadline);
  if (!status_.reaped) {
    ::kill(pid_, SIGKILL);
    status_ = wait_child(pid_, Deadline::standard());
    status_.timed_out = true;
  }
  reaped_ = status_.reaped;
  return status_;
}

ChildStatus ForkedServer::wait_exit(Deadline deadline) {
  if (reaped_) return status_;
  status_ = wait_child(pid_, deadline);
  if (!status_.reaped) {
    ::kill(pid_, SIGKILL);
    status_ = wait_child(pid_, Deadline::standard());
    status_.timed_out = true;
  }
  reaped_ = status_.reaped;
  return status_;
}

ChildStatus ForkedServer::stop(Deadline deadline) {
  if (reaped_) return status_;
  // Did it die before teardown? That is abnormal whatever the status says, unless it was 0.
  ChildStatus early = wait_child(pid_, Deadline::in(std::chrono::seconds(0)));
  if (early.reaped) {
    status_ = early;
    reaped_ = true;
    if (!early.exited_with(0))
      ADD_FAILURE() << "server " << pid_ << " died before teardown: it " << early.describe();
    return status_;
  }
  if (check_leaks_) check_server_leaks(ready_snapshot_, "server " + std::to_string(pid_));
  ::kill(pid_, SIGTERM);
  status_ = wait_child(pid_, deadline);
  if (!status_.reaped) {
    ::kill(pid_, SIGKILL);
    status_ = wait_child(pid_, Deadline::standard());
    reaped_ = status_.reaped;
    ADD_FAILURE() << "server " << pid_ << " ignored SIGTERM and was killed with SIGKILL";
    return status_;
  }
  reaped_ = true;
  if (!status_.exited_with(0) && !status_.killed_by(SIGTERM))
    ADD_FAILURE() << "server " << pid_ << " ended abnormally at teardown: it "
                  << status_.describe();
  return status_;
}

void ForkedServer::skip_leak_check(std::string_view reason) {
  check_leaks_ = false;
  std::printf("[ LEAK CHECK ] skipped for server %d: %.*s\n", static_cast<int>(pid_),
              static_cast<int>(reason.size()), reason.data());
}

bool check_server_leaks(const ResourceSnapshot& ready, const std::string& who) {
  // Threads are not compared (pools grow and keep their threads), nor children (not ours to
  // reap): a server must give back every descriptor and mapping of its clients' connections,
  // and its memory within the same slack as the test process.
  // Resident memory is not compared either: the test servers' procedures allocate buffers as
  // large as a call (up to 64 MiB), and once glibc frees such a block it raises its mmap
  // threshold (up to 32 MiB), so that later blocks of that size come from its heap and stay
  // resident after they are freed. Growth there says nothing about a leak.
  LeakChecks checks = default_checks();
  checks.threads = false;
  checks.children = false;
  checks.rss = false;
  // Connections whose other end the test process holds are the test's (leak_check.h).
  std::map<unsigned, unsigned> peers;
  std::set<std::string> ours;
  checks.excused = [&](const std::string& what) {
    if (what.rfind("socket:[", 0) != 0) return false;
    auto it = peers.find(static_cast<unsigned>(std::strtoul(what.c_str() + 8, nullptr, 10)));
    return it != peers.end() && ours.count("socket:[" + std::to_string(it->second) + "]") != 0;
  };
  std::string drift = wait_for_no_drift(ready, checks, Deadline::in(kLeakPatience), [&] {
    doors_release_channels();  // the test thread's, to this server too (leak_check.h)
    peers = unix_socket_peers();
    ours.clear();
    for (const auto& [fd, what] : take_snapshot().fds) ours.insert(what);
  });
  if (drift.empty()) return true;
  // A server may end by itself at any moment (its body returned): once it has, it holds
  // nothing, and its /proc entry is gone or empty. Looked at without reaping it (WNOWAIT).
  siginfo_t info{};
  if (ready.pid > 0 && ::waitid(P_PID, ready.pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == ready.pid) {
    return true;
  }
  ADD_FAILURE() << who << " did not end the test with what it held when ready "
                << "(tests/support/leak_check.h):\n"
                << drift;
  return false;
}

ForkedServer::~ForkedServer() {
  if (pid_ > 0 && !reaped_) stop();
}

ChildStatus run_in_child(const std::function<int()>& body, Deadline deadline) {
  pid_t parent = ::getpid();
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return ChildStatus{};
  }
  if (pid == 0) {
    become_child(parent);
    int code = kChildThrew;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: threw: %s\n", static_cast<int>(::getpid()), e.what());
    } catch (...) {
      std::fprintf(stderr, "child %d: threw\n", static_cast<int>(::getpid()));
    }
    ::_exit(code);
  }
  ChildStatus s = wait_child(pid, deadline);
  if (!s.reaped) {
    ::kill(pid, SIGKILL);
    s = wait_child(pid, Deadline::standard());
    s.timed_out = true;
  }
  return s;
}

}  // namespace doors::test
