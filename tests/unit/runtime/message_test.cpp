// Outgoing messages (where their segments live, and the one contiguous range they are sent as),
// received messages, and the descriptor tables, in one process.
#include <capnp/message.h>
#include <capnp/schema.capnp.h>
#include <capnp/serialize.h>
#include <door.h>
#include <doors/runtime.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "thread_state.h"

namespace doors::detail {
namespace {

constexpr uint64_t kIface = 0xabcdef0123456789ull;

struct OwnScratch {
  OwnScratch() {
    s.base = static_cast<char*>(::operator new (Scratch::kBytes, std::align_val_t{16}));
    std::memset(s.base, 0, Scratch::kBytes);
    s.in_use = true;
  }
  ~OwnScratch() { ::operator delete (s.base, std::align_val_t{16}); }
  Scratch s;
};

wire::Header request_header() {
  return wire::Header{wire::kMagic, static_cast<uint16_t>(wire::Kind::kRequest), 5, kIface};
}

// Checks `bytes` as the receiving side does and returns the root struct's data and text.
struct Decoded {
  bool ok = false;
  uint32_t segments = 0;
  std::string data;
};

Decoded decode(kj::ArrayPtr<const char> bytes) {
  Decoded d;
  wire::Header h;
  if (wire::check_header(bytes.begin(), bytes.size(), &h) != wire::HeaderError::kNone) return d;
  if (h.code != 5 || h.interface != kIface) return d;
  d.segments = wire::claimed_segments(bytes.begin() + 16, bytes.size() - 16);
  InMessage in;
  if (in.open(bytes.begin() + 16, bytes.size() - 16) != wire::FramingError::kNone) return d;
  auto root = in.root().getAs<capnp::schema::Node>().getDisplayName();
  d.data.assign(root.begin(), root.size());
  d.ok = true;
  return d;
}

std::string text(size_t n, char seed) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (seed + i * 7) % 26);
  return s;
}

TEST(OutMessage, SmallInScratch_SentInPlaceAsOneSegment) {
  OwnScratch scratch;
  std::string payload = text(1000, 1);
  kj::ArrayPtr<const char> bytes;
  Decoded d;
  {
    OutMessage sut(OutMessage::Mode::kClientScratch, &scratch.s, -1);
    sut.initRoot<capnp::schema::Node>().setDisplayName(payload);

    bytes = sut.finish(request_header());

    EXPECT_TRUE(sut.was_in_place());
    EXPECT_EQ(bytes.begin(), scratch.s.base);
    d = decode(bytes);
  }
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.segments, 1u);
  EXPECT_EQ(d.data, payload);
  EXPECT_FALSE(scratch.s.in_use);
  EXPECT_GT(scratch.s.dirty, 0u);
}

TEST(OutMessage, ScratchReused_ZeroedAgain) {
  OwnScratch scratch;
  {
    OutMessage first(OutMessage::Mode::kClientScratch, &scratch.s, -1);
    first.initRoot<capnp::schema::Node>().setDisplayName(std::string(5000, 'z'));
    first.finish(request_header());
  }
  scratch.s.in_use = true;
  OutMessage sut(OutMessage::Mode::kClientScratch, &scratch.s, -1);

  sut.initRoot<capnp::List<uint64_t>>(8);
  const char* seg = scratch.s.base + Scratch::kSegmentOffset;
  bool zero = true;
  for (size_t i = 8; i < 5000; ++i) zero = zero && seg[i] == 0;
  EXPECT_TRUE(zero) << "the scratch still holds the previous message";
}

TEST(OutMessage, LargeWithoutSharedMemory_CopiedButIntact) {
  OwnScratch scratch;
  std::string payload = text(300000, 2);
  OutMessage sut(OutMessage::Mode::kClientScratch, &scratch.s, /*door_fd=*/-1);
  sut.initRoot<capnp::schema::Node>().setDisplayName(payload);

  auto bytes = sut.finish(request_header());

  EXPECT_FALSE(sut.was_in_place()) << "doors_call_buffer(-1) cannot give a block";
  Decoded d = decode(bytes);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.data, payload);
}

