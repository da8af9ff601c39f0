// The wire format of a typed call (README.md "The wire format of a typed call"): a 16-byte
// header, then a Cap'n Proto message in the standard flat framing (request, reply) or the error
// text (error). Everything here checks bytes from a peer before anything else uses them.
#pragma once

#include <capnp/common.h>
#include <kj/common.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace doors::wire {

inline constexpr uint32_t kMagic = 0x31505244;  // "DRP1", little endian

enum class Kind : uint16_t { kRequest = 1, kReply = 2, kError = 3 };

// Little endian on the wire; this runtime targets little-endian Linux only.
struct Header {
  uint32_t magic;
  uint16_t kind;       // Kind
  uint16_t code;       // request: method ordinal; error: doors::Code; reply: 0
  uint64_t interface;  // request: the interface's Cap'n Proto id; otherwise 0
};
static_assert(sizeof(Header) == 16);

inline constexpr size_t kHeaderSize = sizeof(Header);
// Most segments a received message may have.
inline constexpr uint32_t kMaxSegments = 512;
// Most descriptors one message carries (SCM_RIGHTS; libdoors' limit, DEVIATIONS.md).
inline constexpr uint32_t kMaxDescriptors = 252;
// Longest error text, in bytes.
inline constexpr size_t kMaxErrorText = 4096;
// capnp::ReaderOptions::nestingLimit for every received message.
inline constexpr int kNestingLimit = 64;
// capnp::ReaderOptions::traversalLimitInWords for a received message of `words` words: proportional
// to its size, with a floor so that a handler may read a small message's fields a few times.
inline constexpr uint64_t kTraversalFactor = 16;
inline constexpr uint64_t kTraversalFloorWords = uint64_t{1} << 20;
constexpr uint64_t traversal_limit_words(uint64_t words) {
  return words > kTraversalFloorWords / kTraversalFactor ? words * kTraversalFactor
                                                         : kTraversalFloorWords;
}

// Bytes of the segment table (count, sizes, padding to 8) of a message of n segments.
constexpr size_t segment_table_bytes(size_t n) { return (4 * (n + 1) + 7) & ~size_t{7}; }

// What check_header() found wrong.
enum class HeaderError {
  kNone,
  kTooShort,   // fewer than 16 bytes
  kBadMagic,   // not "DRP1"
  kBadKind,    // not 1, 2 or 3
  kMisaligned  // not on an 8-byte boundary (the runtime copies such a message first)
};

// Reads the header of a received typed message of `size` bytes at `data` into *out (copied out
// once: the bytes may be in memory the peer can still write).
HeaderError check_header(const void* data, size_t size, Header* out) noexcept;

// What parse_segments() found wrong.
enum class FramingError {
  kNone,
  kTruncated,          // shorter than its segment table says
  kTrailingBytes,      // longer than its segment table says
  kTooManySegments,    // more than max_segments, or none
  kEmptyFirstSegment,  // the first segment has no room for the root pointer
  kBadRoot             // the root pointer is not a struct within the message
};

// Checks the flat framing of the `size` bytes at `data` (8-byte aligned): the segment table must
// describe exactly those bytes, with at most max_segments segments. On success fills the first
// *count entries of `segments` (room for max_segments entries) with the segments, in place.
FramingError parse_segments(const void* data, size_t size, uint32_t max_segments,
                            kj::ArrayPtr<const capnp::word>* segments, uint32_t* count) noexcept;
// The number of segments the table at `data` claims (after checking there is a table at all), so
// that a caller can size the array parse_segments() fills. 0 when `size` < 8.
uint32_t claimed_segments(const void* data, size_t size) noexcept;

// Checks an error text from a peer: at most kMaxErrorText bytes and no NUL.
bool valid_error_text(std::string_view text) noexcept;

// A description of the errors above for error messages ("bad magic").
const char* describe(HeaderError e) noexcept;
const char* describe(FramingError e) noexcept;

}  // namespace doors::wire
