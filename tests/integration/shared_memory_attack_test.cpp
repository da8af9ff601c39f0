// Shared-memory attacks by a raw client (raw_wire.h) on the arguments arena it passes to a server:
// rewriting the arguments while the procedure reads them, and trying to shrink, grow or reseal
// the arena. The server must never fault (no SIGBUS, no out-of-bounds read), must refuse an arena
// it could not map safely, and must keep serving an honest client meanwhile.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "honest_client.h"
#include "procedures.h"
#include "raw_wire.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace raw;
using detail::kDataInArena;
using detail::kNewArena;

constexpr std::size_t kArenaBytes = 1 << 20;
constexpr std::size_t kArgBytes = 512 << 10;  // > DOORS_INLINE_DATA_MAX: read in place

// Shared between the test and its forked server (MAP_SHARED, made before fork).
struct Shared {
  std::atomic<std::uint32_t> started;  // reread_proc invocations entered
  std::atomic<std::uint32_t> hold;     // nonzero: reread_proc waits for `release` to change
  std::atomic<std::uint32_t> release;
};
Shared* g_shared = nullptr;

// Reads every argument byte four times (a client may rewrite them meanwhile, but never make them
// unreadable), optionally waiting for the test between two reads, and replies the size it was
// given and the digest of its last read.
void reread_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  std::uint32_t release = g_shared->release.load();
  g_shared->started.fetch_add(1);
  std::uint64_t sum = 0;
  for (int pass = 0; pass < 4; ++pass) {
    if (pass == 1 && g_shared->hold.load() != 0) {
      while (g_shared->release.load() == release) {
        timespec ts{0, 1'000'000};
        ::nanosleep(&ts, nullptr);
      }
    }
    sum = digest(argp, n);
  }
  reply_value(Digest{n, sum});
}

class SharedMemoryAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p =
        ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    shared_ = new (p) Shared{};
    g_shared = shared_;
    server_ = fork_door_server(path_, reread_proc);
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_ != nullptr) {
      ChildStatus st = server_->stop();
      EXPECT_TRUE(st.exited_with(0) || st.killed_by(SIGTERM))
          << "the server did not survive: " << st.describe();
    }
    g_shared = nullptr;
    ::munmap(shared_, sizeof(Shared));
  }

  // A call channel of a fresh primary connection; the primary is kept in primary_.
  UniqueFd channel() {
    primary_ = hello(path_);
    if (!primary_.valid()) return {};
    return attach(primary_.get());
  }

  TempDir dir_;
  std::string path_ = dir_.file("door");
  Shared* shared_ = nullptr;
  std::unique_ptr<ForkedServer> server_;
  UniqueFd primary_;
};

