// Outgoing messages built where they are sent from, received messages read where they landed,
// and their descriptor lists (README "Zero copy").
#include "doors/runtime/detail/message.h"

#include <doors/ext.h>
#include <fcntl.h>
#include <kj/exception.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "capability_impl.h"
#include "doors/runtime/error.h"
#include "thread_state.h"

namespace doors::detail {

// ---------------------------------------------------------------------------------------------
// WordBuffer

char* WordBuffer::reserve(size_t bytes) {
  size_t need = (bytes + 7) / 8;
  if (need > words || data == nullptr) {
    data.reset(new uint64_t[need == 0 ? 1 : need]);
    words = need;
  }
  return reinterpret_cast<char*>(data.get());
}

// ---------------------------------------------------------------------------------------------
// OutCapTable

OutCapTable::Entry& OutCapTable::push() {
  if (n_ >= wire::kMaxDescriptors) {
    throw Error(Code::kResourceExhausted, "more than " + std::to_string(wire::kMaxDescriptors) +
                                              " descriptors in one message");
  }
  if (n_ >= kInline) more_.emplace_back();
  return at(n_++);
}

uint32_t OutCapTable::add_copy(int fd) {
  if (fd < 0) throw Error(Code::kInvalidArgument, "set_fd: not a descriptor");
  Entry& e = push();
  e.fd = fd;
  e.owned = false;
  return n_ - 1;
}

uint32_t OutCapTable::add_owned(OwnedFd fd) {
  if (!fd.valid()) throw Error(Code::kInvalidArgument, "set_fd: not a descriptor");
  Entry& e = push();
  e.fd = fd.release();
  e.owned = true;
  return n_ - 1;
}

kj::Maybe<kj::Own<capnp::ClientHook>> OutCapTable::extractCap(uint index) {
  if (index >= n_) return nullptr;
  Entry& e = at(index);
  if (e.hook.get() != nullptr) return e.hook->addRef();
  return nullptr;  // a plain descriptor (Door.Fd) read as a capability
}

uint OutCapTable::injectCap(kj::Own<capnp::ClientHook>&& cap) {
  int fd = door_fd_of_hook(*cap);  // throws for anything but a door
  Entry& e = push();
  e.fd = fd;
  e.owned = false;
  e.hook = kj::mv(cap);
  return n_ - 1;
}

void OutCapTable::dropCap(uint index) {
  // The pointer was overwritten. Indexes must stay stable, so the entry stays and its descriptor
  // is still sent; the receiver closes it as unclaimed.
  (void)index;
}

void OutCapTable::describe(door_desc_t* out) const noexcept {
  for (uint32_t i = 0; i < n_; ++i) {
    std::memset(&out[i], 0, sizeof out[i]);
    out[i].d_attributes = DOOR_DESCRIPTOR;
    out[i].d_data.d_desc.d_descriptor = at(i).fd;
  }
}

void OutCapTable::hand_over(door_desc_t* out) {
  for (uint32_t i = 0; i < n_; ++i) {
    Entry& e = at(i);
    int fd = e.fd;
    if (e.owned) {
      e.owned = false;
      e.fd = -1;
    } else {
      fd = ::fcntl(e.fd, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) {
        int err = errno;
        for (uint32_t j = 0; j < i; ++j) ::close(out[j].d_data.d_desc.d_descriptor);
        throw Error::from_errno(Code::kResourceExhausted, err, "dup of a reply descriptor");
      }
    }
    std::memset(&out[i], 0, sizeof out[i]);
    out[i].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
    out[i].d_data.d_desc.d_descriptor = fd;
  }
}

void OutCapTable::clear() noexcept {
  for (uint32_t i = 0; i < n_; ++i) {
    Entry& e = at(i);
    if (e.owned && e.fd >= 0) ::close(e.fd);
    e.fd = -1;
    e.owned = false;
    e.hook = nullptr;
  }
  more_.clear();
  n_ = 0;
}

// ---------------------------------------------------------------------------------------------
// InCapTable

void InCapTable::adopt(const door_desc_t* descs, uint32_t n) {
  close_all();
  if (n > kInline) more_.resize(n - kInline);
  for (uint32_t i = 0; i < n; ++i) {
    door_desc_t d;
    std::memcpy(&d, &descs[i], sizeof d);  // packed: copy out before reading 64-bit members
    Entry& e = at(i);
    e.fd = (d.d_attributes & DOOR_DESCRIPTOR) ? d.d_data.d_desc.d_descriptor : -1;
    e.id = d.d_data.d_desc.d_id;
  }
  n_ = n;
}

void InCapTable::adopt(InCapTable& other) noexcept {
  close_all();
  for (uint32_t i = 0; i < kInline; ++i) inline_[i] = std::exchange(other.inline_[i], Entry{});
  more_ = std::move(other.more_);
  other.more_.clear();
  n_ = std::exchange(other.n_, 0);
}

kj::Maybe<kj::Own<capnp::ClientHook>> InCapTable::extractCap(uint index) {
  if (index >= n_) return nullptr;
  Entry& e = at(index);
  if (e.fd < 0) return nullptr;
  int fd = ::fcntl(e.fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return nullptr;  // Cap'n Proto reads a broken capability
  return make_door_hook(std::make_shared<const DoorHandle>(OwnedFd(fd), e.id));
}

OwnedFd InCapTable::take(uint32_t index) {
  if (index >= n_) {
    throw Error(Code::kInvalidArgument, "descriptor index " + std::to_string(index) +
                                            " is past the message's " + std::to_string(n_) +
                                            " descriptors");
  }
  Entry& e = at(index);
  if (e.fd < 0) {
    throw Error(Code::kInvalidArgument,
                "descriptor index " + std::to_string(index) + " was already taken");
  }
  return OwnedFd(std::exchange(e.fd, -1));
}

void InCapTable::close_all() noexcept {
  for (uint32_t i = 0; i < n_; ++i) {
    Entry& e = at(i);
    if (e.fd >= 0) ::close(e.fd);
    e = Entry{};
  }
  more_.clear();
  n_ = 0;
}

// ---------------------------------------------------------------------------------------------
// OutMessage

namespace {

constexpr size_t kWord = sizeof(capnp::word);
// Room in front of the second segment's block: header, a two-segment table, the first segment.
constexpr size_t kBlockFront = wire::kHeaderSize + wire::segment_table_bytes(2);
constexpr size_t kScratchSegmentWords = (Scratch::kBytes - Scratch::kSegmentOffset) / kWord;
// Spare room in the second segment beyond what the object that overflowed needs.
constexpr size_t kMinSpareWords = 8192;  // 64 KiB

capnp::word* scratch_segment(Scratch* s) {
  return reinterpret_cast<capnp::word*>(s->base + Scratch::kSegmentOffset);
}

}  // namespace

OutMessage::OutMessage(Mode mode, Scratch* scratch, int door_fd)
    : mode_(scratch == nullptr ? Mode::kHeap : mode), scratch_(scratch), door_fd_(door_fd) {
  if (scratch_ != nullptr && scratch_->dirty > 0) {
    std::memset(scratch_->base + Scratch::kSegmentOffset, 0, scratch_->dirty);
    scratch_->dirty = 0;
  }
}

OutMessage::~OutMessage() noexcept(false) {
  if (scratch_ != nullptr && segments_ > 0) {
    // What the first segment used is dirty; it is zeroed when the scratch is next taken (a reply
    // is sent from it after this builder is gone).
    auto segs = getSegmentsForOutput();
    if (segs.size() > 0 && segs[0].begin() == scratch_segment(scratch_)) {
      scratch_->dirty = segs[0].size() * kWord;
    } else {
      scratch_->dirty = kScratchSegmentWords * kWord;  // be safe: zero it all next time
    }
  }
  if (holds_block()) thread_state().block_held = false;
  if (scratch_ != nullptr) scratch_->in_use = false;
}

kj::ArrayPtr<capnp::word> OutMessage::heap_segment(size_t words) {
  heap_.emplace_back(new uint64_t[words]());
  return kj::arrayPtr(reinterpret_cast<capnp::word*>(heap_.back().get()), words);
}

kj::ArrayPtr<capnp::word> OutMessage::allocateSegment(uint minimum_size) {
  size_t min_words = minimum_size;
  kj::ArrayPtr<capnp::word> seg;
  if (segments_ == 0 && scratch_ != nullptr && min_words <= kScratchSegmentWords) {
    seg = kj::arrayPtr(scratch_segment(scratch_), kScratchSegmentWords);
  } else if (segments_ == 1 && mode_ != Mode::kHeap && words_ == kScratchSegmentWords &&
             scratch_ != nullptr) {
    // The first overflow: a shared-memory block with room in front for the header, the table and
    // the first segment, which finish() moves there.
    size_t words = min_words + std::max(min_words / 4, kMinSpareWords);
    size_t front = kBlockFront + kScratchSegmentWords * kWord;
    size_t bytes = front + words * kWord + kWord;  // + kWord: to align the segment
    void* block = mode_ == Mode::kClientScratch ? doors_call_buffer(door_fd_, bytes)
                                                : doors_reply_buffer(bytes);
    if (block != nullptr) {
      auto at = reinterpret_cast<uintptr_t>(block) + front;
      at = (at + kWord - 1) & ~uintptr_t{kWord - 1};
      auto* p = reinterpret_cast<capnp::word*>(at);
      std::memset(p, 0, words * kWord);
      block_segment_ = p;
      seg = kj::arrayPtr(p, words);
      if (mode_ == Mode::kClientScratch) thread_state().block_held = true;
    } else {
      seg = heap_segment(std::max(min_words, words_));
    }
  } else {
    // Cap'n Proto's own growth heuristic: as large as everything so far.
    seg = heap_segment(std::max<size_t>({min_words, words_, 1024}));
  }
  ++segments_;
  words_ += seg.size();
  return seg;
}

kj::ArrayPtr<const char> OutMessage::finish(const wire::Header& header, WordBuffer* flat) {
  auto segs = getSegmentsForOutput();
  if (segs.size() == 0) {
    getRoot<capnp::AnyPointer>();  // an empty message: just a null root pointer
    segs = getSegmentsForOutput();
  }
  const size_t n = segs.size();
  in_place_ = false;
  if (scratch_ != nullptr && segs[0].begin() == scratch_segment(scratch_)) {
    if (n == 1) {
      char* start = scratch_->base;
      std::memcpy(start, &header, sizeof header);
      uint32_t table[2] = {0, static_cast<uint32_t>(segs[0].size())};
      std::memcpy(start + wire::kHeaderSize, table, sizeof table);
      in_place_ = true;
      return kj::arrayPtr(start, Scratch::kSegmentOffset + segs[0].size() * kWord);
    }
    if (n == 2 && block_segment_ != nullptr && segs[1].begin() == block_segment_) {
      size_t first = segs[0].size() * kWord;
      char* start = reinterpret_cast<char*>(block_segment_) - first - kBlockFront;
      std::memcpy(start + kBlockFront, segs[0].begin(), first);
      uint32_t table[4] = {1, static_cast<uint32_t>(segs[0].size()),
                           static_cast<uint32_t>(segs[1].size()), 0};
      std::memcpy(start + wire::kHeaderSize, table, sizeof table);
      std::memcpy(start, &header, sizeof header);
      in_place_ = true;
      return kj::arrayPtr(start, reinterpret_cast<const char*>(segs[1].end()) - start);
    }
  }
  // The general case: one copy into a flat buffer. A large message is copied straight into a
  // block of shared memory, where libdoors sends it from without another copy, unless a block is
  // already in use (this message's second segment, or another request's on this thread: asking
  // for a new one would free it).
  size_t table_bytes = wire::segment_table_bytes(n);
  size_t total = wire::kHeaderSize + table_bytes;
  for (auto& s : segs) total += s.size() * kWord;
  char* start = nullptr;
  if (total > DOORS_INLINE_DATA_MAX && block_segment_ == nullptr) {
    if (mode_ == Mode::kClientScratch && !thread_state().block_held) {
      start = static_cast<char*>(doors_call_buffer(door_fd_, total));
      if (start != nullptr) {
        thread_state().block_held = true;
        flat_block_ = true;
      }
    } else if (mode_ == Mode::kServerScratch) {
      start = static_cast<char*>(doors_reply_buffer(total));
    }
  }
  if (start == nullptr) {
    WordBuffer& buf = flat != nullptr ? *flat : flat_;
    start = buf.reserve(total);
  }
  std::memcpy(start, &header, sizeof header);
  char* p = start + wire::kHeaderSize;
  uint32_t count = static_cast<uint32_t>(n - 1);
  std::memcpy(p, &count, 4);
  for (size_t i = 0; i < n; ++i) {
    uint32_t words = static_cast<uint32_t>(segs[i].size());
    std::memcpy(p + 4 * (i + 1), &words, 4);
  }
  if (n % 2 == 0) std::memset(p + 4 * (n + 1), 0, 4);  // padding
  p += table_bytes;
  for (auto& s : segs) {
    size_t bytes = s.size() * kWord;
    size_t copy = bytes;
    for (size_t i = 0; i < n_externals_; ++i) {
      // The caller's buffer ends before the segment's last word does: copy it, zero the rest.
      if (externals_[i].data == s.begin() && externals_[i].bytes <= bytes) {
        copy = externals_[i].bytes;
      }
    }
    std::memcpy(p, s.begin(), copy);
    std::memset(p + copy, 0, bytes - copy);
    p += bytes;
  }
  return kj::arrayPtr(static_cast<const char*>(start), total);
}

// ---------------------------------------------------------------------------------------------
// InMessage

wire::FramingError InMessage::open(const char* body, size_t size, bool copy) {
  // Cap'n Proto reads capability pointers only once some ClientHook was ever constructed (that
  // installs the factory of broken capabilities its reader falls back on).
  static const bool broken_cap_factory_installed = [] {
    capnp::newBrokenCap("doors: unused");
    return true;
  }();
  (void)broken_cap_factory_installed;
  close();
  if (copy || reinterpret_cast<uintptr_t>(body) % kWord != 0) {
    copy_.reset(new uint64_t[(size + kWord - 1) / kWord]);
    std::memcpy(copy_.get(), body, size);
    body = reinterpret_cast<const char*>(copy_.get());
  }
  // The table is read again by parse_segments (once, into locals): a peer changing it in between
  // only makes the count disagree with the array's capacity, which fails cleanly.
  uint32_t claimed = wire::claimed_segments(body, size);
  kj::ArrayPtr<const capnp::word>* segs = inline_segments_;
  uint32_t capacity = kInlineSegments;
  if (claimed > kInlineSegments) {
    if (claimed > wire::kMaxSegments) {
      close();
      return wire::FramingError::kTooManySegments;
    }
    heap_segments_.reset(new kj::ArrayPtr<const capnp::word>[claimed]);
    segs = heap_segments_.get();
    capacity = claimed;
  }
  uint32_t count = 0;
  wire::FramingError err = wire::parse_segments(body, size, capacity, segs, &count);
  if (err != wire::FramingError::kNone) {
    close();
    return err;
  }
  body_ = body;
  size_ = size;
  size_t words = (size - wire::segment_table_bytes(count)) / kWord;
  capnp::ReaderOptions options;
  options.traversalLimitInWords = wire::traversal_limit_words(words);
  options.nestingLimit = wire::kNestingLimit;
  reader_.emplace(kj::arrayPtr(static_cast<const kj::ArrayPtr<const capnp::word>*>(segs), count),
                  options);
  try {
    auto root = reader_->getRoot<capnp::AnyPointer>();
    root_ = capnp::AnyPointer::Reader(
        capnp::_::PointerHelpers<capnp::AnyPointer>::getInternalReader(root).imbue(&caps_));
    if (!root_.isNull()) {
      if (!root_.isStruct()) throw Error(Code::kDataLoss, "root is not a struct");
      root_.getAs<capnp::AnyStruct>();  // bounds of the root struct
    }
  } catch (const kj::Exception&) {
    close();
    return wire::FramingError::kBadRoot;
  } catch (const Error&) {
    close();
    return wire::FramingError::kBadRoot;
  }
  return wire::FramingError::kNone;
}

void InMessage::copy_from(InMessage& other) {
  caps_.adopt(other.caps_);
  if (!other.reader_.has_value()) {
    close();
    return;
  }
  const char* body = other.body_;
  size_t size = other.size_;
  if (other.copy_ != nullptr) {
    // Already our own memory: take it over.
    std::unique_ptr<uint64_t[]> mem = std::move(other.copy_);
    other.close();
    wire::FramingError err = open(reinterpret_cast<const char*>(mem.get()), size);
    copy_ = std::move(mem);
    if (err != wire::FramingError::kNone)
      throw Error(Code::kDataLoss, "reply changed while copied");
    return;
  }
  other.reader_.reset();
  wire::FramingError err = open(body, size, /*copy=*/true);
  other.close();
  // The bytes were in memory the peer can write: they may have changed since they were checked.
  if (err != wire::FramingError::kNone) throw Error(Code::kDataLoss, "reply changed while copied");
}

void InMessage::close() noexcept {
  reader_.reset();
  root_ = capnp::AnyPointer::Reader();
  heap_segments_.reset();
  copy_.reset();
  body_ = nullptr;
  size_ = 0;
}

}  // namespace doors::detail
