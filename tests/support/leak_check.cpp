#include "leak_check.h"

#include <dirent.h>
#include <doors/ext.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "fd.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

std::string proc_dir(pid_t pid) {
  return pid == 0 ? std::string("/proc/self") : "/proc/" + std::to_string(pid);
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The numeric entries of a /proc directory, and the descriptor opendir used (-1 for none).
std::vector<long> numeric_entries(const std::string& dir, int* own_fd = nullptr) {
  std::vector<long> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  if (own_fd != nullptr) *own_fd = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long n = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0') out.push_back(n);
  }
  ::closedir(d);
  return out;
}

std::string link_target(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

void read_memfd_maps(const std::string& dir, ResourceSnapshot& s) {
  std::ifstream in(dir + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    auto at = line.find("/memfd:");
    if (at == std::string::npos) continue;
    // "start-end perms offset dev inode path"
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode;
    fields >> range >> perms >> offset >> dev >> inode;
    auto dash = range.find('-');
    if (dash == std::string::npos) continue;
    unsigned long start = std::strtoul(range.substr(0, dash).c_str(), nullptr, 16);
    unsigned long end = std::strtoul(range.substr(dash + 1).c_str(), nullptr, 16);
    s.memfd_maps[line.substr(at) + " inode " + inode] += static_cast<long>(end - start);
  }
}

void read_children(const std::string& dir, ResourceSnapshot& s) {
  for (long tid : numeric_entries(dir + "/task")) {
    std::ifstream in(dir + "/task/" + std::to_string(tid) + "/children");
    long child = 0;
    while (in >> child) {
      // /proc/<child>/stat: "pid (comm) state ..."; comm may hold spaces and parentheses.
      std::string stat = first_line("/proc/" + std::to_string(child) + "/stat");
      auto open = stat.find('('), close = stat.rfind(')');
      std::string what = "?";
      if (open != std::string::npos && close != std::string::npos && close + 2 < stat.size())
        what = stat.substr(open + 1, close - open - 1) + " (state " + stat[close + 2] + ")";
      s.children[static_cast<pid_t>(child)] = what;
    }
  }
}

std::atomic<bool> g_enabled{false};
std::string g_skip_reason;  // the current test's, set and read on the main thread

}  // namespace

ResourceSnapshot take_snapshot(pid_t pid) {
  if (pid == 0) {
    // ThreadSanitizer starts a background thread of its own at the process's first
    // pthread_create, which would then look like a thread the test left running: a first thread,
    // made and joined before the first snapshot, has it there from the start.
    static const bool sanitizer_threads_started = [] {
      std::thread([] {}).join();
      return true;
    }();
    (void)sanitizer_threads_started;
  }
  ResourceSnapshot s;
  s.pid = pid;
  std::string dir = proc_dir(pid);
  int own_fd = -1;
  std::vector<long> fds = numeric_entries(dir + "/fd", pid == 0 ? &own_fd : nullptr);
  if (fds.empty()) return s;  // every process has descriptors: /proc/<pid> is gone or hidden
  for (long fd : fds) {
    if (fd == own_fd) continue;  // the directory listing itself
    std::string target = link_target(dir + "/fd/" + std::to_string(fd));
    if (!target.empty()) s.fds[static_cast<int>(fd)] = target;
  }
  for (long tid : numeric_entries(dir + "/task"))
    s.threads[static_cast<pid_t>(tid)] = first_line(dir + "/task/" + std::to_string(tid) + "/comm");
  read_memfd_maps(dir, s);
  read_children(dir, s);
  // Freed heap memory goes back to the kernel first, from every malloc arena, so that resident
  // memory is what the process still holds rather than what malloc keeps for later (a test with
  // hundreds of threads leaves each thread's freed buffers in the arenas otherwise).
  if (pid == 0) ::malloc_trim(0);
  std::ifstream statm(dir + "/statm");
  long size = 0, resident = 0;
  if (statm >> size >> resident) s.rss_bytes = resident * ::sysconf(_SC_PAGESIZE);
  s.complete = true;
  return s;
}

LeakChecks default_checks() {
  LeakChecks c;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  c.rss = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  c.rss = false;
#endif
#endif
  return c;
}

std::string describe_drift(const ResourceSnapshot& before, const ResourceSnapshot& after,
                           const LeakChecks& checks) {
  std::ostringstream out;
  if (!after.complete) {
    out << "cannot read /proc/" << after.pid << "\n";
    return out.str();
  }
  if (checks.fds)
    for (const auto& [fd, what] : after.fds) {
      if (checks.excused && checks.excused(what)) continue;
      auto it = before.fds.find(fd);
      if (it == before.fds.end())
        out << "descriptor " << fd << " left open: " << what << "\n";
      else if (it->second != what)
        out << "descriptor " << fd << " is now " << what << " (was " << it->second << ")\n";
    }
  if (checks.threads)
    for (const auto& [tid, name] : after.threads)
      if (before.threads.count(tid) == 0)
        out << "thread " << tid << " (\"" << name << "\") still running\n";
  if (checks.memfd_maps)
    for (const auto& [what, bytes] : after.memfd_maps) {
      auto it = before.memfd_maps.find(what);
      long had = it == before.memfd_maps.end() ? 0 : it->second;
      if (bytes > had) out << (bytes - had) << " bytes of " << what << " left mapped\n";
    }
  if (checks.children)
    for (const auto& [pid, what] : after.children)
      if (before.children.count(pid) == 0)
        out << "child process " << pid << " " << what << " not reaped\n";
  if (checks.rss) {
    if (after.rss_bytes - before.rss_bytes > checks.rss_slack)
      out << "resident memory grew by " << (after.rss_bytes - before.rss_bytes) / 1024
          << " KiB (from " << before.rss_bytes / 1024
          << " KiB; tolerated: " << checks.rss_slack / 1024 << " KiB)\n";
    if (after.rss_bytes > checks.rss_ceiling)
      out << "resident memory " << after.rss_bytes / 1024 << " KiB over the ceiling of "
          << checks.rss_ceiling / 1024 << " KiB\n";
  }
  return out.str();
}

