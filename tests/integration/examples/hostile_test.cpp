// Hostile and malformed messages sent with a raw door_call(3C) to the calculator door: every one
// gets an error reply or is dropped, descriptors that came with it are closed, and the server
// keeps serving typed calls.
#include <door.h>
#include <doors/runtime.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "calculator.door.h"
#include "door_support.h"
#include "example_process.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// The typed-call wire header (runtime/README.md): little endian.
constexpr uint32_t kMagic = 0x31505244;  // "DRP1"
constexpr uint16_t kRequest = 1, kReply = 2, kError = 3;
constexpr uint16_t kAddOrdinal = 0;

std::string header(uint16_t kind, uint16_t code, uint64_t interface, uint32_t magic = kMagic) {
  std::string h(16, '\0');
  std::memcpy(h.data(), &magic, 4);
  std::memcpy(h.data() + 4, &kind, 2);
  std::memcpy(h.data() + 6, &code, 2);
  std::memcpy(h.data() + 8, &interface, 8);
  return h;
}

std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

// A flat Cap'n Proto message with one segment of `words` zero words (a null root: the struct's
// defaults), after the segment table.
std::string flat_message(uint32_t words) {
  return u32(0) + u32(words) + std::string(size_t{words} * 8, '\0');
}

std::string request(uint16_t ordinal, const std::string& body,
                    uint64_t interface = calc::CalculatorDoor::kInterfaceId) {
  return header(kRequest, ordinal, interface) + body;
}

struct Parsed {
  bool ok = false;  // a well-formed header came back
  uint16_t kind = 0;
  uint16_t code = 0;
  std::string text;  // an error's message
};

Parsed parse_reply(const std::string& data) {
  Parsed p;
  if (data.size() < 16) return p;
  uint32_t magic;
  std::memcpy(&magic, data.data(), 4);
  std::memcpy(&p.kind, data.data() + 4, 2);
  std::memcpy(&p.code, data.data() + 6, 2);
  p.ok = magic == kMagic;
  if (p.kind == kError) p.text = data.substr(16);
  return p;
}

class CalculatorHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ExampleServer>(Binaries::calculator_server(), path_);
    ASSERT_TRUE(server_->ready());
    door_ = open_door(path_);
    ASSERT_TRUE(door_.valid());
  }
  void TearDown() override {
    if (server_ && server_->ready()) server_->stop();
  }

  // The server still answers typed calls (through a descriptor of its own).
  void expect_serving() {
    auto client = calc::CalculatorDoor::Client::open(path_);
    EXPECT_EQ(client.add(40, 2)->getSum(), 42);
  }

  TempDir dir_;
  std::string path_ = dir_.file("calculator");
  std::unique_ptr<ExampleServer> server_;
  UniqueFd door_;
};

TEST_F(CalculatorHostileTest, HandBuiltValidRequest_GetsAReply) {
  // Checks the test's own encoder against the server: add(0, 0) with a null root.
  CallOutcome out = call_door(door_.get(), request(kAddOrdinal, flat_message(1)));
  ASSERT_EQ(out.rc, 0) << std::strerror(out.err);
  Parsed p = parse_reply(out.data);
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.kind, kReply);
}

