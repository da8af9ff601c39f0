// Messages a hostile or broken client may send, crafted byte by byte and sent with a raw
// door_call(3C): the server answers with an error (or drops the call) and keeps serving.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <door.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "door_support.h"
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
