// Per-thread state of the runtime: the scratch buffers messages are built in, the request builder
// that uses the client scratch, the Reply slot that reads results in place.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>

#include "doors/runtime/client.h"
#include "doors/runtime/detail/message.h"

namespace doors::detail {

// A Reply's state: the results, read in place (the thread's slot) or from a copy (on the heap).
struct ReplyState {
  InMessage message;
  ReplyBase* owner = nullptr;
  bool in_place = false;  // the thread's slot
  bool busy = false;      // the slot holds a live Reply

  // Moves a live in-place reply to the heap (copying its bytes) and frees the slot.
  void detach_to_heap();
  // Releases what the Reply held: heap states are deleted, the slot freed.
  void finish() noexcept;
};

struct ThreadState {
  ThreadState();
  ~ThreadState();
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;

  // The client's scratch and the builder that uses it (constructed in place while in use).
  Scratch request_scratch;
  alignas(OutMessage) unsigned char request_builder[sizeof(OutMessage)];
  // The door whose doors_call_buffer block the scratch builder holds (0: none or unknown id).
  bool block_held = false;
  uint64_t block_door = 0;

  // The server's scratch for replies, and the copy of a reply that could not be sent in place.
  Scratch reply_scratch;
  WordBuffer reply_flat;

  // What door_return(3C) sends, which must outlive every C++ object of the invocation.
  door_desc_t reply_descs[wire::kMaxDescriptors];
  alignas(16) char error_reply[wire::kHeaderSize + wire::kMaxErrorText];

  // The in-place Reply.
  ReplyState reply_slot;
};

// This thread's state (created on first use).
ThreadState& thread_state();

}  // namespace doors::detail
