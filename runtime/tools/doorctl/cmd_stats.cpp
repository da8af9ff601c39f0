// doorctl stats: what a door server has done, and how busy it is.
#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>

#include "commands.h"

namespace doorctl {
namespace {

using Stats = doors::introspection::Stats;

struct Options {
  bool watch = false;
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  bool interval_given = false;  // --interval was on the command line (it needs --watch)
  uint64_t count = 0;           // 0: until interrupted
};

// Calls of each method at the previous sample, for rates.
using Previous = std::map<std::pair<uint64_t, uint16_t>, uint64_t>;

std::string status_name(doors::introspection::ServingStatus s) {
  return s == doors::introspection::ServingStatus::SERVING ? "serving" : "draining";
}

void print_table(Stats::Reader s, const Door& door, const Previous* previous, double seconds,
                 Previous* now) {
  auto pool = s.getPool();
  std::printf("%s: pid %u, %s, up %s\n", door.path.c_str(), s.getPid(),
              status_name(s.getStatus()).c_str(), format_uptime(s.getUptimeNs()).c_str());
  std::printf("pool: %u threads, %u busy, %u idle", pool.getThreads(), pool.getBusyThreads(),
              pool.getIdleThreads());
  if (pool.getMaxThreads() != 0)
    std::printf(" (bounds %u:%u)", pool.getMinThreads(), pool.getMaxThreads());
  std::printf("; %u connections; %u door%s; shared memory %s\n\n", s.getConnections(), s.getDoors(),
              s.getDoors() == 1 ? "" : "s", format_bytes(s.getSharedMemoryBytes()).c_str());

  size_t width = 6;
  for (auto i : s.getInterfaces()) {
    for (auto m : i.getMethods())
      width = std::max(width, i.getName().size() + 1 + m.getName().size());
  }
  std::printf("%-*s %10s %8s %6s", static_cast<int>(width), "METHOD", "CALLS", "ERRORS", "BUSY");
  if (previous != nullptr) std::printf(" %9s", "CALLS/S");
  std::printf(" %9s %9s %9s %9s\n", "P50", "P90", "P99", "MAX");
  for (auto i : s.getInterfaces()) {
    for (auto m : i.getMethods()) {
      std::string name = std::string(i.getName().cStr()) + "." + m.getName().cStr();
      std::printf("%-*s %10llu %8llu %6u", static_cast<int>(width), name.c_str(),
                  static_cast<unsigned long long>(m.getCalls()),
                  static_cast<unsigned long long>(m.getErrors()), m.getInFlight());
      auto key = std::make_pair(i.getId(), m.getOrdinal());
      if (previous != nullptr) {
        auto it = previous->find(key);
        uint64_t before = it != previous->end() ? it->second : 0;
        double rate = seconds > 0 ? static_cast<double>(m.getCalls() - before) / seconds : 0;
        std::printf(" %9.0f", rate);
      }
      (*now)[key] = m.getCalls();
      auto l = m.getLatency();
      bool any = m.getCalls() != 0;
      std::printf(" %9s %9s %9s %9s\n", any ? format_ns(l.getP50Ns()).c_str() : "-",
                  any ? format_ns(l.getP90Ns()).c_str() : "-",
                  any ? format_ns(l.getP99Ns()).c_str() : "-",
                  any ? format_ns(l.getMaxNs()).c_str() : "-");
    }
    if (i.getRejected() != 0) {
      std::printf("%-*s %10llu requests refused before any method ran\n", static_cast<int>(width),
                  (std::string(i.getName().cStr()) + ".*").c_str(),
                  static_cast<unsigned long long>(i.getRejected()));
    }
  }
}

}  // namespace

int run_stats(Args& args, GlobalOptions& global) {
  Options o;
  std::optional<std::string> path;
  while (!args.done()) {
    if (global_option(args, global)) continue;
    if (args.flag("--watch", "-w")) {
      o.watch = true;
    } else if (auto i = args.option("--interval")) {
      auto t = parse_timeout("--interval", *i);
      if (!t || *t < std::chrono::milliseconds(10))
        throw UsageError{"--interval must be at least 10ms"};
      o.interval = *t;
      o.interval_given = true;
    } else if (auto c = args.option("--count")) {
      o.count = parse_count("--count", *c, 1000000000);
    } else if (path) {
      throw UsageError{"unexpected argument '" + args.peek() + "'"};
    } else {
      path = operand(args, "PATH");
    }
  }
  if (!path) throw UsageError{"PATH is missing"};
  if (!o.watch && (o.count != 0 || o.interval_given)) {
    throw UsageError{"--interval and --count go with --watch"};
  }
  if (!o.watch) o.count = 1;

  Door door = open_door(*path);
  require_typed(door, "report statistics");
  doors::IntrospectionClient client(door.client.door());
  bool terminal = is_terminal(STDOUT_FILENO);

  // SIGINT/SIGTERM end --watch between samples, cleanly.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  doors::OwnedFd signals;
  if (o.watch) {
    ::sigprocmask(SIG_BLOCK, &stop, nullptr);
    signals.reset(::signalfd(-1, &stop, SFD_CLOEXEC));
  }

  capnp::JsonCodec json;
  Previous previous;
  auto last = std::chrono::steady_clock::now();
  for (uint64_t n = 0; o.count == 0 || n < o.count; ++n) {
    if (n > 0) {
      pollfd p{signals.get(), POLLIN, 0};
      int ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(o.interval).count());
      if (::poll(&p, signals.valid() ? 1 : 0, ms) > 0) break;
    }
    doors::Reply<doors::IntrospectionClient::Stats> reply;
    try {
      reply = client.stats(global.call_options());
    } catch (const doors::Error& e) {
      fail_call(e);
    }
    auto s = reply->getStats();
    auto now = std::chrono::steady_clock::now();
    if (global.json) {
      kj::String text = json.encode(s);
      std::printf("%s\n", text.cStr());
    } else {
      if (o.watch && terminal) std::fputs("\033[H\033[2J", stdout);  // redraw in place
      if (o.watch && !terminal && n > 0) std::fputs("\n", stdout);
      Previous current;
      double seconds = std::chrono::duration<double>(now - last).count();
      print_table(s, door, o.watch && n > 0 ? &previous : nullptr, seconds, &current);
      previous = std::move(current);
    }
    last = now;
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace doorctl
