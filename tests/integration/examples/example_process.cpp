#include "example_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

extern char** environ;

namespace doors::test {
namespace {

// The child's environment: ours with `changes` applied.
std::vector<std::string> make_env(const EnvChanges& changes) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string name(entry.substr(0, entry.find('=')));
    if (changes.count(name) == 0) env.emplace_back(entry);
  }
  for (const auto& [name, value] : changes)
    if (value != kUnset) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(pid_t parent, int in, int out, int err, const char* binary,
                             char* const* argv, char* const* envp) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(kChildSetupFailed);
  // Start the binary as a shell would: no blocked signals, default dispositions.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(kChildSetupFailed);
  // Nothing else of the test process reaches the binary: an inherited door descriptor would be
  // a reference that the servers' unreferenced notifications count.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(binary, argv, envp);
  const char msg[] = "exec failed\n";
  ssize_t ignored = ::write(2, msg, sizeof msg - 1);
  (void)ignored;
  ::_exit(127);
}

}  // namespace

ExampleProcess::ExampleProcess(std::string binary, std::vector<std::string> args,
                               const EnvChanges& env, std::string stdin_data)
    : stdin_data_(std::move(stdin_data)) {
  std::vector<std::string> argv_strings;
  argv_strings.push_back(binary);
  for (auto& a : args) argv_strings.push_back(std::move(a));
  std::vector<char*> argv = pointers(argv_strings);
  std::vector<std::string> env_strings = make_env(env);
  std::vector<char*> envp = pointers(env_strings);

  Pipe out = Pipe::make(), err = Pipe::make(), in = Pipe::make(), stop = Pipe::make();
  pid_t parent = ::getpid();
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return;
  }
  if (pid_ == 0)
    exec_child(parent, in.read_end.get(), out.write_end.get(), err.write_end.get(), binary.c_str(),
               argv.data(), envp.data());
  out_ = std::move(out.read_end);
  err_ = std::move(err.read_end);
  in_ = std::move(in.write_end);
  stop_read_ = std::move(stop.read_end);
  stop_write_ = std::move(stop.write_end);
  if (stdin_data_.empty())
    in_.reset();  // the child reads end of file at once
  else
    ::fcntl(in_.get(), F_SETFL, O_NONBLOCK);  // the reader thread must never block on it
  // The write ends of the child's pipes close with `out`, `err`, `in` here, so the reader sees
  // end of file once the child (and anything it started) is gone.
  reader_ = std::thread([this] { read_loop(); });
}

void ExampleProcess::read_loop() {
  size_t stdin_done = 0;
  char buf[65536];
  for (;;) {
    pollfd fds[4];
    int n = 0;
    int i_out = -1, i_err = -1, i_in = -1;
    if (out_.valid()) fds[i_out = n++] = {out_.get(), POLLIN, 0};
    if (err_.valid()) fds[i_err = n++] = {err_.get(), POLLIN, 0};
    if (in_.valid()) fds[i_in = n++] = {in_.get(), POLLOUT, 0};
    int i_stop = n++;
    fds[i_stop] = {stop_read_.get(), POLLIN, 0};
    if (i_out < 0 && i_err < 0) break;  // the child closed both: nothing more will come
    if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[i_stop].revents != 0) break;
    for (int which : {i_out, i_err}) {
      if (which < 0 || fds[which].revents == 0) continue;
      UniqueFd& fd = which == i_out ? out_ : err_;
      ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::lock_guard lock(mu_);
      if (got <= 0) {
        fd.reset();
        (which == i_out ? out_closed_ : err_closed_) = true;
      } else {
        (which == i_out ? out_text_ : err_text_).append(buf, static_cast<size_t>(got));
      }
      cv_.notify_all();
    }
    if (i_in >= 0 && fds[i_in].revents != 0) {
      ssize_t put =
          ::write(in_.get(), stdin_data_.data() + stdin_done, stdin_data_.size() - stdin_done);
      if (put > 0) stdin_done += static_cast<size_t>(put);
      if ((put < 0 && errno != EINTR && errno != EAGAIN) || stdin_done == stdin_data_.size())
        in_.reset();  // all written, or the child stopped reading (EPIPE)
    }
  }
  std::lock_guard lock(mu_);
  out_closed_ = err_closed_ = true;
  cv_.notify_all();
}

void ExampleProcess::join_reader() {
  if (!reader_.joinable()) return;
  char c = 1;
  ssize_t ignored = ::write(stop_write_.get(), &c, 1);
  (void)ignored;
  reader_.join();
}

ExampleProcess::~ExampleProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    status_ = wait_child(pid_, Deadline::standard());
    reaped_ = true;
  }
  join_reader();
  if (::testing::Test::HasFailure() && pid_ > 0 && !err_text_.empty())
    std::fprintf(stderr, "--- stderr of %d ---\n%s--- end of stderr of %d ---\n",
                 static_cast<int>(pid_), err_text_.c_str(), static_cast<int>(pid_));
}

std::string ExampleProcess::out() const {
  std::lock_guard lock(mu_);
  return out_text_;
}

std::string ExampleProcess::err() const {
  std::lock_guard lock(mu_);
  return err_text_;
}

