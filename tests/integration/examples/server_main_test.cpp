// doors::ServerMain seen from outside, as an operator sees a server binary: one instance per path
// (and taking over after a crash), the door file's mode, owner and group, the thread pool's
// bounds, the log (level, file, SIGHUP), systemd readiness, SIGPIPE, and the drain on SIGTERM
// (calls in progress finish, a load through the stop loses no reply, a second signal exits).
// drain_helper_server.cpp is a KvStore server whose waitFor works for a given time and whose get
// answers at once; the calculator server stands for any other server binary.
#include <doors/runtime.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "async.h"
#include "calculator.door.h"
#include "example_process.h"
#include "kv_store.door.h"
#include "pool_probe.door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;

struct CallResult {
  bool ok = false;
  Code code = Code::kOk;
  std::string message;
  std::string value;
};

CallResult slow_call(kv::KvStoreDoor::Client client, std::string key, uint32_t work_ms) {
  CallResult r;
  try {
    auto reply = client.waitFor(kj::StringPtr(key.c_str(), key.size()), work_ms,
                                {.timeout = std::chrono::seconds(30)});
    r.ok = true;
    auto v = reply->getValue();
    r.value.assign(reinterpret_cast<const char*>(v.begin()), v.size());
  } catch (const Error& e) {
    r.code = e.code();
    r.message = e.what();
  }
  return r;
}

// Waits until the file at `path` exists and holds `text`, woken by inotify events on its
// directory (no polling on a timer).
::testing::AssertionResult wait_for_file_text(const std::string& dir, const std::string& path,
                                              const std::string& text,
                                              Deadline deadline = Deadline::standard()) {
  UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in.valid() || ::inotify_add_watch(in.get(), dir.c_str(), IN_CREATE | IN_MODIFY) < 0)
    return ::testing::AssertionFailure() << "inotify: " << std::strerror(errno);
  for (;;) {
    if (read_file(path).find(text) != std::string::npos) return ::testing::AssertionSuccess();
    if (!poll_readable(in.get(), deadline)) {
      return ::testing::AssertionFailure()
             << path << " never held \"" << text << "\"; it holds: " << read_file(path);
    }
    char events[4096];
    while (::read(in.get(), events, sizeof events) > 0) {
    }
  }
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::lstat(path.c_str(), &st);
  return st.st_mode & 07777;
}

// Sets the process's umask for the test's lifetime: a server started meanwhile inherits it.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t old_;
};

// --- one server per path -----------------------------------------------------------------------

TEST(ServerMainInstance, SecondServerOnThePath_RefusedNamingThePidOfTheFirst) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer first(Binaries::calculator_server(), path);
  ASSERT_TRUE(first.ready());

  ProgramResult sut = run_program(Binaries::calculator_server(), {"--path", path});

  EXPECT_TRUE(sut.status.exited_with(1)) << sut.status.describe();
  EXPECT_NE(sut.err.find("another server (pid " + std::to_string(first.process().pid()) + ")"),
            std::string::npos)
      << sut.err;
  EXPECT_EQ(sut.out.find("ready"), std::string::npos);
  auto client = calc::CalculatorDoor::Client::open(path);
  EXPECT_EQ(client.add(2, 3)->getSum(), 5);  // the first one still serves
}

TEST(ServerMainInstance, AfterSigkill_ANewServerTakesThePathOverAndCleansUp) {
  TempDir dir;
  std::string path = dir.file("calculator");
  {
    ExampleProcess crashed(Binaries::calculator_server(), {"--path", path});
    ASSERT_TRUE(crashed.wait_ready());
    ASSERT_TRUE(crashed.signal_and_reap(SIGKILL).killed_by(SIGKILL));
  }
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0) << "a SIGKILLed server leaves its file";

  ExampleServer sut(Binaries::calculator_server(), path);
  ASSERT_TRUE(sut.ready());
  auto client = calc::CalculatorDoor::Client::open(path);
  EXPECT_EQ(client.add(40, 2)->getSum(), 42);

  sut.stop();  // exit 0, and the file the crashed server made is removed as its own
  EXPECT_NE(::lstat((path + ".lock").c_str(), &st), 0) << "the lock file is left behind";
}

