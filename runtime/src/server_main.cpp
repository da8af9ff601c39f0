// The server main of door server binaries (see server_main.h).
#include "doors/runtime/server_main.h"

#include <door.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "doors/runtime/door_handle.h"
#include "doors/runtime/error.h"
#include "doors/runtime/interface.h"
#include "doors/runtime/introspection.h"
#include "doors/runtime/log.h"
#include "doors/runtime/server.h"
#include "instance_lock.h"
#include "sd_notify.h"
#include "server_options.h"
#include "server_pool.h"

namespace doors {

// The built-in options, checked.
struct ServerMain::Settings {
  std::optional<mode_t> mode;  // as given
  std::optional<uid_t> owner;
  std::optional<gid_t> group;
  detail::PoolBounds threads;
  std::chrono::milliseconds drain_timeout{0};
  LogLevel log_level = LogLevel::kInfo;
  std::string log_file;
};

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The signals run() takes over for the whole process (see the header).
sigset_t blocked_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&set, sig);
  return set;
}

// The ones read from the signalfd. SIGPIPE stays blocked but is not read: a write to a closed
// pipe then fails with EPIPE, and the pending signal (directed at the writing thread, which a
// signalfd of this thread never sees) is harmless.
sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  return set;
}

// mkdir -p of `dir`, mode 0755 for what it creates. Throws Error with the failing directory.
void make_directories(const std::string& dir) {
  if (dir.empty()) return;
  for (size_t pos = 1;; ++pos) {
    pos = dir.find('/', pos);
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      int err = errno;
      throw Error(Code::kFailedPrecondition,
                  "cannot create directory " + prefix + ": " + std::strerror(err));
    }
    if (pos == std::string::npos) break;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(Code::kFailedPrecondition, dir + " is not a directory");
}

std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The door's file as this server uses it.
struct DoorFile {
  bool created = false;  // ours to remove at exit
  dev_t dev = 0;
  ino_t ino = 0;
};

// Makes the door's file, or adopts the regular file already there: the one a crashed server of
// this path made (its lock file says so) is treated as made by us. Mode, owner and group are set
// on a file we make; on someone else's only when given. Never follows a symbolic link.
DoorFile prepare_door_file(const std::string& path, std::optional<mode_t> mode,
                           std::optional<uid_t> owner, std::optional<gid_t> group,
                           const std::optional<detail::InstanceLock::Created>& previous) {
  DoorFile file;
  OwnedFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.valid()) {
    file.created = true;
  } else if (errno == EEXIST) {
    fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  }
  if (!fd.valid()) {
    int err = errno;
    throw Error::from_errno(code_for_errno(err), err,
                            err == ELOOP ? path + " is a symbolic link" : "cannot create " + path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(Code::kFailedPrecondition, path + " exists and is not a regular file");
  file.dev = st.st_dev;
  file.ino = st.st_ino;
  if (!file.created && previous && previous->dev == st.st_dev && previous->ino == st.st_ino) {
    file.created = true;  // left by a server of this path that died without removing it
  }
  bool ours = file.created;
  if (!mode && ours) mode = group ? 0660 : 0600;
  auto fail = [&](const char* what) {
    int err = errno;
    if (file.created) ::unlink(path.c_str());
    throw Error::from_errno(code_for_errno(err), err,
                            std::string("cannot set the ") + what + " of " + path);
  };
  if ((owner || group) && ::fchown(fd.get(), owner.value_or(static_cast<uid_t>(-1)),
                                   group.value_or(static_cast<gid_t>(-1))) != 0) {
    fail(owner ? "owner" : "group");
  }
  if (mode && ::fchmod(fd.get(), *mode) != 0) fail("mode");  // exactly, whatever the umask
  return file;
}

// Removes the door file at exit, unless it is no longer the one this server made.
void remove_door_file(const std::string& path, const DoorFile& file) {
  struct stat st;
  if (file.created && ::lstat(path.c_str(), &st) == 0 && st.st_dev == file.dev &&
      st.st_ino == file.ino) {
    ::unlink(path.c_str());
  }
}

// Who serves the door attached at path, for the message when attaching fails: " (served by pid
// N)", or nothing when it cannot be told.
std::string attached_server(const std::string& path) {
  OwnedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  door_info_t info{};
  if (!fd.valid() || ::door_info(fd.get(), &info) != 0 || info.di_target <= 0) return "";
  return " (served by pid " + std::to_string(info.di_target) + ")";
}

void notify_systemd(std::string_view state) {
  if (!detail::sd_notify(state)) {
    DOORS_LOG_WARNING("cannot notify systemd ($NOTIFY_SOCKET): %s", std::strerror(errno));
  }
}

enum class Stop { kSignal, kFailure };

// Serves signals until SIGTERM or SIGINT: SIGHUP reopens the log.
Stop wait_for_stop(int signal_fd, int* signo) {
  for (;;) {
    signalfd_siginfo si;
    ssize_t n = ::read(signal_fd, &si, sizeof si);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof si)) {
      DOORS_LOG_ERROR("reading the signalfd: %s", n < 0 ? std::strerror(errno) : "short read");
      return Stop::kFailure;
    }
    if (si.ssi_signo == SIGHUP) {
      if (reopen_log()) DOORS_LOG_INFO("SIGHUP: reopened the log");
      continue;
    }
    *signo = static_cast<int>(si.ssi_signo);
    return Stop::kSignal;
  }
}

