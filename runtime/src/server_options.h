// The values of the server main's built-in options, parsed and checked (server_main.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "server_pool.h"

namespace doors::detail {

// An octal file mode of permission bits only ("0660", "640"): 0 to 0777.
std::optional<mode_t> parse_mode(std::string_view text) noexcept;

// "MIN:MAX" or "N" (meaning N:N), 1 <= MIN <= MAX <= kMaxThreads.
inline constexpr uint32_t kMaxThreads = 4096;
std::optional<PoolBounds> parse_threads(std::string_view text) noexcept;

// "5s", "250ms" or a number of milliseconds; 0 to one day.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;

// A user or group by name or number (not 4294967295: (uid_t)-1 means "unchanged" to fchown).
// nullopt with *error saying why ("no such user 'x'").
std::optional<uid_t> lookup_user(const std::string& name, std::string* error);
std::optional<gid_t> lookup_group(const std::string& name, std::string* error);

}  // namespace doors::detail