TEST(ServerMainInstance, PathAttachedByAnotherProgram_RefusedNamingItsServer) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer other(Binaries::calculator_server(), path);
  ASSERT_TRUE(other.ready());
  // Another server binary with its own lock file name cannot take the path either: fattach says
  // EBUSY, and the message names the process serving the door there.
  std::string link = dir.file("alias");
  ASSERT_EQ(::link(path.c_str(), link.c_str()), 0) << std::strerror(errno);

  ProgramResult sut = run_program(Binaries::calculator_server(), {"--path", link});

  EXPECT_TRUE(sut.status.exited_with(1)) << sut.status.describe();
  EXPECT_NE(sut.err.find("already has a door attached (served by pid " +
                         std::to_string(other.process().pid()) + ")"),
            std::string::npos)
      << sut.err;
  ::unlink(link.c_str());
}

// --- the door's file ---------------------------------------------------------------------------

TEST(ServerMainFile, NoOptions_Mode0600WhateverTheUmask) {
  TempDir dir;
  std::string path = dir.file("calculator");
  Umask permissive(0);

  ExampleServer sut(Binaries::calculator_server(), path);
  ASSERT_TRUE(sut.ready());

  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(ServerMainFile, ModeGiven_SetExactlyWhateverTheUmask) {
  TempDir dir;
  std::string path = dir.file("calculator");
  Umask strict(0077);

  ExampleServer sut(Binaries::calculator_server(), path, {"--mode", "0646"});
  ASSERT_TRUE(sut.ready());

  EXPECT_EQ(mode_of(path), 0646u);
}

TEST(ServerMainFile, OwnerAndGroupGiven_FileChownedAndModeOpensToTheGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
  TempDir dir;
  std::string path = dir.file("calculator");

  ExampleServer sut(Binaries::calculator_server(), path, {"--owner", "65534", "--group", "65534"});
  ASSERT_TRUE(sut.ready());

  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  auto client = calc::CalculatorDoor::Client::open(path);  // the door still answers
  EXPECT_EQ(client.add(1, 1)->getSum(), 2);
}

TEST(ServerMainFile, FileMadeByTheOperator_KeptWithItsModeAndNotRemoved) {
  TempDir dir;
  std::string path = dir.make_file("calculator", 0604);

  ExampleServer sut(Binaries::calculator_server(), path);
  ASSERT_TRUE(sut.ready());

  EXPECT_EQ(mode_of(path), 0604u);
  sut.stop(/*keep_file=*/true);
}

TEST(ServerMainFile, SymbolicLinkAtThePath_RefusedAndLeftAlone) {
  TempDir dir;
  std::string target = dir.make_file("target", 0644);
  std::string path = dir.file("calculator");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);

  ProgramResult sut = run_program(Binaries::calculator_server(), {"--path", path});

  EXPECT_TRUE(sut.status.exited_with(1)) << sut.status.describe();
  EXPECT_NE(sut.err.find("is a symbolic link"), std::string::npos) << sut.err;
  EXPECT_EQ(mode_of(target), 0644u);
}

TEST(ServerMainFile, DirectoryAtThePath_Refused) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);

  ProgramResult sut = run_program(Binaries::calculator_server(), {"--path", path});

  EXPECT_TRUE(sut.status.exited_with(1)) << sut.status.describe();
  EXPECT_NE(sut.err.find("not a regular file"), std::string::npos) << sut.err;
}

// --- options -----------------------------------------------------------------------------------

