// Running the example binaries as an operator or a user would: fork + exec, stdout and stderr
// captured, "ready" awaited with a deadline, SIGTERM at the end.
//
// The test process is multi-threaded here (each ExampleProcess has a reader thread, and client
// calls may run on Async threads), so the child does nothing between fork() and exec() but
// async-signal-safe system calls on memory prepared before the fork. Always start processes
// from the test's main thread: PR_SET_PDEATHSIG fires when the *thread* that forked exits.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "deadline.h"
#include "fd.h"
#include "forked_server.h"
#include "leak_check.h"

namespace doors::test {

// Environment changes for a child: each entry sets a variable, except that the value kUnset
// removes it.
using EnvChanges = std::map<std::string, std::string>;
inline constexpr std::string_view kUnset = "\x01unset";

// One child process running an executable, its stdout and stderr read as they come by a thread
// of this object. Not copyable, not movable. The destructor kills (SIGKILL) and reaps a child
// still running and, when the test failed, prints what it wrote on stderr.
class ExampleProcess {
 public:
  // Starts `binary` with `args` (argv[1...]); stdin is /dev/null unless `stdin_data` is given
  // (written through a pipe by the reader thread, then closed).
  ExampleProcess(std::string binary, std::vector<std::string> args, const EnvChanges& env = {},
                 std::string stdin_data = {});
  ~ExampleProcess();
  ExampleProcess(const ExampleProcess&) = delete;
  ExampleProcess& operator=(const ExampleProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // Waits until stdout holds the line "ready". Fails (saying how the child ended, with its
  // stderr) if the child closes stdout or the deadline passes first; the first line must be
  // exactly "ready".
  ::testing::AssertionResult wait_ready(Deadline deadline = Deadline::standard());
  // Waits until stderr holds `text` (anywhere, as written so far). For events a server logs.
  ::testing::AssertionResult wait_for_stderr(std::string_view text,
                                             Deadline deadline = Deadline::standard());
  std::string out() const;
  std::string err() const;

  // Sends `sig` (SIGTERM by default) and reaps the child within the deadline (SIGKILL after
  // it, with timed_out set). Then waits for the reader thread to see both pipes close.
  ChildStatus signal_and_reap(int sig = SIGTERM, Deadline deadline = Deadline::standard());
  // Waits for the child to exit by itself (a client): SIGKILL after the deadline (timed_out).
  ChildStatus wait_exit(Deadline deadline = Deadline::standard());
  const ChildStatus& status() const { return status_; }

 private:
  void read_loop();
  void join_reader();

  pid_t pid_ = -1;
  bool reaped_ = false;
  ChildStatus status_;
  UniqueFd out_, err_, in_;          // our ends of the child's stdout, stderr, stdin
  UniqueFd stop_read_, stop_write_;  // a byte on it stops the reader
  std::string stdin_data_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_text_, err_text_;
  bool out_closed_ = false, err_closed_ = false;
};

// A client run to completion: exit status, stdout, stderr.
struct ProgramResult {
  ChildStatus status;
  std::string out;
  std::string err;
};
ProgramResult run_program(const std::string& binary, const std::vector<std::string>& args,
                          const EnvChanges& env = {}, std::string stdin_data = {},
                          Deadline deadline = Deadline::standard());

// A server binary started on `path` (its --path), ready, stopped with SIGTERM by stop(), which
// checks what the server promises: exit status 0 and the door's file gone (when the test did
// not create it). The destructor stops it if the test did not.
class ExampleServer {
 public:
  ExampleServer(const std::string& binary, const std::string& path,
                std::vector<std::string> extra_args = {}, const EnvChanges& env = {});
  ~ExampleServer();
  ExampleServer(const ExampleServer&) = delete;
  ExampleServer& operator=(const ExampleServer&) = delete;

  // ready() is true once the server printed "ready" (the constructor waits for it); otherwise
  // the constructor already recorded a test failure.
  bool ready() const { return ready_; }
  const std::string& path() const { return path_; }
  ExampleProcess& process() { return process_; }

  // SIGTERM; expects exit status 0 within the deadline and the file at path() gone (unless
  // keep_file: the test made the file before the server started). Returns how it ended. Once
  // only: a second stop() just returns the status. In integration binaries it first checks that
  // the server holds no descriptor or memfd mapping it did not hold when ready (leak_check.h):
  // call it once the test has closed what it opened.
  ChildStatus stop(bool keep_file = false, Deadline deadline = Deadline::standard());
  // Opt-out of that check, with the reason (shown in the test's output).
  void skip_leak_check(std::string_view reason);

 private:
  std::string path_;
  ExampleProcess process_;
  bool ready_ = false;
  bool stopped_ = false;
  ResourceSnapshot ready_snapshot_;  // for stop()'s leak check
  bool check_leaks_ = false;
};

// The built binaries (paths come from CMake).
struct Binaries {
  static const char* calculator_server();
  static const char* calculator_client();
  static const char* kv_server();
  static const char* kv_client();
  static const char* fd_server();
  static const char* fd_client();
};

}  // namespace doors::test
