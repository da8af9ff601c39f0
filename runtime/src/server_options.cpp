// Parsing the server main's built-in option values (server_options.h).
#include "server_options.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace doors::detail {
namespace {

template <class T>
std::optional<T> parse_number(std::string_view text, int base = 10) noexcept {
  T value{};
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// getpwnam_r / getgrnam_r with a buffer that grows while the entry does not fit; `size_hint` is
// the sysconf name of the entry's suggested buffer size.
template <class Entry, class Lookup>
std::optional<Entry> lookup(const std::string& name, Lookup fn, int size_hint, int* err) {
  long hint = ::sysconf(size_hint);
  std::vector<char> buf(hint > 0 ? static_cast<size_t>(hint) : 1024);
  for (;;) {
    Entry entry;
    Entry* found = nullptr;
    int rc = fn(name.c_str(), &entry, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (size_t{1} << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    *err = rc;
    if (rc != 0 || found == nullptr) return std::nullopt;
    return entry;
  }
}

}  // namespace

std::optional<mode_t> parse_mode(std::string_view text) noexcept {
  auto mode = parse_number<unsigned>(text, 8);
  if (!mode || *mode > 0777) return std::nullopt;
  return static_cast<mode_t>(*mode);
}

std::optional<PoolBounds> parse_threads(std::string_view text) noexcept {
  size_t colon = text.find(':');
  auto min = parse_number<uint32_t>(text.substr(0, colon));
  auto max = colon == std::string_view::npos ? min : parse_number<uint32_t>(text.substr(colon + 1));
  if (!min || !max || *min < 1 || *min > *max || *max > kMaxThreads) return std::nullopt;
  return PoolBounds{*min, *max};
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept {
  uint64_t scale = 1;
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    text.remove_suffix(2);
  } else if (text.size() > 1 && text.back() == 's') {
    text.remove_suffix(1);
    scale = 1000;
  }
  auto n = parse_number<uint64_t>(text);
  constexpr uint64_t kDayMs = 24ull * 3600 * 1000;
  if (!n || *n > kDayMs / scale) return std::nullopt;
  return std::chrono::milliseconds(*n * scale);
}

std::optional<uid_t> lookup_user(const std::string& name, std::string* error) {
  if (auto id = parse_number<uid_t>(name)) {
    // (uid_t)-1 is no user: to fchown(2) it means "leave the owner as it is".
    if (*id != static_cast<uid_t>(-1)) return id;
    *error = "'" + name + "' is not a valid user id";
    return std::nullopt;
  }
  int err = 0;
  auto entry = lookup<passwd>(name, ::getpwnam_r, _SC_GETPW_R_SIZE_MAX, &err);
  if (entry) return entry->pw_uid;
  *error = err != 0 ? "cannot look up user '" + name + "': " + std::strerror(err)
                    : "no such user '" + name + "'";
  return std::nullopt;
}

std::optional<gid_t> lookup_group(const std::string& name, std::string* error) {
  if (auto id = parse_number<gid_t>(name)) {
    // (gid_t)-1 is no group: to fchown(2) it means "leave the group as it is".
    if (*id != static_cast<gid_t>(-1)) return id;
    *error = "'" + name + "' is not a valid group id";
    return std::nullopt;
  }
  int err = 0;
  auto entry = lookup<group>(name, ::getgrnam_r, _SC_GETGR_R_SIZE_MAX, &err);
  if (entry) return entry->gr_gid;
  *error = err != 0 ? "cannot look up group '" + name + "': " + std::strerror(err)
                    : "no such group '" + name + "'";
  return std::nullopt;
}

}  // namespace doors::detail
