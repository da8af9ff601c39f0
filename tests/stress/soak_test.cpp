// The soak (label `stress`; `ctest -L stress`): 16 client processes call one server process for
// DOORS_SOAK_SECONDS (the CMake cache variable, 60 by default; the environment variable of that
// name overrides it for a run) with a mix of calls, and the server must come out of it as it went
// in. The test fails when a call fails or a reply is wrong, when the server's VmRSS grows by 5 %
// or more between the end of the warm-up (10 % of the run or 5 s, whichever is larger) and the
// end of the run, when the server has more descriptors once the clients are gone than before
// they came, or when a process crashes or hangs. It prints one report: calls, calls/s, errors and
// latency percentiles per kind of call, and the server's memory, threads and descriptors.
//
// The server process serves two doors: a door_create'd one (raw libdoors: inline, arena-borne and
// mapped results, descriptors both ways, door_info) and the KvStore interface of
// examples/kv_store through the typed runtime, called through its generated client. Each client
// process runs two threads, each with its own mix; a fraction of the calls opens the door afresh
// (open + call + close) so that connections come and go all the time. DOORS_SOAK_MIX (one weight
// per kind, see soak_weights) narrows a run down to some kinds of call.
//
// The clients write their counts and latency histograms into shared memory mapped before the
// fork; the test process makes no door call itself (it forks, measures /proc and reports).
#include <dirent.h>
#include <door.h>
#include <doors/runtime.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "kv_store.door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kClients = 16;
constexpr int kThreadsPerClient = 2;
constexpr int kCallers = kClients * kThreadsPerClient;
constexpr double kMaxRssGrowth = 0.05;
constexpr int kServerThreads = 48;
constexpr std::uintptr_t kCookie = 0x50a4c00c1e;

// ---- What the clients do ------------------------------------------------------------------

enum Kind {
  kNull,        // no arguments, no results
  kInline64,    // 64 B in, its transformed copy back
  kInline4K,    // 4 KiB in, its transformed copy back
  kArena64K1,   // 64 KiB + 1 in (past the inline limit: the arena), a digest back
  kArena1M,     // 1 MiB in, a digest back
  kBigReply,    // a few bytes in, 8 KiB to 1 MiB back: more than the 4 KiB rbuf, so mapped
  kDescriptor,  // a memfd in, a new memfd back (DOOR_RELEASE) holding a digest of the first
  kInfo,        // door_info
  kFreshOpen,   // open(path) + 64 B call + close: a new connection each time
  kTypedPut,    // KvStore.put through the generated client
  kTypedGet,    // KvStore.get of what this thread put last under that key
  kKinds
};
constexpr const char* kKindNames[kKinds] = {"null",       "inline-64", "inline-4K",  "arena-64K+1",
                                            "arena-1M",   "big-reply", "descriptor", "door_info",
                                            "fresh-open", "typed-put", "typed-get"};
// Relative frequencies: cheap calls dominate, as in real use, but every kind runs thousands of
// times in a minute.
constexpr int kWeights[kKinds] = {14, 14, 12, 8, 2, 6, 8, 8, 5, 11, 12};

// Latency histogram: exact below 32 ns, then 32 buckets per power of two (3 % resolution).
constexpr int kSubBuckets = 32;
constexpr int kBuckets = kSubBuckets + 40 * kSubBuckets;  // up to 2^45 ns (~10 hours)

int bucket_of(std::uint64_t ns) {
  if (ns < kSubBuckets) return static_cast<int>(ns);
  int e = std::bit_width(ns) - 1;  // >= 5
  int b = kSubBuckets + (e - 5) * kSubBuckets + static_cast<int>((ns >> (e - 5)) & 31);
  return std::min(b, kBuckets - 1);
}
// The smallest value of bucket b.
std::uint64_t bucket_floor(int b) {
  if (b < kSubBuckets) return static_cast<std::uint64_t>(b);
  int e = (b - kSubBuckets) / kSubBuckets + 5;
  std::uint64_t sub = static_cast<std::uint64_t>((b - kSubBuckets) % kSubBuckets);
  return (kSubBuckets + sub) << (e - 5);
}

