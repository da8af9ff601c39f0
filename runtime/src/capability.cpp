#include "doors/runtime/capability.h"

#include <kj/debug.h>

#include "capability_impl.h"
#include "doors/runtime/error.h"

namespace doors {
namespace detail {

namespace {
const char kBrand = 0;  // its address is the brand
constexpr const char* kNotCallable =
    "a door capability is called through its interface's typed client (FooDoor::Client), not "
    "through Cap'n Proto RPC";
}  // namespace

const void* DoorHook::brand() noexcept { return &kBrand; }

capnp::Request<capnp::AnyPointer, capnp::AnyPointer> DoorHook::newCall(
    uint64_t, uint16_t, kj::Maybe<capnp::MessageSize>) {
  KJ_UNIMPLEMENTED(kNotCallable);
}

capnp::ClientHook::VoidPromiseAndPipeline DoorHook::call(uint64_t, uint16_t,
                                                         kj::Own<capnp::CallContextHook>&&) {
  KJ_UNIMPLEMENTED(kNotCallable);
}

kj::Own<capnp::ClientHook> make_door_hook(std::shared_ptr<const DoorHandle> door) {
  return kj::heap<DoorHook>(std::move(door));
}

int door_fd_of_hook(capnp::ClientHook& hook) {
  if (hook.getBrand() != DoorHook::brand()) {
    if (hook.isNull()) throw Error(Code::kInvalidArgument, "a null capability is not a door");
    throw Error(Code::kInvalidArgument,
                "only doors (capabilities from a door client or export_door) can be stored in a "
                "message");
  }
  auto& door = static_cast<DoorHook&>(hook).door();
  if (door == nullptr || !door->valid()) {
    throw Error(Code::kInvalidArgument, "the capability holds no door");
  }
  return door->fd();
}

}  // namespace detail

capnp::Capability::Client door_capability(std::shared_ptr<const DoorHandle> door) {
  if (door == nullptr || !door->valid()) {
    throw Error(Code::kInvalidArgument, "no door to make a capability of");
  }
  return capnp::Capability::Client(detail::make_door_hook(std::move(door)));
}

std::shared_ptr<const DoorHandle> door_of(capnp::Capability::Client& capability) {
  kj::Own<capnp::ClientHook> hook = capnp::ClientHook::from(capability);  // a new reference
  detail::door_fd_of_hook(*hook);                                         // throws when not a door
  return static_cast<detail::DoorHook&>(*hook).door();
}

}  // namespace doors