enum class Drained { kDone, kTimedOut, kSecondSignal };

// Destroys `service` (which revokes its door and waits for the handlers still running) on a
// thread of its own, waiting at most `timeout` and watching for a second stop signal meanwhile.
// Unless kDone, the thread is left to it and the caller must not return into code that would
// destroy what the handlers use.
Drained destroy_within(std::unique_ptr<Service> service, std::chrono::milliseconds timeout,
                       int signal_fd) {
  OwnedFd done(::eventfd(0, EFD_CLOEXEC));
  if (!done.valid()) {
    service.reset();  // cannot watch: wait as long as it takes
    return Drained::kDone;
  }
  std::thread destroyer([fd = done.get(), service = std::move(service)]() mutable {
    service.reset();
    uint64_t one = 1;
    while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
  });
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    pollfd fds[2] = {{done.get(), POLLIN, 0}, {signal_fd, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      destroyer.join();
      return Drained::kDone;
    }
    if (n > 0 && (fds[1].revents & POLLIN)) {
      signalfd_siginfo si;
      if (::read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGHUP) {
          reopen_log();
          continue;
        }
        destroyer.detach();
        done.release();  // the destroyer may still write to it
        return Drained::kSecondSignal;
      }
    }
    if (n == 0) {
      destroyer.detach();
      done.release();
      return Drained::kTimedOut;
    }
  }
}

// Ends the process now: returning from main would run static destructors under the handlers
// still running.
[[noreturn]] void exit_now(int status) {
  std::fflush(nullptr);
  std::_Exit(status);
}

}  // namespace

ServerMain::ServerMain(const InterfaceInfo& interface, std::string program, std::string description)
    : interface_(interface),
      program_(std::move(program)),
      description_(std::move(description)),
      version_(runtime_version()) {
  auto builtin = [&](const char* name, const char* metavar, const char* help, std::string* v) {
    add({name, metavar, help, v, nullptr, true});
  };
  builtin("--path", "PATH", "", &path_option_);
  builtin("--mode", "MODE",
          "permissions of the door's file, octal (default: 0600, or 0660 with --group)",
          &mode_option_);
  builtin("--owner", "USER", "owner of the door's file (name or uid)", &owner_option_);
  builtin("--group", "GROUP", "group of the door's file (name or gid)", &group_option_);
  builtin("--threads", "MIN[:MAX]", "server threads: MIN at once, at most MAX (default: 2:128)",
          &threads_option_);
  builtin("--drain-timeout", "TIME", "", &drain_option_);
  builtin("--log-level", "LEVEL", "error, warning, info or debug (default: info)",
          &log_level_option_);
  builtin("--log-file", "FILE", "append the log to FILE instead of stderr (SIGHUP reopens it)",
          &log_file_option_);
}