TEST(ServerMainOptions, BadValues_Exit2NamingTheOption) {
  TempDir dir;
  std::string path = dir.file("calculator");
  const std::vector<std::vector<std::string>> cases = {
      {"--mode", "0999"},
      {"--mode", "rw"},
      {"--threads", "0"},
      {"--threads", "4:2"},
      {"--threads", "1:99999"},
      {"--threads", "a:b"},
      {"--drain-timeout", "soon"},
      {"--drain-timeout", "-1s"},
      {"--log-level", "loud"},
      {"--owner", "no-such-user-of-doors"},
      {"--group", "no-such-group-of-doors"},
      {"--log-file", ""},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"--path", path};
    args.insert(args.end(), c.begin(), c.end());

    ProgramResult sut = run_program(Binaries::calculator_server(), args);

    EXPECT_TRUE(sut.status.exited_with(2)) << c[0] << " " << c[1] << ": " << sut.status.describe();
    EXPECT_NE(sut.err.find(c[0]), std::string::npos) << c[0] << " " << c[1] << ": " << sut.err;
  }
  struct stat st;
  EXPECT_NE(::lstat(path.c_str(), &st), 0) << "a refused command line made the door's file";
}

TEST(ServerMainOptions, Version_PrintsProgramAndRuntimeVersions) {
  ProgramResult sut = run_program(Binaries::calculator_server(), {"--version"});

  EXPECT_TRUE(sut.status.exited_with(0)) << sut.status.describe();
  EXPECT_EQ(sut.out, std::string("calculator_server ") + runtime_version() + " (doors " +
                         runtime_version() + ")\n");
}

TEST(ServerMainOptions, Help_DescribesEveryBuiltInOption) {
  ProgramResult sut = run_program(Binaries::calculator_server(), {"--help"});

  EXPECT_TRUE(sut.status.exited_with(0)) << sut.status.describe();
  for (const char* option : {"--path PATH", "--mode MODE", "--owner USER", "--group GROUP",
                             "--threads MIN[:MAX]", "--drain-timeout TIME", "--log-level LEVEL",
                             "--log-file FILE", "--version", "--help", "--log-dir DIR"}) {
    EXPECT_NE(sut.out.find(option), std::string::npos) << option << " missing from:\n" << sut.out;
  }
}

// --- the thread pool ---------------------------------------------------------------------------

TEST(ServerMainThreads, MinThreads_StartedAtOnceAndReported) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer server(Binaries::calculator_server(), path, {"--threads", "3:5"});
  ASSERT_TRUE(server.ready());

  IntrospectionClient sut(DoorHandle::open(path));
  // "ready" comes once the MIN threads are on their way into the pool; the last instructions of
  // that way may still be running when the first stats call is answered.
  auto stats = sut.stats();
  for (Deadline d = Deadline::standard(); stats->getStats().getPool().getThreads() < 3;) {
    if (d.expired()) break;
    stats = sut.stats();
  }

  auto pool = stats->getStats().getPool();
  EXPECT_EQ(pool.getMinThreads(), 3u);
  EXPECT_EQ(pool.getMaxThreads(), 5u);
  EXPECT_GE(pool.getThreads(), 3u);
  EXPECT_LE(pool.getThreads(), 5u);
}

// At most MAX threads run calls: three calls of 600 ms on a pool of at most two cannot all run
// at once, so together they take at least two rounds. (A lower bound on time: a correct pool can
// never be faster than that, whatever the machine's load.)
TEST(ServerMainThreads, MaxThreads_CallsBeyondItWaitForAThread) {
  TempDir dir;
  std::string path = dir.file("door");
  ExampleServer server(DOORS_DRAIN_HELPER_SERVER, path, {"--threads", "1:2"});
  ASSERT_TRUE(server.ready());
  auto client = kv::KvStoreDoor::Client::open(path);
  auto start = std::chrono::steady_clock::now();

  std::vector<std::unique_ptr<Async<CallResult>>> calls;
  for (int i = 0; i < 3; ++i) {
    calls.push_back(std::make_unique<Async<CallResult>>(
        [client, i] { return slow_call(client, "k" + std::to_string(i), 600); }));
  }
  for (auto& c : calls) ASSERT_TRUE(c->wait(Deadline::standard()));

  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(calls[i]->result().ok) << calls[i]->result().message;
    EXPECT_EQ(calls[i]->result().value, "k" + std::to_string(i));
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1150ms);
  IntrospectionClient introspection(DoorHandle::open(path));
  EXPECT_LE(introspection.stats()->getStats().getPool().getThreads(), 2u);
}

