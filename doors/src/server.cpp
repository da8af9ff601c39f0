// Doors served by this process: creation, connections, the worker loop that runs server
// procedures, door_return, revocation, private pools and fattach's listeners.
#include "server.h"

#include <cxxabi.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <climits>
#include <memory>
#include <unordered_map>
#include <vector>

#include "client.h"
#include "resource_limits.h"
#include "sys.h"

namespace doors::detail {
namespace {

// ---------------------------------------------------------------------------------------------
// Connection slots. A slot is addressed by its index; epoll events carry (index, generation).

constexpr uint32_t kSlotsPerChunk = 1024;
constexpr uint32_t kMaxChunks = 4096;  // 4 Mi connections per process

struct SlotTable {
  std::mutex mu;
  std::atomic<Connection*> chunks[kMaxChunks] = {};
  uint32_t used = 0;
  std::vector<uint32_t> free_list;
};

// Process-wide server state. Allocated once and never destroyed: worker threads may still be
// running while static destructors run at exit.
struct Process {
  std::mutex mu;  // guards doors, attachments, shared pool set-up; taken before any Door::mu
  std::unordered_map<uint64_t, Door*> doors;
  struct Attachment {
    dev_t dev;
    ino_t ino;
    Connection* listener;
    uint32_t gen;
  };
  std::vector<Attachment> attachments;
  Pool shared;
  bool shared_started = false;
  std::atomic<door_server_func_t*> create_fn{nullptr};
  SlotTable slots;
  // For doors_server_stats: threads that have joined a pool and not ended, and the client
  // connections (primary sockets and call channels) of every door.
  std::atomic<int> threads{0};
  std::atomic<int> connections{0};
  // Guards every pool's parked list and each connection's `listed`. Taken after no other lock.
  std::mutex park_mu;
  // A descriptor kept in reserve (of /dev/null) so that a listener can still accept, and refuse,
  // a connection when the process is out of descriptors (shed_one); guarded by reserve_mu.
  std::mutex reserve_mu;
  int reserve_fd = -1;
  // Threads the default creation function made and that have not ended (DOORS_LIMIT_POOL_THREADS).
  std::atomic<uint64_t> default_threads{0};
};

Process& proc_state();

uint32_t gen_of(uint64_t state) { return static_cast<uint32_t>(state >> 32); }

Connection* slot_at(uint32_t index) {
  Connection* chunk = proc_state().slots.chunks[index / kSlotsPerChunk].load();
  return chunk ? &chunk[index % kSlotsPerChunk] : nullptr;
}

Connection* acquire_slot() {
  SlotTable& t = proc_state().slots;
  std::lock_guard lk(t.mu);
  uint32_t index;
  if (!t.free_list.empty()) {
    index = t.free_list.back();
    t.free_list.pop_back();
  } else {
    if (t.used == kMaxChunks * kSlotsPerChunk) {
      errno = ENFILE;
      return nullptr;
    }
    index = t.used++;
    if (index % kSlotsPerChunk == 0) {
      Connection* chunk = new (std::nothrow) Connection[kSlotsPerChunk];
      if (chunk == nullptr) {
        --t.used;
        errno = ENOMEM;
        return nullptr;
      }
      for (uint32_t i = 0; i < kSlotsPerChunk; ++i) chunk[i].index = index + i;
      t.chunks[index / kSlotsPerChunk].store(chunk);
    }
  }
  return slot_at(index);
}

// Returns a closed connection's slot; the generation moves on so stale events miss it.
void release_slot(Connection* c) {
  c->fd = -1;
  c->pin_fd = -1;
  c->door = nullptr;
  c->prev = c->next = nullptr;
  c->args.reset();
  c->results.reset();
  c->result_outstanding = false;
  c->reply_block = nullptr;
  c->reply_block_size = 0;
  close_quietly(c->pending_reader_fd);
  c->pending_reader_fd = -1;
  unmap_shuttle(c->shuttle);
  c->shuttle = nullptr;
  c->recall.store(false);
  c->notice.store(FrameKind{});
  uint64_t next_gen = static_cast<uint64_t>(gen_of(c->state.load()) + 1) << 32;
  c->state.store(next_gen);
  SlotTable& t = proc_state().slots;
  std::lock_guard lk(t.mu);
  t.free_list.push_back(c->index);
}

uint64_t event_key(Connection* c, uint32_t gen) { return (uint64_t{c->index} << 32) | gen; }

// ---------------------------------------------------------------------------------------------
// Doors and their connections.

void free_door_if_unused(Door* d) {
  Process& p = proc_state();
  bool free_it = false;
  {
    std::lock_guard g(p.mu);
    std::lock_guard lk(d->mu);
    // A private door's pool may have threads bound to it and waiting on its epoll set: it stays.
    if (d->nconns == 0 && !(d->attributes & DOOR_PRIVATE)) {
      auto it = p.doors.find(d->id);
      if (it != p.doors.end() && it->second == d) {
        p.doors.erase(it);
        free_it = true;
      }
    }
  }
  if (free_it) {
    close_quietly(d->anchor_fd);
    delete d;
  }
}

void request_close(Connection* c, uint32_t gen, FrameKind notice);

bool counts_as_reference(ConnKind k) { return k == ConnKind::kPrimary || k == ConnKind::kListener; }
bool counts_as_connection(ConnKind k) { return k == ConnKind::kPrimary || k == ConnKind::kChannel; }

// Queues the unreferenced notification; the pool thread that picks it up delivers it.
void post_unref(Door* d) {
  uint64_t one = 1;
  if (::write(d->unref_fd, &one, sizeof(one)) < 0) {
    // EAGAIN: the counter is saturated, so a notification is already queued.
  }
}

// Closes a connection held by the caller (kBusy held, or kArmed taken away by a closer). When a
// door descriptor's last reference is closed, the call channels attached through it close too:
// nobody can reach them any more but through a cache of the client that still may.
void unlist_parked(Connection* c);

void close_conn(Connection* c) {
  if (c->state.load() & kParked) unlist_parked(c);
  Door* d = c->door;
  uint64_t key = event_key(c, gen_of(c->state.load()));
  // What to close once d->mu is released, with everything read of them while it was held: once
  // unlocked, a slot may be closed and reused by another thread at any moment (the generation
  // tells request_close, and nothing else of it may be read).
  struct Orphan {
    Connection* conn;
    uint32_t gen;
    FrameKind notice;
  };
  std::vector<Orphan> orphans;
  bool last;
  {
    std::lock_guard lk(d->mu);
    ::epoll_ctl(d->pool->epfd, EPOLL_CTL_DEL, c->fd, nullptr);
    close_quietly(c->fd);
    close_quietly(c->pin_fd);
    if (c->prev) c->prev->next = c->next;
    if (c->next) c->next->prev = c->prev;
    if (d->conns == c) d->conns = c->next;
    if (d->unref_conn == c) d->unref_conn = nullptr;
    last = --d->nconns == 0;
    if (counts_as_connection(c->kind)) proc_state().connections.fetch_sub(1);
    if (c->charged_uid >= 0) refund_uid(static_cast<uid_t>(std::exchange(c->charged_uid, -1)));
    if (counts_as_reference(c->kind)) {
      int refs = d->refs.fetch_sub(1) - 1;
      // door_create(3C) DOOR_UNREF: the count of references dropped to one, after more than one
      // existed. DOOR_UNREF is delivered once, DOOR_UNREF_MULTI each time.
      if (refs == 1 && d->referenced_twice && d->unref_kind != 0 && !d->revoked.load() &&
          (d->attributes.load() & d->unref_kind)) {
        d->referenced_twice = false;
        if (d->unref_kind == DOOR_UNREF) d->attributes.fetch_and(~uint32_t{DOOR_UNREF});
        post_unref(d);
      }
      if (refs == 0 && d->unref_conn != nullptr) {
        orphans.push_back({d->unref_conn, gen_of(d->unref_conn->state.load()), FrameKind{}});
      }
    }
    if (c->kind == ConnKind::kPrimary) {
      for (Connection* o = d->conns; o != nullptr; o = o->next) {
        if (o->kind == ConnKind::kChannel && o->via == key) {
          orphans.push_back({o, gen_of(o->state.load()), FrameKind::kClosed});
        }
      }
    }
  }
  release_slot(c);
  for (const Orphan& o : orphans) request_close(o.conn, o.gen, o.notice);
  if (last) free_door_if_unused(d);
}

// Registers fd (ours from now on) as a connection of d and arms it; a channel's shuttle is the
// connection's from now on too, and so is the charge of `uid` (charge_uid) when it is not -1.
// nullptr with errno on error, in which case fd is closed and the charge refunded.
Connection* add_conn(Door* d, int fd, ConnKind kind, dev_t dev = 0, ino_t ino = 0, uint64_t via = 0,
                     ShuttlePage* shuttle = nullptr, int64_t uid = -1) {
  Connection* c = acquire_slot();
  if (c == nullptr) {
    close_quietly(fd);
    unmap_shuttle(shuttle);
    if (uid >= 0) refund_uid(static_cast<uid_t>(uid));
    return nullptr;
  }
  c->charged_uid = uid;
  c->shuttle = shuttle;
  c->fd = fd;
  c->kind = kind;
  c->door = d;
  c->dev = dev;
  c->ino = ino;
  c->via = via;
  uint32_t gen = gen_of(c->state.load());
  {
    std::lock_guard lk(d->mu);
    c->next = d->conns;
    if (d->conns) d->conns->prev = c;
    d->conns = c;
    ++d->nconns;
    if (counts_as_connection(kind)) proc_state().connections.fetch_add(1);
    if (counts_as_reference(kind) && d->refs.fetch_add(1) + 1 >= 2) d->referenced_twice = true;
    if (kind == ConnKind::kUnref) d->unref_conn = c;
  }
  c->state.store((uint64_t{gen} << 32) | kArmed);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = event_key(c, gen);
  if (::epoll_ctl(d->pool->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ErrnoGuard keep;
    c->state.store(uint64_t{gen} << 32);
    close_conn(c);
    return nullptr;
  }
  return c;
}

void recall_parked(Connection* c, uint32_t gen);

// Takes the connection an event named; false when the event is stale.
bool take(Connection* c, uint32_t gen) {
  uint64_t s = c->state.load();
  for (;;) {
    if (gen_of(s) != gen) return false;
    if (s & kArmed) {
      if (c->state.compare_exchange_weak(s, (s & ~kArmed) | kBusy)) return true;
      continue;
    }
    if (s & kParked) {
      // Socket traffic or a hang-up on a channel whose worker is parked on its shuttle: the
      // worker leaves and re-arms the channel, and the event comes again.
      recall_parked(c, gen);
      return false;
    }
    if (s & kBusy) {
      // Its previous holder re-armed it in epoll and is about to mark it armed.
      sched_yield();
      s = c->state.load();
      continue;
    }
    return false;  // being closed
  }
}

// Closes a held connection whose close was requested, telling its client why first.
void close_requested(Connection* c) {
  FrameKind notice = c->notice.load();
  if (notice != FrameKind{}) {
    Frame f{};
    f.magic = kFrameMagic;
    f.kind = notice;
    ::send(c->fd, &f, sizeof(f), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  close_conn(c);
}

// Gives a held connection back to its pool, or closes it when a close was requested.
void rearm(Connection* c) {
  uint64_t s = c->state.load();
  if (s & kCloseReq) {
    close_requested(c);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = event_key(c, gen_of(s));
  if (::epoll_ctl(c->door->pool->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    close_conn(c);
    return;
  }
  for (;;) {
    if (s & kCloseReq) {
      close_requested(c);
      return;
    }
    if (c->state.compare_exchange_weak(s, (s & ~kBusy) | kArmed)) return;
  }
}

void send_simple(int fd, FrameKind kind, int error = 0) {
  Outgoing out;
  out.frame.magic = kFrameMagic;
  out.frame.kind = kind;
  out.frame.error = error;
  send_frame(fd, out);
}

// Closes c now if it is idle, else asks its holder to close it when done. An idle call
// connection is first sent the notice (kRevoked, kClosed), so that a call already queued on it
// fails with the right error rather than looking like a server that died mid-call.
void request_close(Connection* c, uint32_t gen, FrameKind notice) {
  uint64_t s = c->state.load();
  for (;;) {
    if (gen_of(s) != gen) return;
    if (s & kArmed) {
      if (!c->state.compare_exchange_weak(s, s & ~kArmed)) continue;
      c->notice.store(notice);
      close_requested(c);
      return;
    }
    if (s & kBusy) {
      c->notice.store(notice);
      if (c->state.compare_exchange_weak(s, s | kCloseReq)) {
        if (s & kParked) recall_parked(c, gen);
        return;
      }
      continue;
    }
    return;
  }
}

WireInfo info_of(Door* d) {
  WireInfo w{};
  w.target = ::getpid();
  w.proc = reinterpret_cast<uintptr_t>(d->proc);
  w.data = reinterpret_cast<uintptr_t>(d->cookie);
  w.id = d->id;
  w.attributes = d->attributes.load() | (d->revoked.load() ? DOOR_REVOKED : 0) |
                 (d->refs.load() == 1 ? DOOR_IS_UNREF : 0);
  w.data_max = d->data_max.load();
  w.data_min = d->data_min.load();
  w.desc_max = d->desc_max.load();
  return w;
}

void send_info(int fd, FrameKind kind, const WireInfo& info, const int* fds, unsigned nfds,
               const DescMeta* meta) {
  Outgoing out;
  out.frame.magic = kFrameMagic;
  out.frame.kind = kind;
  out.frame.data_size = sizeof(WireInfo);
  out.body = &info;
  out.fds = fds;
  out.nfds = nfds;
  out.frame.desc_num = nfds;
  out.meta = meta;
  send_frame(fd, out);
}

// A new primary socket pair for d: the server end joins d's pool, the client end is returned.
// The charge of uid (charge_uid; -1 for none) goes with the server end, or is refunded on error.
int make_primary(Door* d, int64_t uid = -1) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    if (uid >= 0) refund_uid(static_cast<uid_t>(uid));
    return -1;
  }
  uint64_t serial;
  {
    std::lock_guard lk(d->mu);
    serial = d->next_serial++;
  }
  int on = 1;
  if (bind_door_name(sv[1], d->id, &serial) != 0 ||
      ::setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0) {
    ErrnoGuard keep;
    close_quietly(sv[0]);
    close_quietly(sv[1]);
    if (uid >= 0) refund_uid(static_cast<uid_t>(uid));
    return -1;
  }
  if (add_conn(d, sv[1], ConnKind::kPrimary, 0, 0, 0, nullptr, uid) == nullptr) {
    close_quietly(sv[0]);
    return -1;
  }
  return sv[0];
}

// ---------------------------------------------------------------------------------------------
// Server threads.

struct Worker {
  sigjmp_buf base;
  bool in_loop = false;
  Connection* current = nullptr;  // the invocation being served, until door_return
  bool no_results = false;
  SenderCreds creds;
  Door* bound = nullptr;        // door_bind(3C)
  bool doomed = false;          // sent pthread_cancel for an abandoned call: must end
  Connection* unref = nullptr;  // the kUnref connection whose notification is being delivered
  Received rx;
  door_desc_t descs[kMaxDescs];
  DescMeta out_meta[kMaxDescs];
  int out_fds[kMaxDescs + 1];
  alignas(DOORS_DATA_ALIGN) char buf[kMaxFrameBytes];  // inline data lands at buf + 32
  bool counted = false;  // in Process::threads, from its first wait for a call until it ends
  bool made_by_default = false;  // in Process::default_threads until it ends
  bool via_shuttle = false;      // the current call came through its channel's shuttle
  Connection* park = nullptr;    // the channel to park on once back in the loop
  int pinned_cpu = -1;           // while parked: the CPU this thread is confined to
  unsigned since_rebalance = 0;  // calls since it last compared CPUs (place)
  bool home_known = false;       // home: its affinity before it was first pinned
  std::vector<int> home_list;    // the CPUs in home
  cpu_set_t home;

  ~Worker();  // after the parking section, whose counts it keeps right
};

// Freed when its thread ends (a server thread ends only when cancelled for an abandoned call).
thread_local std::unique_ptr<Worker> t_worker;

Worker* worker_or_null() { return t_worker.get(); }

Worker& worker() {
  if (!t_worker) t_worker = std::make_unique<Worker>();
  return *t_worker;
}

// Server threads run no asynchronous signal handlers: a handler must never interrupt a server
// procedure or libdoors' own state changes. Faults still reach their handlers.
void block_async_signals() {
  sigset_t s;
  sigfillset(&s);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&s, sig);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

void* server_thread_main(void*) {
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
  worker().made_by_default = true;
  door_return(nullptr, 0, nullptr, 0);
  return nullptr;
}

// The default door_server_create(3C) function: one detached thread that joins the pool.
void default_server_create(door_info_t*) {
  Process& p = proc_state();
  if (p.default_threads.fetch_add(1) >= limit_of(DOORS_LIMIT_POOL_THREADS)) {
    // At its bound the pool stops growing; calls wait for one of its threads to be free.
    p.default_threads.fetch_sub(1);
    count_pool_full();
    return;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // the thread starts with every signal blocked
  pthread_t t;
  // On failure (out of threads) the pool keeps serving with the threads it has.
  if (pthread_create(&t, &attr, server_thread_main, nullptr) != 0) p.default_threads.fetch_sub(1);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
}

door_server_func_t* creation_function() {
  door_server_func_t* fn = proc_state().create_fn.load();
  return fn ? fn : &default_server_create;
}

// The pool just lost its last idle thread: ask for more (door_server_create(3C)).
void deplete(Pool* pool) {
  door_server_func_t* fn = creation_function();
  if (pool->private_door == nullptr) {
    fn(nullptr);
    return;
  }
  door_info_t info;
  fill_door_info(info_of(pool->private_door), &info, true);
  info.di_attributes |= DOOR_DEPLETION_CB;
  fn(&info);
}

int ensure_shared_pool() {
  Process& p = proc_state();
  std::lock_guard g(p.mu);
  if (p.shared.epfd < 0) {
    p.shared.epfd = ::epoll_create1(EPOLL_CLOEXEC);
    if (p.shared.epfd < 0) return -1;
  }
  return 0;
}

// Turns away an accepted connection the process will not serve, telling the client why.
void refuse(int s) {
  count_refusal();
  send_simple(s, FrameKind::kError, EAGAIN);
  close_quietly(s);
}

// Out of descriptors, a connection left in the listener's backlog keeps the listener readable,
// and its pool would spin on it: the reserve descriptor makes room to accept it and say no.
void shed_one(Connection* listener) {
  Process& p = proc_state();
  std::lock_guard g(p.reserve_mu);
  if (p.reserve_fd < 0) return;
  close_quietly(p.reserve_fd);
  int s = ::accept4(listener->fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (s >= 0) refuse(s);
  p.reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// An accepted connection is charged to its client's uid before anything else is done for it,
// so that a flood of connections that never say hello uses up its sender's quota only.
void accept_one(Connection* listener) {
  int s = ::accept4(listener->fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (s < 0) {
    // EAGAIN after a spurious wake-up, or the client already gave up.
    if (errno == EMFILE || errno == ENFILE) shed_one(listener);
    return;
  }
  struct ucred peer;
  socklen_t len = sizeof(peer);
  if (::getsockopt(s, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
    close_quietly(s);
    return;
  }
  if (!charge_uid(peer.uid)) {
    refuse(s);
    return;
  }
  add_conn(listener->door, s, ConnKind::kPending, listener->dev, listener->ino, 0, nullptr,
           peer.uid);
}

// kHello on a pending connection: the client proves it could open the attached file by passing
// the opened descriptor; it gets a primary socket of the door in return.
void welcome(Connection* c, Received& rx) {
  if (rx.frame.desc_num != 1) {
    rx.close_fds();
    return;
  }
  struct stat st;
  // An O_PATH descriptor proves nothing: open(2) grants it without read or write permission on
  // the file (search permission on the directories is enough).
  int fl = ::fcntl(rx.passed_fds()[0], F_GETFL);
  bool same = fl >= 0 && !(fl & O_PATH) && ::fstat(rx.passed_fds()[0], &st) == 0 &&
              st.st_dev == c->dev && st.st_ino == c->ino;
  rx.close_fds();
  if (!same) return;
  Door* d = c->door;
  if (d->revoked.load()) {
    // fattach'ed names keep naming a revoked door (door_revoke(3C)): the client gets a
    // descriptor of it whose server end is already closed, so door_info says DOOR_REVOKED and
    // calls fail with EBADF.
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return;
    uint64_t serial;
    {
      std::lock_guard lk(d->mu);
      serial = d->next_serial++;
    }
    if (bind_door_name(sv[1], d->id, &serial) == 0) {
      WireInfo info = info_of(d);
      DescMeta meta{info.attributes, 0, d->id};
      close_quietly(sv[1]);
      send_info(c->fd, FrameKind::kWelcome, info, &sv[0], 1, &meta);
    } else {
      close_quietly(sv[1]);
    }
    close_quietly(sv[0]);
    return;
  }
  // The handshake's charge of the client's uid goes over to the door descriptor it gets.
  int client_end = make_primary(d, std::exchange(c->charged_uid, -1));
  if (client_end < 0) {
    send_simple(c->fd, FrameKind::kError, errno);
    return;
  }
  WireInfo info = info_of(d);
  DescMeta meta{d->attributes, 0, d->id};
  send_info(c->fd, FrameKind::kWelcome, info, &client_end, 1, &meta);
  close_quietly(client_end);
}

// kDetach on a pending connection: fdetach(3C) of our attachment by another process. As on
// Solaris, the owner of the path (or root) may detach it; the requester proves which file it
// means with a descriptor of it, and who it is with the kernel's SO_PEERCRED.
void detach_for_peer(Connection* c, Received& rx) {
  struct stat st;
  bool same = rx.frame.desc_num == 1 && ::fstat(rx.passed_fds()[0], &st) == 0 &&
              st.st_dev == c->dev && st.st_ino == c->ino;
  rx.close_fds();
  struct ucred peer;
  socklen_t len = sizeof(peer);
  int err = 0;
  if (!same || ::getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
    err = EINVAL;
  } else if (peer.uid != 0 && peer.uid != st.st_uid) {
    err = EPERM;
  } else if (detach_local(c->dev, c->ino) != 0) {
    err = errno;
  }
  send_simple(c->fd, FrameKind::kError, err);
}

// kAttach on connection via: a client thread's new call channel. False only for a malformed
// request.
bool attach_channel(Connection* via, Received& rx) {
  Door* d = via->door;
  if (rx.frame.desc_num < 1 || rx.frame.desc_num > 2 || (rx.frame.flags & kNewArena)) {
    return false;
  }
  int fd = rx.fds[0];
  ShuttlePage* shuttle = nullptr;
  if (rx.frame.desc_num == 2) {
    shuttle = map_shuttle(rx.fds[1]);  // takes the descriptor
    if (shuttle == nullptr) {
      rx.nfds = 0;
      close_quietly(fd);
      return false;
    }
  }
  rx.nfds = 0;
  int type = 0, domain = 0, on = 1;
  socklen_t len = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET ||
      (len = sizeof(domain), ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len)) != 0 ||
      domain != AF_UNIX) {
    close_quietly(fd);
    unmap_shuttle(shuttle);
    return false;
  }
  // The client set SO_PASSCRED before passing it; setting it again costs nothing and does not
  // depend on the client's good will.
  ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
  // The channel is charged to whoever made the socket pair: its SO_PEERCRED is the kernel's word.
  struct ucred peer;
  len = sizeof(peer);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || !charge_uid(peer.uid)) {
    unmap_shuttle(shuttle);
    refuse(fd);  // the call the client sends next on it reads this EAGAIN
    return true;
  }
  // On failure (ENOMEM...) the client's call sees the channel hang up.
  add_conn(d, fd, ConnKind::kChannel, 0, 0, event_key(via, gen_of(via->state.load())), shuttle,
           peer.uid);
  return true;
}

// Starts watching c for its client's hang-up while this thread runs a procedure for it.
// A parked channel is already in the epoll set for its hang-up (see start_parking).
void watch_for_abort(Connection* c, bool parked) {
  {
    std::lock_guard lk(c->cancel_mu);
    c->watched = true;
    c->cancelled = false;
    c->holder = pthread_self();
  }
  if (parked) {
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLRDHUP | EPOLLONESHOT;
  ev.data.u64 = event_key(c, gen_of(c->state.load()));
  ::epoll_ctl(c->door->pool->epfd, EPOLL_CTL_MOD, c->fd, &ev);
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
}

// The procedure is over: stop watching. True when its thread was cancelled meanwhile (the
// cancellation is pending and the thread must end; see end_if_doomed).
bool stop_watching(Connection* c) {
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
  std::lock_guard lk(c->cancel_mu);
  c->watched = false;
  return c->cancelled;
}

// A hang-up event for a connection whose procedure is running: the client abandoned the call
// (door_call(3C) EINTR), so the thread running it is cancelled. False when the event is not that.
bool cancel_abandoned(Connection* c, uint32_t gen) {
  uint64_t s = c->state.load();
  if (gen_of(s) != gen || !(s & kBusy)) return false;
  std::lock_guard lk(c->cancel_mu);
  if (!c->watched) return false;
  c->watched = false;
  c->cancelled = true;
  pthread_cancel(c->holder);
  return true;
}

// Catching abi::__forced_unwind (a thread cancellation unwinding) by reference trips UBSan's
// null-reference check, a known false positive for that special exception object. GCC 12 does
// not honour the narrower no_sanitize("null") there, only the whole of UBSan being off.
#define DOORS_CATCHES_FORCED_UNWIND __attribute__((no_sanitize_undefined))

// ---------------------------------------------------------------------------------------------
// Parking (shuttle.h). After answering a call on a channel that has a shuttle, the worker may
// stay with that channel: it confines itself to the CPU its caller last called from and waits on
// the shuttle's futex. The client's next call is a write to the page and a futex wake, which the
// kernel delivers on the caller's own CPU: the caller sleeps, its CPU runs the procedure at once,
// and no socket message, epoll event or wake-up of another CPU is involved. A parked worker
// leaves when it is recalled (socket traffic or a hang-up on the channel, a close request, its
// pool running out of idle threads), when its channel stays quiet for kParkLinger (an idle
// thread of its pool looks for such channels every kParkLinger; the parked thread itself waits
// without a timer, which would cost each call a timer set and cancelled), or when a
// reply must go through the socket.

constexpr timespec kParkLinger = {0, 50'000'000};

// Parked workers per pool, at most: four per CPU, enough for the client threads of a busy machine
// (measured: eight callers on two CPUs all parked, each with an eighth of the calls), few enough
// that parked threads never hold much memory.
int max_parked() {
  static const int n = [] {
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    return static_cast<int>(4 * (cpus > 0 ? cpus : 1));
  }();
  return n;
}

void unlist_parked(Connection* c) {
  Process& p = proc_state();
  std::lock_guard lk(p.park_mu);
  if (!c->listed) return;
  Pool* pool = c->door->pool;
  if (c->park_prev) c->park_prev->park_next = c->park_next;
  if (c->park_next) c->park_next->park_prev = c->park_prev;
  if (pool->parked == c) pool->parked = c->park_next;
  c->park_prev = c->park_next = nullptr;
  c->listed = false;
  --pool->nparked;
  c->state.fetch_and(~kParked);
}

// Tells the worker parked on c (when one still is) to leave. Under park_mu, so that the shuttle
// is still mapped: its worker unlists c before anything can unmap it.
void recall_locked(Connection* c) {
  c->recall.store(true);
  std::atomic<uint32_t>& st = c->shuttle->state;
  uint32_t s = kShuttleParked;
  if (!st.compare_exchange_strong(s, kShuttleIdle) && s == kShuttleReply) {
    st.compare_exchange_strong(s, kShuttleReplyLeft);
  }
  futex_wake(&st);  // a call in progress (kShuttleCall) is answered first; then it leaves
}

void recall_parked(Connection* c, uint32_t gen) {
  Process& p = proc_state();
  std::lock_guard lk(p.park_mu);
  if (c->listed && gen_of(c->state.load()) == gen) recall_locked(c);
}

// Recalls the workers parked on channels that had no call since the last sweep, at most once in
// four fifths of a kParkLinger per pool; the pool's idle threads call it whenever they wake while
// threads are parked (serve_forever).
void sweep_quiet(Pool* pool) {
  timespec now;
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t ns = now.tv_sec * 1'000'000'000LL + now.tv_nsec;
  int64_t last = pool->last_sweep_ns.load();
  if (ns - last < kParkLinger.tv_nsec * 4 / 5 ||
      !pool->last_sweep_ns.compare_exchange_strong(last, ns)) {
    return;
  }
  Process& p = proc_state();
  std::lock_guard lk(p.park_mu);
  for (Connection* c = pool->parked; c != nullptr; c = c->park_next) {
    uint32_t served = c->served.load(std::memory_order_relaxed);
    if (served == c->served_at_sweep) {
      recall_locked(c);
    } else {
      c->served_at_sweep = served;
    }
  }
}

// The pool has no idle thread left: the worker parked longest goes back to it.
void recall_one(Pool* pool) {
  Process& p = proc_state();
  std::lock_guard lk(p.park_mu);
  Connection* oldest = pool->parked;
  while (oldest != nullptr && oldest->park_next != nullptr) oldest = oldest->park_next;
  if (oldest != nullptr) recall_locked(oldest);
}

// Parked threads confined to each CPU. A parked thread follows its caller's CPU; but a caller
// and its confined server thread are a pair the scheduler can no longer spread over the CPUs
// (it cannot move the server thread, and the caller, which mostly sleeps, is seldom where it
// looks): measured, three pairs shared one CPU for seconds while a fourth had the other to
// itself. So every kRebalanceEvery calls a parked thread whose CPU has two pairs more than
// another moves there, and asks its caller to follow (ShuttlePage::suggested_cpu).
std::atomic<int> g_parked_on[CPU_SETSIZE];

constexpr unsigned kRebalanceEvery = 256;

void unpin(Worker& w) {
  if (w.pinned_cpu < 0) return;
  ::sched_setaffinity(0, sizeof(w.home), &w.home);
  g_parked_on[w.pinned_cpu].fetch_sub(1, std::memory_order_relaxed);
  w.pinned_cpu = -1;
}

// A server thread ends only when cancelled for an abandoned call, possibly while confined.
Worker::~Worker() {
  if (counted) proc_state().threads.fetch_sub(1);
  if (made_by_default) proc_state().default_threads.fetch_sub(1);
  if (pinned_cpu >= 0) g_parked_on[pinned_cpu].fetch_sub(1, std::memory_order_relaxed);
}

bool confine(Worker& w, int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (::sched_setaffinity(0, sizeof(one), &one) != 0) return false;
  if (w.pinned_cpu >= 0) g_parked_on[w.pinned_cpu].fetch_sub(1, std::memory_order_relaxed);
  g_parked_on[cpu].fetch_add(1, std::memory_order_relaxed);
  w.pinned_cpu = cpu;
  return true;
}

// The CPU with the fewest parked threads other than this one; `cpu` when none has fewer.
int least_crowded(const Worker& w, int cpu) {
  auto load = [&](int c) {
    return g_parked_on[c].load(std::memory_order_relaxed) - (c == w.pinned_cpu ? 1 : 0);
  };
  int least = cpu;
  for (int c : w.home_list) {
    if (load(c) < load(least)) least = c;
  }
  return load(cpu) >= load(least) + 1 ? least : cpu;
}

// Confines the worker parked on `page` to the CPU its caller called from (or, to spread pairs,
// to a less crowded one that the caller is asked to move to).
void place(Worker& w, ShuttlePage* page) {
  int32_t cpu = __atomic_load_n(&page->caller_cpu, __ATOMIC_RELAXED);
  if (!w.home_known) {
    if (::sched_getaffinity(0, sizeof(w.home), &w.home) != 0) return;
    w.home_known = true;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &w.home)) w.home_list.push_back(c);
    }
  }
  // The CPU is the client's word: only one this thread may run on anyway is taken.
  if (cpu < 0 || cpu >= CPU_SETSIZE || w.home_list.size() < 2 || !CPU_ISSET(cpu, &w.home)) {
    return;
  }
  if (cpu == w.pinned_cpu && ++w.since_rebalance < kRebalanceEvery) return;
  w.since_rebalance = 0;
  int target = least_crowded(w, cpu);
  if (target != w.pinned_cpu && !confine(w, target)) return;
  if (target != cpu) __atomic_store_n(&page->suggested_cpu, target, __ATOMIC_RELAXED);
}

// After a call on c that came through its socket: whether this worker parks on c. When it does,
// c is listed, marked kParked, watched in epoll for socket traffic and hang-up, and its shuttle
// says kShuttleParked before the reply is sent, so the client's next call can use it.
bool start_parking(Connection* c, Worker& w) {
  Door* d = c->door;
  Pool* pool = d->pool;
  if (c->shuttle == nullptr || c->kind != ConnKind::kChannel || d->revoked.load() || w.doomed ||
      (c->state.load() & kCloseReq) || pool->idle.load() < 1) {
    return false;
  }
  Process& p = proc_state();
  {
    std::lock_guard lk(p.park_mu);
    if (pool->nparked >= max_parked()) return false;
    c->park_prev = nullptr;
    c->park_next = pool->parked;
    if (pool->parked) pool->parked->park_prev = c;
    pool->parked = c;
    ++pool->nparked;
    // Not the sweep's figure: the first sweep after parking never sends it back, however soon.
    c->served_at_sweep = c->served.load(std::memory_order_relaxed) - 1;
    c->listed = true;
    c->recall.store(false);
    c->state.fetch_or(kParked);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  ev.data.u64 = event_key(c, gen_of(c->state.load()));
  if (::epoll_ctl(pool->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    unlist_parked(c);
    return false;
  }
  c->shuttle_creds = w.rx.creds;  // the kernel's, on the message just answered
  c->shuttle->state.store(kShuttleParked, std::memory_order_release);
  return true;
}

// Whether the worker parked on c may stay after answering the current call.
bool may_stay_parked(Connection* c, const Worker& w) {
  return !c->recall.load() && !(c->state.load() & kCloseReq) && !c->door->revoked.load() &&
         !w.doomed;
}

// Waits on c's shuttle for the next call. True with a call in the page; false when the worker
// is to leave (recalled, closing, quiet for kParkLinger, or a state no server would have set).
bool await_shuttle_call(Connection* c, Worker& w) {
  ShuttlePage* page = c->shuttle;
  place(w, page);
  for (;;) {
    uint32_t s = page->state.load(std::memory_order_acquire);
    if (s == kShuttleCall || s == kShuttleCallSlow) return true;
    if (s != kShuttleParked && s != kShuttleReply) return false;
    if (!c->recall.load() && !(c->state.load() & kCloseReq)) {
      futex_wait(&page->state, s, nullptr);
      continue;
    }
    // Leaving: a client that then calls finds the page says so, and uses the socket.
    if (page->state.compare_exchange_strong(
            s, s == kShuttleReply ? kShuttleReplyLeft : kShuttleIdle)) {
      return false;
    }
  }
}

// The worker stops being parked on c and gives c back to its pool.
void leave_parking(Connection* c) {
  unlist_parked(c);
  rearm(c);
}

// Posts an answer in c's shuttle and wakes the client; stay: this worker stays parked.
void post_shuttle_answer(Connection* c, const Outgoing& out, bool stay) {
  ShuttlePage* page = c->shuttle;
  memcpy(&page->frame, &out.frame, sizeof(Frame));
  const void* data = out.inline_data != nullptr ? out.inline_data : out.body;
  if (!(out.frame.flags & kDataInArena) && out.frame.data_size > 0) {
    memcpy(page->data, data, out.frame.data_size);
  }
  uint32_t prev =
      page->state.exchange(stay ? kShuttleReply : kShuttleReplyLeft, std::memory_order_acq_rel);
  if (prev == kShuttleCallSlow) {
    send_simple(c->fd, FrameKind::kShuttleWake);  // the client waits on the socket now
  } else {
    futex_wake(&page->state);
  }
}

enum class After { kRearm, kPark };

// Sends the answer to the current call the way it came (shuttle or socket) and decides what the
// worker does next.
After send_answer(Connection* c, Worker& w, const Outgoing& out) {
  if (w.via_shuttle) {
    bool fits = out.nfds == 0 &&
                ((out.frame.flags & kDataInArena) || out.frame.data_size <= kShuttleDataMax);
    if (fits) {
      bool stay = may_stay_parked(c, w);
      post_shuttle_answer(c, out, stay);
      return stay ? After::kPark : After::kRearm;
    }
    // Descriptors or a new arena: only the socket carries them; the worker leaves.
    send_frame(c->fd, out);
    c->shuttle->state.store(kShuttleSocketReply, std::memory_order_release);
    futex_wake(&c->shuttle->state);
    return After::kRearm;
  }
  bool park = start_parking(c, w);
  send_frame(c->fd, out);
  return park ? After::kPark : After::kRearm;
}

// What the worker does once a call on c is answered.
void after_call(Connection* c, Worker& w, After next) {
  if (next == After::kPark) {
    w.park = c;
  } else if (w.via_shuttle) {
    leave_parking(c);
  } else {
    rearm(c);
  }
}

// Answers the current call with a bare frame (an error or a refusal), then moves on.
void answer_simple(Connection* c, Worker& w, FrameKind kind, int error) {
  Outgoing out;
  out.frame.magic = kFrameMagic;
  out.frame.kind = kind;
  out.frame.error = error;
  after_call(c, w, send_answer(c, w, out));
}

void dispatch(Connection* c, Worker& w);

// Serves the call in c's shuttle: copies it out of the page (once; the client may rewrite the
// page at any moment) and dispatches it as a call that came through the socket would be.
void serve_shuttle_call(Connection* c, Worker& w) {
  ShuttlePage* page = c->shuttle;
  w.via_shuttle = true;
  if (c->door->revoked.load()) {
    answer_simple(c, w, FrameKind::kRevoked, 0);
    return;
  }
  Received& rx = w.rx;
  memcpy(&rx.frame, &page->frame, sizeof(Frame));
  const Frame& f = rx.frame;
  bool inline_data = !(f.flags & kDataInArena);
  if (!valid_shuttle_call(f)) {
    close_conn(c);  // as for a malformed message: the channel is dropped
    return;
  }
  if (inline_data && f.data_size > 0) memcpy(w.buf + sizeof(Frame), page->data, f.data_size);
  page->taken.store(1, std::memory_order_release);
  c->served.fetch_add(1, std::memory_order_relaxed);
  c->door->shuttle_calls.fetch_add(1, std::memory_order_relaxed);
  rx.inline_data = w.buf + sizeof(Frame);
  rx.nfds = 0;
  rx.creds = c->shuttle_creds;
  dispatch(c, w);
}

// DOOR_UNREF notifications wait while invocations of the door are running (door_create(3C)).
void invocation_started(Door* d) {
  if (d->unref_kind == 0) return;
  std::lock_guard lk(d->mu);
  ++d->active;
}

void invocation_ended(Door* d) {
  if (d->unref_kind == 0) return;
  bool post = false;
  {
    std::lock_guard lk(d->mu);
    if (--d->active == 0 && d->unref_deferred) {
      d->unref_deferred = false;
      post = true;
    }
  }
  if (post) post_unref(d);
}

// The kUnref eventfd fired: deliver proc(cookie, DOOR_UNREF_DATA, 0, NULL, 0) on this thread,
// unless invocations are running (then the last of them posts it again).
DOORS_CATCHES_FORCED_UNWIND void deliver_unref(Connection* c, Worker& w) {
  Door* d = c->door;
  uint64_t count = 0;
  if (::read(c->fd, &count, sizeof(count)) != sizeof(count) || count == 0 || d->revoked.load()) {
    rearm(c);
    return;
  }
  {
    std::lock_guard lk(d->mu);
    if (d->active > 0) {
      d->unref_deferred = true;
      count = 0;
    }
  }
  if (count == 0) {
    rearm(c);
    return;
  }
  w.unref = c;
  try {
    d->proc(d->cookie, static_cast<char*>(DOOR_UNREF_DATA), 0, nullptr, 0);
  } catch (abi::__forced_unwind&) {
    throw;
  } catch (...) {
  }
  w.unref = nullptr;
  rearm(c);
}

// Runs the door's procedure for a kCall. Returns only when the procedure returned without
// door_return (or the call was refused); door_return itself jumps back to the worker loop.
// Nothing with a destructor may live in this frame: door_return discards it.
DOORS_CATCHES_FORCED_UNWIND void dispatch(Connection* c, Worker& w) {
  Door* d = c->door;
  Received& rx = w.rx;
  const Frame& f = rx.frame;

  // door_call(3C) checks, in the kernel's order: ENOBUFS, ENOTSUP, ENFILE.
  int refuse = 0;
  if (f.data_size < d->data_min.load() || f.data_size > d->data_max.load()) {
    refuse = ENOBUFS;
  } else if (f.desc_num > 0 && (d->attributes & DOOR_REFUSE_DESC)) {
    refuse = ENOTSUP;
  } else if (f.desc_num > d->desc_max.load()) {
    refuse = ENFILE;
  }
  if (refuse != 0) {
    rx.close_fds();
    answer_simple(c, w, FrameKind::kError, refuse);
    return;
  }

  char* argp = nullptr;
  if (f.flags & kNewArena) {
    int arena = rx.fds[0];
    rx.fds[0] = -1;
    if (c->args.adopt(arena, limit_of(DOORS_LIMIT_ARENA_BYTES)) != 0) {
      int e = errno;
      rx.close_fds();
      if (e == E2BIG) {
        // Too large to map here (DOORS_LIMIT_ARENA_BYTES): the caller learns why; the channel,
        // whose next call would name the arena we did not take, closes after the answer.
        count_refusal();
        send_simple(c->fd, FrameKind::kError, E2BIG);
      }
      close_conn(c);
      return;
    }
  }
  if (f.data_size > 0) {
    if (f.flags & kDataInArena) {
      // Read-only: the client's arena is mapped read-only here (see DEVIATIONS.md).
      argp = const_cast<char*>(c->args.range(f.arena_offset, f.data_size));
      if (argp == nullptr) {
        rx.close_fds();
        close_conn(c);
        return;
      }
      if (f.data_size <= kInlineDataMax) {
        // Small enough for a socket message: the client put it in its arena only because its
        // shuttle page is smaller still. The procedure gets the private, writable copy a socket
        // message gives (DEVIATIONS.md 3: only larger arguments are read-only, in place).
        memcpy(w.buf + sizeof(Frame), argp, f.data_size);
        argp = w.buf + sizeof(Frame);
      }
    } else {
      argp = const_cast<char*>(rx.inline_data);
    }
  }

  door_desc_t* dp = nullptr;
  int* passed = rx.passed_fds();
  for (unsigned i = 0; i < f.desc_num; ++i) {
    ::fcntl(passed[i], F_SETFD, 0);  // the procedure's own descriptors, as on Solaris
    describe_received(passed[i], rx.meta[i], &w.descs[i]);
  }
  if (f.desc_num > 0) dp = w.descs;
  unsigned ndesc = f.desc_num;
  rx.nfds = 0;  // the procedure owns them now

  d->calls.fetch_add(1, std::memory_order_relaxed);
  w.current = c;
  w.no_results = (f.flags & kNoResults) != 0;
  w.creds = rx.creds;
  bool cancellable = !(d->attributes & DOOR_NO_CANCEL) && c->kind == ConnKind::kChannel;
  invocation_started(d);
  if (cancellable) watch_for_abort(c, w.via_shuttle);
  try {
    d->proc(d->cookie, argp, f.data_size, dp, ndesc);
  } catch (abi::__forced_unwind&) {
    // Cancelled inside the procedure: its client is gone; the thread ends.
    stop_watching(c);
    w.current = nullptr;
    invocation_ended(d);
    close_conn(c);
    throw;
  } catch (...) {
    // A C++ procedure threw: treated as returning without door_return.
  }

  // The procedure returned without door_return: that invocation is over, and its caller is told
  // so with EINTR (door_call(3C)). Unlike Solaris, the thread is kept (DEVIATIONS.md).
  w.current = nullptr;
  invocation_ended(d);
  if (cancellable && stop_watching(c)) {
    w.doomed = true;
    close_conn(c);
    return;
  }
  answer_simple(c, w, FrameKind::kError, EINTR);
}

void serve(Connection* c, Worker& w) {
  Door* d = c->door;
  if (c->kind == ConnKind::kUnref) {
    deliver_unref(c, w);
    return;
  }
  if (c->kind == ConnKind::kListener) {
    accept_one(c);
    rearm(c);
    return;
  }
  if (d->revoked.load() && c->kind != ConnKind::kPending) {
    send_simple(c->fd, FrameKind::kRevoked);
    close_conn(c);
    return;
  }
  if (recv_frame(c->fd, w.buf, w.rx, /*interruptible=*/false) <= 0) {
    close_conn(c);  // the peer closed, or sent something malformed
    return;
  }
  bool pending = c->kind == ConnKind::kPending;
  switch (w.rx.frame.kind) {
    case FrameKind::kCall:
      if (pending) break;
      dispatch(c, w);
      return;
    case FrameKind::kAttach:
      if (pending || !attach_channel(c, w.rx)) break;
      rearm(c);
      return;
    case FrameKind::kInfoRequest:
      if (pending || w.rx.nfds != 0) break;
      send_info(c->fd, FrameKind::kInfo, info_of(d), nullptr, 0, nullptr);
      rearm(c);
      return;
    case FrameKind::kStatsRequest: {
      if (pending || w.rx.nfds != 0) break;
      WireStats stats{};
      if (local_server_stats(d->id, &stats)) {
        Outgoing out;
        out.frame.magic = kFrameMagic;
        out.frame.kind = FrameKind::kStats;
        out.frame.data_size = sizeof(stats);
        out.body = &stats;
        send_frame(c->fd, out);
      } else {
        send_simple(c->fd, FrameKind::kRevoked);
      }
      rearm(c);
      return;
    }
    case FrameKind::kHello:
      if (!pending) break;
      welcome(c, w.rx);
      close_conn(c);
      return;
    case FrameKind::kDetach:
      if (!pending) break;
      detach_for_peer(c, w.rx);
      close_conn(c);
      return;
    default:
      break;
  }
  w.rx.close_fds();
  close_conn(c);  // a request this connection may not make: drop it
}

[[noreturn]] void serve_forever(Worker& w) {
  block_async_signals();
  w.in_loop = true;
  Process& p = proc_state();
  if (!w.counted) {
    w.counted = true;
    p.threads.fetch_add(1);
  }
  sigsetjmp(w.base, 0);  // door_return comes back here
  for (;;) {
    w.current = nullptr;
    w.via_shuttle = false;
    if (w.doomed) {
      // This thread was cancelled for an abandoned call after that call had ended: act on the
      // pending cancellation now, between invocations, rather than in a later procedure.
      pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
      for (;;) pthread_testcancel();
    }
    if (Connection* c = std::exchange(w.park, nullptr)) {
      if (await_shuttle_call(c, w)) {
        serve_shuttle_call(c, w);  // returns only when the procedure did not door_return
        continue;
      }
      leave_parking(c);
    }
    unpin(w);
    Pool* pool = w.bound ? &w.bound->private_pool : &p.shared;
    if (pool->epfd < 0) DOORS_ASSERT(ensure_shared_pool() == 0, "epoll_create1");
    pool->idle.fetch_add(1);
    epoll_event ev;
    // While threads are parked, an idle thread wakes now and then to send quiet ones back; it
    // also looks when an event wakes it, since a steady trickle of events would keep its wait
    // from ever timing out (sweep_quiet itself looks at most once in 4/5 of a kParkLinger).
    bool parked = pool->nparked.load() > 0;
    int timeout_ms = parked ? static_cast<int>(kParkLinger.tv_nsec / 1'000'000) : -1;
    int n = ::epoll_wait(pool->epfd, &ev, 1, timeout_ms);
    int idle_before = pool->idle.fetch_sub(1);
    if (parked) sweep_quiet(pool);
    if (n != 1) {
      DOORS_ASSERT(n == 0 || errno == EINTR, "epoll_wait on a pool's set");
      continue;
    }
    Connection* c = slot_at(static_cast<uint32_t>(ev.data.u64 >> 32));
    uint32_t gen = static_cast<uint32_t>(ev.data.u64);
    if (c == nullptr) continue;
    if ((ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && cancel_abandoned(c, gen)) continue;
    if (!take(c, gen)) continue;
    if (idle_before == 1) {
      recall_one(pool);
      deplete(pool);
    }
    serve(c, w);
  }
}

// fork(2): the child keeps its door descriptors (they are still served by the parent) but is
// no server itself, and must not hold the parent's server sockets open: a client waiting on one
// of them would never see the server go away.
void before_fork() {
  Process& p = proc_state();
  p.mu.lock();
  p.slots.mu.lock();
  p.park_mu.lock();
  p.reserve_mu.lock();
  limits_before_fork();
}

void after_fork_parent() {
  Process& p = proc_state();
  limits_after_fork(/*child=*/false);
  p.reserve_mu.unlock();
  p.park_mu.unlock();
  p.slots.mu.unlock();
  p.mu.unlock();
}

void after_fork_child() {
  Process& p = proc_state();
  SlotTable& t = p.slots;
  for (uint32_t i = 0; i < t.used; ++i) {
    Connection* c = slot_at(i);
    if (c->fd >= 0) close_quietly(c->fd);
    close_quietly(c->pin_fd);
    c->fd = -1;
    c->pin_fd = -1;
    c->door = nullptr;
  }
  for (auto& [id, d] : p.doors) {
    close_quietly(d->anchor_fd);
    close_quietly(d->private_pool.epfd);
  }
  close_quietly(p.shared.epfd);
  // The objects stay allocated (another thread of the parent may have been using them when it
  // forked); only the child's view of them is reset.
  p.doors.clear();
  p.attachments.clear();
  p.shared.epfd = -1;
  p.shared.idle.store(0);
  p.shared.parked = nullptr;
  p.shared.nparked = 0;
  p.shared_started = false;
  t.used = 0;
  t.free_list.clear();
  for (uint32_t c = 0; c < kMaxChunks; ++c) t.chunks[c].store(nullptr);
  p.threads.store(0);
  p.connections.store(0);
  p.default_threads.store(0);
  close_quietly(p.reserve_fd);
  p.reserve_fd = -1;
  limits_after_fork(/*child=*/true);  // the connections charged to uids are the parent's
  if (Worker* w = worker_or_null()) {
    w->current = nullptr;
    w->bound = nullptr;
    w->counted = false;  // the child is no server: this thread never waits for a call again
    w->made_by_default = false;
    w->park = nullptr;
  }
  p.reserve_mu.unlock();
  p.park_mu.unlock();
  t.mu.unlock();
  p.mu.unlock();
}

Process& proc_state() {
  static Process* p = [] {
    auto* created = new Process;
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    return created;
  }();
  return *p;
}

Door* find_local(uint64_t id) {
  Process& p = proc_state();
  auto it = p.doors.find(id);
  return it == p.doors.end() ? nullptr : it->second;
}

// The live door behind fd (door id) when this process serves it, for what only a door's server
// may do. nullptr with errno: EBADF when the door is revoked (ours, maybe already freed) or its
// server is gone, EPERM when it is a live door of another process. Called with Process::mu held.
Door* own_live_door(int fd, uint64_t id) {
  Door* d = find_local(id);
  if (d == nullptr) {
    pollfd pfd{fd, POLLRDHUP, 0};
    bool gone = ::poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR));
    errno = gone ? EBADF : EPERM;
    return nullptr;
  }
  if (d->revoked.load()) {
    errno = EBADF;
    return nullptr;
  }
  return d;
}

uint64_t random_id() {
  uint64_t id = 0;
  while (id == 0) {
    if (::getrandom(&id, sizeof(id), 0) != sizeof(id)) id = 0;
  }
  return id;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Internal interface (server.h).

bool local_door_info(uint64_t id, WireInfo* out) {
  Process& p = proc_state();
  std::lock_guard g(p.mu);
  Door* d = find_local(id);
  if (d == nullptr) return false;
  *out = info_of(d);
  return true;
}

bool local_server_stats(uint64_t id, WireStats* out) {
  Process& p = proc_state();
  std::lock_guard g(p.mu);
  Door* d = find_local(id);
  if (d == nullptr || d->revoked.load()) return false;
  *out = {};
  out->pid = ::getpid();
  out->id = id;
  out->tag = d->tag.load();
  out->calls = d->calls.load(std::memory_order_relaxed);
  out->shuttle_calls = d->shuttle_calls.load(std::memory_order_relaxed);
  {
    std::lock_guard lk(p.park_mu);
    int parked = p.shared.nparked;
    for (auto& [door_id, door] : p.doors) {
      if (door->attributes.load() & DOOR_PRIVATE) parked += door->private_pool.nparked;
    }
    out->parked_threads = static_cast<uint32_t>(parked);
  }
  int idle = p.shared.idle.load();
  for (auto& [door_id, door] : p.doors) {
    if (door->attributes.load() & DOOR_PRIVATE) idle += door->private_pool.idle.load();
  }
  // Each figure is read on its own, so a thread between two counters may be seen in one only.
  int threads = p.threads.load();
  out->threads = static_cast<uint32_t>(threads > 0 ? threads : 0);
  out->idle_threads = static_cast<uint32_t>(idle < 0 ? 0 : idle > threads ? threads : idle);
  out->doors = static_cast<uint32_t>(p.doors.size());
  out->attachments = static_cast<uint32_t>(p.attachments.size());
  int conns = p.connections.load();
  out->connections = static_cast<uint32_t>(conns > 0 ? conns : 0);
  out->shm_bytes = mapped_arena_bytes();
  out->refusals = refusals();
  out->pool_full = pool_full_waits();
  return true;
}

int revoke_local(uint64_t id) {
  Process& p = proc_state();
  std::vector<std::pair<Connection*, uint32_t>> conns;
  {
    std::lock_guard g(p.mu);
    Door* d = find_local(id);
    if (d == nullptr) {
      errno = EPERM;
      return -1;
    }
    d->revoked.store(true);
    // door_info and door_setparam still answer for the door (DOOR_REVOKED, EBADF) once it is
    // freed, from what the process remembers of it.
    remember_info(info_of(d));
    std::lock_guard lk(d->mu);
    for (Connection* c = d->conns; c != nullptr; c = c->next) {
      if (c->kind == ConnKind::kPrimary || c->kind == ConnKind::kChannel) {
        conns.emplace_back(c, gen_of(c->state.load()));
      }
    }
  }
  // Idle connections close now; busy ones close after the call in progress completes, as
  // door_revoke(3C) lets calls in progress finish.
  for (auto [c, gen] : conns) request_close(c, gen, FrameKind::kRevoked);
  return 0;
}

int attach_local_door(uint64_t id, int pin_fd, dev_t dev, ino_t ino) {
  UniqueFd pin(pin_fd);
  Process& p = proc_state();
  Door* d;
  {
    std::lock_guard g(p.mu);
    d = find_local(id);
  }
  if (d == nullptr) {
    errno = EINVAL;  // only the door's server can attach it here (DEVIATIONS.md)
    return -1;
  }
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock) return -1;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  int n = doors_attach_name(dev, ino, a.sun_path + 1, sizeof(a.sun_path) - 1);
  DOORS_ASSERT(n > 0, "attach name fits sun_path");
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&a), len) != 0) {
    if (errno == EADDRINUSE) errno = EBUSY;  // fattach(3C): something is already attached
    return -1;
  }
  if (::listen(sock.get(), SOMAXCONN) != 0) return -1;
  {
    std::lock_guard g(p.reserve_mu);
    if (p.reserve_fd < 0) p.reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  Connection* c = add_conn(d, sock.release(), ConnKind::kListener, dev, ino);
  if (c == nullptr) return -1;
  c->pin_fd = pin.release();  // before anyone else can close c: only fdetach or revoke can
  std::lock_guard g(p.mu);
  p.attachments.push_back({dev, ino, c, gen_of(c->state.load())});
  return 0;
}

int detach_local(dev_t dev, ino_t ino) {
  Process& p = proc_state();
  Process::Attachment found{};
  bool have = false;
  {
    std::lock_guard g(p.mu);
    for (auto it = p.attachments.begin(); it != p.attachments.end(); ++it) {
      if (it->dev == dev && it->ino == ino) {
        found = *it;
        p.attachments.erase(it);
        have = true;
        break;
      }
    }
  }
  if (!have) {
    errno = EINVAL;
    return -1;
  }
  request_close(found.listener, found.gen, FrameKind{});
  return 0;
}

}  // namespace doors::detail

using namespace doors::detail;

extern "C" DOORS_EXPORT int door_create(void (*proc)(void*, char*, size_t, door_desc_t*, uint_t),
                                        void* cookie, uint_t attributes) noexcept {
  if ((attributes & ~DOOR_CREATE_MASK) != 0 ||
      ((attributes & DOOR_UNREF) && (attributes & DOOR_UNREF_MULTI))) {
    errno = EINVAL;
    return -1;
  }
  Process& p = proc_state();
  bool is_private = (attributes & DOOR_PRIVATE) != 0;
  if (!is_private && ensure_shared_pool() != 0) return -1;
  raise_descriptor_limit();

  Door* d = new (std::nothrow) Door;
  if (d == nullptr) {
    errno = ENOMEM;
    return -1;
  }
  d->proc = proc;
  d->cookie = cookie;
  d->attributes = attributes;
  d->unref_kind = attributes & (DOOR_UNREF | DOOR_UNREF_MULTI);
  d->desc_max.store((attributes & DOOR_REFUSE_DESC) ? 0 : INT_MAX);
  if (is_private) {
    d->private_pool.epfd = ::epoll_create1(EPOLL_CLOEXEC);
    d->private_pool.private_door = d;
    if (d->private_pool.epfd < 0) {
      ErrnoGuard keep;
      delete d;
      return -1;
    }
    d->pool = &d->private_pool;
  } else {
    d->pool = &p.shared;
  }
  // The id is random and reserved system-wide by binding the door's anchor name.
  d->anchor_fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (d->anchor_fd < 0) {
    ErrnoGuard keep;
    close_quietly(d->private_pool.epfd);
    delete d;
    return -1;
  }
  do {
    d->id = random_id();
  } while (bind_door_name(d->anchor_fd, d->id, nullptr) != 0 && errno == EADDRINUSE);

  {
    std::lock_guard g(p.mu);
    p.doors.emplace(d->id, d);
  }
  int fd = make_primary(d);
  if (fd >= 0 && d->unref_kind != 0) {
    d->unref_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->unref_fd < 0 || add_conn(d, d->unref_fd, ConnKind::kUnref) == nullptr) {
      ErrnoGuard keep;
      close_quietly(fd);  // the primary's hang-up frees the door
      return -1;
    }
  }
  if (fd < 0) {
    ErrnoGuard keep;
    {
      std::lock_guard g(p.mu);
      p.doors.erase(d->id);
    }
    close_quietly(d->anchor_fd);
    close_quietly(d->private_pool.epfd);
    delete d;
    return -1;
  }

  // door_server_create(3C): the creation function runs for the first shared-pool door, and for
  // every private door, before door_create returns.
  bool first_shared = false;
  if (!is_private) {
    std::lock_guard g(p.mu);
    first_shared = !p.shared_started;
    p.shared_started = true;
  }
  if (first_shared) {
    creation_function()(nullptr);
  } else if (is_private) {
    door_info_t info;
    fill_door_info(info_of(d), &info, true);
    creation_function()(&info);
  }
  return fd;
}

// Whether [data, data + size) lies inside the block doors_reply_buffer handed out for c.
bool in_reply_block(const Connection* c, const char* data, size_t size) {
  const char* b = c->reply_block;
  return b != nullptr && data >= b && size <= c->reply_block_size &&
         static_cast<size_t>(data - b) <= c->reply_block_size - size;
}

// A block of size bytes in c's result arena, replacing the one the client read last (it has
// sent another request, so it is done with it). A new arena's reader descriptor waits in
// c->pending_reader_fd for the reply that first refers to it.
char* allocate_results(Connection* c, size_t size, uint64_t* offset) {
  if (c->result_outstanding) {
    c->results.release(c->result_offset);
    c->result_outstanding = false;
    c->reply_block = nullptr;
  }
  int reader_fd;
  char* dst = c->results.allocate(size, offset, &reader_fd);
  if (dst == nullptr) return nullptr;
  if (reader_fd >= 0) {
    close_quietly(c->pending_reader_fd);  // it described the arena just replaced
    c->pending_reader_fd = reader_fd;
  }
  c->result_outstanding = true;
  c->result_offset = *offset;
  return dst;
}

// Not noexcept: when a client abandons a call, the thread serving it is cancelled (door_call(3C)),
// and that cancellation unwinds through door_return, which is at the bottom of every server
// thread's stack.
extern "C" DOORS_EXPORT int door_return(char* data, size_t size, door_desc_t* desc, uint_t ndesc) {
  Worker& w = worker();
  Connection* c = w.current;
  if (c != nullptr && !(c->door->attributes & DOOR_NO_CANCEL) && c->kind == ConnKind::kChannel &&
      stop_watching(c)) {
    // The client abandoned this call and the thread was cancelled: no one to answer.
    w.current = nullptr;
    w.doomed = true;
    invocation_ended(c->door);
    close_conn(c);
    c = nullptr;
  }
  if (c == nullptr && w.unref != nullptr) {
    // The end of an unreferenced notification.
    Connection* u = w.unref;
    w.unref = nullptr;
    rearm(u);
  }
  if (c == nullptr) {
    // No caller to answer (a fresh thread joining the pool, or a call its client abandoned):
    // the results are discarded and the thread waits for the next invocation.
    for (uint_t i = 0; desc != nullptr && i < ndesc; ++i) {
      if ((desc[i].d_attributes & DOOR_DESCRIPTOR) && (desc[i].d_attributes & DOOR_RELEASE)) {
        close_quietly(desc[i].d_data.d_desc.d_descriptor);
      }
    }
    if (w.in_loop) siglongjmp(w.base, 1);
    serve_forever(w);
  }
  if (w.no_results && (size > 0 || ndesc > 0)) {
    errno = E2BIG;  // door_return(3C): the caller asked for no results; it keeps waiting
    return -1;
  }
  if (ndesc > kMaxDescs) {
    errno = E2BIG;
    return -1;
  }
  if ((size > 0 && data == nullptr) || (ndesc > 0 && desc == nullptr)) {
    errno = EFAULT;
    return -1;
  }
  for (uint_t i = 0; i < ndesc; ++i) {
    if (!(desc[i].d_attributes & DOOR_DESCRIPTOR) ||
        ::fcntl(desc[i].d_data.d_desc.d_descriptor, F_GETFD) < 0) {
      errno = EINVAL;
      return -1;
    }
  }

  Outgoing out;
  out.frame.magic = kFrameMagic;
  out.frame.kind = FrameKind::kReply;
  out.frame.data_size = size;
  out.frame.desc_num = ndesc;
  out.inline_data = data;
  unsigned nfds = 0;
  int reader_fd = -1;
  if (size > 0 && in_reply_block(c, data, size)) {
    // Built in place by the procedure (doors_reply_buffer): nothing to copy.
    out.frame.flags |= kDataInArena;
    out.frame.arena_offset = c->result_offset + static_cast<uint64_t>(data - c->reply_block);
  } else if (size > kInlineDataMax || (w.via_shuttle && size > kShuttleDataMax)) {
    // Results too large for a shuttle go through the arena too, so that the worker can stay
    // parked (only a new arena's descriptor needs the socket).
    uint64_t offset;
    char* dst = allocate_results(c, size, &offset);
    if (dst == nullptr) {
      errno = E2BIG;  // the results do not fit in memory
      return -1;
    }
    memcpy(dst, data, size);
    c->reply_block = nullptr;
    out.frame.flags |= kDataInArena;
    out.frame.arena_offset = offset;
  }
  if ((out.frame.flags & kDataInArena) && c->pending_reader_fd >= 0) {
    reader_fd = c->pending_reader_fd;  // closed once sent
    c->pending_reader_fd = -1;
    out.frame.flags |= kNewArena;
    w.out_fds[nfds++] = reader_fd;
  }
  for (uint_t i = 0; i < ndesc; ++i) {
    int fd = desc[i].d_data.d_desc.d_descriptor;
    w.out_fds[nfds++] = fd;
    describe_sent(fd, &w.out_meta[i]);
  }
  out.meta = w.out_meta;
  out.fds = w.out_fds;
  out.nfds = nfds;
  // A client that has gone away loses nothing it still waits for.
  After next = send_answer(c, w, out);
  close_quietly(reader_fd);
  for (uint_t i = 0; i < ndesc; ++i) {
    if (desc[i].d_attributes & DOOR_RELEASE) close_quietly(desc[i].d_data.d_desc.d_descriptor);
  }
  w.current = nullptr;
  invocation_ended(c->door);
  after_call(c, w, next);
  siglongjmp(w.base, 1);
}

extern "C" DOORS_EXPORT void* doors_reply_buffer(size_t size) noexcept {
  Worker* w = worker_or_null();
  Connection* c = w != nullptr ? w->current : nullptr;
  if (c == nullptr || w->no_results) {
    errno = EINVAL;  // no caller waiting for results from this thread
    return nullptr;
  }
  uint64_t offset;
  char* block = allocate_results(c, size == 0 ? 1 : size, &offset);
  if (block == nullptr) {
    errno = E2BIG;
    return nullptr;
  }
  c->reply_block = block;
  c->reply_block_size = size;
  return block;
}

extern "C" DOORS_EXPORT door_server_func_t* door_server_create(door_server_func_t* fn) noexcept {
  door_server_func_t* old = proc_state().create_fn.exchange(fn);
  return old ? old : &default_server_create;
}

extern "C" DOORS_EXPORT int doors_new_reference(int fd) noexcept {
  NoCancel no_cancel;  // see sys.h
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  std::lock_guard g(proc_state().mu);
  // Only its server makes references; others pass theirs.
  Door* d = own_live_door(fd, id);
  return d != nullptr ? make_primary(d) : -1;
}

extern "C" DOORS_EXPORT int doors_set_tag(int fd, uint64_t tag) noexcept {
  NoCancel no_cancel;  // see sys.h
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  std::lock_guard g(proc_state().mu);
  Door* d = own_live_door(fd, id);
  if (d == nullptr) return -1;
  d->tag.store(tag);
  return 0;
}

extern "C" DOORS_EXPORT int door_bind(int fd) noexcept {
  NoCancel no_cancel;  // see sys.h
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  Process& p = proc_state();
  std::lock_guard g(p.mu);
  Door* d = find_local(id);
  if (d == nullptr || !(d->attributes & DOOR_PRIVATE)) {
    errno = EINVAL;  // door_bind(3C): not a private door of this process
    return -1;
  }
  worker().bound = d;  // takes effect at this thread's next door_return
  return 0;
}

extern "C" DOORS_EXPORT int door_unbind(void) noexcept {
  Worker* w = worker_or_null();
  if (w == nullptr || w->bound == nullptr) {
    errno = EBADF;
    return -1;
  }
  w->bound = nullptr;
  return 0;
}

namespace doors::detail {

bool bound_door_info(WireInfo* out) {
  Worker* w = worker_or_null();
  if (w == nullptr || w->bound == nullptr) return false;
  std::lock_guard g(proc_state().mu);
  *out = info_of(w->bound);
  return true;
}

bool current_caller(SenderCreds* out) {
  Worker* w = worker_or_null();
  if (w == nullptr || w->current == nullptr) return false;
  *out = w->creds;
  return true;
}

int set_local_param(uint64_t id, int param, size_t value) {
  Process& p = proc_state();
  std::lock_guard g(p.mu);
  Door* d = find_local(id);
  if (d == nullptr) {
    errno = EPERM;  // door_setparam(3C): only the door's server may change it
    return -1;
  }
  if (d->revoked.load()) {
    errno = EBADF;
    return -1;
  }
  switch (param) {
    case DOOR_PARAM_DATA_MAX:
      if (value < d->data_min.load()) break;
      d->data_max.store(value);
      return 0;
    case DOOR_PARAM_DATA_MIN:
      if (value > d->data_max.load()) break;
      d->data_min.store(value);
      return 0;
    case DOOR_PARAM_DESC_MAX:
      if (value > static_cast<size_t>(INT_MAX)) {
        errno = ERANGE;
        return -1;
      }
      if ((d->attributes & DOOR_REFUSE_DESC) && value != 0) {
        errno = ENOTSUP;
        return -1;
      }
      d->desc_max.store(value);
      return 0;
    default:
      break;
  }
  errno = EINVAL;
  return -1;
}

}  // namespace doors::detail
