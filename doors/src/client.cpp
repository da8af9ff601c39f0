// The client side: door_call, door_info, door_revoke, door_getparam/door_setparam, and the
// per-thread call channels under them.
//
// Every thread that calls a door gets its own channel to it (a SOCK_SEQPACKET pair whose server
// end it hands to the door over the door descriptor with kAttach), so concurrent callers never
// share a socket and replies need no routing. Door descriptors themselves carry only kAttach and
// kInfoRequest, which is why processes may share them (fork, descriptor passing) safely.
//
// Each channel also has a shuttle page (shuttle.h): while a server thread is parked on it, a
// call without descriptors travels through the page and two futexes instead of the socket.
#include "client.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "arena.h"
#include "server.h"
#include "shuttle.h"
#include "sys.h"

namespace doors::detail {
namespace {

// ---------------------------------------------------------------------------------------------
// What this process has learnt of remote doors, for door_info after a door went away and for
// the attributes of passed descriptors.

struct KnownDoor {
  WireInfo info{};
  bool revoked = false;
};

struct InfoCache {
  std::mutex mu;
  std::unordered_map<uint64_t, KnownDoor> doors;
};

InfoCache& info_cache() {
  static InfoCache* c = new InfoCache;  // never destroyed: used until the last thread ends
  return *c;
}

void mark_revoked(uint64_t id) {
  InfoCache& c = info_cache();
  std::lock_guard lk(c.mu);
  KnownDoor& k = c.doors[id];
  k.info.id = id;
  k.revoked = true;
}

bool known_door(uint64_t id, KnownDoor* out) {
  InfoCache& c = info_cache();
  std::lock_guard lk(c.mu);
  auto it = c.doors.find(id);
  if (it == c.doors.end()) return false;
  *out = it->second;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Channels.

// The calling thread's user and group ids. A server sees a shuttle call with the credentials of
// the channel's last socket message, so a channel is replaced when they change (setuid...).
struct Ids {
  uid_t uid[3];
  gid_t gid[3];
  bool operator==(const Ids&) const = default;
};

Ids current_ids() {
  Ids ids;
  ::getresuid(&ids.uid[0], &ids.uid[1], &ids.uid[2]);
  ::getresgid(&ids.gid[0], &ids.gid[1], &ids.gid[2]);
  return ids;
}

struct Channel {
  int fd = -1;
  uint64_t door_id = 0;
  uint64_t generation = 0;
  WriterArena args;               // our argument arena
  ReaderMapping results;          // the server's result arena
  bool args_outstanding = false;  // a block of args the server may still be reading
  uint64_t args_offset = 0;
  char* block = nullptr;  // doors_call_buffer's block (the outstanding one), if any
  size_t block_size = 0;
  UniqueFd pending_reader;         // a new argument arena the server has not been sent yet
  ShuttlePage* shuttle = nullptr;  // null when it could not be made: calls use the socket
  Ids ids{};                       // the thread's ids when the channel was made

  ~Channel() {
    close_quietly(fd);
    unmap_shuttle(shuttle);
  }

  bool in_block(const char* data, size_t size) const {
    return block != nullptr && data >= block && size <= block_size &&
           static_cast<size_t>(data - block) <= block_size - size;
  }

  void release_args() {
    if (args_outstanding) args.release(args_offset);
    args_outstanding = false;
    block = nullptr;
  }

  // A block of size bytes in our argument arena, replacing the last one (the server is done
  // with it: it answered, or it never got it).
  char* allocate_args(size_t size) {
    release_args();
    int reader_fd;
    char* dst = args.allocate(size == 0 ? 1 : size, &args_offset, &reader_fd);
    if (dst == nullptr) return nullptr;
    if (reader_fd >= 0) pending_reader.reset(reader_fd);  // the old one described a dead arena
    args_outstanding = true;
    return dst;
  }
};

// Every channel of the process, so that a fork child can close the ones it inherited.
struct ChannelRegistry {
  std::mutex mu;
  std::unordered_set<Channel*> all;
  std::atomic<uint64_t> generation{0};  // bumped in each fork child
};

ChannelRegistry& registry();

// The client's locks are held across fork(2), so that the child never inherits one locked by a
// thread that does not exist in it.
void before_fork() {
  convert_mutex().lock();
  registry().mu.lock();
  info_cache().mu.lock();
}

void after_fork_parent() {
  info_cache().mu.unlock();
  registry().mu.unlock();
  convert_mutex().unlock();
}

// A child must not read its parent's channels (it would steal the parent's replies): it closes
// them and opens its own on first use.
void after_fork_child() {
  ChannelRegistry& r = registry();
  for (Channel* ch : r.all) {
    close_quietly(ch->fd);
    ch->fd = -1;
    ch->args.reset();
    ch->results.reset();
    ch->args_outstanding = false;
    ch->block = nullptr;
    ch->pending_reader.reset();
    unmap_shuttle(ch->shuttle);  // the parent's: its server thread must never see our writes
    ch->shuttle = nullptr;
  }
  r.all.clear();
  r.generation.fetch_add(1);
  info_cache().mu.unlock();
  r.mu.unlock();
  convert_mutex().unlock();
}

ChannelRegistry& registry() {
  static ChannelRegistry* r = [] {
    auto* created = new ChannelRegistry;
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    return created;
  }();
  return *r;
}

struct ClientThread {
  std::vector<Channel*> channels;
  Received rx;
  alignas(DOORS_DATA_ALIGN) char buf[kMaxFrameBytes];  // inline data lands at buf + 32
  door_desc_t in_place_descs[kMaxDescs];  // DOORS_RESULTS_IN_PLACE: the results' descriptors

  ~ClientThread() {
    for (Channel* ch : channels) forget(ch);
  }

  static void forget(Channel* ch) {
    {
      ChannelRegistry& r = registry();
      std::lock_guard lk(r.mu);
      r.all.erase(ch);
    }
    delete ch;
  }

  // The argument arena of the last dropped channel that had a doors_call_buffer block out:
  // a caller may still be about to send from that block (the call then goes through a new
  // channel and copies it), so its memory stays mapped until another such channel is dropped.
  WriterArena parked;

  void drop(Channel* ch) {
    if (ch->block != nullptr) {
      parked.swap(ch->args);
      ch->block = nullptr;
      ch->args_outstanding = false;
    }
    for (size_t i = 0; i < channels.size(); ++i) {
      if (channels[i] == ch) {
        channels[i] = channels.back();
        channels.pop_back();
        break;
      }
    }
    forget(ch);
  }

  // Closes channels whose server end is gone (the door was closed, revoked or its server died).
  void sweep() {
    std::vector<pollfd> fds(channels.size());
    for (size_t i = 0; i < channels.size(); ++i) fds[i] = {channels[i]->fd, POLLRDHUP, 0};
    if (::poll(fds.data(), fds.size(), 0) <= 0) return;
    for (size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) drop(channels[i]);
    }
  }
};

thread_local std::unique_ptr<ClientThread> t_client;

ClientThread& client_thread() {
  if (!t_client) t_client = std::make_unique<ClientThread>();
  return *t_client;
}

constexpr size_t kSweepThreshold = 16;

// The calling thread's channel to door id, reached through door descriptor fd.
Channel* channel_for(int fd, uint64_t id) {
  ClientThread& t = client_thread();
  uint64_t generation = registry().generation.load();
  for (size_t i = 0; i < t.channels.size();) {
    Channel* ch = t.channels[i];
    if (ch->generation != generation) {  // inherited across fork: already closed
      t.drop(ch);
      continue;
    }
    if (ch->door_id == id) return ch;
    ++i;
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
  UniqueFd ours(sv[0]), theirs(sv[1]);
  int on = 1;
  if (::setsockopt(theirs.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0) return nullptr;
  auto ch = std::make_unique<Channel>();
  // Without a shuttle (out of descriptors or memory) the channel still works, by socket only.
  UniqueFd shuttle_fd(create_shuttle(&ch->shuttle));
  ch->ids = current_ids();
  Outgoing out;
  out.frame.magic = kFrameMagic;
  out.frame.kind = FrameKind::kAttach;
  DescMeta meta[2] = {};
  int pass[2] = {theirs.get(), shuttle_fd.get()};
  out.frame.desc_num = shuttle_fd ? 2 : 1;
  out.meta = meta;
  out.fds = pass;
  out.nfds = out.frame.desc_num;
  if (send_frame(fd, out) != 0) {
    mark_revoked(id);
    errno = EBADF;  // the door's server end is gone: revoked, or its server exited
    return nullptr;
  }
  ch->fd = ours.release();
  ch->door_id = id;
  ch->generation = generation;
  {
    ChannelRegistry& r = registry();
    std::lock_guard lk(r.mu);
    r.all.insert(ch.get());
  }
  if (t.channels.size() >= kSweepThreshold) t.sweep();
  t.channels.push_back(ch.get());
  return ch.release();
}

// Waits for the reply to what was just sent on ch. With wait_mask (the caller's signal mask, the
// calling thread having blocked signals before sending), the wait takes the caller's signals
// atomically: a signal caught at any moment after the request was sent interrupts the call,
// even under SA_RESTART, as door_call(3C) requires. 1 with a frame in t.rx, or -1 with errno:
// ECONNRESET when the request was never read (the channel is dropped), EMFILE, or EINTR.
// For a call posted in the shuttle, `taken` is its page's word: a hang-up before the server took
// the call is ECONNRESET too.
int await_reply(ClientThread& t, Channel* ch, const sigset_t* wait_mask,
                const timespec* deadline = nullptr, const std::atomic<uint32_t>* taken = nullptr) {
  if (wait_mask != nullptr) {
    pollfd p{ch->fd, POLLIN, 0};
    timespec left;
    int n;
    if (deadline == nullptr) {
      n = ::ppoll(&p, 1, nullptr, wait_mask);
    } else {
      timespec now;
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      left.tv_sec = deadline->tv_sec - now.tv_sec;
      left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
      if (left.tv_nsec < 0) {
        left.tv_nsec += 1000000000;
        --left.tv_sec;
      }
      if (left.tv_sec < 0) left = {0, 0};
      n = ::ppoll(&p, 1, &left, wait_mask);
    }
    if (n == 0) {
      // The deadline passed: abandoned as an interrupted call is (see below).
      t.drop(ch);
      errno = ETIMEDOUT;
      return -1;
    }
    if (n < 0) {
      // Interrupted: the call is abandoned (EINTR). Dropping the channel tells the server (it
      // sees the hang-up, and cancels the thread serving it) and keeps a late reply from being
      // read as the answer to a later call.
      t.drop(ch);
      errno = EINTR;
      return -1;
    }
  }
  int r = recv_frame(ch->fd, t.buf, t.rx, /*interruptible=*/false);
  if (r < 0 && errno == ECONNRESET) {
    // A server that refuses a new channel (at a limit, resource_limits.h) answers on it and closes
    // it with our request unread: the kernel reports ECONNRESET once, ahead of that answer.
    if (recv_frame(ch->fd, t.buf, t.rx, /*interruptible=*/false) > 0) return 1;
    errno = ECONNRESET;
  }
  if (r > 0) return 1;
  if (r < 0 && errno == EMFILE) return -1;  // descriptors lost to our limit; stream in step
  bool hung_up = r == 0 || (r < 0 && errno == ECONNRESET);
  bool never_read = taken != nullptr ? hung_up && taken->load(std::memory_order_acquire) == 0
                                     : r < 0 && errno == ECONNRESET;
  if (never_read) {
    // The server end was closed with our request still unread in it: the request never ran.
    t.drop(ch);
    errno = ECONNRESET;
    return -1;
  }
  // The server end closed mid-call (its server died), or a malformed reply: EINTR.
  if (r == 0) mark_revoked(ch->door_id);
  t.drop(ch);
  errno = EINTR;
  return -1;
}

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// Asks the door's server for a figures record (kInfoRequest -> kInfo with a WireInfo, or
// kStatsRequest -> kStats with a WireStats) into the `size` bytes at `out`, whose `id` member (at
// `id_offset`) must name the door asked about. -1 with errno EBADF when the door is revoked or
// its server is gone (and the door is then remembered as revoked).
int remote_query(int fd, uint64_t id, FrameKind request, FrameKind answer, void* out, size_t size,
                 size_t id_offset) {
  // As in door_call, a cached channel may have been closed under us; a second attempt attaches
  // a fresh one through fd, and only if that fails is the door gone.
  for (int attempt = 0; attempt < 2; ++attempt) {
    Channel* ch = channel_for(fd, id);
    if (ch == nullptr) return -1;
    ClientThread& t = client_thread();
    Outgoing req;
    req.frame.magic = kFrameMagic;
    req.frame.kind = request;
    if (send_frame(ch->fd, req) != 0) {
      t.drop(ch);
      continue;
    }
    if (await_reply(t, ch, nullptr) < 0) {
      if (errno == ECONNRESET) continue;
      break;
    }
    const Frame& f = t.rx.frame;
    if (f.kind == FrameKind::kError && f.error == EAGAIN) {
      // The server refused this thread a channel (a limit): the door is fine, the server busy.
      t.rx.close_fds();
      t.drop(ch);
      errno = EAGAIN;
      return -1;
    }
    bool ok = f.kind == answer && f.data_size == size && t.rx.nfds == 0;
    uint64_t about = 0;
    if (ok) {
      memcpy(out, t.rx.inline_data, size);
      memcpy(&about, static_cast<const char*>(out) + id_offset, sizeof(about));
    }
    t.rx.close_fds();
    if (ok && about == id) return 0;
    t.drop(ch);
    if (f.kind != FrameKind::kClosed) break;  // kRevoked, or an answer about another door
  }
  mark_revoked(id);
  errno = EBADF;
  return -1;
}

// door_info figures from the door's server (remembered for when it is gone).
int remote_info(int fd, uint64_t id, WireInfo* out) {
  if (remote_query(fd, id, FrameKind::kInfoRequest, FrameKind::kInfo, out, sizeof(*out),
                   offsetof(WireInfo, id)) != 0) {
    return -1;
  }
  remember_info(*out);
  return 0;
}

size_t roundup(size_t v, size_t to) { return (v + to - 1) / to * to; }

// Places a kReply's results as door_call(3C) specifies: in rbuf when they fit (rbuf and rsize
// unchanged), else in a fresh anonymous mapping the caller munmaps.
int deliver_results(ClientThread& t, Channel* ch, door_arg_t& a, bool no_results) {
  Received& rx = t.rx;
  const Frame& f = rx.frame;
  auto protocol_error = [&] {
    rx.close_fds();
    t.drop(ch);
    errno = EINTR;
    return -1;
  };
  if (f.flags & kNewArena) {
    int arena = rx.fds[0];
    rx.fds[0] = -1;
    if (ch->results.adopt(arena) != 0) return protocol_error();
  }
  const char* src = nullptr;
  if (f.data_size > 0) {
    src =
        (f.flags & kDataInArena) ? ch->results.range(f.arena_offset, f.data_size) : rx.inline_data;
    if (src == nullptr) return protocol_error();
  }
  if (no_results) {
    rx.close_fds();
    return 0;
  }
  size_t size = f.data_size;
  unsigned n = f.desc_num;
  size_t rlen = n > 0 ? roundup(size, sizeof(door_desc_t)) : size;
  size_t total = rlen + n * sizeof(door_desc_t);
  int* fds = rx.passed_fds();
  char* dst = a.rbuf;
  if (total > 0 && (dst == nullptr || total > a.rsize)) {
    size_t len = roundup(total, static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
    void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      rx.close_fds();
      errno = EOVERFLOW;  // door_call(3C): the results could not be mapped
      return -1;
    }
    dst = static_cast<char*>(m);
    a.rbuf = dst;
    a.rsize = len;
  }
  if (size > 0) memcpy(dst, src, size);
  for (unsigned i = 0; i < n; ++i) {
    ::fcntl(fds[i], F_SETFD, 0);  // the caller's own descriptors now, inherited like any other
    door_desc_t d;
    describe_received(fds[i], rx.meta[i], &d);
    memcpy(dst + rlen + i * sizeof(door_desc_t), &d, sizeof(d));
  }
  rx.nfds = 0;
  a.data_ptr = dst;
  a.data_size = size;
  a.desc_ptr = n > 0 ? reinterpret_cast<door_desc_t*>(dst + rlen) : nullptr;
  a.desc_num = n;
  return 0;
}

// Leaves a kReply's results where they arrived (DOORS_RESULTS_IN_PLACE).
int deliver_in_place(ClientThread& t, Channel* ch, door_arg_t& a) {
  Received& rx = t.rx;
  const Frame& f = rx.frame;
  if (f.flags & kNewArena) {
    int arena = rx.fds[0];
    rx.fds[0] = -1;
    if (ch->results.adopt(arena) != 0) {
      rx.close_fds();
      t.drop(ch);
      errno = EINTR;
      return -1;
    }
  }
  const char* src = nullptr;
  if (f.data_size > 0) {
    src =
        (f.flags & kDataInArena) ? ch->results.range(f.arena_offset, f.data_size) : rx.inline_data;
    if (src == nullptr) {
      rx.close_fds();
      t.drop(ch);
      errno = EINTR;
      return -1;
    }
  }
  int* fds = rx.passed_fds();
  for (unsigned i = 0; i < f.desc_num; ++i) {
    ::fcntl(fds[i], F_SETFD, 0);  // the caller's own descriptors now
    describe_received(fds[i], rx.meta[i], &t.in_place_descs[i]);
  }
  rx.nfds = 0;
  a.data_ptr = const_cast<char*>(src);
  a.data_size = f.data_size;
  a.desc_ptr = f.desc_num > 0 ? t.in_place_descs : nullptr;
  a.desc_num = f.desc_num;
  return 0;
}

// errno values a server may report for a call; anything else from a peer becomes EINTR.
int call_errno(int e) {
  switch (e) {
    case EINTR:
    case ENOBUFS:
    case ENOTSUP:
    case ENFILE:
    case EBADF:
    case E2BIG:
    case EMFILE:
    case EINVAL:
    case EAGAIN:
    case ENOMEM:
      return e;
    default:
      return EINTR;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Internal interface (client.h).

int resolve_door(int fd, uint64_t* id) {
  if (peer_door_id(fd, id)) return 0;
  if (errno == ENOTSOCK) {
    if (convert_attached(fd) == 0 && peer_door_id(fd, id)) return 0;
    if (errno == EAGAIN) return -1;  // a door whose server is at a limit: not "not a door"
  }
  errno = EBADF;
  return -1;
}

void remember_info(const WireInfo& info) {
  InfoCache& c = info_cache();
  std::lock_guard lk(c.mu);
  KnownDoor& k = c.doors[info.id];
  k.info = info;
}

void describe_received(int fd, const DescMeta& meta, door_desc_t* out) {
  memset(out, 0, sizeof(*out));
  out->d_attributes = DOOR_DESCRIPTOR;
  out->d_data.d_desc.d_descriptor = fd;
  uint64_t id;
  if (!peer_door_id(fd, &id)) return;
  out->d_data.d_desc.d_id = id;
  WireInfo local;
  if (local_door_info(id, &local)) {
    out->d_attributes |= local.attributes | DOOR_LOCAL;
  } else {
    out->d_attributes |= meta.attributes & (DOOR_CREATE_MASK | DOOR_REVOKED);
  }
}

void describe_sent(int fd, DescMeta* out) {
  *out = {};
  uint64_t id;
  if (!peer_door_id(fd, &id)) return;
  out->id = id;
  WireInfo local;
  KnownDoor known;
  if (local_door_info(id, &local)) {
    out->attributes = local.attributes;
  } else if (known_door(id, &known)) {
    out->attributes = known.info.attributes;
  }
}

void fill_door_info(const WireInfo& w, door_info_t* out, bool local) {
  memset(out, 0, sizeof(*out));
  out->di_target = static_cast<pid_t>(w.target);
  out->di_proc = w.proc;
  out->di_data = w.data;
  out->di_attributes = w.attributes | (local ? DOOR_LOCAL : 0);
  out->di_uniquifier = w.id;
}

}  // namespace doors::detail

using namespace doors::detail;

namespace doors::detail {
namespace {

// Blocks the caller's asynchronous signals from just before a request is sent until its reply
// has arrived, so that none can slip in between and be missed by the wait (see await_reply).
class SignalsHeld {
 public:
  SignalsHeld() { pthread_sigmask(SIG_BLOCK, &held(), &caller_); }
  ~SignalsHeld() { release(); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;
  const sigset_t* caller_mask() const { return &caller_; }

  // Every signal but the synchronous ones (faults must still reach their handlers).
  static const sigset_t& held() {
    static const sigset_t set = [] {
      sigset_t s;
      sigfillset(&s);
      for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS})
        sigdelset(&s, sig);
      return s;
    }();
    return set;
  }
  void release() {
    if (held_) pthread_sigmask(SIG_SETMASK, &caller_, nullptr);
    held_ = false;
  }

 private:
  sigset_t caller_;
  bool held_ = true;
};

constexpr int kRetry = 1;  // the channel was closed under us before the call ran: try another

struct CallSpec {
  bool no_results = false;
  bool in_place = false;
  const timespec* deadline = nullptr;  // CLOCK_MONOTONIC
};

// How long a caller waits on its shuttle's futex before it waits on the socket instead. While it
// waits on the futex its signals stay blocked (they are caught once it waits on the socket, with
// the caller's mask, and the call then ends with EINTR as door_call(3C) requires) and a server
// that died goes unnoticed, so this bounds how late either is seen; a call that takes this long
// is not one a futex hand-off speeds up. It is longer than a scheduler tick (at most 10 ms): a
// timer due before the CPU's next tick makes the kernel reprogram the CPU's timer at every wait,
// which on a virtual machine exits to the hypervisor (measured: two callers sharing one CPU made
// 200k calls/s with a 1 ms bound, 300k with 5 ms or none).
constexpr long kShuttleWaitNs = 20'000'000;

// Moves the calling thread to `cpu` (the server's suggestion, ShuttlePage::suggested_cpu) the way
// the scheduler's balancer would: confined there for an instant, then given its own affinity
// back, which leaves it running there. Only a CPU it may run on anyway.
void move_to(int32_t cpu) {
  cpu_set_t mine;
  if (cpu < 0 || cpu >= CPU_SETSIZE || ::sched_getaffinity(0, sizeof(mine), &mine) != 0 ||
      !CPU_ISSET(cpu, &mine) || CPU_COUNT(&mine) < 2 || ::sched_getcpu() == cpu) {
    return;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (::sched_setaffinity(0, sizeof(one), &one) == 0) ::sched_setaffinity(0, sizeof(mine), &mine);
}

// Copies the reply in ch's shuttle into t.rx, as recv_frame would have received it. The page is
// the server's to write too: it is read once, and checked.
int read_shuttle_reply(ClientThread& t, Channel* ch) {
  ShuttlePage* page = ch->shuttle;
  Received& rx = t.rx;
  memcpy(&rx.frame, &page->frame, sizeof(Frame));
  const Frame& f = rx.frame;
  bool inline_data = !(f.flags & kDataInArena);
  if (!valid_shuttle_reply(f)) {
    t.drop(ch);
    errno = EINTR;  // as for a malformed reply on the socket
    return -1;
  }
  if (inline_data && f.data_size > 0) memcpy(t.buf + sizeof(Frame), page->data, f.data_size);
  rx.inline_data = t.buf + sizeof(Frame);
  rx.nfds = 0;
  rx.creds = {};
  int32_t suggested = __atomic_load_n(&page->suggested_cpu, __ATOMIC_RELAXED);
  if (suggested != -1) {
    __atomic_store_n(&page->suggested_cpu, -1, __ATOMIC_RELAXED);
    move_to(suggested);
  }
  return 1;
}

// Waits for the reply to a call posted in ch's shuttle: on its futex first, then (after
// kShuttleWaitNs, or at once for a deadline closer than that) on the socket as await_reply does.
// 1 with the reply in t.rx, or -1 with errno as await_reply.
int await_shuttle_reply(ClientThread& t, Channel* ch, const sigset_t* wait_mask,
                        const timespec* deadline) {
  std::atomic<uint32_t>& st = ch->shuttle->state;
  timespec wait{0, kShuttleWaitNs};
  if (deadline != nullptr) {
    timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long long left =
        (deadline->tv_sec - now.tv_sec) * 1000000000LL + deadline->tv_nsec - now.tv_nsec;
    if (left < kShuttleWaitNs) wait.tv_nsec = left > 0 ? static_cast<long>(left) : 0;
  }
  // A wake-up that finds no reply (a server rewriting the word) counts against the wait too.
  for (int wakes = 0; st.load(std::memory_order_acquire) == kShuttleCall && wakes < 8; ++wakes) {
    if (futex_wait(&st, kShuttleCall, &wait) != 0 && errno == ETIMEDOUT) break;
  }
  uint32_t s = kShuttleCall;
  if (st.compare_exchange_strong(s, kShuttleCallSlow, std::memory_order_acq_rel)) {
    // Still no reply: the server will say on the socket when it is in the page.
    if (await_reply(t, ch, wait_mask, deadline, &ch->shuttle->taken) < 0) return -1;
    if (t.rx.frame.kind != FrameKind::kShuttleWake) return 1;  // it answered on the socket
    s = st.load(std::memory_order_acquire);
  }
  switch (s) {
    case kShuttleReply:
    case kShuttleReplyLeft:
      return read_shuttle_reply(t, ch);
    case kShuttleSocketReply:
      return await_reply(t, ch, nullptr);  // already in the socket
    default:
      t.drop(ch);
      errno = EINTR;  // a state no server would have left: treated as a malformed reply
      return -1;
  }
}

// Posts a call in ch's shuttle when a server thread is parked there. False when none is (the
// call then goes through the socket).
bool post_shuttle_call(Channel* ch, const Frame& frame, const void* data) {
  ShuttlePage* page = ch->shuttle;
  uint32_t s = page->state.load(std::memory_order_acquire);
  if (s != kShuttleParked && s != kShuttleReply) return false;
  memcpy(&page->frame, &frame, sizeof(Frame));
  if (!(frame.flags & kDataInArena) && frame.data_size > 0) {
    memcpy(page->data, data, frame.data_size);
  }
  __atomic_store_n(&page->caller_cpu, ::sched_getcpu(), __ATOMIC_RELAXED);
  page->taken.store(0, std::memory_order_relaxed);
  if (!page->state.compare_exchange_strong(s, kShuttleCall, std::memory_order_acq_rel)) {
    return false;  // the server thread left meanwhile
  }
  futex_wake(&page->state);
  return true;
}

// One attempt at a call over the thread's channel to door id. Returns 0, -1 with errno, or
// kRetry when the channel turned out to be closed before the server saw the call.
int call_once(int fd, uint64_t id, door_arg_t& a, const CallSpec& spec) {
  bool no_results = spec.no_results;
  Channel* ch = channel_for(fd, id);
  if (ch == nullptr) return -1;
  ClientThread& t = client_thread();
  bool shuttle = ch->shuttle != nullptr && a.desc_num == 0;
  if (shuttle && !(ch->ids == current_ids())) {
    // New credentials: a new channel, whose first call carries them through the socket.
    t.drop(ch);
    ch = channel_for(fd, id);
    if (ch == nullptr) return -1;
    shuttle = false;
  }

  Outgoing out;
  out.frame.magic = kFrameMagic;
  out.frame.kind = FrameKind::kCall;
  out.frame.data_size = a.data_size;
  out.frame.desc_num = a.desc_num;
  out.frame.flags = no_results ? kNoResults : 0;
  int fds[kMaxDescs + 1];
  DescMeta meta[kMaxDescs];
  unsigned nfds = 0;
  if (a.data_size > 0 && ch->in_block(a.data_ptr, a.data_size)) {
    // Built in place by the caller (doors_call_buffer): nothing to copy.
    out.frame.flags |= kDataInArena;
    out.frame.arena_offset = ch->args_offset + static_cast<uint64_t>(a.data_ptr - ch->block);
  } else if (a.data_size > kInlineDataMax || (shuttle && a.data_size > kShuttleDataMax)) {
    char* dst = ch->allocate_args(a.data_size);
    if (dst == nullptr) {
      errno = E2BIG;  // door_call(3C): arguments too large to be passed
      return -1;
    }
    memcpy(dst, a.data_ptr, a.data_size);
    out.frame.flags |= kDataInArena;
    out.frame.arena_offset = ch->args_offset;
  } else {
    out.inline_data = a.data_ptr;
  }
  bool uses_arena = (out.frame.flags & kDataInArena) != 0;
  if (uses_arena && ch->pending_reader) {
    out.frame.flags |= kNewArena;
    fds[nfds++] = ch->pending_reader.get();
  }
  for (uint_t i = 0; i < a.desc_num; ++i) {
    int d = a.desc_ptr[i].d_data.d_desc.d_descriptor;
    fds[nfds++] = d;
    describe_sent(d, &meta[i]);
  }
  out.meta = meta;
  out.fds = fds;
  out.nfds = nfds;
  SignalsHeld held;
  if (shuttle && !(out.frame.flags & kNewArena) &&
      post_shuttle_call(ch, out.frame, out.inline_data)) {
    if (await_shuttle_reply(t, ch, held.caller_mask(), spec.deadline) < 0) {
      return errno == ECONNRESET ? kRetry : -1;
    }
  } else {
    if (send_frame(ch->fd, out) != 0) {
      int e = errno;
      // A server that refused this new channel (at a limit) has already answered why and closed
      // it; with the peer gone, this receive cannot block.
      bool refused = (e == EPIPE || e == ECONNRESET) &&
                     recv_frame(ch->fd, t.buf, t.rx, /*interruptible=*/false) > 0 &&
                     t.rx.frame.kind == FrameKind::kError && t.rx.frame.error == EAGAIN;
      if (refused) t.rx.close_fds();
      t.drop(ch);  // the server never saw this call; a new arena it never got must not be reused
      if (refused) {
        errno = EAGAIN;
        return -1;
      }
      if (e == EPIPE || e == ECONNRESET || e == ENOTCONN) return kRetry;
      errno = e == EBADF ? EINVAL : e;  // EBADF: a descriptor in desc_ptr is not open
      return -1;
    }
    if (out.frame.flags & kNewArena) ch->pending_reader.reset();
    for (uint_t i = 0; i < a.desc_num; ++i) {
      if (a.desc_ptr[i].d_attributes & DOOR_RELEASE) {
        close_quietly(a.desc_ptr[i].d_data.d_desc.d_descriptor);
      }
    }
    if (await_reply(t, ch, held.caller_mask(), spec.deadline) < 0) {
      return errno == ECONNRESET ? kRetry : -1;
    }
  }
  held.release();
  // The server is done with the arguments once it has answered.
  if (uses_arena) ch->release_args();
  const Frame& f = t.rx.frame;
  switch (f.kind) {
    case FrameKind::kReply:
      if (spec.in_place && !no_results) return deliver_in_place(t, ch, a);
      return deliver_results(t, ch, a, no_results);
    case FrameKind::kError:
      t.rx.close_fds();
      // EAGAIN comes only from a server refusing the channel (a limit), which it then closed.
      if (f.error == EAGAIN) t.drop(ch);
      errno = call_errno(f.error);
      return -1;
    case FrameKind::kRevoked:
      t.rx.close_fds();
      t.drop(ch);
      mark_revoked(id);
      errno = EBADF;
      return -1;
    case FrameKind::kClosed:
      t.rx.close_fds();
      t.drop(ch);
      return kRetry;
    default:
      t.rx.close_fds();
      t.drop(ch);
      errno = EINTR;
      return -1;
  }
}

}  // namespace
}  // namespace doors::detail

namespace doors::detail {
namespace {

int call_door(int fd, door_arg_t* params, const doors_call_options_t* opts) {
  door_arg_t none{};
  CallSpec spec;
  spec.no_results = params == nullptr;
  door_arg_t& a = spec.no_results ? none : *params;
  timespec deadline;
  if (opts != nullptr && opts->timeout_ns > 0) {
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    long long ns = deadline.tv_nsec + opts->timeout_ns % 1000000000;
    deadline.tv_sec += static_cast<time_t>(opts->timeout_ns / 1000000000 + ns / 1000000000);
    deadline.tv_nsec = ns % 1000000000;
    spec.deadline = &deadline;
  }
  spec.in_place = opts != nullptr && (opts->flags & DOORS_RESULTS_IN_PLACE);
  if ((a.data_size > 0 && a.data_ptr == nullptr) || (a.desc_num > 0 && a.desc_ptr == nullptr)) {
    errno = EFAULT;
    return -1;
  }
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  if (a.desc_num > kMaxDescs) {
    errno = E2BIG;  // see DEVIATIONS.md: SCM_RIGHTS limits a call to 252 descriptors
    return -1;
  }
  for (uint_t i = 0; i < a.desc_num; ++i) {
    // door_call(3C) EINVAL: a descriptor entry that is not DOOR_DESCRIPTOR, or not open. Checked
    // before anything here opens a descriptor that could take a closed one's number.
    if (!(a.desc_ptr[i].d_attributes & DOOR_DESCRIPTOR) ||
        ::fcntl(a.desc_ptr[i].d_data.d_desc.d_descriptor, F_GETFD) < 0) {
      errno = EINVAL;
      return -1;
    }
  }
  // A cached channel may have been closed since its last use (the descriptor it was attached
  // through was closed); the second attempt attaches a fresh one through fd itself, and only
  // if that fails is the door gone.
  int rc = call_once(fd, id, a, spec);
  if (rc == kRetry) rc = call_once(fd, id, a, spec);
  if (rc == kRetry) {
    mark_revoked(id);
    errno = EBADF;
    return -1;
  }
  return rc;
}

}  // namespace
}  // namespace doors::detail

extern "C" DOORS_EXPORT int door_call(int fd, door_arg_t* params) noexcept {
  NoCancel no_cancel;  // see sys.h
  return call_door(fd, params, nullptr);
}

extern "C" DOORS_EXPORT int doors_call(int fd, door_arg_t* params,
                                       const doors_call_options_t* opts) noexcept {
  NoCancel no_cancel;  // see sys.h
  return call_door(fd, params, opts);
}

extern "C" DOORS_EXPORT void* doors_call_buffer(int fd, size_t size) noexcept {
  NoCancel no_cancel;  // see sys.h
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return nullptr;
  Channel* ch = channel_for(fd, id);
  if (ch == nullptr) return nullptr;
  char* block = ch->allocate_args(size);
  if (block == nullptr) {
    errno = E2BIG;
    return nullptr;
  }
  ch->block = block;
  ch->block_size = size;
  return block;
}

extern "C" DOORS_EXPORT int doors_release_channels(void) noexcept {
  if (!t_client) return 0;  // this thread never called a door
  ClientThread& t = *t_client;
  int released = static_cast<int>(t.channels.size());
  while (!t.channels.empty()) t.drop(t.channels.back());
  t.parked.reset();
  return released;
}

extern "C" DOORS_EXPORT int door_info(int fd, struct door_info* info) noexcept {
  NoCancel no_cancel;  // see sys.h
  if (info == nullptr) {
    errno = EFAULT;
    return -1;
  }
  WireInfo w;
  if (fd == DOOR_QUERY) {
    if (!bound_door_info(&w)) {
      errno = EBADF;
      return -1;
    }
    fill_door_info(w, info, true);
    return 0;
  }
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  if (local_door_info(id, &w)) {
    fill_door_info(w, info, true);
    return 0;
  }
  if (remote_info(fd, id, &w) == 0) {
    fill_door_info(w, info, false);
    return 0;
  }
  // Revoked, or its server is gone: report what is known, as Solaris does.
  KnownDoor k;
  if (!known_door(id, &k)) k.info.id = id;
  k.info.id = id;
  k.info.attributes |= DOOR_REVOKED;
  if (!pid_alive(static_cast<pid_t>(k.info.target))) k.info.target = -1;
  fill_door_info(k.info, info, /*local=*/k.info.target == ::getpid());
  return 0;
}

extern "C" DOORS_EXPORT int doors_server_stats(int fd, doors_server_stats_t* out) noexcept {
  NoCancel no_cancel;  // see sys.h
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  if (out == nullptr) {
    errno = EFAULT;
    return -1;
  }
  WireStats w;
  if (!local_server_stats(id, &w)) {
    if (remote_query(fd, id, FrameKind::kStatsRequest, FrameKind::kStats, &w, sizeof(w),
                     offsetof(WireStats, id)) != 0) {
      return -1;
    }
  }
  memset(out, 0, sizeof(*out));
  out->dss_pid = static_cast<pid_t>(w.pid);
  out->dss_threads = w.threads;
  out->dss_idle_threads = w.idle_threads;
  out->dss_doors = w.doors;
  out->dss_attachments = w.attachments;
  out->dss_connections = w.connections;
  out->dss_shm_bytes = w.shm_bytes;
  out->dss_calls = w.calls;
  out->dss_tag = w.tag;
  out->dss_parked_threads = w.parked_threads;
  out->dss_shuttle_calls = w.shuttle_calls;
  out->dss_refusals = w.refusals;
  out->dss_pool_full = w.pool_full;
  return 0;
}

extern "C" DOORS_EXPORT int door_revoke(int fd) noexcept {
  NoCancel no_cancel;  // see sys.h
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  if (revoke_local(id) != 0) return -1;  // EPERM: door_revoke(3C) is for the door's server
  close_quietly(fd);
  return 0;
}

extern "C" DOORS_EXPORT int door_getparam(int fd, int param, size_t* out) noexcept {
  NoCancel no_cancel;  // see sys.h
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  if (out == nullptr) {
    errno = EFAULT;
    return -1;
  }
  WireInfo w;
  if (!local_door_info(id, &w) && remote_info(fd, id, &w) != 0) return -1;
  switch (param) {
    case DOOR_PARAM_DATA_MAX:
      *out = w.data_max;
      return 0;
    case DOOR_PARAM_DATA_MIN:
      *out = w.data_min;
      return 0;
    case DOOR_PARAM_DESC_MAX:
      *out = w.desc_max;
      return 0;
    default:
      errno = EINVAL;
      return -1;
  }
}

extern "C" DOORS_EXPORT int door_setparam(int fd, int param, size_t value) noexcept {
  NoCancel no_cancel;  // see sys.h
  uint64_t id;
  if (resolve_door(fd, &id) != 0) return -1;
  if (set_local_param(id, param, value) == 0) return 0;
  if (errno != EPERM) return -1;
  // Not served here: a live door of another process (EPERM), or one that is revoked or whose
  // server is gone, ours included (EBADF, which door_setparam(3C) checks first).
  WireInfo w;
  if (remote_info(fd, id, &w) != 0) return -1;
  errno = EPERM;
  return -1;
}
