// The lock file that keeps a second server off a door path (instance_lock.h).
#include "instance_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "doors/runtime/error.h"

namespace doors::detail {
namespace {

constexpr size_t kMaxContent = 256;

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  int err = errno;
  throw Error::from_errno(code_for_errno(err), err, what + " " + path);
}

std::string read_content(int fd) {
  char buf[kMaxContent];
  ssize_t n;
  do {
    n = ::pread(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// "pid N" and "created DEV INO" lines; anything else (an older format, garbage) is ignored.
void parse_content(const std::string& text, pid_t* pid, std::optional<InstanceLock::Created>* c) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    long long a = 0;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(line.c_str(), "pid %lld", &a) == 1 && a > 0) {
      if (pid != nullptr) *pid = static_cast<pid_t>(a);
    } else if (std::sscanf(line.c_str(), "created %llu %llu", &dev, &ino) == 2) {
      if (c != nullptr)
        *c = InstanceLock::Created{static_cast<dev_t>(dev), static_cast<ino_t>(ino)};
    }
  }
}

}  // namespace

pid_t flock_holder(dev_t dev, ino_t ino) {
  // Lines look like "1: FLOCK  ADVISORY  WRITE 4242 fd:01:131075 0 EOF" (major and minor in
  // hex, the inode in decimal); waiters' lines have "->" after the number.
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    char kind[16], how[16], mode[16];
    long long pid = 0;
    unsigned maj = 0, min = 0;
    unsigned long long inode = 0;
    if (std::sscanf(line.c_str(), "%*[^:]: %15s %15s %15s %lld %x:%x:%llu", kind, how, mode, &pid,
                    &maj, &min, &inode) != 7) {
      continue;
    }
    if (std::strcmp(kind, "FLOCK") == 0 && ::makedev(maj, min) == dev && inode == ino && pid > 0)
      return static_cast<pid_t>(pid);
  }
  return 0;
}

std::optional<InstanceLock> InstanceLock::acquire(const std::string& path, pid_t* holder) {
  *holder = 0;
  // A holder that is removing the file as it stops can leave us locking an unlinked file: then
  // the path names another file (or none) and we try again with what the path names now.
  for (int attempt = 0; attempt < 16; ++attempt) {
    OwnedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644));
    if (!fd.valid()) fail("cannot open lock file", path);
    int rc;
    do {
      rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    struct stat mine;
    if (::fstat(fd.get(), &mine) != 0) fail("cannot stat lock file", path);
    if (rc != 0) {
      if (errno != EWOULDBLOCK) fail("cannot lock", path);
      *holder = flock_holder(mine.st_dev, mine.st_ino);
      if (*holder == 0) parse_content(read_content(fd.get()), holder, nullptr);
      return std::nullopt;
    }
    struct stat now;
    if (::stat(path.c_str(), &now) != 0 || now.st_dev != mine.st_dev || now.st_ino != mine.st_ino) {
      continue;
    }
    ::fchmod(fd.get(), 0644);  // whatever the umask: the pid in it is for everyone to read
    InstanceLock lock(path, std::move(fd));
    parse_content(read_content(lock.fd_.get()), nullptr, &lock.previous_created_);
    return lock;
  }
  errno = EAGAIN;
  fail("lock file keeps being replaced:", path);
}

InstanceLock::~InstanceLock() { release(); }

void InstanceLock::record(const std::optional<Created>& created) {
  char buf[kMaxContent];
  int n = std::snprintf(buf, sizeof buf, "pid %lld\n", static_cast<long long>(::getpid()));
  if (created) {
    n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), "created %llu %llu\n",
                       static_cast<unsigned long long>(created->dev),
                       static_cast<unsigned long long>(created->ino));
  }
  if (::ftruncate(fd_.get(), 0) != 0 ||
      ::pwrite(fd_.get(), buf, static_cast<size_t>(n), 0) != static_cast<ssize_t>(n)) {
    fail("cannot write lock file", path_);
  }
}

void InstanceLock::release() noexcept {
  if (!fd_.valid()) return;
  // Removed while still locked, so that nobody locks a file that is about to disappear and
  // believes it is the only server (acquire() checks the path against what it locked).
  ::unlink(path_.c_str());
  fd_.reset();
}

}  // namespace doors::detail