// $Door.privatePool: the door has a pool of its own (DOOR_PRIVATE), whose threads the server main
// binds to it (door_bind(3C)) and bounds like the shared pool.
TEST(ServerMainThreads, PrivatePoolDoor_CallsRunOnThreadsBoundToIt) {
  TempDir dir;
  std::string path = dir.file("probe");
  ExampleServer server(DOORS_POOL_PROBE_SERVER, path, {"--threads", "2:3"});
  ASSERT_TRUE(server.ready());
  auto client = probe::PoolProbeDoor::Client::open(path);
  door_info_t info{};
  ASSERT_EQ(::door_info(client.fd(), &info), 0);
  door_id_t id;
  std::memcpy(&id, &info.di_uniquifier, sizeof id);

  auto sut = client.where();

  EXPECT_TRUE(sut->getBound());
  EXPECT_EQ(sut->getDoorId(), id);
  EXPECT_NE(info.di_attributes & DOOR_PRIVATE, 0u);
}

// --- the log -----------------------------------------------------------------------------------

TEST(ServerMainLog, LevelWarning_InfoLinesDropped) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer sut(Binaries::calculator_server(), path, {"--log-level", "warning"});
  ASSERT_TRUE(sut.ready());
  auto client = calc::CalculatorDoor::Client::open(path);
  { calc::SessionDoor::Client session(client.session()->getS()); }

  sut.stop();

  EXPECT_EQ(sut.process().err().find("info:"), std::string::npos) << sut.process().err();
}

TEST(ServerMainLog, LogFile_LinesWithTimeAndPidAndSighupReopensIt) {
  TempDir dir;
  std::string path = dir.file("calculator");
  std::string log = dir.file("server.log");
  ExampleServer sut(Binaries::calculator_server(), path, {"--log-file", log});
  ASSERT_TRUE(sut.ready());
  std::string first = read_file(log);
  EXPECT_NE(first.find("calculator_server[" + std::to_string(sut.process().pid()) +
                       "]: info: serving Calculator on " + path),
            std::string::npos)
      << first;
  EXPECT_EQ(first.compare(0, 2, "20"), 0) << "no timestamp first: " << first;
  ASSERT_EQ(::rename(log.c_str(), (log + ".1").c_str()), 0);

  ::kill(sut.process().pid(), SIGHUP);

  ASSERT_TRUE(wait_for_file_text(dir.path(), log, "SIGHUP: reopened the log"));
  auto client = calc::CalculatorDoor::Client::open(path);
  { calc::SessionDoor::Client session(client.session()->getS()); }
  EXPECT_TRUE(wait_for_file_text(dir.path(), log, "session 1 opened"));
  EXPECT_EQ(read_file(log + ".1").find("session 1"), std::string::npos);
}

// The log goes to a FIFO whose reader is gone: writing it raises SIGPIPE, which the server
// blocks, so the write fails with EPIPE and the server goes on serving.
TEST(ServerMainSignals, SigpipeFromTheLog_ServerSurvives) {
  TempDir dir;
  std::string path = dir.file("calculator");
  std::string fifo = dir.file("log.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader.valid());
  ExampleServer sut(Binaries::calculator_server(), path, {"--log-file", fifo});
  ASSERT_TRUE(sut.ready());
  reader.reset();
  auto client = calc::CalculatorDoor::Client::open(path);

  { calc::SessionDoor::Client session(client.session()->getS()); }  // logs: EPIPE

  EXPECT_EQ(client.add(20, 22)->getSum(), 42);
  sut.stop();  // still exits 0
}

// --- systemd readiness -------------------------------------------------------------------------

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    if (name[0] == '@') a.sun_path[0] = '\0';
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    ok_ = fd_.valid() && ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), len) == 0;
  }
  bool ok() const { return ok_; }
  // The next message, or "" when none came before the deadline.
  std::string receive(Deadline deadline = Deadline::standard()) {
    if (!poll_readable(fd_.get(), deadline)) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  UniqueFd fd_;
  bool ok_ = false;
};

