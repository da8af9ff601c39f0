// The ClientHook behind a door capability. Internal to the runtime.
#pragma once

#include <capnp/capability.h>

#include <memory>

#include "doors/runtime/door_handle.h"

namespace doors::detail {

// A capability owning (a share of) a door. Not callable through Cap'n Proto's RPC API.
class DoorHook final : public capnp::ClientHook {
 public:
  explicit DoorHook(std::shared_ptr<const DoorHandle> door) : door_(std::move(door)) {}

  capnp::Request<capnp::AnyPointer, capnp::AnyPointer> newCall(
      uint64_t interface_id, uint16_t method_id, kj::Maybe<capnp::MessageSize> hint) override;
  VoidPromiseAndPipeline call(uint64_t interface_id, uint16_t method_id,
                              kj::Own<capnp::CallContextHook>&& context) override;
  kj::Maybe<capnp::ClientHook&> getResolved() override { return nullptr; }
  kj::Maybe<kj::Promise<kj::Own<capnp::ClientHook>>> whenMoreResolved() override { return nullptr; }
  kj::Own<capnp::ClientHook> addRef() override { return kj::heap<DoorHook>(door_); }
  const void* getBrand() override { return brand(); }
  kj::Maybe<int> getFd() override { return door_->fd(); }

  const std::shared_ptr<const DoorHandle>& door() const noexcept { return door_; }
  // What getBrand() returns for every door capability.
  static const void* brand() noexcept;

 private:
  std::shared_ptr<const DoorHandle> door_;
};

kj::Own<capnp::ClientHook> make_door_hook(std::shared_ptr<const DoorHandle> door);

// The door descriptor of a door capability; throws Error(kInvalidArgument) for any other hook.
int door_fd_of_hook(capnp::ClientHook& hook);

}  // namespace doors::detail