std::string wait_for_no_drift(const ResourceSnapshot& before, const LeakChecks& checks,
                              Deadline deadline, const std::function<void()>& before_each_look) {
  // /proc has no notification: look again with a growing pause between looks (from 1 ms, at
  // most 50 ms), until nothing drifts or the deadline passes. A test that leaks nothing returns
  // after the first look, or as soon as the releases in flight are done.
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (before_each_look) before_each_look();
    std::string drift = describe_drift(before, take_snapshot(before.pid), checks);
    if (drift.empty() || deadline.expired()) return drift;
    std::this_thread::sleep_for(std::min<Deadline::Clock::duration>(pause, deadline.remaining()));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

std::map<unsigned, unsigned> unix_socket_peers() {
  std::map<unsigned, unsigned> peers;
  UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl.valid()) return peers;
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } query{};
  query.header.nlmsg_len = sizeof query;
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  query.request.sdiag_family = AF_UNIX;
  query.request.udiag_states = ~0U;
  query.request.udiag_show = UDIAG_SHOW_PEER;
  if (::send(nl.get(), &query, sizeof query, 0) != static_cast<ssize_t>(sizeof query)) return peers;
  alignas(nlmsghdr) char buf[65536];
  for (;;) {
    ssize_t got = ::recv(nl.get(), buf, sizeof buf, 0);
    if (got <= 0) return peers;
    int left = static_cast<int>(got);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return peers;
      auto* msg = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
      int attrs = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *msg));
      for (auto* a = reinterpret_cast<rtattr*>(msg + 1); RTA_OK(a, attrs); a = RTA_NEXT(a, attrs))
        if (a->rta_type == UNIX_DIAG_PEER)
          peers[msg->udiag_ino] = *static_cast<std::uint32_t*>(RTA_DATA(a));
    }
  }
}

std::vector<std::string> files_of_current_test() {
  std::vector<std::string> out;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return out;
  // unique_name("x") is "x-<pid>-<Suite.Test>-<n>", its test name sanitized as unique_name does.
  std::string probe = unique_name("");
  std::string marker = probe.substr(0, probe.rfind('-') + 1);  // "-<pid>-<Suite.Test>-"
  const char* base = std::getenv("TMPDIR");
  std::string dir = base != nullptr && *base != '\0' ? base : "/tmp";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string_view(e->d_name).find(marker) != std::string_view::npos)
        out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  return out;
}

void skip_leak_check(std::string_view reason) {
  g_skip_reason = reason.empty() ? "(no reason given)" : std::string(reason);
  std::printf("[ LEAK CHECK ] skipped for the test process: %s\n", g_skip_reason.c_str());
}

bool leak_check_enabled() { return g_enabled.load(); }
void enable_leak_check() { g_enabled.store(true); }

void TestLeakCheck::start() {
  auto files = files_of_current_test();
  files_before_ = std::set<std::string>(files.begin(), files.end());
  temp_dirs_before_ = temp_dirs_made().size();
  before_ = take_snapshot();
}

std::string TestLeakCheck::finish(Deadline deadline) const {
  // The test thread's channels to doors that are gone now (see leak_check.h).
  std::string drift =
      wait_for_no_drift(before_, default_checks(), deadline, [] { doors_release_channels(); });
  std::vector<std::string> dirs = temp_dirs_made();
  for (size_t i = temp_dirs_before_; i < dirs.size(); ++i)
    if (::access(dirs[i].c_str(), F_OK) == 0)
      drift += "temporary directory " + dirs[i] + " left behind\n";
  for (const std::string& f : files_of_current_test())
    if (files_before_.count(f) == 0) drift += "file " + f + " left behind\n";
  return drift;
}

namespace {

// Around every test: the baseline at its start (before its fixture is built), the check at its
// end (after its fixture is destroyed, so its servers are stopped). gtest tells listeners of a
// test's end in reverse order, so this one, appended after the result printer, reports its
// failure before the printer writes the test's verdict; a failure added in OnTestEnd still
// belongs to the test (gtest forgets the current test only after OnTestEnd), so the test and
// the binary fail.
class LeakCheckListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo&) override {
    g_skip_reason.clear();
    check_.start();
  }

  void OnTestEnd(const ::testing::TestInfo&) override {
    if (!g_skip_reason.empty()) return;
    std::string drift = check_.finish(Deadline::in(kLeakPatience));
    if (!drift.empty())
      ADD_FAILURE() << "the test process did not end the test with what it started with "
                       "(tests/support/leak_check.h):\n"
                    << drift;
  }

 private:
  TestLeakCheck check_;
};

}  // namespace

void install_leak_check() {
  enable_leak_check();
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakCheckListener);
}

}  // namespace doors::test
