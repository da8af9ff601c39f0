// Per-test scratch directories and names.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace doors::test {

// A fresh directory made with mkdtemp(3) under $TMPDIR (or /tmp), named after the running test.
// Removed recursively on destruction, on every exit path. Not copyable.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string file(std::string_view name) const;
  // Creates (or truncates) a regular file `name` with exactly `mode` (umask does not apply) and
  // returns its path. Aborts the test process on failure.
  std::string make_file(std::string_view name, mode_t mode = 0644) const;
  // chmod(2) on the directory itself, e.g. 0755 so that a process that dropped root can reach
  // files in it.
  void chmod(mode_t mode) const;

 private:
  std::string path_;
};

// Every TempDir path this process made, in order (the leak check looks for the ones a test left).
std::vector<std::string> temp_dirs_made();

// The whole content of the file at `path` ("" when it cannot be read).
std::string read_file(const std::string& path);

// A name unique in this machine for this test run: prefix, pid, the current test's name and a
// counter. Only [A-Za-z0-9_.-] characters.
std::string unique_name(std::string_view prefix);

}  // namespace doors::test
