// doorctl's shared pieces (common.h).
#include "common.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace doorctl {

std::optional<std::string> Args::option(std::string_view name, std::string_view alias) {
  if (done()) return std::nullopt;
  const std::string& a = argv_[at_];
  for (std::string_view n : {name, alias}) {
    if (n.empty()) continue;
    if (a == n) {
      if (at_ + 1 >= argv_.size()) {
        throw UsageError{"option '" + std::string(n) + "' needs a value"};
      }
      at_ += 2;
      return argv_[at_ - 1];
    }
    if (n.size() > 2 && a.size() > n.size() && a.compare(0, n.size(), n) == 0 &&
        a[n.size()] == '=') {
      ++at_;
      return a.substr(n.size() + 1);
    }
  }
  return std::nullopt;
}

bool Args::flag(std::string_view name, std::string_view alias) {
  if (done()) return false;
  const std::string& a = argv_[at_];
  if (a == name || (!alias.empty() && a == alias)) {
    ++at_;
    return true;
  }
  return false;
}

std::optional<std::chrono::nanoseconds> parse_timeout(const std::string& option,
                                                      const std::string& text) {
  std::string_view t = text;
  double scale = 1e9;  // seconds by default
  if (t.size() > 2 && t.substr(t.size() - 2) == "ms") {
    scale = 1e6;
    t.remove_suffix(2);
  } else if (t.size() > 1 && t.back() == 's') {
    t.remove_suffix(1);
  } else if (t.size() > 1 && t.back() == 'm') {
    scale = 60e9;
    t.remove_suffix(1);
  }
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !(v >= 0) ||
      v * scale > 7 * 24 * 3600e9) {
    throw UsageError{option + ": '" + text + "' is not a time such as 5s, 250ms or 2m"};
  }
  if (v == 0) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(v * scale)));
}

uint64_t parse_count(const std::string& option, const std::string& text, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0 || v > max) {
    throw UsageError{option + ": '" + text + "' is not a number from 1 to " + std::to_string(max)};
  }
  return v;
}

Door open_door(const std::string& path) {
  Door d;
  try {
    d.path = doors::resolve_door_path(path);
    d.client = doors::ClientBase(doors::DoorHandle::open(d.path));
  } catch (const doors::Error& e) {
    throw Failure{kExitUnreachable, e.message()};
  }
  if (::door_info(d.client.fd(), &d.info) != 0) {
    throw Failure{kExitUnreachable, d.path + ": door_info: " + std::strerror(errno)};
  }
  d.have_stats = ::doors_server_stats(d.client.fd(), &d.stats) == 0;
  return d;
}

void require_typed(const Door& door, std::string_view needs) {
  if (door.typed()) return;
  throw Failure{kExitUnreachable,
                door.path + ": the door does not serve a typed interface (its server does not " +
                    "use the Doors runtime), so it cannot " + std::string(needs) +
                    "; doorctl info still works"};
}

std::string process_command(pid_t pid) {
  if (pid <= 0) return "?";
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.empty()) return "?";
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw) {
    if (c == '\0') c = ' ';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return raw;
}

std::string attributes_text(uint32_t a) {
  static const struct {
    uint32_t bit;
    const char* name;
  } kNames[] = {
      {DOOR_UNREF, "DOOR_UNREF"},
      {DOOR_PRIVATE, "DOOR_PRIVATE"},
      {DOOR_UNREF_MULTI, "DOOR_UNREF_MULTI"},
      {DOOR_REFUSE_DESC, "DOOR_REFUSE_DESC"},
      {DOOR_NO_CANCEL, "DOOR_NO_CANCEL"},
      {DOOR_LOCAL, "DOOR_LOCAL"},
      {DOOR_REVOKED, "DOOR_REVOKED"},
      {DOOR_IS_UNREF, "DOOR_IS_UNREF"},
  };
  std::string out;
  for (const auto& n : kNames) {
    if ((a & n.bit) == 0) continue;
    if (!out.empty()) out += '|';
    out += n.name;
    a &= ~n.bit;
  }
  if (a != 0) {
    char rest[32];
    std::snprintf(rest, sizeof rest, "%s0x%x", out.empty() ? "" : "|", a);
    out += rest;
  }
  return out.empty() ? "none" : out;
}

std::string format_ns(uint64_t ns) {
  char buf[32];
  if (ns < 1000) {
    std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(ns));
  } else if (ns < 1000000) {
    std::snprintf(buf, sizeof buf, "%.1fµs", ns / 1e3);
  } else if (ns < 1000000000) {
    std::snprintf(buf, sizeof buf, "%.2fms", ns / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fs", ns / 1e9);
  }
  return buf;
}

std::string format_bytes(uint64_t b) {
  char buf[32];
  if (b < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  } else if (b < (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  } else if (b < (uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / 1073741824.0);
  }
  return buf;
}

std::string format_uptime(uint64_t ns) {
  uint64_t s = ns / 1000000000;
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>(s % 86400 / 3600));
  }
  return buf;
}

std::string hex_id(uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(id));
  return buf;
}

void fail_call(const doors::Error& error) { throw Failure{kExitCallFailed, error.what()}; }

// ---------------------------------------------------------------------------------------------
// JSON

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out += esc;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

void JsonWriter::newline() {
  if (!pretty_) return;
  out_ += '\n';
  out_.append(2 * first_.size(), ' ');
}

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (!first_.back()) out_ += ',';
  first_.back() = false;
  newline();
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) newline();
  out_ += bracket;
  return *this;
}

JsonWriter& JsonWriter::end_object() { return close('}'); }

JsonWriter& JsonWriter::begin_array() {
  separate();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_array() { return close(']'); }

JsonWriter& JsonWriter::key(std::string_view k) {
  separate();
  out_ += json_string(k);
  out_ += pretty_ ? ": " : ":";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  separate();
  out_ += json_string(s);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t n) {
  separate();
  out_ += std::to_string(n);
  return *this;
}

JsonWriter& JsonWriter::value(int64_t n) {
  separate();
  out_ += std::to_string(n);
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  separate();
  if (!std::isfinite(d)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  out_ += buf;
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

}  // namespace doorctl
