// A signal storm at a client and a server (SIGINT, SIGUSR1, SIGCHLD and SIGPIPE at about 1,000
// per second, caught by handlers with and without SA_RESTART) loses no call. door_call(3C) fails
// with EINTR when the caller catches a signal, and the client then retries under a new sequence
// number; every call the client saw succeed ran exactly once on the server and returned its own
// result, no call ran twice, and no signal reached a server thread inside a procedure (server
// threads block asynchronous signals).
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kMaxSeq = 1 << 21;
constexpr std::uint32_t kCallsWanted = 6000;    // successful calls the client makes, at least
constexpr std::uint32_t kSignalsWanted = 1500;  // signals sent while it calls, at least
constexpr int kClientThreads = 2;
constexpr int kStormSignals[] = {SIGINT, SIGUSR1, SIGCHLD, SIGPIPE};

// Shared by the test, the server, the client and the signaller (MAP_SHARED, made before fork).
struct Ledger {
  std::atomic<std::uint32_t> executed[kMaxSeq];  // server: times the procedure ran for a sequence
  std::atomic<std::uint8_t> succeeded[kMaxSeq];  // client: door_call returned the right result
  std::atomic<std::uint32_t> next_seq;
  std::atomic<std::uint32_t> ok_calls;
  std::atomic<std::uint32_t> eintr_calls;
  std::atomic<std::uint32_t> other_errors;
  std::atomic<int> first_other_errno;
  std::atomic<std::uint32_t> wrong_results;
  std::atomic<std::uint32_t> server_signals;   // handled in the server
  std::atomic<std::uint32_t> signals_in_proc;  // of those, on a thread inside the procedure
  std::atomic<std::uint32_t> client_signals;
  std::atomic<std::uint32_t> signals_sent;
  std::atomic<std::uint32_t> client_done;
  std::atomic<std::uint32_t> stop_storm;
};

Ledger* g_ledger = nullptr;
thread_local volatile sig_atomic_t t_in_procedure = 0;

std::uint64_t expected_result(std::uint64_t seq) { return seq * 0x9e3779b97f4a7c15ull ^ 0xd00d; }

void server_handler(int) {
  g_ledger->server_signals.fetch_add(1);
  if (t_in_procedure) g_ledger->signals_in_proc.fetch_add(1);
}
void client_handler(int) { g_ledger->client_signals.fetch_add(1); }

// SIGINT and SIGUSR1 with SA_RESTART, SIGCHLD and SIGPIPE without.
void install_handlers(void (*handler)(int)) {
  for (int sig : kStormSignals) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = (sig == SIGINT || sig == SIGUSR1) ? SA_RESTART : 0;
    if (::sigaction(sig, &sa, nullptr) != 0) child_fail("sigaction");
  }
}

sigset_t storm_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kStormSignals) sigaddset(&set, sig);
  return set;
}

void sequence_proc(void*, char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc) {
  t_in_procedure = 1;
  // close(2) is a cancellation point, and an interrupted caller's server thread is cancelled:
  // the sanitizers' runtimes would not survive that (.ci/run), and this test is not about it.
  int old_state;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_state);
  for (uint_t i = 0; i < n_desc; ++i) ::close(dp[i].d_data.d_desc.d_descriptor);
  pthread_setcancelstate(old_state, nullptr);
  std::uint64_t seq = 0;
  if (n >= sizeof seq) std::memcpy(&seq, argp, sizeof seq);
  if (seq < kMaxSeq) g_ledger->executed[seq].fetch_add(1);
  // Long enough for a signal to land here if server threads let it.
  std::uint64_t result = expected_result(seq);
  // Busy for about 20 us: long enough for signals to land here if server threads let them in,
  // and for the caller to be waiting in door_call when one reaches it.
  timespec start, now;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    ::clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1'000'000'000 + (now.tv_nsec - start.tv_nsec) < 20'000);
  t_in_procedure = 0;
  reply_value(result);
}

void pause_ms(long ms) {
  timespec ts{0, ms * 1'000'000};
  ::nanosleep(&ts, nullptr);
}

