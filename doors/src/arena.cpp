#include "arena.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <new>
#include <utility>

#include "sys.h"

namespace doors::detail {
namespace {

namespace bip = boost::interprocess;

// Boost.Interprocess's best-fit allocator, placed at the start of the arena: its free lists are
// offset pointers, valid wherever the memfd is mapped. One thread at a time writes a given arena
// (the caller's thread, or the worker serving the connection), so it needs no lock.
using Allocator = bip::rbtree_best_fit<bip::null_mutex_family, bip::offset_ptr<void>>;

constexpr size_t kMinCapacity = size_t{1} << 20;
constexpr size_t kBookkeeping = 4096;  // allocator header and per-block overhead, generously

std::atomic<uint64_t> g_mapped_bytes{0};

size_t capacity_for(size_t size) {
  size_t want = size + size / 16 + kBookkeeping;
  size_t cap = kMinCapacity;
  while (cap < want) {
    if (cap > (SIZE_MAX >> 1)) return 0;
    cap <<= 1;
  }
  return cap;
}

}  // namespace

uint64_t mapped_arena_bytes() noexcept { return g_mapped_bytes.load(std::memory_order_relaxed); }

struct WriterArena::Heap {
  Allocator* algo;
  explicit Heap(void* base, size_t size) : algo(new (base) Allocator(size, 0)) {}
  ~Heap() { algo->~Allocator(); }
  void* allocate(size_t n) { return algo->allocate(n); }
  void deallocate(void* p) { algo->deallocate(p); }
};

WriterArena::WriterArena() = default;

WriterArena::~WriterArena() { destroy(); }

void WriterArena::destroy() {
  heap_.reset();
  if (base_ != nullptr) {
    ::munmap(base_, capacity_);
    g_mapped_bytes.fetch_sub(capacity_, std::memory_order_relaxed);
  }
  close_quietly(memfd_);
  memfd_ = -1;
  base_ = nullptr;
  capacity_ = 0;
}

void WriterArena::swap(WriterArena& other) noexcept {
  std::swap(memfd_, other.memfd_);
  std::swap(base_, other.base_);
  std::swap(capacity_, other.capacity_);
  std::swap(heap_, other.heap_);
}

bool WriterArena::replace(size_t at_least) {
  size_t cap = capacity_for(at_least);
  if (cap == 0) {
    errno = ENOMEM;
    return false;
  }
  UniqueFd fd(::memfd_create("doors-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return false;
  if (retry_eintr([&] { return ::ftruncate(fd.get(), static_cast<off_t>(cap)); }) != 0)
    return false;
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) return false;
  void* p = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return false;
  std::unique_ptr<Heap> heap;
  try {
    heap = std::make_unique<Heap>(p, cap);
  } catch (...) {  // Boost.Interprocess reports failure by exception; stop it here.
    ::munmap(p, cap);
    errno = ENOMEM;
    return false;
  }
  destroy();
  memfd_ = fd.release();
  base_ = static_cast<char*>(p);
  capacity_ = cap;
  g_mapped_bytes.fetch_add(cap, std::memory_order_relaxed);
  heap_ = std::move(heap);
  return true;
}

char* WriterArena::allocate(size_t size, uint64_t* offset, int* reader_fd) {
  *reader_fd = -1;
  void* p = heap_ ? heap_->allocate(size == 0 ? 1 : size) : nullptr;
  if (p == nullptr) {
    if (!replace(size)) return nullptr;
    p = heap_->allocate(size == 0 ? 1 : size);
    if (p == nullptr) {
      errno = ENOMEM;
      return nullptr;
    }
    // The reader gets a read-only open of the same memfd: it can map it, not write or shrink it.
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd_);
    *reader_fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (*reader_fd < 0) {
      heap_->deallocate(p);
      return nullptr;
    }
  }
  *offset = static_cast<uint64_t>(static_cast<char*>(p) - base_);
  return static_cast<char*>(p);
}

void WriterArena::release(uint64_t offset) {
  DOORS_ASSERT(heap_ && offset < capacity_, "release of a block the arena does not hold");
  heap_->deallocate(base_ + offset);
}

ReaderMapping::~ReaderMapping() { reset(); }

void ReaderMapping::reset() {
  if (base_ != nullptr) {
    ::munmap(const_cast<char*>(base_), size_);
    g_mapped_bytes.fetch_sub(size_, std::memory_order_relaxed);
  }
  base_ = nullptr;
  size_ = 0;
}

int ReaderMapping::adopt(int fd, uint64_t max_bytes) {
  UniqueFd owned(fd);
  int seals = ::fcntl(fd, F_GET_SEALS);
  struct stat st;
  if (seals < 0 || !(seals & F_SEAL_SHRINK) || ::fstat(fd, &st) != 0 || st.st_size <= 0) {
    errno = EPROTO;
    return -1;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    errno = E2BIG;
    return -1;
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return -1;
  reset();
  base_ = static_cast<const char*>(p);
  size_ = size;
  g_mapped_bytes.fetch_add(size, std::memory_order_relaxed);
  return 0;
}

const char* ReaderMapping::range(uint64_t offset, uint64_t len) const {
  if (base_ == nullptr || offset > size_ || len > size_ - offset) return nullptr;
  return base_ + offset;
}

}  // namespace doors::detail