TEST(ServerMainSystemd, NotifySocketPath_ReadyWithMainPidThenStopping) {
  TempDir dir;
  std::string path = dir.file("calculator");
  std::string socket_path = dir.file("notify");
  NotifySocket systemd(socket_path);
  ASSERT_TRUE(systemd.ok()) << std::strerror(errno);

  ExampleServer sut(Binaries::calculator_server(), path, {}, {{"NOTIFY_SOCKET", socket_path}});
  ASSERT_TRUE(sut.ready());

  std::string ready = systemd.receive();
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("MAINPID=" + std::to_string(sut.process().pid())), std::string::npos)
      << ready;
  sut.stop();
  std::string stopping = systemd.receive();
  EXPECT_NE(stopping.find("STOPPING=1"), std::string::npos) << stopping;
}

TEST(ServerMainSystemd, AbstractNotifySocket_Ready) {
  TempDir dir;
  std::string path = dir.file("calculator");
  std::string name = "@" + unique_name("doors-notify");
  NotifySocket systemd(name);
  ASSERT_TRUE(systemd.ok()) << std::strerror(errno);

  ExampleServer sut(Binaries::calculator_server(), path, {}, {{"NOTIFY_SOCKET", name}});
  ASSERT_TRUE(sut.ready());

  EXPECT_NE(systemd.receive().find("READY=1"), std::string::npos);
}

// --- the drain ---------------------------------------------------------------------------------

