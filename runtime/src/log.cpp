// The server log (log.h).
#include "doors/runtime/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "doors/runtime/error.h"

namespace doors {
namespace {

constexpr size_t kMaxMessage = 4096;

struct LogState {
  std::atomic<int> level{static_cast<int>(LogLevel::kInfo)};
  // The descriptor lines are written to. A reopened file is dup3()ed onto the same number, so a
  // writer never sees it closed; it is changed only by set_log_file, before threads log.
  std::atomic<int> fd{STDERR_FILENO};
  std::atomic<bool> to_file{false};
  std::atomic<bool> journal{false};
  std::mutex mu;  // guards program and path; serialises set_log_file and reopen_log
  std::string program = program_invocation_short_name;
  std::string path;
};

// The journal's stderr: $JOURNAL_STREAM is "<dev>:<ino>" of the stream systemd connected
// (systemd.exec(5)); a program that redirected stderr elsewhere must not use the prefix.
bool stderr_is_journal() {
  const char* env = ::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

LogState& state() {
  static LogState* s = [] {
    auto* created = new LogState;  // never destroyed: handlers may log while main returns
    created->journal.store(stderr_is_journal());
    return created;
  }();
  return *s;
}

void write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // a full disk or a closed stderr loses the line, never the server
    data += w;
    n -= static_cast<size_t>(w);
  }
}

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) noexcept {
  if (name == "error") return LogLevel::kError;
  if (name == "warning" || name == "warn") return LogLevel::kWarning;
  if (name == "info") return LogLevel::kInfo;
  if (name == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

const char* log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

void set_log_level(LogLevel level) noexcept { state().level.store(static_cast<int>(level)); }

LogLevel log_level() noexcept { return static_cast<LogLevel>(state().level.load()); }

void set_log_program(std::string name) {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  s.program = std::move(name);
}

void set_log_file(const std::string& path) {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  int fd = open_log(path);
  if (fd < 0) {
    int err = errno;
    throw Error::from_errno(code_for_errno(err), err, "cannot open log file " + path);
  }
  int old = s.fd.exchange(fd);
  if (old != STDERR_FILENO) ::close(old);
  s.path = path;
  s.to_file.store(true);
}

bool reopen_log() {
  LogState& s = state();
  std::unique_lock lock(s.mu);
  if (!s.to_file.load()) return true;
  int fd = open_log(s.path);
  if (fd < 0) {
    int err = errno;
    std::string path = s.path;
    lock.unlock();
    log(LogLevel::kError, "cannot reopen log file %s: %s", path.c_str(), strerror(err));
    return false;
  }
  // Atomically replaces the file behind the descriptor writers use.
  ::dup3(fd, s.fd.load(), O_CLOEXEC);
  ::close(fd);
  return true;
}

void log(LogLevel level, const char* format, ...) {
  if (!log_enabled(level)) return;
  LogState& s = state();
  // Room for kMaxMessage bytes, the first byte past the cut and the NUL.
  char message[kMaxMessage + 2];
  va_list args;
  va_start(args, format);
  int n = ::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  if (n < 0) return;
  size_t len = static_cast<size_t>(n);
  if (len > kMaxMessage) {
    // Cut at kMaxMessage bytes, but not inside a UTF-8 character: back up while the first byte
    // left out continues the character before it.
    len = kMaxMessage;
    while (len > 0 && (static_cast<unsigned char>(message[len]) & 0xC0) == 0x80) --len;
  }
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = static_cast<unsigned char>(message[i]);
    if (c < 0x20 || c == 0x7f) message[i] = '?';
  }

  char line[kMaxMessage + 256];
  size_t at = 0;
  if (s.journal.load() && !s.to_file.load()) {
    at = static_cast<size_t>(::snprintf(line, sizeof line, "<%d>", static_cast<int>(level)));
  } else {
    std::string program;
    {
      std::lock_guard lock(s.mu);
      program = s.program;
    }
    if (s.to_file.load()) {
      timespec now;
      ::clock_gettime(CLOCK_REALTIME, &now);
      struct tm utc;
      ::gmtime_r(&now.tv_sec, &utc);
      char when[32];
      ::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
      at = static_cast<size_t>(::snprintf(line, sizeof line, "%s.%03ldZ %s[%d]: %s: ", when,
                                          now.tv_nsec / 1000000, program.c_str(),
                                          static_cast<int>(::getpid()), log_level_name(level)));
    } else {
      at = static_cast<size_t>(
          ::snprintf(line, sizeof line, "%s: %s: ", program.c_str(), log_level_name(level)));
    }
    if (at >= sizeof line - kMaxMessage - 1) at = 0;  // an absurdly long program name
  }
  ::memcpy(line + at, message, len);
  at += len;
  line[at++] = '\n';
  write_all(s.fd.load(), line, at);
}

}  // namespace doors
