// A hostile client at the wire level (doors/src/wire.h): truncated, oversized, out-of-range and
// wrong-kind messages, bad arenas and channel sockets, and descriptor floods, sent at each stage
// of a connection (pending on the listener, primary socket, call channel). For each, the server
// closes that connection (or answers with the error the protocol defines), keeps none of the
// attack's descriptors, and an honest client of the same door gets every answer right meanwhile.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
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
#include "shuttle.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace raw;
using detail::kDataInArena;
using detail::kInlineDataMax;
using detail::kMaxFrameBytes;
using detail::kNewArena;

// --- descriptors an attack passes ---------------------------------------------------------------

UniqueFd memfd_of(std::size_t size, unsigned seals) {
  UniqueFd fd(::memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return {};
  if (seals != 0 && ::fcntl(fd.get(), F_ADD_SEALS, seals) != 0) return {};
  return fd;
}

UniqueFd socket_of(int type) {
  int sv[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) return {};
  ::close(sv[1]);
  return UniqueFd(sv[0]);
}

UniqueFd pipe_end() { return std::move(Pipe::make().read_end); }

// --- the attacks --------------------------------------------------------------------------------

enum Stage : unsigned { kPending = 1, kPrimary = 2, kChannel = 4, kAnyStage = 7 };

const char* stage_name(Stage s) {
  return s == kPending ? "pending connection" : s == kPrimary ? "primary socket" : "call channel";
}

// What an attack sends: messages, each with descriptors. `owned` keeps them open until sent.
struct Volley {
  struct Message {
    std::string bytes;
    std::vector<int> fds;
  };
  std::vector<Message> messages;
  std::vector<UniqueFd> owned;

  int own(UniqueFd fd) {
    owned.push_back(std::move(fd));
    return owned.back().get();
  }
  void add(std::string bytes, std::vector<int> fds = {}) {
    messages.push_back({std::move(bytes), std::move(fds)});
  }
};

struct Attack {
  std::string name;
  unsigned stages;
  std::function<void(Volley&, const std::string& path)> build;
  int answer_error = -1;  // >= 0: the server first answers kError with this errno, then closes
};

Frame call_header(std::uint16_t flags = 0, std::uint32_t desc_num = 0, std::uint64_t size = 0,
                  std::uint64_t offset = 0) {
  return header(FrameKind::kCall, flags, desc_num, size, offset);
}

// A kCall whose data is in an arena the message passes (kNewArena) as `arena`.
void arena_call(Volley& v, UniqueFd arena, std::uint64_t offset, std::uint64_t size) {
  int fd = v.own(std::move(arena));
  v.add(message(call_header(kNewArena | kDataInArena, 0, size, offset)), {fd});
}

std::vector<int> copies(int fd, std::size_t n) { return std::vector<int>(n, fd); }

std::vector<Attack> attacks() {
  std::vector<Attack> list;
  auto add = [&](std::string name, unsigned stages, auto build, int answer_error = -1) {
    list.push_back({name, stages, build, answer_error});
  };

  // Malformed framing.
  add("empty message", kAnyStage, [](Volley& v, auto&) { v.add(""); });
  add("truncated header", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header()).substr(0, 16)); });
  add("header one byte short", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header()).substr(0, sizeof(Frame) - 1)); });
  add("bad magic", kAnyStage, [](Volley& v, auto&) {
    Frame f = call_header(0, 0, 1);
    f.magic = 0xdeadbeef;
    v.add(message(f, "x"));
  });
  for (FrameKind k :
       {FrameKind::kReply, FrameKind::kError, FrameKind::kRevoked, FrameKind::kInfo,
        FrameKind::kWelcome, FrameKind::kClosed, FrameKind::kStats, FrameKind::kShuttleWake}) {
    add("server-to-client kind " + std::to_string(static_cast<int>(k)), kAnyStage,
        [k](Volley& v, auto&) { v.add(message(header(k, 0, 0, 8), "12345678")); });
  }
  for (std::uint16_t k : {0, 15, 16, 0x7fff, 0xffff}) {
    add("unknown kind " + std::to_string(k), kAnyStage,
        [k](Volley& v, auto&) { v.add(message(header(static_cast<FrameKind>(k)))); });
  }
  add("unknown flags", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header(0x8000, 0, 1), "x")); });

  // Sizes that disagree with the message.
  add("data_size beyond the message", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header(0, 0, 100), "0123456789")); });
  add("data_size short of the message", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header(0, 0, 4), "0123456789")); });
  add("data_size beyond the inline maximum", kAnyStage, [](Volley& v, auto&) {
    v.add(message(call_header(0, 0, kInlineDataMax + 1), std::string(64, 'x')));
  });
  add("data_size of 2^64-1", kAnyStage, [](Volley& v, auto&) {
    v.add(message(call_header(0, 0, std::numeric_limits<std::uint64_t>::max()), "x"));
  });
  add("message larger than kMaxFrameBytes", kAnyStage, [](Volley& v, auto&) {
    v.add(message(call_header(0, 0, kInlineDataMax), std::string(kMaxFrameBytes, 'x')));
  });

  // Descriptor counts that disagree with desc_num.
  add("desc_num larger than the descriptors passed", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header(0, 2), {}, 2), {v.own(pipe_end())}); });
  add("desc_num smaller than the descriptors passed", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header(0, 0)), copies(v.own(pipe_end()), 3)); });
  add("desc_num without its DescMeta entries", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header(0, 1)), {v.own(pipe_end())}); });
  add("desc_num of 2^32-1", kAnyStage, [](Volley& v, auto&) {
    v.add(message(call_header(0, std::numeric_limits<std::uint32_t>::max())));
  });

  // Arguments in an arena that is missing, out of range, or not a safe memfd.
  add("kDataInArena without an arena", kAnyStage,
      [](Volley& v, auto&) { v.add(message(call_header(kDataInArena, 0, 100'000, 0))); });
  add("arena offset beyond the arena", kAnyStage, [](Volley& v, auto&) {
    arena_call(v, memfd_of(128 << 10, F_SEAL_SHRINK | F_SEAL_GROW), 128 << 10, 100'000);
  });
  add("arena offset + size wraps around", kAnyStage, [](Volley& v, auto&) {
    arena_call(v, memfd_of(128 << 10, F_SEAL_SHRINK | F_SEAL_GROW),
               std::numeric_limits<std::uint64_t>::max() - 4095, 100'000);
  });
  add("arena offset + size wraps to zero", kAnyStage, [](Volley& v, auto&) {
    arena_call(v, memfd_of(128 << 10, F_SEAL_SHRINK | F_SEAL_GROW), 4096,
               std::numeric_limits<std::uint64_t>::max() - 4095);
  });
  add("arena size beyond the arena", kAnyStage, [](Volley& v, auto&) {
    arena_call(v, memfd_of(128 << 10, F_SEAL_SHRINK | F_SEAL_GROW), 4096, 1ull << 40);
  });
  add("kNewArena with a pipe", kAnyStage,
      [](Volley& v, auto&) { arena_call(v, pipe_end(), 0, 100'000); });
  add("kNewArena with a regular file", kAnyStage, [](Volley& v, const std::string& path) {
    arena_call(v, UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), 0, 100'000);
  });
  add("kNewArena with an unsealed memfd", kAnyStage,
      [](Volley& v, auto&) { arena_call(v, memfd_of(128 << 10, 0), 0, 100'000); });
  add("kNewArena with a memfd sealed against growing only", kAnyStage,
      [](Volley& v, auto&) { arena_call(v, memfd_of(128 << 10, F_SEAL_GROW), 0, 100'000); });
  add("kNewArena with a sealed empty memfd", kAnyStage, [](Volley& v, auto&) {
    arena_call(v, memfd_of(0, F_SEAL_SHRINK | F_SEAL_GROW), 0, 100'000);
  });
  add("kNewArena with a sealed tiny memfd", kAnyStage, [](Volley& v, auto&) {
    arena_call(v, memfd_of(4096, F_SEAL_SHRINK | F_SEAL_GROW), 0, 100'000);
  });
  add("kNewArena without its descriptor", kAnyStage, [](Volley& v, auto&) {
    v.add(message(call_header(kNewArena | kDataInArena, 0, 100'000, 0)));
  });
  add("kNewArena on a request that takes none", kPrimary | kChannel, [](Volley& v, auto&) {
    v.add(message(header(FrameKind::kInfoRequest, kNewArena)),
          {v.own(memfd_of(128 << 10, F_SEAL_SHRINK | F_SEAL_GROW))});
  });

  // Channels that are not seqpacket sockets, and broken shuttle pages.
  auto attach_with = [](std::function<std::vector<UniqueFd>()> make, std::uint32_t desc_num,
                        std::uint16_t flags = 0) {
    return [make, desc_num, flags](Volley& v, auto&) {
      std::vector<int> fds;
      for (UniqueFd& fd : make()) fds.push_back(v.own(std::move(fd)));
      v.add(message(header(FrameKind::kAttach, flags, desc_num), {}, desc_num), fds);
    };
  };
  auto one = [](std::function<UniqueFd()> f) {
    return [f] {
      std::vector<UniqueFd> v;
      v.push_back(f());
      return v;
    };
  };
  add("kAttach with a pipe", kPrimary | kChannel, attach_with(one(pipe_end), 1));
  add("kAttach with a SOCK_STREAM socket", kPrimary | kChannel,
      attach_with(one([] { return socket_of(SOCK_STREAM); }), 1));
  add("kAttach with a SOCK_DGRAM socket", kPrimary | kChannel,
      attach_with(one([] { return socket_of(SOCK_DGRAM); }), 1));
  add("kAttach with a memfd", kPrimary | kChannel,
      attach_with(one([] { return memfd_of(4096, 0); }), 1));
  add("kAttach without a descriptor", kPrimary | kChannel,
      attach_with([] { return std::vector<UniqueFd>{}; }, 0));
  add("kAttach with three descriptors", kPrimary | kChannel,
      attach_with(
          [] {
            std::vector<UniqueFd> v;
            for (int i = 0; i < 3; ++i) v.push_back(socket_of(SOCK_SEQPACKET));
            return v;
          },
          3));
  add("kAttach with kNewArena", kPrimary | kChannel, [](Volley& v, auto&) {
    int arena = v.own(memfd_of(4096, F_SEAL_SHRINK | F_SEAL_GROW));
    int sock = v.own(socket_of(SOCK_SEQPACKET));
    v.add(message(header(FrameKind::kAttach, kNewArena, 1), {}, 1), {arena, sock});
  });
  add("kAttach with a pipe for a shuttle page", kPrimary | kChannel,
      attach_with(
          [] {
            std::vector<UniqueFd> v;
            v.push_back(socket_of(SOCK_SEQPACKET));
            v.push_back(pipe_end());
            return v;
          },
          2));
  add("kAttach with an unsealed shuttle page", kPrimary | kChannel,
      attach_with(
          [] {
            std::vector<UniqueFd> v;
            v.push_back(socket_of(SOCK_SEQPACKET));
            v.push_back(memfd_of(detail::kShuttleBytes, 0));
            return v;
          },
          2));
  add("kAttach with a sealed shuttle page of the wrong size", kPrimary | kChannel,
      attach_with(
          [] {
            std::vector<UniqueFd> v;
            v.push_back(socket_of(SOCK_SEQPACKET));
            v.push_back(memfd_of(4096, F_SEAL_SHRINK | F_SEAL_GROW));
            return v;
          },
          2));

  // Requests made at the wrong stage.
  for (FrameKind k : {FrameKind::kCall, FrameKind::kInfoRequest, FrameKind::kStatsRequest}) {
    add("request kind " + std::to_string(static_cast<int>(k)) + " before kHello", kPending,
        [k](Volley& v, auto&) { v.add(message(header(k))); });
  }
  add("kAttach before kHello", kPending,
      attach_with(one([] { return socket_of(SOCK_SEQPACKET); }), 1));
  add("kHello after the handshake", kPrimary | kChannel, [](Volley& v, const std::string& path) {
    int file = v.own(UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)));
    v.add(message(header(FrameKind::kHello, 0, 1), {}, 1), {file});
  });
  add("kDetach after the handshake", kPrimary | kChannel, [](Volley& v, const std::string& path) {
    int file = v.own(UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)));
    v.add(message(header(FrameKind::kDetach, 0, 1), {}, 1), {file});
  });
  add("kHello with another file", kPending, [](Volley& v, auto&) {
    int file = v.own(UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
    v.add(message(header(FrameKind::kHello, 0, 1), {}, 1), {file});
  });
  add("kHello without a descriptor", kPending,
      [](Volley& v, auto&) { v.add(message(header(FrameKind::kHello))); });
  add("kHello with two descriptors", kPending, [](Volley& v, const std::string& path) {
    int file = v.own(UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)));
    v.add(message(header(FrameKind::kHello, 0, 2), {}, 2), {file, file});
  });
  add(
      "kDetach with another file", kPending,
      [](Volley& v, auto&) {
        int file = v.own(UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
        v.add(message(header(FrameKind::kDetach, 0, 1), {}, 1), {file});
      },
      /*answer_error=*/EINVAL);

  // Descriptor floods.
  add("253 descriptors in one message", kAnyStage, [](Volley& v, auto&) {
    v.add(message(call_header(0, 253), {}, 253), copies(v.own(pipe_end()), 253));
  });
  add("253 descriptors for 252 entries", kAnyStage, [](Volley& v, auto&) {
    v.add(message(call_header(0, 252), {}, 252), copies(v.own(pipe_end()), 253));
  });
  add("many messages with many descriptors each", kAnyStage, [](Volley& v, auto&) {
    int fd = v.own(pipe_end());
    for (int i = 0; i < 8; ++i) v.add(message(call_header(0, 0)), copies(fd, 200));
  });
  add("descriptors on kInfoRequest", kPrimary | kChannel, [](Volley& v, auto&) {
    v.add(message(header(FrameKind::kInfoRequest)), {v.own(pipe_end())});
  });
  add("descriptors on kStatsRequest", kPrimary | kChannel, [](Volley& v, auto&) {
    v.add(message(header(FrameKind::kStatsRequest)), copies(v.own(pipe_end()), 5));
  });
  return list;
}

// --- the test -----------------------------------------------------------------------------------

class HostileWire : public ::testing::TestWithParam<Stage> {};

TEST_P(HostileWire, ServerClosesTheConnectionKeepsNoDescriptorAndServesOthers) {
  const Stage stage = GetParam();
  TempDir dir;
  const std::string path = dir.file("door");
  std::unique_ptr<ForkedServer> server = fork_door_server(path, digest_proc);
  ASSERT_NE(server, nullptr);
  const pid_t pid = server->pid();

  HonestClient honest(path);
  ASSERT_TRUE(honest.await_calls(2, Deadline::standard())) << honest.first_failure();
  // A call in progress holds descriptors for a moment (an arena between receipt and mapping):
  // the baseline is the fewest seen.
  int baseline = count_fds(pid);
  for (int i = 0; i < 20; ++i) {
    timespec pause{0, 1'000'000};
    ::nanosleep(&pause, nullptr);
    baseline = std::min(baseline, count_fds(pid));
  }
  ASSERT_GT(baseline, 0);
  const std::string baseline_fds = describe_fds(pid);

  int ran = 0;
  for (const Attack& attack : attacks()) {
    if (!(attack.stages & stage)) continue;
    SCOPED_TRACE(attack.name + " on a " + stage_name(stage));
    ++ran;
    UniqueFd primary;
    UniqueFd target;
    if (stage == kPending) {
      target = connect_listener(path);
    } else {
      primary = hello(path);
      ASSERT_TRUE(primary.valid());
      target = stage == kPrimary ? UniqueFd(::dup(primary.get())) : attach(primary.get());
    }
    ASSERT_TRUE(target.valid());

    Volley volley;
    attack.build(volley, path);
    for (std::size_t i = 0; i < volley.messages.size(); ++i) {
      int err = send_raw(target.get(), volley.messages[i].bytes, volley.messages[i].fds);
      // Once the server has dropped the connection, the rest of a volley cannot be sent.
      if (i == 0) {
        ASSERT_EQ(err, 0) << std::strerror(err);
      }
    }
    volley.owned.clear();

    if (attack.answer_error >= 0) {
      Incoming in = receive(target.get(), Deadline::standard());
      ASSERT_EQ(in.outcome, Incoming::kMessage) << in.describe();
      EXPECT_EQ(in.frame.kind, FrameKind::kError);
      EXPECT_EQ(in.frame.error, attack.answer_error);
      EXPECT_TRUE(in.fds.empty());
    }
    EXPECT_EQ(expect_closed(target.get(), Deadline::standard()), "");

    if (stage == kChannel) {
      // Only the channel is dropped: the door descriptor it came through still works.
      ASSERT_EQ(send_raw(primary.get(), message(header(FrameKind::kInfoRequest))), 0);
      Incoming info = receive(primary.get(), Deadline::standard());
      ASSERT_EQ(info.outcome, Incoming::kMessage) << info.describe();
      EXPECT_EQ(info.frame.kind, FrameKind::kInfo);
    }
    target.reset();
    primary.reset();
    int left = await_fd_count(pid, baseline, Deadline::standard());
    EXPECT_LE(left, baseline) << "the server kept descriptors of the attack:\n"
                              << describe_fds(pid) << "before:\n"
                              << baseline_fds;
    ASSERT_EQ(honest.failures(), 0) << honest.first_failure();
  }
  EXPECT_GT(ran, 10);

  const long before = honest.calls();
  EXPECT_TRUE(honest.await_calls(before + 2, Deadline::standard())) << honest.first_failure();
  honest.stop();
  EXPECT_EQ(honest.failures(), 0) << honest.first_failure();
  std::printf("[ hostile  ] %d attacks on a %s; the honest client made %ld calls meanwhile\n", ran,
              stage_name(stage), honest.calls());
  ChildStatus st = server->stop();
  EXPECT_TRUE(st.exited_with(0) || st.killed_by(SIGTERM)) << st.describe();
}

INSTANTIATE_TEST_SUITE_P(AtEachStage, HostileWire, ::testing::Values(kPending, kPrimary, kChannel),
                         [](const ::testing::TestParamInfo<Stage>& info) {
                           return std::string(info.param == kPending   ? "PendingConnection"
                                              : info.param == kPrimary ? "PrimarySocket"
                                                                       : "CallChannel");
                         });

}  // namespace
}  // namespace doors::test
