// Leak checking around tests: what a process holds (descriptors, threads, memory, memfd
// mappings, child processes) read from /proc before and after, and what differs.
//
// Every integration test binary links leak_check_listener.cpp, which checks the test process
// around every test: a test ends with the descriptors, threads, memfd mappings and children it
// started with, its resident memory within kRssSlack of where it started (and under
// kRssCeiling), and no file left of its TempDirs or of its unique_name()s in $TMPDIR. Any drift
// fails the test, naming what leaked ("socket:[123]", "/memfd:doors-arena (deleted)", a path, a
// thread's name, a child's pid and state).
//
// ForkedServer and ExampleServer check their server the same way at orderly teardown (stop(),
// or their destructor), against a snapshot taken once the server said it was ready: by then the
// test has closed what it opened, so the server's descriptors and memfd mappings must be back to
// that baseline (after a bounded wait for it to notice the hang-ups). The server's threads are
// not checked: pools grow on demand and keep their threads (that is their design, with no bound
// a test could hold them to), so growth is no leak. A server killed on purpose (kill_and_reap)
// is not checked.
//
// libdoors keeps a call channel per (client thread, door) (a socket, its shuttle page and
// arenas: a descriptor and memfd mappings, in the client and in the server) for the thread's
// life, and closes the ones whose door is gone lazily. The test thread's channels therefore
// outlive the test's calls by design; both checks have libdoors close them
// (doors_release_channels) before they look. The server check also leaves out the server's end
// of a connection whose other end the test process still holds (a door descriptor a test keeps
// across its server's stop, to see calls fail): that descriptor is the test's, and the test
// process's own check reports it if the test never closes it.
//
// Releases that happen a moment later (a server closing its end, a thread finishing its exit)
// are waited for: the snapshot is taken again until it matches or a deadline passes.
//
// Resident memory. It cannot be expected to come back exactly: malloc keeps freed memory in its
// arenas and caches (the snapshot of the test process calls malloc_trim first, which gives most
// of it back), a thread's first call to malloc makes an arena of its own, and pages of the heap
// touched once stay resident. kRssSlack (8 MiB) is the growth tolerated per test: a test
// that leaks a megabyte a call in a loop, or keeps a large arena mapped, exceeds it; allocator
// noise of a few hundred KiB does not. kRssCeiling bounds the whole process. Under ASan freed
// memory sits in the quarantine (256 MiB by default) and TSan keeps shadow and metadata for
// whatever was touched, so RSS says nothing there: the sanitizer builds skip the RSS check
// (LeakSanitizer checks the heap precisely in the ASan build) and keep every other check.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "deadline.h"

namespace doors::test {

inline constexpr long kRssSlack = 8L << 20;
inline constexpr long kRssCeiling = 512L << 20;

// What a process holds, read from /proc/<pid>.
struct ResourceSnapshot {
  pid_t pid = 0;
  bool complete = false;                   // false when /proc/<pid> could not be read
  std::map<int, std::string> fds;          // descriptor -> what it is (readlink of /proc/.../fd/N)
  std::map<pid_t, std::string> threads;    // tid -> name
  std::map<std::string, long> memfd_maps;  // "/memfd:name (deleted) inode N" -> bytes mapped
  std::map<pid_t, std::string> children;   // child pid -> "name (state)"
  long rss_bytes = 0;
};

// Reads the snapshot of process `pid` (0: this process). Another process's needs the same uid or
// root.
ResourceSnapshot take_snapshot(pid_t pid = 0);

// What to compare.
struct LeakChecks {
  bool fds = true;
  bool threads = true;
  bool memfd_maps = true;
  bool children = true;
  bool rss = true;
  long rss_slack = kRssSlack;
  long rss_ceiling = kRssCeiling;
  // When given: descriptors (by what they are) that are not counted, for the server check's
  // connections whose other end the test process still holds (see check_server_leaks).
  std::function<bool(const std::string& what)> excused;
};

// The inode of the peer of every connected Unix socket of this network namespace, by the inode
// of the socket (NETLINK_SOCK_DIAG). Empty when the kernel cannot tell.
std::map<unsigned, unsigned> unix_socket_peers();

// The checks for this build: rss off under ASan and TSan (see above).
LeakChecks default_checks();

// What `after` holds beyond `before`, one line per item ("" when nothing).
std::string describe_drift(const ResourceSnapshot& before, const ResourceSnapshot& after,
                           const LeakChecks& checks);

// Takes snapshots of before.pid until none drifts from `before` or the deadline passes; returns
// the drift of the last one ("" when it came back). `before_each_look`, when given, runs before
// each snapshot.
std::string wait_for_no_drift(const ResourceSnapshot& before, const LeakChecks& checks,
                              Deadline deadline,
                              const std::function<void()>& before_each_look = {});

// How long a check waits for asynchronous releases. Generous for slow sanitizer builds; a test
// that does not leak waits only for the releases themselves.
inline constexpr std::chrono::milliseconds kLeakPatience{5'000};

// Entries of $TMPDIR (or /tmp) whose name a unique_name() of this process made during the
// current test would contain ("-<pid>-<Suite.Test>-").
std::vector<std::string> files_of_current_test();

// The check of the test process around one test, as the listener runs it: start() at the
// test's start, finish() at its end returns the drift ("" when none), including TempDirs made
// since start() and still there, and new files of files_of_current_test().
class TestLeakCheck {
 public:
  void start();
  std::string finish(Deadline deadline) const;

 private:
  ResourceSnapshot before_;
  size_t temp_dirs_before_ = 0;
  std::set<std::string> files_before_;
};

// Opt-out for the current test, with the reason shown in its output: the test process is not
// checked after this test (its servers still are). Call it in the test body.
void skip_leak_check(std::string_view reason);

// Is the leak check on in this process (an integration binary)? ForkedServer and ExampleServer
// check their servers only then.
bool leak_check_enabled();
void enable_leak_check();

// Enables the check and installs the listener that checks the test process around every test
// (leak_check_listener.cpp calls it before main).
void install_leak_check();

}  // namespace doors::test