::testing::AssertionResult ExampleProcess::wait_ready(Deadline deadline) {
  if (pid_ <= 0) return ::testing::AssertionFailure() << "the process was never started";
  std::unique_lock lock(mu_);
  bool got_line = cv_.wait_until(lock, deadline.when(), [&] {
    return out_text_.find('\n') != std::string::npos || out_closed_;
  });
  if (got_line && out_text_.compare(0, 6, "ready\n") == 0) return ::testing::AssertionSuccess();
  std::string out = out_text_, err = err_text_;
  lock.unlock();
  auto failure = ::testing::AssertionFailure();
  if (!got_line) {
    failure << "pid " << pid_ << " printed no line within the deadline";
  } else if (out.find('\n') != std::string::npos) {
    failure << "pid " << pid_ << " printed \"" << out.substr(0, out.find('\n'))
            << "\" instead of \"ready\"";
  } else {
    ChildStatus s = wait_exit(Deadline::in(std::chrono::seconds(2)));
    failure << "pid " << pid_ << " closed stdout without printing \"ready\"; it " << s.describe();
  }
  return failure << "; stderr: " << err;
}

::testing::AssertionResult ExampleProcess::wait_for_stderr(std::string_view text,
                                                           Deadline deadline) {
  std::unique_lock lock(mu_);
  if (cv_.wait_until(lock, deadline.when(),
                     [&] { return err_text_.find(text) != std::string::npos || err_closed_; }) &&
      err_text_.find(text) != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "pid " << pid_ << " did not log \"" << text << "\""
         << (err_closed_ ? " (stderr closed)" : "") << "; stderr: " << err_text_;
}

ChildStatus ExampleProcess::signal_and_reap(int sig, Deadline deadline) {
  if (reaped_ || pid_ <= 0) return status_;
  ::kill(pid_, sig);
  return wait_exit(deadline);
}

ChildStatus ExampleProcess::wait_exit(Deadline deadline) {
  if (reaped_ || pid_ <= 0) return status_;
  status_ = wait_child(pid_, deadline);
  if (!status_.reaped) {
    ::kill(pid_, SIGKILL);
    status_ = wait_child(pid_, Deadline::standard());
    status_.timed_out = true;
  }
  reaped_ = status_.reaped;
  // Everything it wrote is in the pipes now; let the reader take it (both ends close with the
  // child), bounded by the deadline in case something it started keeps them open.
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, Deadline::standard().when(), [&] { return out_closed_ && err_closed_; });
  return status_;
}

ProgramResult run_program(const std::string& binary, const std::vector<std::string>& args,
                          const EnvChanges& env, std::string stdin_data, Deadline deadline) {
  ExampleProcess p(binary, args, env, std::move(stdin_data));
  ProgramResult r;
  r.status = p.wait_exit(deadline);
  r.out = p.out();
  r.err = p.err();
  return r;
}

ExampleServer::ExampleServer(const std::string& binary, const std::string& path,
                             std::vector<std::string> extra_args, const EnvChanges& env)
    : path_(path),
      process_(
          binary,
          [&] {
            std::vector<std::string> args{"--path", path};
            for (auto& a : extra_args) args.push_back(std::move(a));
            return args;
          }(),
          env) {
  auto ready = process_.wait_ready();
  ready_ = static_cast<bool>(ready);
  if (!ready_) ADD_FAILURE() << binary << ": " << ready.message();
  if (ready_ && leak_check_enabled()) {
    ready_snapshot_ = take_snapshot(process_.pid());
    check_leaks_ = ready_snapshot_.complete;
  }
}

void ExampleServer::skip_leak_check(std::string_view reason) {
  check_leaks_ = false;
  std::printf("[ LEAK CHECK ] skipped for server %d: %.*s\n", static_cast<int>(process_.pid()),
              static_cast<int>(reason.size()), reason.data());
}

ChildStatus ExampleServer::stop(bool keep_file, Deadline deadline) {
  if (stopped_) return process_.status();
  stopped_ = true;
  if (check_leaks_)
    check_server_leaks(ready_snapshot_,
                       "server " + std::to_string(process_.pid()) + " (" + path_ + ")");
  ChildStatus s = process_.signal_and_reap(SIGTERM, deadline);
  EXPECT_TRUE(s.exited_with(0)) << "server " << process_.pid() << " " << s.describe()
                                << "; stderr: " << process_.err();
  struct stat st;
  bool exists = ::lstat(path_.c_str(), &st) == 0;
  if (keep_file)
    EXPECT_TRUE(exists) << path_ << ": the file the server did not create was removed";
  else
    EXPECT_FALSE(exists) << path_ << " is still there after the server stopped";
  return s;
}

ExampleServer::~ExampleServer() {
  // A server that never got ready already failed the test; ExampleProcess kills it.
  if (ready_ && !stopped_) stop();
}

const char* Binaries::calculator_server() { return DOORS_CALCULATOR_SERVER; }
const char* Binaries::calculator_client() { return DOORS_CALCULATOR_CLIENT; }
const char* Binaries::kv_server() { return DOORS_KV_SERVER; }
const char* Binaries::kv_client() { return DOORS_KV_CLIENT; }
const char* Binaries::fd_server() { return DOORS_FD_SERVER; }
const char* Binaries::fd_client() { return DOORS_FD_CLIENT; }

}  // namespace doors::test