ServerMain::~ServerMain() = default;

void ServerMain::add(Option option) {
  if (option.name.size() < 3 || option.name.compare(0, 2, "--") != 0 || option.name == "--help" ||
      option.name == "--version" || find(option.name) != nullptr)
    throw std::logic_error("ServerMain: bad or duplicate option name " + option.name);
  options_.push_back(std::move(option));
}

void ServerMain::add_option(std::string name, std::string metavar, std::string help,
                            std::string* value) {
  if (value == nullptr) throw std::logic_error("ServerMain::add_option: null value");
  add({std::move(name), std::move(metavar), std::move(help), value, nullptr});
}

void ServerMain::add_flag(std::string name, std::string help, bool* value) {
  if (value == nullptr) throw std::logic_error("ServerMain::add_flag: null value");
  add({std::move(name), "", std::move(help), nullptr, value});
}

void ServerMain::on_stop(std::function<void()> callback) {
  on_stop_.push_back(std::move(callback));
}

std::string ServerMain::directory() const { return path_.empty() ? "" : parent_of(path_); }

const ServerMain::Option* ServerMain::find(const std::string& name) const {
  for (const Option& o : options_)
    if (o.name == name) return &o;
  return nullptr;
}

void ServerMain::print_usage(std::FILE* out) const {
  std::fprintf(out, "usage: %s [OPTIONS]\n%s\n\noptions:\n", program_.c_str(),
               description_.c_str());
  auto line = [&](const std::string& left, const std::string& help) {
    if (left.size() <= 22) {
      std::fprintf(out, "  %-22s %s\n", left.c_str(), help.c_str());
    } else {
      std::fprintf(out, "  %s\n  %-22s %s\n", left.c_str(), "", help.c_str());
    }
  };
  for (const Option& o : options_) {
    std::string left = o.name + (o.flag != nullptr ? "" : " " + o.metavar);
    std::string help = o.help;
    if (o.value == &path_option_) {
      if (interface_.default_path != nullptr) {
        std::string resolved;
        try {
          resolved = resolve_door_path(interface_.default_path);
        } catch (const std::exception& e) {
          resolved = e.what();
        }
        help = "where to attach the door (default: " + resolved + ")";
      } else {
        help = std::string("where to attach the door (required: ") + interface_.name +
               " has no default path)";
      }
    } else if (o.value == &drain_option_) {
      help = "how long a stop waits for calls in progress, e.g. 5s, 500ms (default: " +
             std::to_string(drain_timeout_.count()) + "ms)";
    } else if (!o.builtin && o.value != nullptr && !o.value->empty()) {
      help += " (default: " + *o.value + ")";
    }
    line(left, help);
  }
  line("--version", "print the version and exit");
  line("--help", "print this help and exit");
  std::fprintf(out,
               "\n"
               "Prints \"ready\" on stdout once the door answers calls (and tells systemd, under\n"
               "Type=notify). One server per path: PATH.lock is held while it runs. SIGHUP\n"
               "reopens the log file. SIGTERM or SIGINT stops taking calls, lets calls in\n"
               "progress finish (up to the drain timeout), removes the door's file if it made it\n"
               "and exits 0; a second one exits at once with status 1. Exit status 1 also means\n"
               "the server could not start (another one serves PATH, PATH cannot be attached),\n"
               "and 2 bad usage.\n");
}

void ServerMain::usage_error(const std::string& message) const {
  std::fprintf(stderr, "%s: error: %s\nTry '%s --help' for more information.\n", program_.c_str(),
               message.c_str(), program_.c_str());
}

ServerMain::Parsed ServerMain::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return Parsed::kHelp;
    if (arg == "--version") return Parsed::kVersion;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      usage_error("unexpected argument '" + arg + "'");
      return Parsed::kUsageError;
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const Option* o = find(name);
    if (o == nullptr) {
      usage_error("unknown option '" + name + "'");
      return Parsed::kUsageError;
    }
    if (o->flag != nullptr) {
      if (value) {
        usage_error("option '" + name + "' takes no value");
        return Parsed::kUsageError;
      }
      *o->flag = true;
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) {
        usage_error("option '" + name + "' needs a value (" + o->metavar + ")");
        return Parsed::kUsageError;
      }
      value = argv[++i];
    }
    if (o->builtin && value->empty()) {
      usage_error("option '" + name + "' needs a non-empty " + o->metavar);
      return Parsed::kUsageError;
    }
    *o->value = std::move(*value);
  }
  return Parsed::kRun;
}

