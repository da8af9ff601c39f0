// What doorctl's subcommands share: exit statuses and failures, the global options, opening a
// door and telling what serves it, number formats, and a small JSON writer.
#pragma once

#include <door.h>
#include <doors/ext.h>
#include <doors/runtime.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace doorctl {

// Exit statuses (doorctl --help, docs/doorctl.md).
enum Exit : int {
  kExitOk = 0,
  kExitCallFailed = 1,   // the server answered an error, or the call failed (deadline...)
  kExitUsage = 2,        // bad command line or arguments (JSON that does not fit, no such method)
  kExitUnreachable = 3,  // no door there, no access, the server is gone, not a typed door
};

// Ends a subcommand: main prints "doorctl: error: <message>" and exits with `status`.
struct Failure {
  int status;
  std::string message;
};

// A usage error: main prints it with the subcommand's usage hint and exits 2.
struct UsageError {
  std::string message;
};

struct GlobalOptions {
  bool json = false;  // machine-readable output
  // Deadline of each call doorctl makes; nullopt: none.
  std::optional<std::chrono::nanoseconds> timeout = std::chrono::seconds(30);
  bool timeout_given = false;  // --timeout was on the command line
  doors::CallOptions call_options() const { return {.timeout = timeout}; }
  // For a call of `method`: --timeout when given, else the method's $Door.timeoutMs when it has
  // one (left to the runtime), else the default.
  doors::CallOptions call_options(const doors::MethodInfo& method) const {
    if (!timeout_given && method.limits.timeout_ms != 0) return {};
    return call_options();
  }
};

// A subcommand's arguments after its name: options (--name VALUE, --name=VALUE, -x VALUE) and
// operands, in order.
class Args {
 public:
  Args(int argc, char** argv, int first) : argv_(argv + first, argv + argc) {}
  bool done() const { return at_ >= argv_.size(); }
  // The next argument, consumed.
  std::string next() { return argv_.at(at_++); }
  const std::string& peek() const { return argv_.at(at_); }
  // When the next argument is the option `name` (or `alias`), consumes it and its value.
  std::optional<std::string> option(std::string_view name, std::string_view alias = {});
  // When the next argument is the flag `name` (or `alias`), consumes it.
  bool flag(std::string_view name, std::string_view alias = {});

 private:
  std::vector<std::string> argv_;
  size_t at_ = 0;
};

// "5s", "250ms", "2m", "1.5s" or seconds ("10", "0.5"); 0 is none. Throws UsageError.
std::optional<std::chrono::nanoseconds> parse_timeout(const std::string& option,
                                                      const std::string& text);
// A positive integer option value. Throws UsageError.
uint64_t parse_count(const std::string& option, const std::string& text, uint64_t max);

// A door opened by path, and what its server says of it.
struct Door {
  std::string path;
  doors::ClientBase client;
  door_info_t info{};
  doors_server_stats_t stats{};
  bool have_stats = false;  // the server answered doors_server_stats

  // A door made by the typed runtime (it answers Introspection): its tag is its interface's id.
  bool typed() const { return have_stats && stats.dss_tag != 0; }
};

// Opens the door at `path` (a bare name goes where doors::resolve_door_path says). Throws
// Failure(kExitUnreachable) saying why it cannot.
Door open_door(const std::string& path);
// Throws Failure(kExitUnreachable) unless the door is typed, naming what `needs` it.
void require_typed(const Door& door, std::string_view needs);

// The command line of a process ("calculator_server --path /run/doors/calculator"), or "?".
std::string process_command(pid_t pid);
// "DOOR_UNREF|DOOR_PRIVATE", or "none".
std::string attributes_text(uint32_t attributes);

// "0ns", "812ns", "41.2µs", "3.10ms", "2.00s".
std::string format_ns(uint64_t ns);
// "512 B", "1.0 KiB", "64.0 MiB".
std::string format_bytes(uint64_t bytes);
// "45s", "3m12s", "2h05m", "3d04h".
std::string format_uptime(uint64_t ns);
// "0x" and 16 hex digits.
std::string hex_id(uint64_t id);

// Throws the Failure for a call that failed with `error` (a remote error or a local one).
[[noreturn]] void fail_call(const doors::Error& error);

// Writes JSON: objects, arrays and scalars in order, commas placed by the writer.
class JsonWriter {
 public:
  explicit JsonWriter(bool pretty = false) : pretty_(pretty) {}
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(uint64_t n);
  JsonWriter& value(int64_t n);
  JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
  JsonWriter& value(unsigned n) { return value(static_cast<uint64_t>(n)); }
  JsonWriter& value(double d);
  JsonWriter& value(bool b);
  JsonWriter& null();
  // Inserts JSON text as one value.
  JsonWriter& raw(std::string_view json);
  const std::string& str() const { return out_; }

 private:
  void separate();
  void newline();
  JsonWriter& close(char bracket);
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
  bool pretty_;
};

// Quoted and escaped as a JSON string.
std::string json_string(std::string_view s);

// Whether a stream is a terminal (progress displays, pretty output).
bool is_terminal(int fd);

}  // namespace doorctl
