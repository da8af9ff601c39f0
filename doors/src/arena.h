// Shared-memory arenas for arguments and results too large to travel inline.
//
// Each direction of a connection has its own arena, owned by the side that writes it: the client
// writes arguments into its arena, the server writes results into its own. The writer maps its
// memfd read-write and keeps the allocator's bookkeeping (Boost.Interprocess, offset-based) inside
// it; the reader gets a read-only descriptor of the same memfd, so it can neither scribble on the
// writer's bookkeeping nor shrink the file under the writer. Only {offset, length} crosses the
// socket. The memfd is sealed against shrinking and growing, and a reader maps a peer's arena only
// after checking those seals, so a hostile writer cannot truncate it and raise SIGBUS in the
// reader.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <memory>

namespace doors::detail {

// Bytes of arenas this process has mapped (both directions, server and client side), for
// doors_server_stats.
uint64_t mapped_arena_bytes() noexcept;

class WriterArena {
 public:
  WriterArena();
  ~WriterArena();
  WriterArena(const WriterArena&) = delete;
  WriterArena& operator=(const WriterArena&) = delete;

  // Reserves size bytes. On success returns where to write them and sets *offset; when the arena
  // had to be created or replaced, *reader_fd is a new read-only descriptor of it that the caller
  // must pass to the reader (with kNewArena) and then close; otherwise *reader_fd is -1.
  // Returns nullptr with errno ENOMEM (or the memfd's own errno) when the memory is not to be had.
  char* allocate(size_t size, uint64_t* offset, int* reader_fd);

  // Frees the block at offset; the reader must be done with it.
  void release(uint64_t offset);

  size_t capacity() const { return capacity_; }

  // Unmaps and closes the arena; the next allocate creates a new one.
  void reset() { destroy(); }

  void swap(WriterArena& other) noexcept;

 private:
  struct Heap;
  bool replace(size_t at_least);
  void destroy();

  int memfd_ = -1;
  char* base_ = nullptr;
  size_t capacity_ = 0;
  std::unique_ptr<Heap> heap_;
};

class ReaderMapping {
 public:
  ReaderMapping() = default;
  ~ReaderMapping();
  ReaderMapping(const ReaderMapping&) = delete;
  ReaderMapping& operator=(const ReaderMapping&) = delete;

  // Maps the peer's arena (takes fd and closes it). Returns 0, or -1 with errno EPROTO when the
  // descriptor is not a memfd sealed against shrinking, E2BIG when it is larger than max_bytes,
  // or the mmap error.
  int adopt(int fd, uint64_t max_bytes = UINT64_MAX);

  // The bytes [offset, offset + len) of the peer's arena, or nullptr when out of range.
  const char* range(uint64_t offset, uint64_t len) const;

  void reset();

 private:
  const char* base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace doors::detail