std::optional<ServerMain::Settings> ServerMain::check_builtins() {
  Settings s;
  auto bad = [&](const std::string& message) {
    usage_error(message);
    return std::nullopt;
  };
  std::string error;
  if (!mode_option_.empty() && !(s.mode = detail::parse_mode(mode_option_)))
    return bad("--mode: '" + mode_option_ + "' is not an octal mode from 0 to 0777");
  if (!owner_option_.empty() && !(s.owner = detail::lookup_user(owner_option_, &error)))
    return bad("--owner: " + error);
  if (!group_option_.empty() && !(s.group = detail::lookup_group(group_option_, &error)))
    return bad("--group: " + error);
  if (!threads_option_.empty()) {
    auto t = detail::parse_threads(threads_option_);
    if (!t) {
      return bad(
          "--threads: '" + threads_option_ +
          "' is not MIN:MAX or N with 1 <= MIN <= MAX <= " + std::to_string(detail::kMaxThreads));
    }
    s.threads = *t;
  }
  s.drain_timeout = drain_timeout_;
  if (!drain_option_.empty()) {
    auto d = detail::parse_duration(drain_option_);
    if (!d)
      return bad("--drain-timeout: '" + drain_option_ + "' is not a time such as 5s or 500ms");
    s.drain_timeout = *d;
  }
  if (!log_level_option_.empty()) {
    auto l = parse_log_level(log_level_option_);
    if (!l)
      return bad("--log-level: '" + log_level_option_ + "' is not error, warning, info or debug");
    s.log_level = *l;
  }
  s.log_file = log_file_option_;
  return s;
}