TEST(SignalStorm, NoCallIsLostOrRunTwice) {
  void* p =
      ::mmap(nullptr, sizeof(Ledger), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  Ledger* ledger = new (p) Ledger{};
  g_ledger = ledger;
  TempDir dir;
  const std::string path = dir.file("door");

  ForkedServer server([&](ForkedServer::Child& child) {
    install_handlers(server_handler);
    child_serve_at(path, sequence_proc);
    // Storm signals are taken by a thread of our own, outside any procedure, which accepts them
    // only half of the time: the other half, any server thread that let them in would take them,
    // and some would land inside the procedure.
    sigset_t set = storm_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([] {
      sigset_t none;
      sigemptyset(&none);
      for (;;) {
        timespec half{0, 2'000'000};
        ::ppoll(nullptr, 0, &half, &none);  // storm signals unblocked while it waits
        ::nanosleep(&half, nullptr);
      }
    }).detach();
    child.ready();
    child_wait_forever();
  });
  ASSERT_TRUE(server.wait_ready());

  ForkedServer client([&](ForkedServer::Child& child) {
    install_handlers(client_handler);
    int door = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (door < 0) child_fail("open");
    child.ready();
    std::vector<std::thread> threads;
    for (int t = 0; t < kClientThreads; ++t) {
      // Calls without descriptors travel through the channel's shuttle page, whose wait keeps
      // signals blocked until the call ends or 20 ms pass (client.cpp, kShuttleWaitNs); calls
      // with one go through the socket, whose wait takes signals at once.
      const bool pass_descriptor = t % 2 == 1;
      threads.emplace_back([door, pass_descriptor] {
        std::vector<char> args(sizeof(std::uint64_t));
        int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        door_desc_t desc = descriptor(null_fd);
        while (g_ledger->ok_calls.load() < kCallsWanted ||
               g_ledger->signals_sent.load() < kSignalsWanted) {
          std::uint64_t seq = g_ledger->next_seq.fetch_add(1);
          if (seq >= kMaxSeq) return;
          std::uint64_t result = 0;
          std::memcpy(args.data(), &seq, sizeof seq);
          door_arg_t a{args.data(),
                       args.size(),
                       pass_descriptor ? &desc : nullptr,
                       pass_descriptor ? 1u : 0u,
                       reinterpret_cast<char*>(&result),
                       sizeof result};
          if (door_call(door, &a) == 0) {
            std::uint64_t got = 0;
            if (a.data_size == sizeof got) std::memcpy(&got, a.data_ptr, sizeof got);
            if (a.data_size != sizeof got || got != expected_result(seq)) {
              g_ledger->wrong_results.fetch_add(1);
            } else {
              g_ledger->succeeded[seq].store(1);
              g_ledger->ok_calls.fetch_add(1);
            }
          } else if (errno == EINTR) {
            g_ledger->eintr_calls.fetch_add(1);
          } else {
            g_ledger->first_other_errno.store(errno);
            g_ledger->other_errors.fetch_add(1);
          }
        }
        ::close(null_fd);
      });
    }
    // The storm's signals land on the calling threads, in door_call or between calls.
    sigset_t set = storm_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    for (std::thread& t : threads) t.join();
    g_ledger->client_done.store(1);
    ::_exit(0);
  });
  ASSERT_TRUE(client.wait_ready());

  const pid_t targets[] = {client.pid(), server.pid()};
  ForkedServer signaller([&](ForkedServer::Child& child) {
    child.ready();
    for (std::uint32_t i = 0; g_ledger->stop_storm.load() == 0; ++i) {
      if (::kill(targets[i % 2], kStormSignals[(i / 2) % 4]) == 0)
        g_ledger->signals_sent.fetch_add(1);
      pause_ms(1);
    }
    ::_exit(0);
  });
  ASSERT_TRUE(signaller.wait_ready());

  // The storm stops before the client is reaped: its pid must not be reused while signalled.
  Deadline deadline = Deadline::in(20s);
  while (ledger->client_done.load() == 0 && !deadline.expired()) pause_ms(1);
  EXPECT_EQ(ledger->client_done.load(), 1u) << "the client hangs";
  ledger->stop_storm.store(1);
  ChildStatus signaller_end = signaller.wait_exit();
  ChildStatus client_end = client.wait_exit();
  EXPECT_TRUE(client_end.exited_with(0)) << "client: " << client_end.describe();
  EXPECT_TRUE(signaller_end.exited_with(0)) << signaller_end.describe();

  EXPECT_GE(ledger->ok_calls.load(), kCallsWanted) << "the client ran out of sequence numbers";
  EXPECT_EQ(ledger->other_errors.load(), 0u)
      << "a call failed with " << std::strerror(ledger->first_other_errno.load());
  EXPECT_EQ(ledger->wrong_results.load(), 0u);
  EXPECT_EQ(ledger->signals_in_proc.load(), 0u) << "a server thread took a signal in a procedure";
  std::uint32_t ran_twice = 0, lost = 0, interrupted_but_ran = 0;
  const std::uint32_t used = std::min(ledger->next_seq.load(), kMaxSeq);
  for (std::uint32_t seq = 0; seq < used; ++seq) {
    std::uint32_t runs = ledger->executed[seq].load();
    if (runs > 1) ++ran_twice;
    if (ledger->succeeded[seq].load() && runs != 1) ++lost;
    if (!ledger->succeeded[seq].load() && runs == 1) ++interrupted_but_ran;
  }
  EXPECT_EQ(ran_twice, 0u) << "calls ran more than once";
  EXPECT_EQ(lost, 0u) << "calls the client saw succeed did not run on the server";
  EXPECT_GE(ledger->signals_sent.load(), kSignalsWanted);
  EXPECT_GT(ledger->client_signals.load(), 0u);
  EXPECT_GT(ledger->server_signals.load(), 0u);
  std::printf(
      "[ storm    ] %u calls succeeded, %u failed with EINTR (%u of those had run), %u signals "
      "sent "
      "(%u caught by the client, %u by the server, %u inside a procedure)\n",
      ledger->ok_calls.load(), ledger->eintr_calls.load(), interrupted_but_ran,
      ledger->signals_sent.load(), ledger->client_signals.load(), ledger->server_signals.load(),
      ledger->signals_in_proc.load());

  ChildStatus st = server.stop();
  EXPECT_TRUE(st.killed_by(SIGTERM) || st.exited_with(0)) << st.describe();
  g_ledger = nullptr;
  ::munmap(p, sizeof(Ledger));
}

}  // namespace
}  // namespace doors::test
