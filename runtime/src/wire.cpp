#include "doors/runtime/wire.h"

#include <cstring>

namespace doors::wire {

HeaderError check_header(const void* data, size_t size, Header* out) noexcept {
  if (size < kHeaderSize || data == nullptr) return HeaderError::kTooShort;
  std::memcpy(out, data, sizeof *out);
  if (out->magic != kMagic) return HeaderError::kBadMagic;
  if (out->kind < static_cast<uint16_t>(Kind::kRequest) ||
      out->kind > static_cast<uint16_t>(Kind::kError)) {
    return HeaderError::kBadKind;
  }
  if (reinterpret_cast<uintptr_t>(data) % 8 != 0) return HeaderError::kMisaligned;
  return HeaderError::kNone;
}

uint32_t claimed_segments(const void* data, size_t size) noexcept {
  if (size < 8) return 0;
  uint32_t n;
  std::memcpy(&n, data, sizeof n);
  return n == UINT32_MAX ? 0 : n + 1;  // UINT32_MAX + 1 overflows: treat as none
}

FramingError parse_segments(const void* data, size_t size, uint32_t max_segments,
                            kj::ArrayPtr<const capnp::word>* segments, uint32_t* count) noexcept {
  *count = 0;
  if (size < 8) return FramingError::kTruncated;
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint32_t n_minus_1;
  std::memcpy(&n_minus_1, bytes, 4);
  if (n_minus_1 >= max_segments) return FramingError::kTooManySegments;
  uint32_t n = n_minus_1 + 1;
  size_t table = segment_table_bytes(n);
  if (size < table) return FramingError::kTruncated;
  size_t offset = table;
  const size_t words_available = (size - table) / sizeof(capnp::word);
  size_t words_total = 0;
  // The table is read once, into the locals and `segments`; the peer may change it afterwards
  // without effect.
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t seg_words;
    std::memcpy(&seg_words, bytes + 4 * (i + 1), 4);
    if (seg_words > words_available - words_total) return FramingError::kTruncated;
    words_total += seg_words;
    segments[i] = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes + offset), seg_words);
    offset += size_t{seg_words} * sizeof(capnp::word);
  }
  if (offset != size) return FramingError::kTrailingBytes;
  if (segments[0].size() == 0) return FramingError::kEmptyFirstSegment;
  *count = n;
  return FramingError::kNone;
}

bool valid_error_text(std::string_view text) noexcept {
  return text.size() <= kMaxErrorText && text.find('\0') == std::string_view::npos;
}

const char* describe(HeaderError e) noexcept {
  switch (e) {
    case HeaderError::kNone:
      return "no error";
    case HeaderError::kTooShort:
      return "shorter than a header";
    case HeaderError::kBadMagic:
      return "bad magic";
    case HeaderError::kBadKind:
      return "unknown message kind";
    case HeaderError::kMisaligned:
      return "misaligned";
  }
  return "?";
}

const char* describe(FramingError e) noexcept {
  switch (e) {
    case FramingError::kNone:
      return "no error";
    case FramingError::kTruncated:
      return "segment table describes more bytes than were received";
    case FramingError::kTrailingBytes:
      return "bytes beyond the segments the table describes";
    case FramingError::kTooManySegments:
      return "too many segments";
    case FramingError::kEmptyFirstSegment:
      return "empty first segment";
    case FramingError::kBadRoot:
      return "the root is not a struct within the message";
  }
  return "?";
}

}  // namespace doors::wire