TEST_F(CalculatorHostileTest, MalformedMessages_GetAnErrorReplyOrAreDropped) {
  const uint64_t id = calc::CalculatorDoor::kInterfaceId;
  struct Case {
    const char* what;
    std::string data;
  };
  std::string many_segments = u32(599);  // 600 segments, more than the 512 allowed
  for (int i = 0; i < 600; ++i) many_segments += u32(0);
  many_segments += std::string(many_segments.size() % 8, '\0');
  const std::vector<Case> cases = {
      {"no data at all", ""},
      {"three bytes", "abc"},
      {"a header of zeros", std::string(16, '\0')},
      {"a wrong magic", header(kRequest, kAddOrdinal, id, 0xdeadbeef) + flat_message(1)},
      {"a header with nothing after it", header(kRequest, kAddOrdinal, id)},
      {"half a segment table", header(kRequest, kAddOrdinal, id) + "\0\0"},
      {"a segment larger than the message",
       header(kRequest, kAddOrdinal, id) + u32(0) + u32(0x7fffffff) + std::string(8, '\0')},
      {"2^32 segments",
       header(kRequest, kAddOrdinal, id) + u32(0xffffffff) + u32(1) + std::string(8, '\0')},
      {"600 segments", header(kRequest, kAddOrdinal, id) + many_segments},
      {"trailing bytes after the segments",
       header(kRequest, kAddOrdinal, id) + flat_message(1) + "tail"},
      {"a root pointer out of its segment",
       header(kRequest, kAddOrdinal, id) + u32(0) + u32(1) +
           std::string("\x00\x01\x00\x00\x02\x00\x00\x00", 8)},  // a struct 64 words on
      {"a far pointer to a missing segment",
       header(kRequest, kAddOrdinal, id) + u32(0) + u32(1) +
           std::string("\x02\x00\x00\x00\x07\x00\x00\x00", 8)},  // segment 7
      {"a reply sent as a request", header(kReply, 0, 0) + flat_message(1)},
      {"an error sent as a request", header(kError, 3, 0) + "boom"},
      {"2 MiB of garbage after a request header",
       header(kRequest, kAddOrdinal, id) + pattern(2 << 20, 7)},
      {"2 MiB of garbage", pattern(2 << 20, 8)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    CallOutcome out = call_door(door_.get(), c.data);
    if (out.rc == 0) {
      Parsed p = parse_reply(out.data);
      EXPECT_TRUE(p.ok) << "reply of " << out.data.size() << " bytes is not a typed message";
      EXPECT_EQ(p.kind, kError) << "a malformed request was answered as if it were valid";
      EXPECT_NE(p.code, 0);
      EXPECT_TRUE(out.descs.empty());
      for (const door_desc_t& d : out.descs) ::close(d.d_data.d_desc.d_descriptor);
    } else {
      // Dropped: the call failed, the door must still be there for the next one.
      EXPECT_NE(out.err, EBADF) << "the server revoked or lost the door";
    }
  }
  expect_serving();
}

TEST_F(CalculatorHostileTest, UnknownOrdinal_FailsWithUnimplemented) {
  CallOutcome out = call_door(door_.get(), request(99, flat_message(1)));
  ASSERT_EQ(out.rc, 0) << std::strerror(out.err);
  Parsed p = parse_reply(out.data);
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.kind, kError);
  EXPECT_EQ(p.code, static_cast<uint16_t>(Code::kUnimplemented));
  expect_serving();
}

TEST_F(CalculatorHostileTest, RequestForAnotherInterface_FailsWithUnimplemented) {
  CallOutcome out = call_door(door_.get(), request(kAddOrdinal, flat_message(1), 0x1234));
  ASSERT_EQ(out.rc, 0) << std::strerror(out.err);
  Parsed p = parse_reply(out.data);
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.kind, kError);
  EXPECT_EQ(p.code, static_cast<uint16_t>(Code::kUnimplemented));
  expect_serving();
}

// A descriptor no field claims is closed by the server when the call is done: the pipe's read
// end sees end of file once the server's copy is gone (ours went with DOOR_RELEASE).
TEST_F(CalculatorHostileTest, UnclaimedDescriptors_AreClosedByTheServer) {
  for (bool valid : {true, false}) {
    SCOPED_TRACE(valid ? "with a valid add request" : "with garbage");
    Pipe p = Pipe::make();
    door_desc_t d = descriptor(p.write_end.release(), DOOR_RELEASE);
    std::string data = valid ? request(kAddOrdinal, flat_message(1)) : std::string("garbage");
    CallOutcome out = call_door(door_.get(), data, {d});
    if (out.rc == 0) {
      Parsed parsed = parse_reply(out.data);
      EXPECT_EQ(parsed.kind, valid ? kReply : kError);
    }
    ASSERT_TRUE(poll_readable(p.read_end.get(), Deadline::standard()))
        << "the server kept the descriptor";
    char c;
    EXPECT_EQ(::read(p.read_end.get(), &c, 1), 0);
  }
  expect_serving();
}

}  // namespace
}  // namespace doors::test