int ServerMain::run(int argc, char** argv, const Factory& make_server) {
  if (program_.empty() && argc > 0 && argv[0] != nullptr) {
    program_ = argv[0];
    if (size_t slash = program_.rfind('/'); slash != std::string::npos)
      program_.erase(0, slash + 1);
  }
  set_log_program(program_);
  switch (parse(argc, argv)) {
    case Parsed::kHelp:
      print_usage(stdout);
      return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
    case Parsed::kVersion:
      std::printf("%s %s (doors %s)\n", program_.c_str(), version_.c_str(), runtime_version());
      return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
    case Parsed::kUsageError:
      return kExitUsage;
    case Parsed::kRun:
      break;
  }
  std::optional<Settings> settings = check_builtins();
  if (!settings) return kExitUsage;

  set_log_level(settings->log_level);
  if (!settings->log_file.empty()) {
    try {
      set_log_file(settings->log_file);
    } catch (const std::exception& e) {
      DOORS_LOG_ERROR("%s", e.what());
      return kExitFailure;
    }
  }

  // Before anything can start a thread: every later thread inherits this mask.
  sigset_t blocked = blocked_signals();
  if (int err = ::pthread_sigmask(SIG_BLOCK, &blocked, nullptr); err != 0) {
    DOORS_LOG_ERROR("pthread_sigmask: %s", std::strerror(err));
    return kExitFailure;
  }
  sigset_t watched = watched_signals();
  OwnedFd signal_fd(::signalfd(-1, &watched, SFD_CLOEXEC));
  if (!signal_fd.valid()) {
    DOORS_LOG_ERROR("signalfd: %s", std::strerror(errno));
    return kExitFailure;
  }

  try {
    if (!path_option_.empty()) {
      path_ = resolve_door_path(path_option_);
    } else if (interface_.default_path != nullptr) {
      path_ = resolve_door_path(interface_.default_path);
    } else {
      throw UsageError(std::string("--path is required: ") + interface_.name +
                       " has no default path");
    }
    make_directories(parent_of(path_));
    return serve(*settings, make_server, signal_fd.get());
  } catch (const UsageError& e) {
    usage_error(e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    DOORS_LOG_ERROR("%s", e.what());
    return kExitFailure;
  }
}

int ServerMain::serve(const Settings& settings, const Factory& make_server, int signal_fd) {
  pid_t holder = 0;
  std::optional<detail::InstanceLock> lock =
      detail::InstanceLock::acquire(path_ + ".lock", &holder);
  if (!lock) {
    std::string who = holder > 0 ? "pid " + std::to_string(holder) : "a process";
    DOORS_LOG_ERROR("another server (%s) is serving %s; stop it first, or use another --path",
                    who.c_str(), path_.c_str());
    return kExitFailure;
  }

  // Before the first door exists: door_create starts the pool's first thread through it.
  detail::ServerPool::install(settings.threads);
  set_pool_bounds(settings.threads.min, settings.threads.max);
  set_server_identity(program_, version_);
  set_serving_status(introspection::ServingStatus::SERVING);

  std::shared_ptr<ServerBase> server = make_server(*this);  // may add on_stop callbacks
  if (server == nullptr) throw std::logic_error("the server factory returned no server");
  auto service = std::make_unique<Service>(std::move(server));
  DoorFile file = prepare_door_file(path_, settings.mode, settings.owner, settings.group,
                                    lock->previous_created());
  try {
    // Recorded before anything else can fail or be killed: a server taking over after a crash
    // must know the file is a server's to remove.
    lock->record(file.created ? std::optional(detail::InstanceLock::Created{file.dev, file.ino})
                              : std::nullopt);
    service->attach(path_);
  } catch (const Error& e) {
    std::string who = e.code() == Code::kAlreadyExists ? attached_server(path_) : "";
    remove_door_file(path_, file);
    if (!who.empty()) {
      throw Error(e.code(), path_ + " already has a door attached" + who);
    }
    throw;
  }
  detail::ServerPool::start(service->fd(), (interface_.door_attributes & DOOR_PRIVATE) != 0);
  DOORS_LOG_INFO("serving %s on %s (pid %d, threads %u:%u)", interface_.name, path_.c_str(),
                 static_cast<int>(::getpid()), settings.threads.min, settings.threads.max);

  int status = kExitOk;
  int signo = 0;
  if (std::fputs("ready\n", stdout) == EOF || std::fflush(stdout) == EOF) {
    DOORS_LOG_ERROR("cannot write \"ready\" to stdout: %s", std::strerror(errno));
    status = kExitFailure;
  } else {
    notify_systemd("READY=1\nSTATUS=serving " + path_ + "\nMAINPID=" + std::to_string(::getpid()));
    if (wait_for_stop(signal_fd, &signo) == Stop::kFailure) status = kExitFailure;
  }

  // Drain: say so, wake what waits in handlers, stop taking calls through the path (and remove
  // the file), then revoke the door and wait for the calls in progress, which ~Service does.
  set_serving_status(introspection::ServingStatus::DRAINING);
  notify_systemd("STOPPING=1\nSTATUS=draining");
  std::string why = signo != 0 ? std::string("SIG") + sigabbrev_np(signo) : "failure";
  DOORS_LOG_INFO("%s: stopping; calls in progress have %lld ms to finish", why.c_str(),
                 static_cast<long long>(settings.drain_timeout.count()));
  for (auto& callback : on_stop_) callback();
  service->detach();
  remove_door_file(path_, file);
  detail::ServerPool::stop();
  Drained drained = destroy_within(std::move(service), settings.drain_timeout, signal_fd);
  lock->release();
  switch (drained) {
    case Drained::kDone:
      DOORS_LOG_INFO("stopped");
      return status;
    case Drained::kTimedOut:
      DOORS_LOG_WARNING(
          "calls still in progress %lld ms after the stop signal; exiting without them",
          static_cast<long long>(settings.drain_timeout.count()));
      exit_now(status);
    case Drained::kSecondSignal:
      DOORS_LOG_WARNING("second stop signal: exiting without waiting for calls in progress");
      exit_now(kExitFailure);
  }
  return status;
}

}  // namespace doors