TEST(OutMessage, HeapMode_CopiedButIntact) {
  std::string payload = text(200, 3);
  OutMessage sut(OutMessage::Mode::kHeap, nullptr, -1);
  sut.initRoot<capnp::schema::Node>().setDisplayName(payload);

  auto bytes = sut.finish(request_header());

  EXPECT_FALSE(sut.was_in_place());
  Decoded d = decode(bytes);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.data, payload);
}

TEST(OutMessage, Empty_FinishedAsNullRoot) {
  OutMessage sut(OutMessage::Mode::kHeap, nullptr, -1);

  auto bytes = sut.finish(request_header());

  Decoded d = decode(bytes);
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.data.empty());
}

// With a real door, the overflow goes to a doors_call_buffer block and the first segment is
// moved in front of it: one contiguous range, no copy of the large part.
class OutMessageWithDoor : public ::testing::Test {
 protected:
  static void proc(void*, char*, size_t, door_desc_t*, uint_t) {
    door_return(nullptr, 0, nullptr, 0);
  }
  void SetUp() override {
    fd_ = door_create(&proc, nullptr, 0);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override { door_revoke(fd_); }
  int fd_ = -1;
};

TEST_F(OutMessageWithDoor, LargeData_TwoSegmentsInPlace) {
  OwnScratch scratch;
  std::string payload = text(500000, 4);
  OutMessage sut(OutMessage::Mode::kClientScratch, &scratch.s, fd_);
  sut.initRoot<capnp::schema::Node>().setDisplayName(payload);

  auto bytes = sut.finish(request_header());

  EXPECT_TRUE(sut.was_in_place());
  EXPECT_TRUE(sut.holds_block());
  Decoded d = decode(bytes);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.segments, 2u);
  EXPECT_EQ(d.data, payload);
}

TEST_F(OutMessageWithDoor, ManySmallObjects_ManySegmentsCopiedIntact) {
  OwnScratch scratch;
  OutMessage sut(OutMessage::Mode::kClientScratch, &scratch.s, fd_);
  auto list = sut.initRoot<capnp::schema::Node>().initNestedNodes(5000);
  for (unsigned i = 0; i < 5000; ++i) list[i].setName(text(100, static_cast<char>(i)));

  auto bytes = sut.finish(request_header());

  wire::Header h;
  ASSERT_EQ(wire::check_header(bytes.begin(), bytes.size(), &h), wire::HeaderError::kNone);
  InMessage in;
  ASSERT_EQ(in.open(bytes.begin() + 16, bytes.size() - 16), wire::FramingError::kNone);
  auto got = in.root().getAs<capnp::schema::Node>().getNestedNodes();
  ASSERT_EQ(got.size(), 5000u);
  for (unsigned i = 0; i < 5000; i += 499) {
    EXPECT_EQ(std::string(got[i].getName().cStr()), text(100, static_cast<char>(i)));
  }
}

TEST(InMessage, Misaligned_ReadFromACopy) {
  capnp::MallocMessageBuilder b;
  b.initRoot<capnp::schema::Node>().setDisplayName("hello");
  auto flat = capnp::messageToFlatArray(b);
  std::unique_ptr<char[]> buf(new char[flat.size() * 8 + 8]);
  char* odd = buf.get() + 4;
  std::memcpy(odd, flat.begin(), flat.size() * 8);
  InMessage sut;

  ASSERT_EQ(sut.open(odd, flat.size() * 8), wire::FramingError::kNone);

  EXPECT_EQ(std::string(sut.root().getAs<capnp::schema::Node>().getDisplayName().cStr()), "hello");
}

TEST(InMessage, TooManySegments_Rejected) {
  std::vector<uint32_t> table(1002, 0);
  table[0] = 1000;  // 1001 segments
  table[1] = 1;
  std::vector<uint64_t> body(table.size() / 2 + 1, 0);
  std::memcpy(body.data(), table.data(), table.size() * 4);
  InMessage sut;

  EXPECT_EQ(sut.open(reinterpret_cast<const char*>(body.data()), body.size() * 8),
            wire::FramingError::kTooManySegments);
  EXPECT_FALSE(sut.is_open());
}

