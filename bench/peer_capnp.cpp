// Cap'n Proto two-party RPC over a Unix socket (capnp::EzRpcServer / EzRpcClient on kj's async
// I/O), calling Bench of bench.capnp, the same interface the typed door stubs call. The server
// is one event loop; each client thread has its own connection and event loop. Every call,
// including the null one, is Bench.checksum, so the reply carries 8 bytes as in the other cases.
#include <capnp/ez-rpc.h>
#include <kj/async.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "bench.capnp.h"
#include "cases.h"

namespace bench {
namespace {

std::string g_capnp_address;  // "unix:<path>"

class CapnpBench final : public doors_bench::Bench::Server {
 protected:
  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }
  kj::Promise<void> checksum(ChecksumContext context) override {
    capnp::Data::Reader payload = context.getParams().getPayload();
    context.getResults().setSum(
        bench::checksum(reinterpret_cast<const char*>(payload.begin()), payload.size()));
    return kj::READY_NOW;
  }
};

[[noreturn]] void run_capnp_server(int ready_fd) {
  try {
    capnp::EzRpcServer server(kj::heap<CapnpBench>(), g_capnp_address);
    auto& wait_scope = server.getWaitScope();
    server.getPort().wait(wait_scope);  // bound and listening
    signal_ready(ready_fd);
    kj::NEVER_DONE.wait(wait_scope);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "capnp server: %s\n", e.what());
  }
  _exit(1);
}

// A client thread's connection; made and destroyed on that thread (kj's event loop is
// thread-local).
struct CapnpConnection {
  capnp::EzRpcClient client;
  doors_bench::Bench::Client bench;
  explicit CapnpConnection(const std::string& address)
      : client(address), bench(client.getMain<doors_bench::Bench>()) {}
};

MakeCall capnp_caller(size_t size) {
  return [size](int) -> Call {
    auto conn = std::make_shared<CapnpConnection>(g_capnp_address);
    auto arg = std::make_shared<std::vector<char>>(make_argument(size));
    uint64_t expect = checksum(arg->data(), size);
    return [conn, arg, expect] {
      auto request = conn->bench.checksumRequest();
      // Copies the argument into the request message, as a user building it would.
      request.setPayload(kj::arrayPtr(reinterpret_cast<const kj::byte*>(arg->data()), arg->size()));
      auto response = request.send().wait(conn->client.getWaitScope());
      if (response.getSum() != expect) fail("capnp: wrong reply");
    };
  };
}

}  // namespace

bool start_capnp_server(Children& children) {
  g_capnp_address = "unix:" + children.dir() + "/capnp.sock";
  return children.spawn_ready("capnp server", run_capnp_server) != -1;
}

void register_capnp_cases() { add_peer_cases("capnp", capnp_caller); }

}  // namespace bench
