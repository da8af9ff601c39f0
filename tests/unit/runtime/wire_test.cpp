// The wire header and the segment table checks.
#include <doors/runtime/wire.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace doors::wire {
namespace {

struct alignas(16) Buffer {
  unsigned char bytes[256] = {};
};

TEST(WireHeader, Layout_Is16BytesLittleEndian) {
  Header h{kMagic, static_cast<uint16_t>(Kind::kRequest), 7, 0x1122334455667788ull};
  unsigned char b[16];
  std::memcpy(b, &h, sizeof b);

  EXPECT_EQ(std::memcmp(b, "DRP1", 4), 0);
  EXPECT_EQ(b[4], 1);
  EXPECT_EQ(b[6], 7);
  EXPECT_EQ(b[8], 0x88);
  EXPECT_EQ(b[15], 0x11);
}

TEST(WireHeader, Valid_Accepted) {
  Buffer buf;
  Header in{kMagic, static_cast<uint16_t>(Kind::kError), 3, 0};
  std::memcpy(buf.bytes, &in, sizeof in);
  Header sut;

  EXPECT_EQ(check_header(buf.bytes, 16, &sut), HeaderError::kNone);
  EXPECT_EQ(sut.code, 3);
}

TEST(WireHeader, Short_TooShort) {
  Buffer buf;
  Header sut;
  EXPECT_EQ(check_header(buf.bytes, 15, &sut), HeaderError::kTooShort);
  EXPECT_EQ(check_header(nullptr, 0, &sut), HeaderError::kTooShort);
}

TEST(WireHeader, BadMagicOrKind_Rejected) {
  Buffer buf;
  Header in{0x31505245, 1, 0, 0};
  std::memcpy(buf.bytes, &in, sizeof in);
  Header sut;
  EXPECT_EQ(check_header(buf.bytes, 16, &sut), HeaderError::kBadMagic);
  for (uint16_t kind : {0, 4, 0xffff}) {
    in = Header{kMagic, kind, 0, 0};
    std::memcpy(buf.bytes, &in, sizeof in);
    EXPECT_EQ(check_header(buf.bytes, 16, &sut), HeaderError::kBadKind) << kind;
  }
}

TEST(WireHeader, Misaligned_Reported) {
  Buffer buf;
  Header in{kMagic, 1, 0, 0};
  std::memcpy(buf.bytes + 4, &in, sizeof in);
  Header sut;
  EXPECT_EQ(check_header(buf.bytes + 4, 16, &sut), HeaderError::kMisaligned);
}

// A framed message: table for the given segment sizes, then that many zero words.
std::vector<uint64_t> framed(const std::vector<uint32_t>& sizes, size_t extra_bytes = 0) {
  std::vector<uint32_t> table;
  table.push_back(static_cast<uint32_t>(sizes.size() - 1));
  for (uint32_t s : sizes) table.push_back(s);
  if (table.size() % 2) table.push_back(0);
  size_t words = table.size() / 2;
  for (uint32_t s : sizes) words += s;
  std::vector<uint64_t> out(words + (extra_bytes + 7) / 8, 0);
  std::memcpy(out.data(), table.data(), table.size() * 4);
  return out;
}

TEST(WireFraming, ExactTable_Parsed) {
  auto msg = framed({2, 0, 3});
  kj::ArrayPtr<const capnp::word> segs[8];
  uint32_t n = 0;

  EXPECT_EQ(parse_segments(msg.data(), msg.size() * 8, 8, segs, &n), FramingError::kNone);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(segs[0].size(), 2u);
  EXPECT_EQ(segs[1].size(), 0u);
  EXPECT_EQ(segs[2].size(), 3u);
  EXPECT_EQ(reinterpret_cast<const char*>(segs[0].begin()),
            reinterpret_cast<const char*>(msg.data()) + 16);
}

TEST(WireFraming, TableClaimsMore_Truncated) {
  auto msg = framed({2});
  kj::ArrayPtr<const capnp::word> segs[8];
  uint32_t n = 0;
  EXPECT_EQ(parse_segments(msg.data(), msg.size() * 8 - 8, 8, segs, &n), FramingError::kTruncated);
  EXPECT_EQ(parse_segments(msg.data(), 4, 8, segs, &n), FramingError::kTruncated);
  EXPECT_EQ(n, 0u);
}

TEST(WireFraming, HugeSegmentSize_TruncatedWithoutOverflow) {
  auto msg = framed({1, 1});
  uint32_t huge = 0xffffffff;
  std::memcpy(reinterpret_cast<char*>(msg.data()) + 8, &huge, 4);
  kj::ArrayPtr<const capnp::word> segs[8];
  uint32_t n = 0;
  EXPECT_EQ(parse_segments(msg.data(), msg.size() * 8, 8, segs, &n), FramingError::kTruncated);
}

TEST(WireFraming, ExtraBytes_TrailingBytes) {
  auto msg = framed({1}, 8);
  kj::ArrayPtr<const capnp::word> segs[8];
  uint32_t n = 0;
  EXPECT_EQ(parse_segments(msg.data(), msg.size() * 8, 8, segs, &n), FramingError::kTrailingBytes);
}

TEST(WireFraming, MoreSegmentsThanAllowed_TooMany) {
  auto msg = framed(std::vector<uint32_t>(9, 1));
  kj::ArrayPtr<const capnp::word> segs[8];
  uint32_t n = 0;
  EXPECT_EQ(parse_segments(msg.data(), msg.size() * 8, 8, segs, &n),
            FramingError::kTooManySegments);
  EXPECT_EQ(claimed_segments(msg.data(), msg.size() * 8), 9u);
}

TEST(WireFraming, EmptyFirstSegment_Rejected) {
  auto msg = framed({0});
  kj::ArrayPtr<const capnp::word> segs[8];
  uint32_t n = 0;
  EXPECT_EQ(parse_segments(msg.data(), msg.size() * 8, 8, segs, &n),
            FramingError::kEmptyFirstSegment);
}

TEST(WireFraming, CountOverflow_NoSegmentsClaimed) {
  uint32_t table[2] = {UINT32_MAX, 0};
  EXPECT_EQ(claimed_segments(table, sizeof table), 0u);
}

TEST(WireLimits, TraversalLimit_ProportionalWithFloor) {
  EXPECT_EQ(traversal_limit_words(1), kTraversalFloorWords);
  EXPECT_EQ(traversal_limit_words(uint64_t{1} << 24), (uint64_t{1} << 24) * kTraversalFactor);
  EXPECT_EQ(segment_table_bytes(1), 8u);
  EXPECT_EQ(segment_table_bytes(2), 16u);
  EXPECT_EQ(segment_table_bytes(3), 16u);
}

TEST(WireErrorText, LimitsChecked) {
  EXPECT_TRUE(valid_error_text(std::string(kMaxErrorText, 'x')));
  EXPECT_FALSE(valid_error_text(std::string(kMaxErrorText + 1, 'x')));
  EXPECT_FALSE(valid_error_text(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace doors::wire
