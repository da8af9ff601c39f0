// The server side of the introspection interface, for the runtime's door procedure (server.cpp).
#pragma once

#include "doors/runtime/interface.h"

namespace doors {
class IncomingCall;
namespace detail {

// Answers a request for introspection.capnp's Introspection (call.method() is its ordinal,
// already checked) about a door serving `served`, created with `door_attributes` (door_create's,
// which export_door changes from the interface's), whose descriptor in this process is door_fd
// (for the pool figures; -1 when unknown). Throws Error like a handler.
void answer_introspection(IncomingCall& call, const InterfaceInfo& served, uint32_t door_attributes,
                          int door_fd);

}  // namespace detail
}  // namespace doors