UniqueFd arena_memfd(std::size_t size, unsigned seals) {
  UniqueFd fd(::memfd_create("hostile-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return {};
  if (seals != 0 && ::fcntl(fd.get(), F_ADD_SEALS, seals) != 0) return {};
  return fd;
}

// Sends a call whose kArgBytes of arguments are at offset 0 of the arena (passed along when
// `arena` >= 0) and returns the reply's Digest, or an explanation of what came instead.
std::string call_in_arena(int channel, int arena, Digest* out) {
  std::uint16_t flags = kDataInArena | (arena >= 0 ? kNewArena : 0);
  std::vector<int> fds;
  if (arena >= 0) fds.push_back(arena);
  int err = send_raw(channel, message(header(FrameKind::kCall, flags, 0, kArgBytes, 0)), fds);
  if (err != 0) return std::string("send: ") + std::strerror(err);
  Incoming in = receive(channel, Deadline::standard());
  if (in.outcome != Incoming::kMessage) return "no reply: " + in.describe();
  if (in.frame.kind != FrameKind::kReply || in.frame.data_size != sizeof(Digest) ||
      in.bytes.size() != sizeof(Frame) + sizeof(Digest) || (in.frame.flags & kDataInArena)) {
    return "an unexpected reply: " + in.describe();
  }
  std::memcpy(out, in.bytes.data() + sizeof(Frame), sizeof(Digest));
  return "";
}

// A client rewrites its arguments from another thread for as long as the server reads them: the
// server sees bytes that change under it, never bytes it cannot read, and answers every call
// with the size it was given. An honest client of the same server gets every answer right.
TEST_F(SharedMemoryAttack, ArgumentsRewrittenDuringTheCall_ServerAnswersAndSurvives) {
  HonestClient honest(path_);
  UniqueFd arena = arena_memfd(kArenaBytes, F_SEAL_SHRINK | F_SEAL_GROW);
  ASSERT_TRUE(arena.valid());
  void* map = ::mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE, MAP_SHARED, arena.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* bytes = static_cast<std::atomic<std::uint64_t>*>(map);
  UniqueFd ch = channel();
  ASSERT_TRUE(ch.valid());

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> flips{0};
  std::thread flipper([&] {
    for (std::uint64_t i = 1; !stop.load(std::memory_order_relaxed); ++i) {
      bytes[(i * 7919) % (kArgBytes / 8)].fetch_xor(i, std::memory_order_relaxed);
      flips.fetch_add(1, std::memory_order_relaxed);
    }
  });
  int calls = 0;
  std::set<std::uint64_t> digests;
  for (; calls < 200; ++calls) {
    Digest d{};
    std::string failure = call_in_arena(ch.get(), calls == 0 ? arena.get() : -1, &d);
    if (!failure.empty()) {
      ADD_FAILURE() << "call " << calls << ": " << failure;
      break;
    }
    EXPECT_EQ(d.size, kArgBytes);
    digests.insert(d.hash);
  }
  stop.store(true);
  flipper.join();
  EXPECT_GT(digests.size(), 1u) << "the arguments never changed under the server";
  EXPECT_TRUE(honest.await_calls(honest.calls() + 2, Deadline::standard()));
  honest.stop();
  EXPECT_EQ(honest.failures(), 0) << honest.first_failure();
  std::printf("[ shm      ] %d calls with arguments rewritten %llu times, %zu distinct digests\n",
              calls, static_cast<unsigned long long>(flips.load()), digests.size());
  ::munmap(map, kArenaBytes);
}

// The arena's seals hold against its own client: shrinking, growing and removing seals fail, so
// the mapping the server reads stays whole.
TEST_F(SharedMemoryAttack, SealedArena_ClientCannotShrinkGrowOrUnsealIt) {
  UniqueFd arena = arena_memfd(kArenaBytes, F_SEAL_SHRINK | F_SEAL_GROW);
  ASSERT_TRUE(arena.valid());
  void* map = ::mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE, MAP_SHARED, arena.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  std::memset(map, 0x5a, kArgBytes);
  UniqueFd ch = channel();
  ASSERT_TRUE(ch.valid());
  Digest first{};
  ASSERT_EQ(call_in_arena(ch.get(), arena.get(), &first), "");

  EXPECT_EQ(::ftruncate(arena.get(), 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(arena.get(), kArenaBytes / 2), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(arena.get(), kArenaBytes * 2), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::fallocate(arena.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, kArgBytes), 0)
      << "punching a hole keeps the size: the pages read back as zeros, no fault";
  // A writable mapping exists, so F_SEAL_WRITE cannot be added; seals can never be removed.
  EXPECT_EQ(::fcntl(arena.get(), F_ADD_SEALS, F_SEAL_WRITE), -1);
  EXPECT_EQ(errno, EBUSY);
  ASSERT_EQ(::fcntl(arena.get(), F_ADD_SEALS, F_SEAL_SEAL), 0);
  EXPECT_EQ(::fcntl(arena.get(), F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);

  Digest second{};
  EXPECT_EQ(call_in_arena(ch.get(), -1, &second), "");
  EXPECT_EQ(second.size, kArgBytes);
  EXPECT_EQ(second.hash, digest(std::string(kArgBytes, '\0').data(), kArgBytes));
  ::munmap(map, kArenaBytes);
}

// An arena the client could still shrink (unsealed, or sealed against growing only) is refused:
// the channel is dropped and the procedure never runs. Were it mapped, the client could truncate
// it while the procedure reads it (the test does, if the procedure ever starts) and raise SIGBUS
// in the server.
TEST_F(SharedMemoryAttack, ShrinkableArena_RefusedBeforeTheProcedureRuns) {
  shared_->hold.store(1);
  for (unsigned seals : {0u, unsigned{F_SEAL_GROW}, unsigned{F_SEAL_WRITE}}) {
    SCOPED_TRACE("seals " + std::to_string(seals));
    UniqueFd arena = arena_memfd(kArenaBytes, 0);
    ASSERT_TRUE(arena.valid());
    {
      void* map = ::mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE, MAP_SHARED, arena.get(), 0);
      ASSERT_NE(map, MAP_FAILED);
      std::memset(map, 0x5a, kArgBytes);
      ::munmap(map, kArenaBytes);
    }
    if (seals != 0) {
      ASSERT_EQ(::fcntl(arena.get(), F_ADD_SEALS, seals), 0);
    }
    UniqueFd ch = channel();
    ASSERT_TRUE(ch.valid());
    const std::uint32_t started = shared_->started.load();
    ASSERT_EQ(send_raw(ch.get(),
                       message(header(FrameKind::kCall, kDataInArena | kNewArena, 0, kArgBytes, 0)),
                       {arena.get()}),
              0);
    // Either the channel is dropped, or (were the arena accepted) the procedure starts and holds.
    Deadline deadline = Deadline::standard();
    while (!poll_readable(ch.get(), Deadline::in(std::chrono::milliseconds(1))) &&
           shared_->started.load() == started && !deadline.expired()) {
    }
    if (shared_->started.load() != started) {
      // The server mapped it: pull the pages from under the procedure, then let it read on.
      ::ftruncate(arena.get(), 0);
      shared_->release.fetch_add(1);
      ADD_FAILURE() << "the server ran a call whose arena the client can shrink";
    }
    Incoming in = receive(ch.get(), Deadline::standard());
    EXPECT_TRUE(in.outcome == Incoming::kEof || in.outcome == Incoming::kReset) << in.describe();
    // And the same client with a properly sealed arena is served.
    UniqueFd good = arena_memfd(kArenaBytes, F_SEAL_SHRINK | F_SEAL_GROW);
    ASSERT_TRUE(good.valid());
    UniqueFd ch2 = channel();
    ASSERT_TRUE(ch2.valid());
    shared_->hold.store(0);
    Digest d{};
    EXPECT_EQ(call_in_arena(ch2.get(), good.get(), &d), "");
    EXPECT_EQ(d.size, kArgBytes);
    shared_->hold.store(1);
  }
}

}  // namespace
}  // namespace doors::test
