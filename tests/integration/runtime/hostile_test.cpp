// Messages a hostile or broken client may send, crafted byte by byte and sent with a raw
// door_call(3C): the server answers with an error (or drops the call) and keeps serving.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <door.h>
#include <doors/ext.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "door_support.h"
#include "raw_wire.h"
#include "tester_server.h"

namespace doors::test {
namespace {

constexpr uint16_t kNull = 0;
constexpr uint16_t kSumList = 6;
constexpr uint16_t kDepth = 20;
constexpr uint16_t kCountVoids = 21;

std::string header(uint16_t kind, uint16_t code, uint64_t interface,
                   uint32_t magic = wire::kMagic) {
  wire::Header h{magic, kind, code, interface};
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

std::string request_header(uint16_t ordinal) {
  return header(static_cast<uint16_t>(wire::Kind::kRequest), ordinal, rt::TesterDoor::kInterfaceId);
}

// A one-segment message of the given words (the segment table, then the words).
std::string one_segment(const std::vector<uint64_t>& words) {
  std::string s;
  uint32_t table[2] = {0, static_cast<uint32_t>(words.size())};
  s.append(reinterpret_cast<const char*>(table), sizeof table);
  s.append(reinterpret_cast<const char*>(words.data()), words.size() * 8);
  return s;
}

std::string empty_params() { return one_segment({0}); }

struct RawReply {
  int rc = -1;
  int err = 0;
  bool is_error = false;
  Code code = Code::kOk;
  std::string text;
};

RawReply raw_call(int fd, const std::string& bytes) {
  CallOutcome out = call_door(fd, bytes);
  RawReply r;
  r.rc = out.rc;
  r.err = out.err;
  if (out.rc == 0 && out.data.size() >= sizeof(wire::Header)) {
    wire::Header h;
    std::memcpy(&h, out.data.data(), sizeof h);
    r.is_error = h.kind == static_cast<uint16_t>(wire::Kind::kError);
    r.code = static_cast<Code>(h.code);
    r.text = out.data.substr(sizeof h);
  }
  for (auto& d : out.descs) ::close(d.d_data.d_desc.d_descriptor);
  return r;
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(f.ok()); }
  // The server answered `bytes` with an error of `code`, and still serves typed calls.
  void expect_error(const std::string& bytes, Code code) {
    RawReply sut = raw_call(f.client.fd(), bytes);
    ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
    EXPECT_TRUE(sut.is_error);
    EXPECT_EQ(sut.code, code) << code_name(sut.code) << ": " << sut.text;
    EXPECT_EQ(f.client.add(20, 22)->getSum(), 42) << "the server stopped serving";
  }
  TesterFixture f;
};

TEST_F(Hostile, ValidRawNull_Replies) {
  RawReply sut = raw_call(f.client.fd(), request_header(kNull) + empty_params());

  ASSERT_EQ(sut.rc, 0);
  EXPECT_FALSE(sut.is_error) << sut.text;
}

TEST_F(Hostile, Empty_InvalidArgument) { expect_error("", Code::kInvalidArgument); }

TEST_F(Hostile, TruncatedHeader_InvalidArgument) {
  expect_error(request_header(kNull).substr(0, 5), Code::kInvalidArgument);
}

TEST_F(Hostile, BadMagic_InvalidArgument) {
  expect_error(header(1, kNull, rt::TesterDoor::kInterfaceId, 0x12345678) + empty_params(),
               Code::kInvalidArgument);
}

TEST_F(Hostile, ReplyKind_InvalidArgument) {
  expect_error(header(static_cast<uint16_t>(wire::Kind::kReply), 0, 0) + empty_params(),
               Code::kInvalidArgument);
}

TEST_F(Hostile, UnknownKind_InvalidArgument) {
  expect_error(header(7, 0, rt::TesterDoor::kInterfaceId) + empty_params(), Code::kInvalidArgument);
}

TEST_F(Hostile, WrongInterfaceId_Unimplemented) {
  expect_error(header(1, kNull, rt::SessionDoor::kInterfaceId) + empty_params(),
               Code::kUnimplemented);
}

TEST_F(Hostile, UnknownOrdinal_Unimplemented) {
  expect_error(request_header(999) + empty_params(), Code::kUnimplemented);
}

TEST_F(Hostile, HeaderOnly_InvalidArgument) {
  expect_error(request_header(kNull), Code::kInvalidArgument);
}

TEST_F(Hostile, SegmentTableClaimsMoreThanSent_InvalidArgument) {
  uint32_t table[2] = {0, 1000};
  std::string body(reinterpret_cast<const char*>(table), sizeof table);
  body.append(16, '\0');
  expect_error(request_header(kNull) + body, Code::kInvalidArgument);
}

TEST_F(Hostile, BytesBeyondTheSegments_InvalidArgument) {
  expect_error(request_header(kNull) + empty_params() + std::string(8, '\0'),
               Code::kInvalidArgument);
}

TEST_F(Hostile, TenThousandSegments_InvalidArgument) {
  const uint32_t n = 10000;
  std::vector<uint32_t> table(n + 1 + (n + 1) % 2, 0);
  table[0] = n - 1;
  table[1] = 1;
  std::string body(reinterpret_cast<const char*>(table.data()), table.size() * 4);
  body.append(8, '\0');
  expect_error(request_header(kNull) + body, Code::kInvalidArgument);
}

TEST_F(Hostile, SegmentCountOverflows_InvalidArgument) {
  uint32_t table[2] = {UINT32_MAX, 1};
  std::string body(reinterpret_cast<const char*>(table), sizeof table);
  body.append(8, '\0');
  expect_error(request_header(kNull) + body, Code::kInvalidArgument);
}

TEST_F(Hostile, RootIsAListPointer_InvalidArgument) {
  // A list pointer (kind 1) where the root struct should be.
  expect_error(request_header(kNull) + one_segment({0x0000000800000001ull, 0}),
               Code::kInvalidArgument);
}

TEST_F(Hostile, RootOutOfBounds_InvalidArgument) {
  // A struct of 100 data words in a 1-word segment.
  expect_error(request_header(kNull) + one_segment({0x0000006400000000ull}),
               Code::kInvalidArgument);
}

// Node.next points at the node itself: reading the chain stops at the nesting limit.
TEST_F(Hostile, PointerLoop_ErrorNotHang) {
  std::vector<uint64_t> words = {
      0x0001000000000000ull,  // root: struct at word 1, 0 data words, 1 pointer
      0x00010000fffffffcull,  // Node.next: struct at offset -1, i.e. this very node
  };
  expect_error(request_header(kDepth) + one_segment(words), Code::kInternal);
}

TEST_F(Hostile, DeepNesting_Error) {
  capnp::MallocMessageBuilder builder;
  auto n = builder.initRoot<rt::Tester::DepthParams>().initN();
  for (int i = 0; i < 200; ++i) n = n.initNext();
  auto flat = capnp::messageToFlatArray(builder);
  std::string body(reinterpret_cast<const char*>(flat.begin()), flat.size() * 8);

  expect_error(request_header(kDepth) + body, Code::kInternal);
}

TEST_F(Hostile, ShallowNesting_Fine) {
  auto req = f.client.depthRequest();
  auto n = req->initN();
  for (int i = 0; i < 50; ++i) n = n.initNext();

  EXPECT_EQ(req.send()->getDepth(), 50u);
}

TEST_F(Hostile, HugeVoidListCount_ErrorNotLoop) {
  std::vector<uint64_t> words = {
      0x0001000000000000ull,  // root: struct at word 1, 1 pointer
      0xfffffff800000001ull,  // List(Void) of 2^29 - 1 elements
  };
  expect_error(request_header(kCountVoids) + one_segment(words), Code::kInternal);
}

TEST_F(Hostile, HugeFloatListCount_Error) {
  std::vector<uint64_t> words = {
      0x0001000000000000ull,  // root: struct at word 1, 1 pointer
      0xfffffffd00000001ull,  // List(Float64) of 2^29 - 1 elements, in a 2-word segment
  };
  expect_error(request_header(kSumList) + one_segment(words), Code::kInternal);
}

// A request for sumList with `n` values 0, 1, ..., n-1: header and flat message bytes.
std::string sum_list_request(unsigned n) {
  capnp::MallocMessageBuilder message;
  auto values = message.initRoot<rt::Tester::SumListParams>().initValues(n);
  for (unsigned i = 0; i < n; ++i) values.set(i, i);
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asChars();
  return request_header(kSumList) + std::string(bytes.begin(), bytes.size());
}

// The typed layer reads arguments larger than DOORS_INLINE_DATA_MAX in place, in the client's
// shared memory, so a hostile client can rewrite a Cap'n Proto message while the server decodes
// it: header, segment table, pointers and data. A raw client (raw_wire.h) with an arena of its own
// does exactly that. Every call must still get a reply or a typed error, never a crash or a hang,
// and the server must serve correctly once the rewriting stops.
TEST_F(Hostile, MessageRewrittenWhileTheServerReadsIt_ReplyOrTypedErrorNeverACrash) {
  using namespace raw;
  constexpr unsigned kValues = 16384;  // 128 KiB of Float64: larger than inline data
  const std::string request = sum_list_request(kValues);
  ASSERT_GT(request.size(), size_t{DOORS_INLINE_DATA_MAX});
  ASSERT_EQ(request.size() % 8, 0u);
  const size_t arena_bytes = (request.size() + 4095) / 4096 * 4096;
  UniqueFd arena(::memfd_create("rewritten-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_TRUE(arena.valid());
  ASSERT_EQ(::ftruncate(arena.get(), static_cast<off_t>(arena_bytes)), 0);
  ASSERT_EQ(::fcntl(arena.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  void* map = ::mmap(nullptr, arena_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, arena.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* words = static_cast<std::atomic<std::uint64_t>*>(map);
  UniqueFd primary = hello(f.path);
  ASSERT_TRUE(primary.valid());
  UniqueFd channel = attach(primary.get());
  ASSERT_TRUE(channel.valid());

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> rewrites{0};
  const size_t nwords = request.size() / 8;
  std::thread rewriter([&] {
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    while (!stop.load(std::memory_order_relaxed)) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      // Half of them in the first words (header, segment table, root and list pointers).
      size_t at = (x & 1) ? (x >> 8) % 8 : (x >> 8) % nwords;
      words[at].fetch_xor(x >> 3, std::memory_order_relaxed);
      rewrites.fetch_add(1, std::memory_order_relaxed);
    }
  });
  int replies = 0, errors = 0;
  std::string failure;
  for (int i = 0; i < 300 && failure.empty(); ++i) {
    // Word by word and atomically, as the rewriter writes: the two threads race on purpose.
    for (size_t k = 0; k < nwords; ++k) {
      std::uint64_t w;
      std::memcpy(&w, request.data() + 8 * k, 8);
      words[k].store(w, std::memory_order_relaxed);
    }
    // Every other call waits for some rewrites to land before it goes out (however the threads
    // are scheduled); all of them are rewritten while the server reads them.
    std::uint64_t before = rewrites.load();
    while (i % 2 == 0 && rewrites.load() < before + 8) std::this_thread::yield();
    std::uint16_t flags = detail::kDataInArena | (i == 0 ? detail::kNewArena : 0);
    std::vector<int> fds;
    if (i == 0) fds.push_back(arena.get());
    int err =
        send_raw(channel.get(),
                 raw::message(raw::header(FrameKind::kCall, flags, 0, request.size(), 0)), fds);
    if (err != 0) {
      failure = std::string("send: ") + std::strerror(err);
      break;
    }
    Incoming in = receive(channel.get(), Deadline::standard());
    wire::Header h{};
    if (in.outcome != Incoming::kMessage || in.frame.kind != FrameKind::kReply ||
        in.bytes.size() < sizeof(Frame) + sizeof h) {
      failure = "call " + std::to_string(i) + ": " + in.describe();
      break;
    }
    std::memcpy(&h, in.bytes.data() + sizeof(Frame), sizeof h);
    (h.kind == static_cast<uint16_t>(wire::Kind::kError) ? errors : replies)++;
  }
  stop.store(true);
  rewriter.join();
  ::munmap(map, arena_bytes);
  EXPECT_EQ(failure, "");
  EXPECT_GT(errors, 0) << "the rewriting never reached the decoder";
  std::printf("[ rewrite  ] %d calls, %llu rewrites: %d replies, %d typed errors\n",
              replies + errors, static_cast<unsigned long long>(rewrites.load()), replies, errors);

  RawReply clean = raw_call(f.client.fd(), request);
  ASSERT_EQ(clean.rc, 0) << std::strerror(clean.err);
  EXPECT_FALSE(clean.is_error) << clean.text;
  EXPECT_EQ(f.client.add(20, 22)->getSum(), 42) << "the server stopped serving";
}

TEST_F(Hostile, ManyCallsAfterGarbage_ServerStillServes) {
  for (int i = 0; i < 50; ++i) {
    std::string junk = pattern(static_cast<size_t>(i) * 37, static_cast<uint64_t>(i));
    raw_call(f.client.fd(), junk);
    raw_call(f.client.fd(), request_header(static_cast<uint16_t>(i % 23)) + junk);
  }

  EXPECT_EQ(f.client.add(1, 2)->getSum(), 3);
}

}  // namespace
}  // namespace doors::test