TEST(InMessage, ManySegmentsWithinLimit_Read) {
  // 20 segments (more than the inline array): the root in the first, empty others.
  std::vector<uint32_t> table(22, 0);
  table[0] = 19;
  table[1] = 1;
  std::vector<uint64_t> body(11 + 1, 0);
  std::memcpy(body.data(), table.data(), table.size() * 4);
  InMessage sut;

  EXPECT_EQ(sut.open(reinterpret_cast<const char*>(body.data()), body.size() * 8),
            wire::FramingError::kNone);
  EXPECT_TRUE(sut.root().isNull());
}

int make_pipe_read_end() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  ::close(fds[1]);
  return fds[0];
}

TEST(InCapTable, Take_OnceEach) {
  int a = make_pipe_read_end();
  int b = make_pipe_read_end();
  door_desc_t descs[2] = {};
  descs[0].d_attributes = DOOR_DESCRIPTOR;
  descs[0].d_data.d_desc.d_descriptor = a;
  descs[1].d_attributes = DOOR_DESCRIPTOR;
  descs[1].d_data.d_desc.d_descriptor = b;
  {
    InCapTable sut;
    sut.adopt(descs, 2);

    OwnedFd got = sut.take(1);
    EXPECT_EQ(got.get(), b);
    EXPECT_THROW(sut.take(1), Error);
    EXPECT_THROW(sut.take(2), Error);
  }
  EXPECT_EQ(::fcntl(a, F_GETFD), -1) << "the untaken descriptor is closed with the table";
}

TEST(OutCapTable, CopiesAndOwned_DescribedInOrder) {
  int kept = make_pipe_read_end();
  int given = make_pipe_read_end();
  {
    OutCapTable sut;
    EXPECT_EQ(sut.add_copy(kept), 0u);
    EXPECT_EQ(sut.add_owned(OwnedFd(given)), 1u);
    door_desc_t d[2];
    sut.describe(d);
    EXPECT_EQ(d[0].d_data.d_desc.d_descriptor, kept);
    EXPECT_EQ(d[1].d_data.d_desc.d_descriptor, given);
    EXPECT_EQ(d[0].d_attributes, static_cast<door_attr_t>(DOOR_DESCRIPTOR));
    EXPECT_THROW(sut.add_copy(-1), Error);
  }
  EXPECT_NE(::fcntl(kept, F_GETFD), -1) << "a copy stays the caller's";
  EXPECT_EQ(::fcntl(given, F_GETFD), -1) << "an owned descriptor is closed with the message";
  ::close(kept);
}

TEST(OutCapTable, HandOver_EveryEntryOwnedWithRelease) {
  int kept = make_pipe_read_end();
  OutCapTable sut;
  sut.add_copy(kept);
  door_desc_t d[1];

  sut.hand_over(d);

  EXPECT_EQ(d[0].d_attributes, static_cast<door_attr_t>(DOOR_DESCRIPTOR | DOOR_RELEASE));
  EXPECT_NE(d[0].d_data.d_desc.d_descriptor, kept) << "a copy is dup'ed";
  ::close(d[0].d_data.d_desc.d_descriptor);
  ::close(kept);
}

TEST(OutCapTable, InjectNonDoorCapability_InvalidArgument) {
  OutCapTable sut;
  try {
    sut.injectCap(capnp::newBrokenCap("not a door"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
  }
}

TEST(OutCapTable, InjectDoorCapability_DescriptorListed) {
  auto door = std::make_shared<const DoorHandle>(OwnedFd(make_pipe_read_end()));
  auto cap = door_capability(door);
  OutCapTable sut;

  uint index = sut.injectCap(capnp::ClientHook::from(kj::mv(cap)));

  EXPECT_EQ(index, 0u);
  door_desc_t d[1];
  sut.describe(d);
  EXPECT_EQ(d[0].d_data.d_desc.d_descriptor, door->fd());
}

TEST(Capability, DoorOf_RoundTrip) {
  auto door = std::make_shared<const DoorHandle>(OwnedFd(make_pipe_read_end()), 77);
  capnp::Capability::Client cap = door_capability(door);

  auto sut = door_of(cap);

  EXPECT_EQ(sut, door);
  EXPECT_EQ(sut->id(), 77u);
  capnp::Capability::Client broken(capnp::newBrokenCap("x"));
  EXPECT_THROW(door_of(broken), Error);
}

}  // namespace
}  // namespace doors::detail
