// One server per door path: a lock file beside the door's file, held with flock(2) for as long as
// the server runs. The kernel releases the lock when the process dies however it dies (SIGKILL
// included), so a lock can never outlive its server the way a pid file can; the pid written in
// the file is only for messages, and the holder's pid is taken from /proc/locks when possible.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "doors/runtime/owned_fd.h"

namespace doors::detail {

class InstanceLock {
 public:
  // What a previous server recorded in the lock file: the door file it created, if any, so that
  // a server taking over after a crash knows that file is its to remove.
  struct Created {
    dev_t dev;
    ino_t ino;
  };

  // Takes the lock `path` (created with mode 0644 when missing). Returns nullopt when another
  // process holds it and sets *holder to that process's pid (0 when it cannot be told). Throws
  // doors::Error when the file cannot be created, opened or locked for another reason.
  static std::optional<InstanceLock> acquire(const std::string& path, pid_t* holder);

  InstanceLock(InstanceLock&&) noexcept = default;
  InstanceLock& operator=(InstanceLock&&) noexcept = default;
  ~InstanceLock();

  // The door file the previous holder created (read when the lock was taken), if it said so.
  const std::optional<Created>& previous_created() const { return previous_created_; }

  // Writes this process's pid, and the door file it created (when it did), into the file.
  // Throws doors::Error when it cannot be written.
  void record(const std::optional<Created>& created);

  // Removes the lock file and releases the lock (the destructor does it too).
  void release() noexcept;

  const std::string& path() const { return path_; }

 private:
  InstanceLock(std::string path, OwnedFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  OwnedFd fd_;
  std::optional<Created> previous_created_;
};

// The pid holding a flock(2) lock on the file (dev, ino), from /proc/locks; 0 when not found.
pid_t flock_holder(dev_t dev, ino_t ino);

}  // namespace doors::detail
