// Doors as Cap'n Proto capabilities: an interface-typed field of a message holds a door, whose
// descriptor travels in the message's descriptor list. A capability made here is a handle on a
// door; it is not callable through Cap'n Proto's RPC API (use the interface's typed client).
#pragma once

#include <capnp/capability.h>

#include <memory>

#include "doors/runtime/door_handle.h"

namespace doors {

// A capability holding `door` (shared). ClientHook::getFd() gives its descriptor.
capnp::Capability::Client door_capability(std::shared_ptr<const DoorHandle> door);

// The door a capability holds. Throws Error(kInvalidArgument) when the capability is null,
// broken, or not a door (say, a local Cap'n Proto server object).
std::shared_ptr<const DoorHandle> door_of(capnp::Capability::Client& capability);

}  // namespace doors
