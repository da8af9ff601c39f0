// Child processes for multi-process tests.
//
// Fork only while single-threaded: libdoors starts server threads in a process once it calls
// door_create, so a test process that forks servers never creates a door itself; the children
// do. A child ends with _exit() and dies with its parent (PR_SET_PDEATHSIG).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "deadline.h"
#include "fd.h"
#include "leak_check.h"

namespace doors::test {

// Exit codes a child uses to say what went wrong (stderr has the details).
inline constexpr int kChildSetupFailed = 124;  // child_fail(): a set-up step failed
inline constexpr int kChildThrew = 125;        // the child's body threw an exception

// How a child ended.
struct ChildStatus {
  bool reaped = false;     // false: still running (the wait timed out) or not a child
  bool timed_out = false;  // run_in_child(): killed with SIGKILL because the deadline passed
  bool exited = false;
  int exit_code = 0;
  bool signaled = false;
  int signal = 0;

  bool exited_with(int code) const { return reaped && exited && exit_code == code; }
  bool killed_by(int sig) const { return reaped && signaled && signal == sig; }
  std::string describe() const;
};

// Waits for child `pid` to end and reaps it. On timeout returns reaped == false and leaves the
// child alone.
ChildStatus wait_child(pid_t pid, Deadline deadline);

// In a child: print "child <pid>: <what>: <strerror(errno)>" and _exit(kChildSetupFailed).
[[noreturn]] void child_fail(const char* what);
// In a child: block until a signal ends the process (the parent's teardown sends SIGTERM).
[[noreturn]] void child_wait_forever();
// In a child: become `uid`/`gid` with no supplementary groups, for good (setuid). Re-arms
// PR_SET_PDEATHSIG, which the kernel clears on a credential change. False on failure.
bool drop_privileges(uid_t uid, gid_t gid);

// A server process for one test. The constructor forks; the child runs `body`, which sets up
// (creates doors, attaches them), calls ready(), serves, and never needs to return (it is ended
// with SIGTERM); if it returns, the child exits 0.
//
// Readiness is a message on a pipe made before fork(), awaited with poll() and a deadline.
// Teardown (stop() or the destructor) sends SIGTERM, waits with a deadline, then SIGKILL, and
// fails the test if the child died abnormally: a non-zero exit, a signal other than SIGTERM,
// needing SIGKILL, or dying before teardown. kill_and_reap() is for tests that kill the server
// on purpose. Not copyable, not movable.
class ForkedServer {
 public:
  // The child's side: what the body gets.
  class Child {
   public:
    // Tells the parent that the server is ready; `payload` (at most 4000 bytes) reaches
    // ForkedServer::payload(). Call once. Failure ends the child.
    void ready(std::string_view payload = {});
    template <class T>
    void ready_with(const T& value) {
      static_assert(std::is_trivially_copyable_v<T>);
      ready(std::string_view(reinterpret_cast<const char*>(&value), sizeof value));
    }

   private:
    friend class ForkedServer;
    explicit Child(int fd) : fd_(fd) {}
    int fd_;
  };
  using Body = std::function<void(Child&)>;

  explicit ForkedServer(Body body);
  ~ForkedServer();
  ForkedServer(const ForkedServer&) = delete;
  ForkedServer& operator=(const ForkedServer&) = delete;

  pid_t pid() const { return pid_; }

  // Waits for the child's ready(). Fails (with the child's status) if it dies or the deadline
  // passes first.
  ::testing::AssertionResult wait_ready(Deadline deadline = Deadline::standard());
  // What the child passed to ready().
  const std::string& payload() const { return payload_; }
  template <class T>
  T payload_as() const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    if (payload_.size() == sizeof value)
      std::memcpy(&value, payload_.data(), sizeof value);
    else
      ADD_FAILURE() << "server payload has " << payload_.size() << " bytes, expected "
                    << sizeof value;
    return value;
  }

  // Sends `sig` and reaps the child; the death is expected, so teardown checks nothing more.
  ChildStatus kill_and_reap(int sig = SIGKILL, Deadline deadline = Deadline::standard());
  // Waits for a child that ends by itself (a client process, say) and reaps it; no verdict, the
  // test judges the status. On timeout the child is killed (timed_out = true).
  ChildStatus wait_exit(Deadline deadline = Deadline::standard());
  // Orderly teardown now (see the class comment); returns how the child ended. In integration
  // binaries it first checks that the server holds no descriptor or memfd mapping it did not
  // hold when ready (leak_check.h): call it once the test has closed what it opened.
  ChildStatus stop(Deadline deadline = Deadline::standard());
  // Opt-out of that check, with the reason (shown in the test's output).
  void skip_leak_check(std::string_view reason);

 private:
  pid_t pid_ = -1;
  UniqueFd ready_fd_;
  std::string payload_;
  bool reaped_ = false;
  ChildStatus status_;
  ResourceSnapshot ready_snapshot_;  // taken by wait_ready(), for stop()'s leak check
  bool check_leaks_ = false;
};

// The server-side leak check (leak_check.h) of process `pid` against `ready` (its snapshot when
// it got ready): its descriptors and memfd mappings back to that, within kLeakPatience. Adds a
// failure naming what is left, and says whether there was none. `who` names the server.
bool check_server_leaks(const ResourceSnapshot& ready, const std::string& who);

// Runs `body` in a forked child and returns how the child ended; the child exits with what
// `body` returns. When the deadline passes the child is killed (timed_out = true). For clients
// that must be another process (another uid, a third party).
ChildStatus run_in_child(const std::function<int()>& body,
                         Deadline deadline = Deadline::standard());

}  // namespace doors::test
