// calculator_server: serves the Calculator interface of calculator.capnp.
//
//   calculator_server [--path PATH] [--log-dir DIR]
//
// doors::ServerMain does the daemon work (options, signals, attaching, "ready", drain on
// SIGTERM); this file is only the interface's handlers. See README.md.
#include <doors/runtime.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "calculator.door.h"

namespace {

using doors::Code;
using doors::Error;

constexpr size_t kMaxLogName = 64;

// A key as it may appear in an error message: at most 64 bytes, unprintable bytes as '?'.
std::string printable(std::string_view key) {
  std::string out(key.substr(0, 64));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (key.size() > 64) out += "...";
  return out;
}

// A session: a door of its own (export_door), one map per session. The runtime destroys the
// object when the last reference to its door is closed, which the destructor reports.
class Session final : public calc::SessionDoor::Server {
 public:
  explicit Session(uint64_t number) : number_(number) {
    std::fprintf(stderr, "calculator_server: session %llu opened\n",
                 static_cast<unsigned long long>(number_));
  }
  ~Session() override {
    std::fprintf(stderr, "calculator_server: session %llu closed\n",
                 static_cast<unsigned long long>(number_));
  }

  void put(PutContext& ctx) override {
    auto p = ctx.params();
    auto value = p.getValue();
    std::lock_guard lock(mu_);
    values_[std::string(p.getKey().cStr(), p.getKey().size())].assign(value.begin(), value.end());
  }

  void get(GetContext& ctx) override {
    auto text = ctx.params().getKey();
    std::string key(text.cStr(), text.size());
    std::lock_guard lock(mu_);
    auto it = values_.find(key);
    if (it == values_.end()) throw Error(Code::kNotFound, "no value for '" + printable(key) + "'");
    ctx.results().setValue(kj::arrayPtr(it->second.data(), it->second.size()));
  }

 private:
  const uint64_t number_;
  std::mutex mu_;  // handlers run concurrently, one thread per call in progress
  std::map<std::string, std::vector<kj::byte>> values_;
};

class Calculator final : public calc::CalculatorDoor::Server {
 public:
  // `log_dir` is an open descriptor of the directory openLog creates files in (owned).
  explicit Calculator(int log_dir) : log_dir_(log_dir) {}
  ~Calculator() override { ::close(log_dir_); }

  void add(AddContext& ctx) override {
    auto p = ctx.params();
    int64_t sum;
    if (__builtin_add_overflow(p.getA(), p.getB(), &sum))
      throw Error(Code::kOutOfRange, "sum does not fit in 64 bits");
    ctx.results().setSum(sum);
  }

  void divide(DivideContext& ctx) override {
    auto p = ctx.params();
    int64_t a = p.getA(), b = p.getB();
    if (b == 0) throw Error(Code::kInvalidArgument, "division by zero");
    if (a == INT64_MIN && b == -1)
      throw Error(Code::kOutOfRange, "quotient does not fit in 64 bits");
    ctx.results().setQuotient(a / b);
  }

  void total(TotalContext& ctx) override {
    double sum = 0;
    for (double v : ctx.params().getValues()) sum += v;
    ctx.results().setSum(sum);
  }

  void openLog(OpenLogContext& ctx) override {
    auto name = ctx.params().getName();
    std::string_view n(name.cStr(), name.size());
    if (n.empty() || n.size() > kMaxLogName)
      throw Error(Code::kInvalidArgument, "log name must be 1 to 64 bytes long");
    if (n.find('/') != n.npos || n.find("..") != n.npos || n.find('\0') != n.npos)
      throw Error(Code::kInvalidArgument, "log name must not contain '/', \"..\" or NUL");
    std::string file = std::string(n) + ".log";
    // O_NOFOLLOW: a symbolic link planted in the log directory is not followed out of it.
    int fd = ::openat(log_dir_, file.c_str(),
                      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0640);
    if (fd < 0) {
      int err = errno;
      throw Error(err == EACCES ? Code::kPermissionDenied : Code::kInternal,
                  "cannot open " + file + ": " + std::strerror(err));
    }
    doors::Caller caller = ctx.caller();
    std::fprintf(stderr, "calculator_server: uid %u opened log %s\n",
                 static_cast<unsigned>(caller.uid), file.c_str());
    ctx.set_fd(ctx.results().initLog(), doors::OwnedFd(fd));
  }

  void session(SessionContext& ctx) override {
    uint64_t number = ++sessions_;
    ctx.results().setS(doors::export_door(std::make_unique<Session>(number)));
  }

 private:
  const int log_dir_;
  std::atomic<uint64_t> sessions_{0};
};

// The log directory: --log-dir, or `<door path>.logs` beside the door. Created (0750) when
// missing; opened once, so that openLog works relative to it whatever happens to the name later.
int open_log_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    int err = errno;
    throw Error(Code::kFailedPrecondition,
                "cannot create log directory " + dir + ": " + std::strerror(err));
  }
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw Error(Code::kFailedPrecondition,
                "cannot open log directory " + dir + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  std::string log_dir;
  doors::ServerMain server_main(calc::CalculatorDoor::kInfo, "calculator_server",
                                "Serves the Calculator interface (examples/calculator).");
  server_main.add_option("--log-dir", "DIR",
                         "directory of the files openLog opens (default: PATH.logs)", &log_dir);
  return server_main.run(argc, argv, [&](doors::ServerMain& m) {
    return std::make_shared<Calculator>(
        open_log_dir(log_dir.empty() ? m.path() + ".logs" : log_dir));
  });
}
