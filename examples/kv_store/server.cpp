// kv_server: serves the KvStore interface of kv_store.capnp, in memory.
//
//   kv_server [--path PATH] [--max-bytes N]
//
// doors::ServerMain does the daemon work (options, signals, attaching, "ready", drain on
// SIGTERM); this file is the store. See README.md.
#include <doors/runtime.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kv_store.door.h"

namespace {

using doors::Code;
using doors::Error;

constexpr size_t kMaxKey = 1024;
constexpr size_t kMaxValue = size_t{64} << 20;  // 64 MiB
constexpr uint32_t kMaxWaitMs = 60'000;

// A key as it may appear in a message or the log: at most 64 bytes, unprintable bytes as '?'.
std::string printable(std::string_view key) {
  std::string out(key.substr(0, 64));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (key.size() > 64) out += "...";
  return out;
}

std::string_view check_key(capnp::Text::Reader key) {
  std::string_view k(key.cStr(), key.size());
  if (k.empty() || k.size() > kMaxKey)
    throw Error(Code::kInvalidArgument, "a key must be 1 to 1024 bytes long");
  if (k.find('\0') != k.npos) throw Error(Code::kInvalidArgument, "a key must not contain NUL");
  return k;
}

class KvStore final : public kv::KvStoreDoor::Server {
 public:
  explicit KvStore(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // Wakes every waitFor with UNAVAILABLE and makes later ones fail at once; the server is
  // stopping (ServerMain::on_stop).
  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    changed_.notify_all();
  }

  void put(PutContext& ctx) override {
    auto p = ctx.params();
    std::string key(check_key(p.getKey()));
    auto value = p.getValue();
    if (value.size() > kMaxValue)
      throw Error(Code::kResourceExhausted, "a value must be at most 64 MiB");
    // Copy outside the lock: a 64 MiB value takes a while, and other calls need not wait.
    auto stored = std::make_shared<const Value>(value.begin(), value.end());
    std::lock_guard lock(mu_);
    auto it = values_.find(key);
    uint64_t old_size = it == values_.end() ? 0 : it->second->size();
    if (bytes_ - old_size + stored->size() > max_bytes_)
      throw Error(Code::kResourceExhausted,
                  "the store is full (--max-bytes " + std::to_string(max_bytes_) + ")");
    bytes_ = bytes_ - old_size + stored->size();
    values_[std::move(key)] = std::move(stored);
    changed_.notify_all();
  }

  void get(GetContext& ctx) override {
    std::string_view key = check_key(ctx.params().getKey());
    std::shared_ptr<const Value> value = find(key);
    if (value == nullptr) throw not_found(key);
    ctx.results().setValue(kj::arrayPtr(value->data(), value->size()));
  }

  void delete_(DeleteContext& ctx) override {
    std::string key(check_key(ctx.params().getKey()));
    std::lock_guard lock(mu_);
    auto it = values_.find(key);
    if (it == values_.end()) throw not_found(key);
    bytes_ -= it->second->size();
    values_.erase(it);
  }

  void list(ListContext& ctx) override {
    auto prefix = ctx.params().getPrefix();
    std::string_view pre(prefix.cStr(), prefix.size());
    std::vector<std::string> keys;
    {
      std::lock_guard lock(mu_);
      for (auto it = values_.lower_bound(std::string(pre));
           it != values_.end() && std::string_view(it->first).substr(0, pre.size()) == pre; ++it)
        keys.push_back(it->first);
    }
    auto out = ctx.results().initKeys(static_cast<unsigned>(keys.size()));
    for (size_t i = 0; i < keys.size(); ++i)
      out.set(static_cast<unsigned>(i), kj::StringPtr(keys[i].c_str(), keys[i].size()));
  }

  void waitFor(WaitForContext& ctx) override {
    auto p = ctx.params();
    std::string key(check_key(p.getKey()));
    auto timeout = std::chrono::milliseconds(std::min(p.getTimeoutMs(), kMaxWaitMs));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::shared_ptr<const Value> value;
    {
      std::unique_lock lock(mu_);
      // If the caller gives up, this thread is cancelled inside wait_until (a forced unwind):
      // the mutex is taken back and `lock` releases it; nothing else here needs undoing.
      bool logged = false;
      for (;;) {
        if (stopping_) throw Error(Code::kUnavailable, "the server is stopping");
        if (auto it = values_.find(key); it != values_.end()) {
          value = it->second;
          break;
        }
        if (!logged) {
          // Under the lock: once this line is out, a put or a stop wakes this waiter.
          DOORS_LOG_INFO("uid %u waits for '%s'", static_cast<unsigned>(ctx.caller().uid),
                         printable(key).c_str());
          logged = true;
        }
        if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
          if (auto it = values_.find(key); it != values_.end()) {
            value = it->second;
            break;
          }
          throw Error(Code::kDeadlineExceeded, "no value for '" + printable(key) + "' within " +
                                                   std::to_string(timeout.count()) + " ms");
        }
      }
    }
    ctx.results().setValue(kj::arrayPtr(value->data(), value->size()));
  }

 private:
  using Value = std::vector<kj::byte>;

  std::shared_ptr<const Value> find(std::string_view key) {
    std::lock_guard lock(mu_);
    auto it = values_.find(std::string(key));
    return it == values_.end() ? nullptr : it->second;
  }
  static Error not_found(std::string_view key) {
    return Error(Code::kNotFound, "no value for '" + printable(key) + "'");
  }

  const uint64_t max_bytes_;
  std::mutex mu_;  // handlers run concurrently, one thread per call in progress
  std::condition_variable changed_;
  // Values are shared and immutable, so a get copies one into its reply outside the lock.
  std::map<std::string, std::shared_ptr<const Value>, std::less<>> values_;
  uint64_t bytes_ = 0;
  bool stopping_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::string max_bytes = "1073741824";
  doors::ServerMain server_main(kv::KvStoreDoor::kInfo, "kv_server",
                                "Serves the KvStore interface in memory (examples/kv_store).");
  server_main.add_option("--max-bytes", "N", "most bytes of values held at once", &max_bytes);
  return server_main.run(argc, argv, [&](doors::ServerMain& m) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(max_bytes.data(), max_bytes.data() + max_bytes.size(), n);
    if (ec != std::errc() || end != max_bytes.data() + max_bytes.size())
      throw doors::ServerMain::UsageError("--max-bytes: not a number: '" + max_bytes + "'");
    auto store = std::make_shared<KvStore>(n);
    // A stop wakes the waitFor calls, so that the drain does not wait for them.
    m.on_stop([store] { store->stop(); });
    return store;
  });
}
