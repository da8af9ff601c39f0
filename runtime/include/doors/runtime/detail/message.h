// Internals shared by the client and server halves of the runtime: the builder of outgoing typed
// messages, received messages read in place, and their capability tables (= descriptor lists).
// Not for direct use; generated code and applications go through client.h and server.h.
#pragma once

#include <capnp/any.h>
#include <capnp/capability.h>
#include <capnp/message.h>
#include <door.h>
#include <kj/common.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "doors/runtime/owned_fd.h"
#include "doors/runtime/wire.h"

namespace doors::detail {

// Imbues a builder or reader of type T with a capability table, as capnp's
// BuilderCapabilityTable / ReaderCapabilityTable::imbue do.
template <class T>
typename T::Builder imbue(typename T::Builder builder, capnp::_::CapTableBuilder* table) {
  return typename T::Builder(
      capnp::_::PointerHelpers<T>::getInternalBuilder(kj::mv(builder)).imbue(table));
}

// A growable word buffer that keeps its memory between uses.
struct WordBuffer {
  std::unique_ptr<uint64_t[]> data;
  size_t words = 0;
  // At least `bytes` bytes (8-aligned, not zeroed).
  char* reserve(size_t bytes);
  void release() {
    data.reset();
    words = 0;
  }
};

// The descriptor list of an outgoing message, which is also its Cap'n Proto capability table: a
// capability pointer's index is the index of the door's descriptor in this list.
class OutCapTable final : public capnp::_::CapTableBuilder {
 public:
  OutCapTable() = default;
  ~OutCapTable() { clear(); }
  OutCapTable(const OutCapTable&) = delete;
  OutCapTable& operator=(const OutCapTable&) = delete;

  // Appends fd, which the caller keeps open until the message is sent; returns its index.
  uint32_t add_copy(int fd);
  // Appends fd, owned from now on and closed once the message is done (sent or abandoned).
  uint32_t add_owned(OwnedFd fd);

  // capnp::_::CapTableBuilder. injectCap accepts only doors (capabilities made by this runtime)
  // and throws Error(kInvalidArgument) for anything else.
  kj::Maybe<kj::Own<capnp::ClientHook>> extractCap(uint index) override;
  uint injectCap(kj::Own<capnp::ClientHook>&& cap) override;
  void dropCap(uint index) override;

  uint32_t size() const noexcept { return n_; }
  // The list as door_desc_t entries (no DOOR_RELEASE); `out` has room for size() entries.
  void describe(door_desc_t* out) const noexcept;
  // The list for door_return(3C), which runs after every C++ object of the call is gone: each
  // entry becomes a descriptor owned by the reply (owned ones handed over, copies dup'ed) with
  // DOOR_RELEASE. On failure (EMFILE) throws Error(kResourceExhausted) and leaves `out` empty.
  void hand_over(door_desc_t* out);
  // Closes the owned descriptors and drops the capabilities.
  void clear() noexcept;

 private:
  struct Entry {
    int fd = -1;
    bool owned = false;
    kj::Own<capnp::ClientHook> hook;  // keeps a capability's door open until sent
  };
  Entry& push();
  Entry& at(uint32_t i) noexcept { return i < kInline ? inline_[i] : more_[i - kInline]; }
  const Entry& at(uint32_t i) const noexcept {
    return i < kInline ? inline_[i] : more_[i - kInline];
  }

  static constexpr uint32_t kInline = 4;
  Entry inline_[kInline];
  std::vector<Entry> more_;
  uint32_t n_ = 0;
};

// The descriptors that came with a received message (owned), which are also its capability
// table. A descriptor that nothing takes is closed with the table.
class InCapTable final : public capnp::_::CapTableReader {
 public:
  InCapTable() = default;
  ~InCapTable() { close_all(); }
  InCapTable(const InCapTable&) = delete;
  InCapTable& operator=(const InCapTable&) = delete;

  // Takes ownership of the descriptors in `descs` (entries without DOOR_DESCRIPTOR count as
  // empty slots).
  void adopt(const door_desc_t* descs, uint32_t n);
  // Moves the other table's descriptors here (detaching a reply).
  void adopt(InCapTable& other) noexcept;

  // A door capability for descriptor `index` (a dup of it, so that it may be extracted again).
  kj::Maybe<kj::Own<capnp::ClientHook>> extractCap(uint index) override;
  // Descriptor `index`, now the caller's. Throws Error(kInvalidArgument) for an index past the
  // end of the list or one already taken.
  OwnedFd take(uint32_t index);

  uint32_t size() const noexcept { return n_; }
  void close_all() noexcept;

 private:
  struct Entry {
    int fd = -1;
    uint64_t id = 0;  // the door's d_id when it is a door
  };
  Entry& at(uint32_t i) noexcept { return i < kInline ? inline_[i] : more_[i - kInline]; }

  static constexpr uint32_t kInline = 4;
  Entry inline_[kInline];
  std::vector<Entry> more_;
  uint32_t n_ = 0;
};

// Where an outgoing message's first segment lives: a per-thread buffer, used by one builder at a
// time. Zeroed lazily: the bytes the last message dirtied are cleared when it is next taken.
struct Scratch {
  static constexpr size_t kBytes = 64 * 1024;
  // The first segment starts after room for the header and a one-segment table.
  static constexpr size_t kSegmentOffset = wire::kHeaderSize + 8;

