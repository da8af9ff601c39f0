// pool_probe_server: serves PoolProbe (pool_probe.capnp), a door with a private thread pool, with
// doors::ServerMain (tests only): its calls tell which door their thread is bound to.
//
//   pool_probe_server --path PATH [server main options]
#include <door.h>
#include <doors/runtime.h>

#include <cstring>
#include <memory>

#include "pool_probe.door.h"

namespace {

class Probe final : public probe::PoolProbeDoor::Server {
 public:
  void where(WhereContext& ctx) override {
    door_info_t info{};
    bool bound = ::door_info(DOOR_QUERY, &info) == 0;
    door_id_t id = 0;
    if (bound) std::memcpy(&id, &info.di_uniquifier, sizeof id);  // a packed member
    auto r = ctx.results();
    r.setBound(bound);
    r.setDoorId(id);
  }
};

}  // namespace

int main(int argc, char** argv) {
  doors::ServerMain server_main(probe::PoolProbeDoor::kInfo, "pool_probe_server",
                                "A door on a private pool that reports its threads' binding.");
  return server_main.run(argc, argv, [](doors::ServerMain&) { return std::make_shared<Probe>(); });
}
