// The server main of door server binaries (see server_main.h).
#include "doors/runtime/server_main.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "doors/runtime/door_handle.h"
#include "doors/runtime/error.h"
#include "doors/runtime/interface.h"
#include "doors/runtime/server.h"

namespace doors {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The signals run() takes over for the whole process (see the header).
sigset_t blocked_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGPIPE);
  return set;
}

// The ones read from the signalfd. SIGPIPE stays blocked but is not read: a write to a closed
// pipe then fails with EPIPE, and the pending signal (directed at the writing thread, which a
// signalfd of this thread never sees) is harmless.
sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
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

// Waits on the signalfd for SIGTERM or SIGINT; SIGHUP is logged and otherwise ignored. Returns
// the exit status so far (1 when the signalfd fails, which stops the server all the same).
int wait_for_stop(int signal_fd, const std::string& program) {
  for (;;) {
    signalfd_siginfo si;
    ssize_t n = ::read(signal_fd, &si, sizeof si);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof si)) {
      std::fprintf(stderr, "%s: error: reading the signalfd: %s\n", program.c_str(),
                   n < 0 ? std::strerror(errno) : "short read");
      return kExitFailure;
    }
    if (si.ssi_signo == SIGHUP) {
      // Nothing to reload yet; said on stderr so that an operator (and a test) sees it taken.
      std::fprintf(stderr, "%s: SIGHUP: nothing to reload\n", program.c_str());
      continue;
    }
    return kExitOk;  // SIGTERM or SIGINT
  }
}

// Destroys `service` (which revokes its door and waits for the handlers still running) on a
// thread of its own, waiting at most `timeout`. False when it did not finish in time: the thread
// is left to it and the caller must not return into code that would destroy what the handlers
// use.
bool destroy_within(std::unique_ptr<Service> service, std::chrono::milliseconds timeout) {
  struct Done {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  auto done = std::make_shared<Done>();
  std::thread destroyer([done, service = std::move(service)]() mutable {
    service.reset();
    std::lock_guard lock(done->mu);
    done->done = true;
    done->cv.notify_all();
  });
  std::unique_lock lock(done->mu);
  if (done->cv.wait_for(lock, timeout, [&] { return done->done; })) {
    lock.unlock();
    destroyer.join();
    return true;
  }
  destroyer.detach();
  return false;
}

}  // namespace

ServerMain::ServerMain(const InterfaceInfo& interface, std::string program, std::string description)
    : interface_(interface), program_(std::move(program)), description_(std::move(description)) {
  add({"--path", "PATH", "", &path_option_, nullptr});
}

ServerMain::~ServerMain() = default;

void ServerMain::add(Option option) {
  if (option.name.size() < 3 || option.name.compare(0, 2, "--") != 0 || option.name == "--help" ||
      find(option.name) != nullptr)
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
    std::fprintf(out, "  %-22s %s\n", left.c_str(), help.c_str());
  };
  for (const Option& o : options_) {
    std::string left = o.name + (o.flag != nullptr ? "" : " " + o.metavar);
    std::string help = o.help;
    if (&o == &options_.front()) {
      // --path: say where the door goes by default.
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
    } else if (o.value != nullptr && !o.value->empty()) {
      help += " (default: " + *o.value + ")";
    }
    line(left, help);
  }
  line("--help", "print this help and exit");
  std::fprintf(out,
               "\nPrints \"ready\" on stdout once the door answers calls. SIGTERM or SIGINT\n"
               "stops taking calls, lets calls in progress finish (up to %lld ms), removes the\n"
               "door's file if it made it and exits 0.\n",
               static_cast<long long>(drain_timeout_.count()));
}

void ServerMain::usage_error(const std::string& message) const {
  std::fprintf(stderr, "%s: error: %s\nTry '%s --help' for more information.\n", program_.c_str(),
               message.c_str(), program_.c_str());
}

ServerMain::Parsed ServerMain::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return Parsed::kHelp;
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
    if (o->value == &path_option_ && value->empty()) {
      usage_error("option '--path' needs a non-empty PATH");
      return Parsed::kUsageError;
    }
    *o->value = std::move(*value);
  }
  return Parsed::kRun;
}

int ServerMain::run(int argc, char** argv, const Factory& make_server) {
  if (argc > 0 && argv[0] != nullptr && program_.empty()) program_ = argv[0];
  switch (parse(argc, argv)) {
    case Parsed::kHelp:
      print_usage(stdout);
      return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
    case Parsed::kUsageError:
      return kExitUsage;
    case Parsed::kRun:
      break;
  }

  // Before anything can start a thread: every later thread inherits this mask.
  sigset_t blocked = blocked_signals();
  if (int err = ::pthread_sigmask(SIG_BLOCK, &blocked, nullptr); err != 0) {
    std::fprintf(stderr, "%s: error: pthread_sigmask: %s\n", program_.c_str(), std::strerror(err));
    return kExitFailure;
  }
  sigset_t watched = watched_signals();
  int signal_fd = ::signalfd(-1, &watched, SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::fprintf(stderr, "%s: error: signalfd: %s\n", program_.c_str(), std::strerror(errno));
    return kExitFailure;
  }

  int status = kExitFailure;
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
    status = serve(make_server, signal_fd);
  } catch (const UsageError& e) {
    usage_error(e.what());
    status = kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program_.c_str(), e.what());
    status = kExitFailure;
  }
  ::close(signal_fd);
  return status;
}

int ServerMain::serve(const Factory& make_server, int signal_fd) {
  std::shared_ptr<ServerBase> server = make_server(*this);  // may add on_stop callbacks
  if (server == nullptr) throw std::logic_error("the server factory returned no server");
  auto service = std::make_unique<Service>(std::move(server));
  // Creates the file when missing; detach() removes it again only then, so a file someone else
  // made (with the owner and mode they chose) is left where it was.
  service->attach(path_);

  int status = kExitOk;
  if (std::fputs("ready\n", stdout) == EOF || std::fflush(stdout) == EOF) {
    std::fprintf(stderr, "%s: error: cannot write \"ready\" to stdout: %s\n", program_.c_str(),
                 std::strerror(errno));
    status = kExitFailure;
  } else {
    status = wait_for_stop(signal_fd, program_);
  }

  // Drain: wake what waits in handlers, stop taking calls through the path (and remove the
  // file), then revoke the door and wait for the calls in progress, which ~Service does.
  for (auto& callback : on_stop_) callback();
  service->detach();
  if (!destroy_within(std::move(service), drain_timeout_)) {
    std::fprintf(stderr,
                 "%s: calls still in progress %lld ms after the stop signal; exiting without "
                 "them\n",
                 program_.c_str(), static_cast<long long>(drain_timeout_.count()));
    // Returning from main would run static destructors under the handlers still running.
    std::fflush(nullptr);
    std::_Exit(status);
  }
  return status;
}

}  // namespace doors
