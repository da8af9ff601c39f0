// systemd's readiness protocol (sd_notify(3)), written out so that door servers need no
// libsystemd: a datagram of "KEY=value" lines to the socket $NOTIFY_SOCKET names, when it is set
// (a Type=notify service). Anywhere else it does nothing.
#pragma once

#include <string_view>

namespace doors::detail {

// Sends `state` ("READY=1\nSTATUS=serving") when $NOTIFY_SOCKET is set. False when it is set
// but the message could not be sent (the caller logs it; the server carries on).
bool sd_notify(std::string_view state) noexcept;

}  // namespace doors::detail