// One calling thread's record, in memory shared with the test process.
struct CallerStats {
  std::uint64_t calls[kKinds];
  std::uint64_t errors[kKinds];
  std::uint64_t max_ns[kKinds];
  std::uint32_t histogram[kKinds][kBuckets];
};

struct Shared {
  int weights[kKinds];
  std::atomic<std::uint32_t> stop;
  // The first few errors, described, for the report.
  std::atomic<std::uint32_t> error_notes;
  char notes[8][240];
  CallerStats callers[kCallers];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// ---- The raw door's protocol ---------------------------------------------------------------

enum Op : std::uint32_t { kOpEcho = 1, kOpDigest = 2, kOpSized = 3, kOpDescriptor = 4 };
struct Header {
  std::uint32_t op;
  std::uint32_t size;  // kOpSized: the size of the reply
  std::uint64_t seed;  // differs on every call, so every reply depends on its request
};
constexpr std::size_t kDescriptorBytes = 4096;
struct Digest {
  std::uint64_t size;
  std::uint64_t hash;
};

// What sized replies are cut from, made alike by the server and the clients. A slice of a table
// rather than bytes made per call: a per-thread reply buffer would grow to 1 MiB on each server
// thread that happens to serve a large reply, a slow, legitimate growth of the server's memory
// that the soak would take for a leak.
constexpr std::size_t kMaxSizedReply = std::size_t{1} << 20;
const std::string& reply_table() {
  static const std::string table = pattern(2 * kMaxSizedReply, 0x7ab1e);
  return table;
}
std::size_t slice_offset(std::uint64_t seed, std::size_t size) {
  return static_cast<std::size_t>(seed % (reply_table().size() - size + 1));
}

// The server procedure. No arguments: no results (the null call). Otherwise a Header, then:
// echo: the transformed copy of all the arguments; digest: {size, digest} of all of them;
// sized: `size` bytes of reply_table() from slice_offset(seed, size); descriptor: a new memfd whose
// first 8 bytes are digest(first 4 KiB of the descriptor passed) ^ seed, given away with
// DOOR_RELEASE.
void soak_proc(void*, char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc) {
  if (argp == nullptr || n == 0) {
    for (uint_t i = 0; i < n_desc; ++i) ::close(dp[i].d_data.d_desc.d_descriptor);
    door_return(nullptr, 0, nullptr, 0);
    return;
  }
  Header h{};
  if (n >= sizeof h) std::memcpy(&h, argp, sizeof h);
  if (h.op != kOpDescriptor) {
    for (uint_t i = 0; i < n_desc; ++i) ::close(dp[i].d_data.d_desc.d_descriptor);
  }
  switch (h.op) {
    case kOpEcho: {
      char* out = reply_buffer(n);
      transform_into(out, argp, n);
      door_return(out, n, nullptr, 0);
      break;
    }
    case kOpDigest:
      reply_value(Digest{n, digest(argp, n)});
      break;
    case kOpSized:
      if (h.size <= kMaxSizedReply) {
        // door_return only reads the results.
        char* slice = const_cast<char*>(reply_table().data()) + slice_offset(h.seed, h.size);
        door_return(slice, h.size, nullptr, 0);
      }
      break;
    case kOpDescriptor: {
      if (n_desc != 1 || (dp[0].d_attributes & DOOR_DESCRIPTOR) == 0) break;
      int in = dp[0].d_data.d_desc.d_descriptor;
      char buf[kDescriptorBytes];
      ssize_t got = ::pread(in, buf, sizeof buf, 0);
      ::close(in);
      if (got < 0) break;
      std::uint64_t value = digest(buf, static_cast<std::size_t>(got)) ^ h.seed;
      int out = ::memfd_create("soak-reply", MFD_CLOEXEC);
      if (out < 0) break;
      if (::pwrite(out, &value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) {
        ::close(out);
        break;
      }
      door_desc_t d = descriptor(out, DOOR_RELEASE);
      reply({}, &d, 1);
      break;
    }
    default:
      break;
  }
  // A request this procedure does not understand: one byte, which no client accepts.
  reply("?");
}

// The typed door: KvStore's put and get (the others are not implemented), in memory.
class SoakKv final : public kv::KvStoreDoor::Server {
 public:
  void put(PutContext& ctx) override {
    auto p = ctx.params();
    auto key = p.getKey();
    auto value = p.getValue();
    std::string stored(reinterpret_cast<const char*>(value.begin()), value.size());
    std::lock_guard lock(mu_);
    values_[std::string(key.cStr(), key.size())] = std::move(stored);
  }
  void get(GetContext& ctx) override {
    auto key = ctx.params().getKey();
    std::string value;
    {
      std::lock_guard lock(mu_);
      auto it = values_.find(std::string(key.cStr(), key.size()));
      if (it == values_.end()) throw Error(Code::kNotFound, "no such key");
      value = it->second;
    }
    ctx.results().setValue(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(value.data()), value.size()));
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> values_;
};

struct ServerReady {
  pid_t pid;
  door_info_t info;
};

// ---- A calling thread ----------------------------------------------------------------------

class Caller {
 public:
  Caller(Shared* shared, int index, const std::string& raw_path, int raw_fd,
         const ServerReady& server, kv::KvStoreDoor::Client kv)
      : shared_(shared),
        stats_(&shared->callers[index]),
        index_(index),
        raw_path_(raw_path),
        raw_fd_(raw_fd),
        server_(server),
        kv_(std::move(kv)),
        random_(0x5eed0000 + static_cast<unsigned>(index)),
        pick_(std::begin(shared->weights), std::end(shared->weights)) {}

  void run() {
    big_.resize((std::size_t{1} << 20) + sizeof(Header));
    fill_pattern(big_.data(), big_.size(), random_());
    memfd_.reset(::memfd_create("soak-arg", MFD_CLOEXEC));
    memfd_content_ = pattern(kDescriptorBytes, random_());
    if (!memfd_.valid() || ::pwrite(memfd_.get(), memfd_content_.data(), kDescriptorBytes, 0) !=
                               static_cast<ssize_t>(kDescriptorBytes)) {
      note(kDescriptor, "memfd set-up failed: " + std::string(std::strerror(errno)));
      return;
    }
    while (shared_->stop.load(std::memory_order_relaxed) == 0) {
      auto kind = static_cast<Kind>(pick_(random_));
      auto start = Clock::now();
      std::string error = call(kind);
      auto ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
      stats_->calls[kind]++;
      stats_->histogram[kind][bucket_of(ns)]++;
      stats_->max_ns[kind] = std::max(stats_->max_ns[kind], ns);
      if (!error.empty()) {
        stats_->errors[kind]++;
        note(kind, error);
      }
    }
  }

 private:
  // Makes one call of `kind` and checks the reply: "" when right, what was wrong otherwise.
  std::string call(Kind kind) {
    try {
      switch (kind) {
        case kNull:
          return null_call();
        case kInline64:
          return echo(raw_fd_, 64);
        case kInline4K:
          return echo(raw_fd_, 4096);
        case kArena64K1:
          return digest_call((64 << 10) + 1);
        case kArena1M:
          return digest_call(std::size_t{1} << 20);
        case kBigReply:
          return big_reply();
        case kDescriptor:
          return descriptor_call();
        case kInfo:
          return info();
        case kFreshOpen:
          return fresh_open();
        case kTypedPut:
          return typed_put();
        case kTypedGet:
          return typed_get();
        case kKinds:
          break;
      }
      return "no such kind";
    } catch (const std::exception& e) {
      return std::string("threw: ") + e.what();
    }
  }

  Header header(Op op, std::uint32_t size = 0) { return Header{op, size, random_()}; }

  static std::string failed(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
  }

  std::string null_call() {
    char rbuf[64];
    door_arg_t a{nullptr, 0, nullptr, 0, rbuf, sizeof rbuf};
    if (door_call(raw_fd_, &a) != 0) return failed("door_call");
    if (a.data_size != 0 || a.desc_num != 0) return "results from a null call";
    return "";
  }

  std::string echo(int fd, std::size_t n) {
    Header h = header(kOpEcho);
    std::memcpy(big_.data(), &h, sizeof h);
    std::string_view args(big_.data(), n);
    std::string error;
    if (call_door_in_place(fd, args, [&](std::string_view r) {
          if (!is_transformed(r, args)) error = "wrong echo of " + std::to_string(n) + " bytes";
        }) != 0)
      return failed("door_call");
    return error;
  }

  std::string digest_call(std::size_t n) {
    Header h = header(kOpDigest);
    std::memcpy(big_.data(), &h, sizeof h);
    // Another word changes too, so that the arena holds new bytes each time.
    std::uint64_t noise = random_();
    std::memcpy(big_.data() + sizeof h + (noise % (n - sizeof h - 8)), &noise, sizeof noise);
    Digest expected{n, digest(big_.data(), n)};
    CallOutcome out = call_door(raw_fd_, std::string_view(big_.data(), n));
    if (out.rc != 0) return "door_call: " + std::string(std::strerror(out.err));
    Digest got{};
    if (!read_value(out.data, &got) || got.size != expected.size || got.hash != expected.hash)
      return "wrong digest of " + std::to_string(n) + " bytes";
    return "";
  }

  std::string big_reply() {
    // 8 KiB to 1 MiB, more small ones than large.
    auto size = static_cast<std::uint32_t>(std::size_t{8192} << (random_() % 8));
    size -= static_cast<std::uint32_t>(random_() % 4096);
    Header h = header(kOpSized, size);
    std::string error;
    if (call_door_in_place(raw_fd_, as_bytes(h), [&](std::string_view r) {
          if (r != std::string_view(reply_table()).substr(slice_offset(h.seed, size), size))
            error = "wrong reply of " + std::to_string(r.size()) + " bytes (asked " +
                    std::to_string(size) + ")";
        }) != 0)
      return failed("door_call");
    return error;
  }

  std::string descriptor_call() {
    std::uint64_t word = random_();
    std::memcpy(memfd_content_.data(), &word, sizeof word);
    if (::pwrite(memfd_.get(), &word, sizeof word, 0) != sizeof word) return failed("pwrite");
    Header h = header(kOpDescriptor);
    std::uint64_t expected = digest(memfd_content_.data(), kDescriptorBytes) ^ h.seed;
    CallOutcome out = call_door(raw_fd_, as_bytes(h), {descriptor(memfd_.get())});
    if (out.rc != 0) return "door_call: " + std::string(std::strerror(out.err));
    std::vector<UniqueFd> got_fds;
    for (const door_desc_t& d : out.descs)
      if (d.d_attributes & DOOR_DESCRIPTOR) got_fds.emplace_back(d.d_data.d_desc.d_descriptor);
    if (out.descs.size() != 1 || got_fds.size() != 1)
      return "a reply with " + std::to_string(out.descs.size()) + " descriptors";
    std::uint64_t value = 0;
    if (::pread(got_fds[0].get(), &value, sizeof value, 0) != sizeof value)
      return failed("pread of the descriptor received");
    if (value != expected) return "wrong digest in the descriptor received";
    return "";
  }

  std::string info() {
    door_info_t di{};
    if (door_info(raw_fd_, &di) != 0) return failed("door_info");
    if (di.di_target != server_.pid || value_of(di.di_data) != kCookie ||
        value_of(di.di_uniquifier) != value_of(server_.info.di_uniquifier) ||
        (di.di_attributes & DOOR_LOCAL) != 0)
      return "wrong door_info";
    return "";
  }

  std::string fresh_open() {
    UniqueFd fd(::open(raw_path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return failed("open");
    return echo(fd.get(), 64);
  }

  std::string key(int slot) const {
    return "c" + std::to_string(index_) + "/" + std::to_string(slot);
  }

  std::string typed_put() {
    int slot = static_cast<int>(random_() % kSlots);
    // A few sizes up to 16 KiB, now and then 128 KiB (carried in the arena). A few, not any:
    // values of every size make the server's malloc arenas fragment, so that its memory keeps
    // creeping up for minutes (measured: 4 MB in 30 s), which the soak would take for a leak.
    constexpr std::size_t kSizes[] = {24, 500, 4000, 16000};
    std::size_t size = random_() % 50 == 0 ? (128 << 10) : kSizes[random_() % std::size(kSizes)];
    std::string value = pattern(size, random_());
    std::string k = key(slot);
    kv_.put(kj::StringPtr(k.c_str(), k.size()),
            kj::arrayPtr(reinterpret_cast<const kj::byte*>(value.data()), value.size()));
    values_[slot] = std::move(value);
    return "";
  }

  std::string typed_get() {
    int slot = static_cast<int>(random_() % kSlots);
    if (values_[slot].empty()) return typed_put();
    std::string k = key(slot);
    auto reply = kv_.get(kj::StringPtr(k.c_str(), k.size()));
    auto got = reply->getValue();
    if (std::string_view(reinterpret_cast<const char*>(got.begin()), got.size()) != values_[slot])
      return "wrong value for " + k;
    return "";
  }

  void note(Kind kind, const std::string& error) {
    std::uint32_t i = shared_->error_notes.fetch_add(1);
    if (i >= std::size(shared_->notes)) return;
    std::snprintf(shared_->notes[i], sizeof shared_->notes[i], "client %d thread %d, %s: %s",
                  index_ / kThreadsPerClient, index_ % kThreadsPerClient, kKindNames[kind],
                  error.c_str());
  }

  static constexpr int kSlots = 8;
  Shared* shared_;
  CallerStats* stats_;
  int index_;
  const std::string& raw_path_;
  int raw_fd_;
  ServerReady server_;
  kv::KvStoreDoor::Client kv_;
  std::mt19937_64 random_;
  std::discrete_distribution<int> pick_;
  std::vector<char> big_;
  UniqueFd memfd_;
  std::string memfd_content_;
  std::string values_[kSlots];
};

// A client process: one descriptor for the raw door and one typed client, shared by its threads
// (each thread gets its own connection from the library).
[[noreturn]] void client_main(Shared* shared, int client, const std::string& raw_path,
                              const std::string& kv_path, const ServerReady& server) {
  int code = 0;
  try {
    reply_table();
    UniqueFd raw = open_door(raw_path);
    if (!raw.valid()) child_fail("open of the raw door");
    auto kv = kv::KvStoreDoor::Client::open(kv_path);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreadsPerClient; ++t)
      threads.emplace_back([&, t] {
        Caller(shared, client * kThreadsPerClient + t, raw_path, raw.get(), server, kv).run();
      });
    for (auto& t : threads) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "client %d: threw: %s\n", client, e.what());
    code = kChildThrew;
  }
  ::_exit(code);
}

// ---- The server's vital signs --------------------------------------------------------------

struct Vitals {
  long rss_kib = -1;
  long rss_anon_kib = -1;   // of which private memory (heap, stacks)
  long rss_shmem_kib = -1;  // of which shared memory (the connections' arenas)
  long threads = -1;
  long fds = -1;
};

long status_field(const std::string& status, const char* name) {
  auto at = status.find(std::string("\n") + name + ":");
  if (at == std::string::npos) return -1;
  return std::strtol(status.c_str() + at + std::strlen(name) + 2, nullptr, 10);
}

long count_fds(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  long n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

Vitals vitals_of(pid_t pid) {
  Vitals v;
  std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  v.rss_kib = status_field(status, "VmRSS");
  v.rss_anon_kib = status_field(status, "RssAnon");
  v.rss_shmem_kib = status_field(status, "RssShmem");
  v.threads = status_field(status, "Threads");
  v.fds = count_fds(pid);
  return v;
}

// kWeights, or DOORS_SOAK_MIX from the environment: one weight per kind, in kKindNames' order,
// separated by commas (to narrow a failure down to some kinds of call).
bool soak_weights(int (&weights)[kKinds]) {
  std::copy(std::begin(kWeights), std::end(kWeights), weights);
  const char* env = std::getenv("DOORS_SOAK_MIX");
  if (env == nullptr || *env == '\0') return true;
  char* end = const_cast<char*>(env);
  for (int k = 0; k < kKinds; ++k) {
    weights[k] = static_cast<int>(std::strtol(end, &end, 10));
    if (weights[k] < 0 || (k + 1 < kKinds ? *end++ != ',' : *end != '\0')) return false;
  }
  return std::any_of(std::begin(weights), std::end(weights), [](int w) { return w > 0; });
}

// DOORS_SOAK_SECONDS from the environment, else the build's default (the CMake cache variable).
std::chrono::seconds soak_duration() {
  const char* env = std::getenv("DOORS_SOAK_SECONDS");
  long s = env != nullptr && *env != '\0' ? std::strtol(env, nullptr, 10)
                                          : long{DOORS_SOAK_DEFAULT_SECONDS};
  return std::chrono::seconds(std::max(2L, s));
}

// The client processes not reaped yet; on every exit path they are killed (SIGKILL) and reaped.
struct ClientReaper {
  std::vector<pid_t> pids;
  void reaped(pid_t pid) { std::erase(pids, pid); }
  ~ClientReaper() {
    for (pid_t pid : pids) ::kill(pid, SIGKILL);
    for (pid_t pid : pids) wait_child(pid, Deadline::standard());
  }
};

// Sleeps until `when` (pacing the run, not synchronising), returning early with false when a
// client ended before its time.
bool pace_until(Clock::time_point when, ClientReaper& clients, std::string* why) {
  while (Clock::now() < when) {
    for (pid_t pid : clients.pids) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        clients.reaped(pid);
        *why = "client " + std::to_string(pid) + " ended early (wait status " +
               std::to_string(status) + ")";
        return false;
      }
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(100ms, when - Clock::now()));
  }
  return true;
}

struct KindTotals {
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  std::uint64_t max_ns = 0;
  std::vector<std::uint64_t> histogram = std::vector<std::uint64_t>(kBuckets);

