// The main() of a door server binary: command line, logging, one instance per path, the door's
// file, the server thread pool, signals, readiness and a graceful drain.
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
// Built-in options (each `--name VALUE` or `--name=VALUE`; docs/running-a-door-service.md):
//   --path PATH            where the door is attached. Default: the interface's $Door.path under
//                          $XDG_RUNTIME_DIR/doors/ (non-root with XDG_RUNTIME_DIR set) or
//                          /run/doors/ (doors::resolve_door_path); missing directories are made
//                          (0755).
//   --mode MODE            permissions of the door's file, octal, set exactly (never the umask).
//                          Default 0600, or 0660 when --group is given. Whoever can open the file
//                          for reading can call the door.
//   --owner USER, --group GROUP   owner and group of the door's file (names or numbers).
//   --threads MIN[:MAX]    server threads: MIN started at once, at most MAX (default 2:128).
//   --drain-timeout TIME   how long a stop waits for calls in progress: "5s", "500ms", or
//                          milliseconds (default 5s, or set_drain_timeout()).
//   --log-level LEVEL      error, warning, info (default) or debug.
//   --log-file FILE        append the log to FILE instead of stderr; SIGHUP reopens it.
//   --version, --help      print and exit 0.
//
// run() does, in this order:
//   1. parses the command line. Bad usage prints a message and a hint on stderr and returns 2.
//   2. sets up the log, then blocks SIGTERM, SIGINT, SIGHUP and SIGPIPE before any thread
//      exists: every thread inherits the mask, so no handler ever interrupts a server procedure
//      and a write to a closed pipe fails with EPIPE instead of killing the process. The other
//      three are read from a signalfd by run()'s thread.
//   3. takes `<path>.lock` with flock(2): when another server holds it, says so with its pid and
//      returns 1. The kernel drops the lock of a dead server (SIGKILL included), so a crashed
//      server's path is taken over; the door file it left is removed at exit when it had made it.
//   4. installs the thread pool (door_server_create), calls the factory, makes the door's file
//      (mode, owner, group) or adopts the existing regular file (setting mode, owner and group
//      only when given), and attaches the door (fattach(3C)).
//   5. prints exactly "ready\n" on stdout and flushes it (whoever started the server may call from
//      the moment it reads that line) and tells systemd READY=1 when $NOTIFY_SOCKET is set.
//   6. serves. SIGHUP reopens the log file. SIGTERM or SIGINT starts the drain: health says
//      draining, the on_stop() callbacks run (servers wake long waits there), the path is
//      detached and its file removed if this server made it (new opens fail), the door is revoked
//      (new calls on open descriptors fail with kUnavailable, calls in progress go on) and run()
//      waits for the calls in progress, at most the drain timeout. A second SIGTERM or SIGINT
//      during the drain ends the process at once (status 1); at the timeout the calls still
//      running are abandoned (their callers get kUnavailable) and the status stays 0.
//
// Exit statuses: 0 served and stopped (or --help, --version); 1 a failure (another instance, the
// factory threw, the path could not be attached, stdout closed before "ready") or a second stop
// signal; 2 bad usage. Diagnostics are log lines (`<program>: error: <what>`).
//
// Not thread-safe; one ServerMain per process, used from main().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace doors {

class ServerBase;
struct InterfaceInfo;

class ServerMain {
 public:
  // Builds the server once the command line is parsed, the path resolved and its lock taken. May
  // read the options' variables and path(), and register on_stop() callbacks. An exception it
  // throws ends run(): UsageError returns 2, anything else 1, after logging its what().
  using Factory = std::function<std::shared_ptr<ServerBase>(ServerMain&)>;

  // Thrown by a factory (or anything it calls) for an option value that makes no sense, e.g. a
  // required option left out: run() prints it with the usage hint and returns 2.
  class UsageError : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
  };

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
  // A name already taken (the built-in ones included) is a programming error: std::logic_error.
  void add_option(std::string name, std::string metavar, std::string help, std::string* value);
  // An option without a value: *value becomes true when it is given.
  void add_flag(std::string name, std::string help, bool* value);

  // A callback run once when a stop signal arrives, before the door stops taking calls and the
  // calls in progress are waited for. Runs on run()'s thread; must not throw.
  void on_stop(std::function<void()> callback);

  // The drain timeout when --drain-timeout is not given (kDefaultDrainTimeout unless set).
  void set_drain_timeout(std::chrono::milliseconds timeout) { drain_timeout_ = timeout; }
  std::chrono::milliseconds drain_timeout() const { return drain_timeout_; }

  // The binary's version for --version and health() (default: the runtime's version).
  void set_version(std::string version) { version_ = std::move(version); }

  // The resolved door path; empty until run() has parsed the command line.
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
    bool builtin = false;
  };
  struct Settings;  // the built-in options, checked
  enum class Parsed { kRun, kHelp, kVersion, kUsageError };

  Parsed parse(int argc, char** argv);
  std::optional<Settings> check_builtins();
  void print_usage(std::FILE* out) const;
  void usage_error(const std::string& message) const;
  const Option* find(const std::string& name) const;
  void add(Option option);
  int serve(const Settings& settings, const Factory& make_server, int signal_fd);

  const InterfaceInfo& interface_;
  std::string program_;
  std::string description_;
  std::string version_;
  std::vector<Option> options_;
  std::vector<std::function<void()>> on_stop_;
  std::chrono::milliseconds drain_timeout_ = kDefaultDrainTimeout;
  // The built-in options' values as given.
  std::string path_option_, mode_option_, owner_option_, group_option_, threads_option_,
      drain_option_, log_level_option_, log_file_option_;
  std::string path_;
};

}  // namespace doors
