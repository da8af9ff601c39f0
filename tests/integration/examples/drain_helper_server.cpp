// drain_helper_server: a server of the kv_store example's KvStore interface, run through
// doors::ServerMain, for the tests of the server main (server_main_test.cpp):
//   - waitFor(key, ms) works for `ms` milliseconds (it sleeps, and does not listen to on_stop)
//     and then answers `key`: a call that is in progress when the stop signal comes;
//   - get(key) answers `key` at once: the calls of a load that runs through a stop.
//
//   drain_helper_server --path PATH [server main options]
#include <doors/runtime.h>

#include <chrono>
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
    DOORS_LOG_INFO("working %u ms on '%s'", p.getTimeoutMs(), key.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(p.getTimeoutMs()));
    ctx.results().setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(key.data()), key.size()));
  }

  void get(GetContext& ctx) override {
    auto key = ctx.params().getKey();
    ctx.results().setValue(key.asBytes());
  }
};

}  // namespace

int main(int argc, char** argv) {
  doors::ServerMain server_main(kv::KvStoreDoor::kInfo, "drain_helper_server",
                                "A KvStore whose waitFor works for a while (tests only).");
  return server_main.run(argc, argv,
                         [&](doors::ServerMain&) { return std::make_shared<SlowStore>(); });
}
