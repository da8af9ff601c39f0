// The log of a door server process: one line per event, written whole with one write(2) so that
// lines of concurrent handlers never interleave, at a level chosen with --log-level.
//
// Where lines go and how they look:
//   - stderr by default: `calculator_server: info: session 1 opened`. When stderr is the systemd
//     journal ($JOURNAL_STREAM names it), the line carries the journal's priority prefix instead
//     (`<6>session 1 opened`): the journal adds time and program itself.
//   - a file (set_log_file, --log-file): `2026-12-07T19:18:59.123Z calculator_server[4242]: info:
//     session 1 opened`, appended; reopen_log() (SIGHUP in the server main) opens the path anew,
//     so that logrotate can move the old file away.
// Messages are cut at 4 KiB (before a UTF-8 character that would straddle the cut) and control
// characters in them become '?', so one log line is always one line whatever a message carries.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace doors {

// syslog's priorities, which the journal's prefix uses.
enum class LogLevel { kError = 3, kWarning = 4, kInfo = 6, kDebug = 7 };

// "error", "warning", "info", "debug" (and "warn"); nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view name) noexcept;
const char* log_level_name(LogLevel level) noexcept;

// Messages above `level` (less severe) are dropped. Default kInfo. Thread-safe.
void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
inline bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) <= static_cast<int>(log_level());
}

// The name lines start with (default: the program's short name).
void set_log_program(std::string name);

// Appends the log to `path` from now on (created with mode 0640 when missing). Throws
// doors::Error (with the path and the reason) when it cannot be opened; the log stays where it
// was then.
void set_log_file(const std::string& path);
// Opens the log file's path again, for log rotation. False (with the reason logged to the old
// file) when it cannot be opened: the log keeps going to the file it had. No-op on stderr.
bool reopen_log();

// Logs a printf-style message at `level` (nothing when the level is not enabled).
void log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace doors

#define DOORS_LOG_AT(level, ...)                                       \
  do {                                                                 \
    if (::doors::log_enabled(level)) ::doors::log(level, __VA_ARGS__); \
  } while (0)
#define DOORS_LOG_ERROR(...) DOORS_LOG_AT(::doors::LogLevel::kError, __VA_ARGS__)
#define DOORS_LOG_WARNING(...) DOORS_LOG_AT(::doors::LogLevel::kWarning, __VA_ARGS__)
#define DOORS_LOG_INFO(...) DOORS_LOG_AT(::doors::LogLevel::kInfo, __VA_ARGS__)
#define DOORS_LOG_DEBUG(...) DOORS_LOG_AT(::doors::LogLevel::kDebug, __VA_ARGS__)