TEST(ServerMainDrain, SigtermWhileACallRuns_TheCallCompletesAndTheServerExitsZero) {
  TempDir dir;
  std::string path = dir.file("door");
  ExampleServer server(DOORS_DRAIN_HELPER_SERVER, path);
  ASSERT_TRUE(server.ready());
  auto client = kv::KvStoreDoor::Client::open(path);
  Async<CallResult> call([client] { return slow_call(client, "k", 300); });
  ASSERT_TRUE(server.process().wait_for_stderr("working 300 ms on 'k'"));
  auto start = std::chrono::steady_clock::now();
  server.stop();  // SIGTERM; exit status 0 and the path gone
  ASSERT_TRUE(call.wait(Deadline::standard()));
  EXPECT_TRUE(call.result().ok) << call.result().message;
  EXPECT_EQ(call.result().value, "k");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(ServerMainDrain, CallOutlastingTheDrain_IsAbandonedAndTheServerStillExitsZero) {
  TempDir dir;
  std::string path = dir.file("door");
  ExampleServer server(DOORS_DRAIN_HELPER_SERVER, path, {"--drain-timeout", "200ms"});
  ASSERT_TRUE(server.ready());
  server.skip_leak_check("stopped while a call is in progress, which is what the test checks");
  auto client = kv::KvStoreDoor::Client::open(path);
  Async<CallResult> call([client] { return slow_call(client, "k", 20'000); });
  ASSERT_TRUE(server.process().wait_for_stderr("working 20000 ms on 'k'"));
  auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(server.process().wait_for_stderr("calls still in progress 200 ms after the stop"));
  ASSERT_TRUE(call.wait(Deadline::standard()));
  EXPECT_FALSE(call.result().ok);
  EXPECT_EQ(call.result().code, Code::kUnavailable) << call.result().message;
}

TEST(ServerMainDrain, SecondSigterm_ExitsAtOnceWithStatus1) {
  TempDir dir;
  std::string path = dir.file("door");
  ExampleProcess server(DOORS_DRAIN_HELPER_SERVER, {"--path", path, "--drain-timeout", "60s"});
  ASSERT_TRUE(server.wait_ready());
  auto client = kv::KvStoreDoor::Client::open(path);
  Async<CallResult> call([client] { return slow_call(client, "k", 20'000); });
  ASSERT_TRUE(server.wait_for_stderr("working 20000 ms on 'k'"));
  ::kill(server.pid(), SIGTERM);
  ASSERT_TRUE(server.wait_for_stderr("SIGTERM: stopping"));
  auto start = std::chrono::steady_clock::now();

  ChildStatus s = server.signal_and_reap(SIGTERM);

  EXPECT_TRUE(s.exited_with(1)) << s.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_NE(server.err().find("second stop signal"), std::string::npos) << server.err();
  ASSERT_TRUE(call.wait(Deadline::standard()));
  EXPECT_EQ(call.result().code, Code::kUnavailable) << call.result().message;
}

// What the load through a stop saw: every call either got its own reply or was refused with
// kUnavailable (the door revoked, or the service shutting down); nothing else, and no hang.
struct Tally {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t ok = 0;
  uint64_t refused = 0;
  std::vector<std::string> wrong;
};

int load_until_refused(kv::KvStoreDoor::Client client, std::shared_ptr<Tally> tally, int thread) {
  for (uint64_t i = 0;; ++i) {
    std::string key = "t" + std::to_string(thread) + "-" + std::to_string(i);
    try {
      auto reply = client.get(kj::StringPtr(key.c_str(), key.size()), {.timeout = 20s});
      auto v = reply->getValue();
      std::string got(reinterpret_cast<const char*>(v.begin()), v.size());
      std::lock_guard lock(tally->mu);
      if (got != key) tally->wrong.push_back("asked " + key + ", got " + got);
      ++tally->ok;
      tally->cv.notify_all();
    } catch (const Error& e) {
      std::lock_guard lock(tally->mu);
      if (e.code() == Code::kUnavailable) {
        ++tally->refused;
      } else {
        tally->wrong.push_back(key + ": " + e.what());
      }
      tally->cv.notify_all();
      return 0;
    }
  }
}

TEST(ServerMainDrain, LoadThroughTheStop_NoReplyLost) {
  TempDir dir;
  std::string path = dir.file("door");
  ExampleServer server(DOORS_DRAIN_HELPER_SERVER, path, {"--threads", "4:16"});
  ASSERT_TRUE(server.ready());
  server.skip_leak_check("stopped while calls are in progress, which is what the test checks");
  auto client = kv::KvStoreDoor::Client::open(path);
  // A call in progress when the stop comes gets its reply.
  Async<CallResult> slow([client] { return slow_call(client, "slow", 500); });
  ASSERT_TRUE(server.process().wait_for_stderr("working 500 ms on 'slow'"));
  auto tally = std::make_shared<Tally>();
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<Async<int>>> load;
  for (int t = 0; t < kThreads; ++t) {
    load.push_back(std::make_unique<Async<int>>(
        [client, tally, t] { return load_until_refused(client, tally, t); }));
  }
  {
    std::unique_lock lock(tally->mu);
    ASSERT_TRUE(tally->cv.wait_until(lock, Deadline::standard().when(), [&] {
      return tally->ok >= 400;
    })) << "the load did not get going";
  }

  server.stop();  // SIGTERM: exit 0, path removed

  for (auto& l : load) ASSERT_TRUE(l->wait(Deadline::standard()));
  std::lock_guard lock(tally->mu);
  EXPECT_TRUE(tally->wrong.empty())
      << tally->wrong.size() << " bad outcomes, the first: " << tally->wrong.front();
  EXPECT_EQ(tally->refused, static_cast<uint64_t>(kThreads));
  ASSERT_TRUE(slow.wait(Deadline::standard()));
  EXPECT_TRUE(slow.result().ok) << slow.result().message;
  EXPECT_EQ(slow.result().value, "slow");
}

}  // namespace
}  // namespace doors::test