  // The smallest latency with at least fraction q of the calls at or below it (bucket floor).
  double percentile_us(double q) const {
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(calls));
    std::uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += histogram[b];
      if (seen > rank || seen == calls) return static_cast<double>(bucket_floor(b)) / 1000.0;
    }
    return static_cast<double>(max_ns) / 1000.0;
  }
};

struct MappedShared {
  Shared* shared = nullptr;
  MappedShared() {
    void* p =
        ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) shared = new (p) Shared{};
  }
  ~MappedShared() {
    if (shared != nullptr) ::munmap(shared, sizeof(Shared));
  }
};

TEST(Stress, Soak) {
  const auto duration = soak_duration();
  // "Start" is measured once arenas are mapped and pools have grown: after 10 % of the run or
  // 5 s, whichever is larger (but at most half the run, for short trial runs).
  const auto warm_up =
      std::min<Clock::duration>(std::max<Clock::duration>(duration / 10, 5s), duration / 2);

  TempDir dir;
  const std::string raw_path = dir.file("raw");
  const std::string kv_path = dir.file("kv");
  MappedShared mapped;
  ASSERT_NE(mapped.shared, nullptr) << "mmap: " << std::strerror(errno);
  Shared* shared = mapped.shared;
  ASSERT_TRUE(soak_weights(shared->weights))
      << "DOORS_SOAK_MIX: " << kKinds << " weights >= 0 separated by commas, not all 0";

  ForkedServer server([&](ForkedServer::Child& child) {
    reply_table();
    int d = child_serve_at(raw_path, soak_proc, reinterpret_cast<void*>(kCookie));
    ServerReady ready{::getpid(), {}};
    if (door_info(d, &ready.info) != 0) child_fail("door_info");
    Service kv(std::make_shared<SoakKv>());
    kv.attach(kv_path, 0600);
    // The pool's threads, made up front as a Solaris server may (a thread joins the pool with
    // door_return(NULL, 0, NULL, 0)): a pool that grows during the run brings each new thread's
    // stack and malloc arena into the server's memory, a legitimate growth the soak would take
    // for a leak.
    for (int i = 0; i < kServerThreads; ++i)
      std::thread([] { door_return(nullptr, 0, nullptr, 0); }).detach();
    child.ready_with(ready);
    child_wait_forever();
  });
  ASSERT_TRUE(server.wait_ready());
  const auto ready = server.payload_as<ServerReady>();
  const Vitals idle = vitals_of(server.pid());

  const auto started = Clock::now();
  ClientReaper clients;
  const pid_t parent = ::getpid();
  for (int c = 0; c < kClients; ++c) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork: " << std::strerror(errno);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(kChildSetupFailed);
      client_main(shared, c, raw_path, kv_path, ready);
    }
    clients.pids.push_back(pid);
  }

  std::string early;
  // The server's vital signs at every tenth of the run, for the report, and at the end of the
  // warm-up.
  Vitals at_start;
  std::vector<Vitals> timeline;
  for (int tenth = 1; tenth <= 10; ++tenth) {
    const auto checkpoint = started + Clock::duration(duration) * tenth / 10;
    if (at_start.rss_kib < 0 && started + warm_up <= checkpoint) {
      ASSERT_TRUE(pace_until(started + warm_up, clients, &early)) << early;
      at_start = vitals_of(server.pid());
    }
    ASSERT_TRUE(pace_until(checkpoint, clients, &early)) << early;
    timeline.push_back(vitals_of(server.pid()));
  }
  const Vitals at_end = timeline.back();
  shared->stop.store(1);
  const auto elapsed = Clock::now() - started;

  // Every client stops within a call or two; one that does not has hung.
  std::vector<std::string> client_failures;
  const auto stop_deadline = Deadline::in(30s);
  for (pid_t pid : std::vector<pid_t>(clients.pids)) {
    ChildStatus s = wait_child(pid, stop_deadline);
    if (s.reaped) clients.reaped(pid);
    if (!s.exited_with(0))
      client_failures.push_back("client " + std::to_string(pid) + " " +
                                (s.reaped ? s.describe() : "hung (did not stop within 30 s)"));
  }
  // Once the clients are gone, so must be their connections: the server's descriptors go back
  // to what it had before the first client came (the server notices closed connections on its
  // own time, hence the wait).
  Vitals after = vitals_of(server.pid());
  for (auto until = Deadline::standard(); after.fds > idle.fds && !until.expired();) {
    std::this_thread::sleep_for(20ms);
    after = vitals_of(server.pid());
  }

  // ---- Report ----
  KindTotals totals[kKinds];
  std::uint64_t calls = 0, errors = 0;
  for (const CallerStats& c : shared->callers)
    for (int k = 0; k < kKinds; ++k) {
      totals[k].calls += c.calls[k];
      totals[k].errors += c.errors[k];
      totals[k].max_ns = std::max(totals[k].max_ns, c.max_ns[k]);
      for (int b = 0; b < kBuckets; ++b) totals[k].histogram[b] += c.histogram[k][b];
    }
  for (const KindTotals& t : totals) {
    calls += t.calls;
    errors += t.errors;
  }
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const double growth = at_start.rss_kib > 0
                            ? static_cast<double>(at_end.rss_kib - at_start.rss_kib) /
                                  static_cast<double>(at_start.rss_kib)
                            : 1.0;
  std::printf("\n==== soak: %d client processes x %d threads, %.1f s (warm-up %.1f s) ====\n",
              kClients, kThreadsPerClient, seconds, std::chrono::duration<double>(warm_up).count());
  std::printf("%-12s %10s %9s %7s %9s %9s %9s %9s %9s  (latency, us)\n", "kind", "calls", "calls/s",
              "errors", "p50", "p90", "p99", "p99.9", "max");
  for (int k = 0; k < kKinds; ++k) {
    const KindTotals& t = totals[k];
    std::printf("%-12s %10" PRIu64 " %9.0f %7" PRIu64 " %9.1f %9.1f %9.1f %9.1f %9.1f\n",
                kKindNames[k], t.calls, static_cast<double>(t.calls) / seconds, t.errors,
                t.percentile_us(0.50), t.percentile_us(0.90), t.percentile_us(0.99),
                t.percentile_us(0.999), static_cast<double>(t.max_ns) / 1000.0);
  }
  std::printf("%-12s %10" PRIu64 " %9.0f %7" PRIu64 "\n", "total", calls,
              static_cast<double>(calls) / seconds, errors);
  std::printf(
      "server %d: VmRSS %ld KiB idle, %ld KiB at start (after warm-up), %ld KiB at end: "
      "growth %+.2f %% (limit %.0f %%)\n",
      static_cast<int>(server.pid()), idle.rss_kib, at_start.rss_kib, at_end.rss_kib, growth * 100,
      kMaxRssGrowth * 100);
  std::printf("server at each tenth of the run: VmRSS KiB (anon+shmem)/threads:");
  for (const Vitals& v : timeline)
    std::printf(" %ld(%ld+%ld)/%ld", v.rss_kib, v.rss_anon_kib, v.rss_shmem_kib, v.threads);
  std::printf("\n");
  std::printf("server threads: %ld idle, %ld at start, %ld at end, %ld after the clients left\n",
              idle.threads, at_start.threads, at_end.threads, after.threads);
  std::printf("server fds:     %ld idle, %ld at start, %ld at end, %ld after the clients left\n",
              idle.fds, at_start.fds, at_end.fds, after.fds);
  for (std::uint32_t i = 0; i < std::min<std::uint32_t>(shared->error_notes, 8); ++i)
    std::printf("error: %s\n", shared->notes[i]);
  std::printf("==== end of soak ====\n");
  std::fflush(stdout);

  EXPECT_EQ(errors, 0u) << "wrong or failed calls (see the report)";
  for (int k = 0; k < kKinds; ++k) {
    if (shared->weights[k] > 0) {
      EXPECT_GT(totals[k].calls, 0u) << kKindNames[k] << " never ran";
    }
  }
  EXPECT_LT(growth, kMaxRssGrowth) << "the server's VmRSS grew from " << at_start.rss_kib
                                   << " KiB to " << at_end.rss_kib << " KiB";
  EXPECT_LE(after.fds, idle.fds) << "the server kept descriptors after its clients left";
  for (const auto& f : client_failures) ADD_FAILURE() << f;
  for (const Vitals& v : {idle, at_start, at_end, after})
    EXPECT_TRUE(v.rss_kib > 0 && v.threads > 0 && v.fds > 0)
        << "the server's /proc entries could not be read: did it die?";
  // Fails the test if the server died before this or does not end cleanly on SIGTERM.
  server.stop();
}

}  // namespace
}  // namespace doors::test
