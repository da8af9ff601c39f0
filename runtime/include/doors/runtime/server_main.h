// The main() of a door server binary: command line, signals, attaching, readiness and drain.
//
//   int main(int argc, char** argv) {
//     std::string log_dir;
//     doors::ServerMain main(calc::CalculatorDoor::kInfo, "calculator_server",
//                            "serves the Calculator interface");
//     main.add_option("--log-dir", "DIR", "where openLog creates its files", &log_dir);
//     return main.run(argc, argv, [&](doors::ServerMain& m) {
//       return std::make_shared<Calc>(log_dir.empty() ? m.path() + ".logs" : log_dir);
//     });
//   }
//
// run() does, in this order:
//   1. parses the command line: `--path PATH`, `--help`, and the options added with
//      add_option()/add_flag(), each as `--name VALUE` or `--name=VALUE`. `--help` prints the
//      usage on stdout and returns 0; an unknown option, a missing value or a stray argument
//      prints a message and the usage hint on stderr and returns 2.
//   2. blocks SIGTERM, SIGINT, SIGHUP and SIGPIPE in the calling thread, before any door (and so
//      any server thread) exists: every thread started from here on inherits the mask, so no
//      handler ever interrupts a server procedure and a write to a closed pipe fails with EPIPE
//      instead of killing the process. The stop signals are read from a signalfd.
//   3. resolves the door path: PATH, or the interface's $Door.path, through
//      doors::resolve_door_path() (a bare name goes under $XDG_RUNTIME_DIR/doors/ for a non-root
//      user with XDG_RUNTIME_DIR set, else /run/doors/), and creates its parent directory (and
//      any missing ancestors, mode 0755) when missing.
//   4. calls the factory, then serves what it returned through a doors::Service attached to the
//      path (Service::attach: the file is created when missing, mode 0666, so that access is
//      the directory's to restrict; fattach(3C)).
//   5. prints exactly "ready\n" on stdout and flushes it: whoever started the server may call
//      from the moment it reads that line.
//   6. waits for SIGTERM or SIGINT. SIGHUP is taken, logged on stderr and otherwise ignored (for
//      now: nothing to reload).
//   7. drains: runs the on_stop() callbacks (servers wake long waits there), detaches the path
//      (new opens fail; the file is removed if this run created it), then revokes the door and
//      waits for the calls in progress (~Service), at most drain_timeout(): those calls finish
//      and their callers get their replies, new calls on connections already open fail with
//      kUnavailable. Returns 0.
//
// Exit statuses (run()'s return value, for main to return): 0 served and stopped cleanly (or
// --help), 1 a failure (the factory threw, the path could not be attached, stdout was closed
// before "ready"), 2 bad usage. Diagnostics go to stderr as `<program>: error: <what>`.
//
// Not thread-safe; one ServerMain per process, used from main(). Later options (owner, mode,
// threads, logging, a lock file, introspection) are added here as more built-in options; the
// factory and option API stay as they are.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace doors {

class ServerBase;
struct InterfaceInfo;

class ServerMain {
 public:
  // Builds the server once the command line is parsed and the path resolved. May read the
  // options' variables and path(), and register on_stop() callbacks or set the drain timeout
  // for what it builds. An exception it throws ends run(): UsageError returns 2, anything else
  // 1, after printing its what().
  using Factory = std::function<std::shared_ptr<ServerBase>(ServerMain&)>;

  // Thrown by a factory (or anything it calls) for an option value that makes no sense, e.g. a
  // required option left out: run() prints it with the usage hint and returns 2.
  class UsageError : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
  };

  // How long run() waits, after a stop signal, for calls in progress by default.
  static constexpr std::chrono::milliseconds kDefaultDrainTimeout{5000};

  // `interface` is the generated FooDoor::kInfo of the interface served (its default path and
  // name); it must outlive the ServerMain. `program` names the binary in messages and the usage;
  // `description` is the one line under the usage.
  ServerMain(const InterfaceInfo& interface, std::string program, std::string description);
  ~ServerMain();
  ServerMain(const ServerMain&) = delete;
  ServerMain& operator=(const ServerMain&) = delete;

  // An option `name` ("--log-dir") taking a value shown as `metavar` ("DIR") in the usage. When
  // given, the value is stored in *value (which must outlive run()); otherwise *value keeps what
  // it held, which the usage shows as the default when not empty. Given twice, the last wins.
  // Adding a name already taken (including --path and --help) is a programming error and throws
  // std::logic_error.
  void add_option(std::string name, std::string metavar, std::string help, std::string* value);
  // An option without a value: *value becomes true when it is given.
  void add_flag(std::string name, std::string help, bool* value);

  // A callback run once when a stop signal arrives, before the door stops taking calls and the
  // calls in progress are waited for. Servers with handlers that wait (long polls) wake them here
  // so that the drain does not wait for them. Runs on run()'s thread; must not throw.
  void on_stop(std::function<void()> callback);

  // The bound of the drain (kDefaultDrainTimeout unless set). When calls are still running once
  // it has passed, run() says so on stderr and ends the process with std::_Exit(status) (after
  // flushing stdio): returning from main would run static destructors under the handlers still
  // running. Their callers get kUnavailable.
  void set_drain_timeout(std::chrono::milliseconds timeout) { drain_timeout_ = timeout; }
  std::chrono::milliseconds drain_timeout() const { return drain_timeout_; }

  // The resolved door path, absolute or as given; empty until run() has parsed the command line.
  const std::string& path() const { return path_; }
  // The directory holding path() ("." for a relative path without one); empty before that too.
  std::string directory() const;
  const std::string& program() const { return program_; }

  // See the file comment. Call once.
  int run(int argc, char** argv, const Factory& make_server);

 private:
  struct Option {
    std::string name;
    std::string metavar;  // empty for a flag
    std::string help;
    std::string* value = nullptr;
    bool* flag = nullptr;
  };
  enum class Parsed { kRun, kHelp, kUsageError };

  Parsed parse(int argc, char** argv);
  void print_usage(std::FILE* out) const;
  void usage_error(const std::string& message) const;
  const Option* find(const std::string& name) const;
  void add(Option option);
  int serve(const Factory& make_server, int signal_fd);

  const InterfaceInfo& interface_;
  std::string program_;
  std::string description_;
  std::vector<Option> options_;
  std::vector<std::function<void()>> on_stop_;
  std::chrono::milliseconds drain_timeout_ = kDefaultDrainTimeout;
  std::string path_option_;
  std::string path_;
};

}  // namespace doors
