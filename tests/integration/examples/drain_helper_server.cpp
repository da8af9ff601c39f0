// drain_helper_server: a server of the kv_store example's KvStore interface, run through
// doors::ServerMain, whose waitFor(key, ms) works for `ms` milliseconds (it sleeps, and does not
// listen to on_stop) and then answers `key`. server_main_test.cpp uses it to see what the drain
// does with a call in progress: one that finishes within the drain gets its reply; one that
// outlasts it is abandoned at the bound and the server still exits 0.
//
//   drain_helper_server --path PATH [--drain-ms N]
#include <doors/runtime.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "kv_store.door.h"

namespace {

class SlowStore final : public kv::KvStoreDoor::Server {
 public:
  void waitFor(WaitForContext& ctx) override {
    auto p = ctx.params();
    std::string key(p.getKey().cStr(), p.getKey().size());
    std::fprintf(stderr, "drain_helper_server: working %u ms on '%s'\n", p.getTimeoutMs(),
                 key.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(p.getTimeoutMs()));
    ctx.results().setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(key.data()), key.size()));
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string drain_ms;
  doors::ServerMain server_main(kv::KvStoreDoor::kInfo, "drain_helper_server",
                                "A KvStore whose waitFor works for a while (tests only).");
  server_main.add_option("--drain-ms", "N", "the drain timeout", &drain_ms);
  return server_main.run(argc, argv, [&](doors::ServerMain& m) {
    if (!drain_ms.empty()) {
      long ms = 0;
      auto [end, ec] = std::from_chars(drain_ms.data(), drain_ms.data() + drain_ms.size(), ms);
      if (ec != std::errc() || end != drain_ms.data() + drain_ms.size())
        throw doors::ServerMain::UsageError("--drain-ms: not a number");
      m.set_drain_timeout(std::chrono::milliseconds(ms));
    }
    return std::make_shared<SlowStore>();
  });
}