  char* base = nullptr;  // kBytes, 16-aligned
  size_t dirty = 0;      // bytes of the segment area written by the last message
  bool in_use = false;
};

// Builds an outgoing typed message where it will be sent from (README "Zero copy"): the first
// segment in a Scratch, the next one in a block of shared memory from doors_call_buffer (client)
// or doors_reply_buffer (server), further ones on the heap; finish() lays it out as one
// contiguous range, copying only when that is impossible.
class OutMessage final : public capnp::MessageBuilder {
 public:
  enum class Mode {
    kHeap,           // every segment on the heap; finish() copies
    kClientScratch,  // scratch + doors_call_buffer(door_fd)
    kServerScratch,  // scratch + doors_reply_buffer
  };
  // `scratch` (taken, in_use set) for the scratch modes, else nullptr.
  OutMessage(Mode mode, Scratch* scratch, int door_fd);
  ~OutMessage() noexcept(false) override;
  KJ_DISALLOW_COPY(OutMessage);

  kj::ArrayPtr<capnp::word> allocateSegment(uint minimum_size) override;

  // The whole typed message (header, table, segments), contiguous. Valid until this builder is
  // destroyed, except that scratch- and block-based bytes stay valid until the thread's next
  // message of the same kind, and `flat` (when given) holds a copied message instead of an
  // internal buffer: the server sends its reply after the builder is gone.
  kj::ArrayPtr<const char> finish(const wire::Header& header, WordBuffer* flat = nullptr);

  OutCapTable& caps() noexcept { return caps_; }

  // Records that `bytes` bytes at `data` are an external segment (Orphanage::
  // referenceExternalData), so that finish() copies exactly those bytes and zeroes the rest of
  // the segment's last word instead of reading past the caller's buffer. False when no more
  // can be recorded: the caller copies the value into the message instead.
  bool note_external(const void* data, size_t bytes) noexcept {
    if (n_externals_ == kMaxExternals) return false;
    externals_[n_externals_++] = {data, bytes};
    return true;
  }

  // True when a segment lies in a doors_call_buffer block (client).
  bool holds_block() const noexcept {
    return (block_segment_ != nullptr || flat_block_) && mode_ == Mode::kClientScratch;
  }
  // True when finish() sent the message without copying it (for tests and metrics).
  bool was_in_place() const noexcept { return in_place_; }

 private:
  kj::ArrayPtr<capnp::word> heap_segment(size_t words);

  Mode mode_;
  Scratch* scratch_;
  int door_fd_;
  size_t segments_ = 0;                   // handed out so far
  size_t words_ = 0;                      // total words handed out
  capnp::word* block_segment_ = nullptr;  // the second segment, in a shared-memory block
  bool in_place_ = false;
  bool flat_block_ = false;  // finish() copied the message into a doors_call_buffer block
  struct External {
    const void* data;
    size_t bytes;
  };
  static constexpr size_t kMaxExternals = 8;
  External externals_[kMaxExternals] = {};
  size_t n_externals_ = 0;
  std::vector<std::unique_ptr<uint64_t[]>> heap_;
  WordBuffer flat_;
  OutCapTable caps_;
};

// A received typed message body (after the header), read in place with the runtime's
// ReaderOptions, and its descriptors. Not movable: the reader points into it.
class InMessage {
 public:
  InMessage() = default;
  ~InMessage() = default;
  InMessage(const InMessage&) = delete;
  InMessage& operator=(const InMessage&) = delete;

  // Checks the framing of [body, body + size) against exactly `size` bytes and opens a reader on
  // it in place (or on a copy when `body` is not 8-aligned, or `copy` is set). The root pointer
  // is checked too: a message whose root is not a struct fails with kTruncated.
  wire::FramingError open(const char* body, size_t size, bool copy = false);
  bool is_open() const noexcept { return reader_.has_value(); }

  // The root, imbued with the capability table.
  capnp::AnyPointer::Reader root() const noexcept { return root_; }
  InCapTable& caps() noexcept { return caps_; }

  // Moves everything from `other` here, copying the bytes (so that they outlive the memory they
  // were read from).
  void copy_from(InMessage& other);

  void close() noexcept;

 private:
  static constexpr uint32_t kInlineSegments = 8;
  kj::ArrayPtr<const capnp::word> inline_segments_[kInlineSegments];
  std::unique_ptr<kj::ArrayPtr<const capnp::word>[]> heap_segments_;
  std::unique_ptr<uint64_t[]> copy_;
  const char* body_ = nullptr;
  size_t size_ = 0;
  std::optional<capnp::SegmentArrayMessageReader> reader_;
  capnp::AnyPointer::Reader root_;
  InCapTable caps_;
};

// Before any door operation of this thread: copies out the thread's in-place Reply, if any
// (README "Results are read in place").
void before_door_operation();

}  // namespace doors::detail
