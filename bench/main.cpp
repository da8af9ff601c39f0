// doors_bench: door calls beside their limits and their peers, between two processes, in one run.
//
// Every case forks its server before any thread exists; the parent is the client. Each server
// reads every argument byte (it checksums them) and replies with 8 bytes, which the client
// checks, so a mechanism that merely maps memory cannot look faster than one that copies.
// Google Benchmark runs the registered cases; this file then prints one table of every case's
// figures, a table of the target ratios (all from this run), and writes the same as JSON.
// Absolute numbers move 2-3x between machines: compare only the figures of one run.
//
// Flags of its own (the rest go to Google Benchmark, e.g. --benchmark_filter=door):
//   --quick              under a minute: one pass of shorter cases
//   --json FILE          where the JSON goes (default: no JSON)
//   --thread-seconds S   how long each case with client threads runs
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "cases.h"

namespace bench {
namespace {

const Result* find(const std::string& name) {
  auto it = results().find(name);
  return it == results().end() || !it->second.error.empty() ? nullptr : &it->second;
}

std::string cell(double v, const char* fmt) {
  if (std::isnan(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

void print_results() {
  std::printf("\n%-32s %12s %10s %10s %10s %9s  %s\n", "case", "calls/s", "p50 us", "p99 us",
              "MB/s", "fairness", "other");
  for (const auto& [name, r] : results()) {
    if (!r.error.empty()) {
      std::printf("%-32s ERROR: %s\n", name.c_str(), r.error.c_str());
      continue;
    }
    std::string other = std::isnan(r.value) ? "" : cell(r.value, "%.1f ") + r.unit;
    // Passes whose p50 differ more than 2x caught the case in different CPU placements: the
    // median then depends on which placement two of the three passes found.
    if (r.p50_passes.size() > 1) {
      auto [lo, hi] = std::minmax_element(r.p50_passes.begin(), r.p50_passes.end());
      if (*hi > 2 * *lo) {
        other += "passes disagree, p50 us:";
        for (double v : r.p50_passes) other += " " + cell(v, "%.1f");
      }
    }
    std::printf("%-32s %12s %10s %10s %10s %9s  %s\n", name.c_str(),
                cell(r.calls_per_s, "%.0f").c_str(), cell(r.p50_us, "%.2f").c_str(),
                cell(r.p99_us, "%.2f").c_str(), cell(r.mb_per_s, "%.0f").c_str(),
                cell(r.fairness, "%.2f").c_str(), other.c_str());
  }
}

// One row of the ratio table: a figure of one case over the same figure of another (or, with
// no denominator, the figure itself), against a target.
struct Ratio {
  std::string label;
  std::string num;
  std::string den;  // empty: the numerator's figure alone
  double Result::*field;
  bool at_most;  // the target is an upper bound (latency, memory), else a lower bound
  double target;
};

std::vector<Ratio> ratios() {
  std::vector<Ratio> v;
  auto add = [&](std::string label, std::string num, std::string den, double Result::*field,
                 bool at_most, double target) {
    v.push_back({std::move(label), std::move(num), std::move(den), field, at_most, target});
  };
  using R = Result;
  // 1. The null call against the blocking limit and the peers, fairness, one CPU.
  add("1 door null p50 / futex same-CPU p50", "door_call/null", "futex/same_cpu", &R::p50_us, true,
      2.0);
  for (const char* peer : {"unix_stream", "pipe", "capnp", "grpc"}) {
    add(std::string("1 door null p50 / ") + peer + " null p50", "door_call/null",
        std::string(peer) + "/null", &R::p50_us, true, 0.2);
  }
  add("1 door fairness, 4 client threads", "door_call/null/threads:4", "", &R::fairness, false,
      0.7);
  add("1 single-CPU door null p50 / futex p50", "single_cpu/door_call/null", "single_cpu/futex",
      &R::p50_us, true, 1.3);
  // The floor under that target: the futex round trip with the system calls door_call(3C)'s
  // semantics cost (limit_cases.cpp). When it misses 1.3 itself, no door call keeping those
  // semantics can meet it; the second row is how close door_call comes to that floor.
  add("1 (floor) futex + door_call's syscalls / futex", "single_cpu/futex+door_syscalls",
      "single_cpu/futex", &R::p50_us, true, 1.3);
  add("1 single-CPU door null p50 / that floor", "single_cpu/door_call/null",
      "single_cpu/futex+door_syscalls", &R::p50_us, true, 1.3);
  // 2. The tail against the futex of the same placement.
  add("2 door null p99 / futex unpinned p99", "door_call/null", "futex/unpinned", &R::p99_us, true,
      1.5);
  add("2 single-CPU door null p99 / futex p99", "single_cpu/door_call/null", "single_cpu/futex",
      &R::p99_us, true, 1.5);
  // 3. Moving arguments.
  add("3 door 1 MiB MB/s / one-copy limit", "door_call/arg:1MiB", "one_copy/1MiB", &R::mb_per_s,
      false, 0.8);
  add("3 door 1 MiB MB/s / capnp", "door_call/arg:1MiB", "capnp/arg:1MiB", &R::mb_per_s, false,
      1.7);
  add("3 door 1 MiB MB/s / grpc", "door_call/arg:1MiB", "grpc/arg:1MiB", &R::mb_per_s, false, 3.5);
  add("3 door 16 MiB MB/s / memcpy 16 MiB", "door_call/arg:16MiB", "memcpy/16MiB", &R::mb_per_s,
      false, 0.4);
  // 4. Throughput with client threads.
  for (int n : {2, 4}) {
    std::string t = "/null/threads:" + std::to_string(n);
    std::string door = "door_call" + t;
    std::string label = "4 door calls/s, " + std::to_string(n) + " threads / ";
    add(label + "unix_stream", door, "unix_stream" + t, &R::calls_per_s, false, 1.0);
    add(label + "capnp", door, "capnp" + t, &R::calls_per_s, false, 4.0);
    add(label + "grpc", door, "grpc" + t, &R::calls_per_s, false, 6.0);
  }
  // 5. The typed stubs against door_call.
  add("5 typed null p50 / door null p50", "typed/null", "door_call/null", &R::p50_us, true, 1.1);
  add("5 typed 1 MiB MB/s / door 1 MiB", "typed/arg:1MiB", "door_call/arg:1MiB", &R::mb_per_s,
      false, 0.9);
  // 6. Memory.
  add("6 server KiB RSS per idle connection", "memory/idle_connection", "", &R::value, true, 32);
  return v;
}

struct RatioRow {
  const Ratio* ratio;
  double value;  // NaN when a case is missing or failed
  const char* verdict;
};

std::vector<RatioRow> evaluate(const std::vector<Ratio>& rs) {
  std::vector<RatioRow> rows;
  for (const Ratio& r : rs) {
    double value = NAN;
    const Result* a = find(r.num);
    const Result* b = r.den.empty() ? nullptr : find(r.den);
    if (a != nullptr && (r.den.empty() || b != nullptr)) {
      value = b == nullptr ? a->*r.field : a->*r.field / b->*r.field;
    }
    const char* verdict = std::isnan(value)                                     ? "n/a"
                          : (r.at_most ? value <= r.target : value >= r.target) ? "met"
                                                                                : "NOT met";
    rows.push_back({&r, value, verdict});
  }
  return rows;
}

void print_ratios(const std::vector<RatioRow>& rows) {
  std::printf("\n%-48s %9s  %-8s %s\n", "ratio (this run)", "value", "target", "");
  for (const RatioRow& row : rows) {
    char target[24];
    std::snprintf(target, sizeof target, "%s %g",
                  row.ratio->at_most ? "<=" : ">=", row.ratio->target);
    std::printf("%-48s %9s  %-8s %s\n", row.ratio->label.c_str(), cell(row.value, "%.2f").c_str(),
                target, row.verdict);
  }
}

// JSON numbers: NaN becomes null.
std::string num(double v) {
  if (std::isnan(v) || std::isinf(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string str(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The first three fields of /proc/loadavg: other work on the machine makes every figure noisy.
std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

bool write_json(const std::string& path, const std::vector<RatioRow>& rows,
                const std::string& load_before, const std::string& load_after) {
  std::ofstream out(path);
  if (!out) return false;
  out << "{\n  \"cpus\": " << allowed_cpus().size()
      << ",\n  \"loadavg_before\": " << str(load_before)
      << ",\n  \"loadavg_after\": " << str(load_after) << ",\n  \"cases\": [\n";
  bool first = true;
  for (const auto& [name, r] : results()) {
    out << (first ? "" : ",\n") << "    {\"name\": " << str(name);
    first = false;
    if (!r.error.empty()) {
      out << ", \"error\": " << str(r.error) << "}";
      continue;
    }
    out << ", \"calls_per_s\": " << num(r.calls_per_s) << ", \"p50_us\": " << num(r.p50_us)
        << ", \"p99_us\": " << num(r.p99_us) << ", \"MB_per_s\": " << num(r.mb_per_s)
        << ", \"fairness\": " << num(r.fairness) << ", \"p50_us_passes\": [";
    for (size_t i = 0; i < r.p50_passes.size(); ++i) out << (i ? ", " : "") << num(r.p50_passes[i]);
    out << "]";
    if (!r.unit.empty()) out << ", " << str(r.unit) << ": " << num(r.value);
    out << "}";
  }
  out << "\n  ],\n  \"ratios\": [\n";
  first = true;
  for (const RatioRow& row : rows) {
    out << (first ? "" : ",\n") << "    {\"label\": " << str(row.ratio->label)
        << ", \"numerator\": " << str(row.ratio->num)
        << ", \"denominator\": " << (row.ratio->den.empty() ? "null" : str(row.ratio->den))
        << ", \"value\": " << num(row.value)
        << ", \"target\": " << str(row.ratio->at_most ? "<=" : ">=")
        << ", \"bound\": " << num(row.ratio->target) << ", \"verdict\": " << str(row.verdict)
        << "}";
    first = false;
  }
  out << "\n  ]\n}\n";
  return static_cast<bool>(out);
}

// The memory case holds thousands of descriptors on each side; forked servers inherit this.
void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  bool quick = false;
  std::string json;
  double thread_seconds = NAN;
  std::vector<char*> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--json" && i + 1 < argc) {
      json = argv[++i];
    } else if (a == "--thread-seconds" && i + 1 < argc) {
      thread_seconds = std::atof(argv[++i]);
    } else {
      args.push_back(argv[i]);
    }
  }
  // The default per-case time goes first, so a --benchmark_min_time given by hand wins.
  // A default run takes the median of three interleaved passes: unpinned cases move between
  // "both on one CPU" and "one on each" from pass to pass, and back-to-back passes would share
  // whatever placement the first found. Flags given by hand come later and win.
  static char quick_min_time[] = "--benchmark_min_time=0.3";
  static char default_min_time[] = "--benchmark_min_time=0.5";
  static char default_repetitions[] = "--benchmark_repetitions=3";
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  if (quick) {
    args.insert(args.begin() + 1, quick_min_time);
  } else {
    args.insert(args.begin() + 1, {default_min_time, default_repetitions, interleave});
  }
  options().thread_seconds = std::isnan(thread_seconds) ? (quick ? 1.0 : 2.0) : thread_seconds;
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  // Flags first: --help exits here, before any server exists. Initialize starts no thread.
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 2;

  raise_nofile();
  Children children;
  if (!start_limit_servers(children) || !start_door_servers(children) ||
      !start_unix_servers(children) || !start_capnp_server(children) ||
      !start_grpc_server(children)) {
    return 1;
  }
  register_door_cases();
  register_limit_cases();
  register_unix_cases();
  register_capnp_cases();
  register_grpc_cases();

  const std::string load_before = loadavg();
  std::fprintf(stderr, "doors_bench: %zu CPUs allowed%s; load average %s\n", allowed_cpus().size(),
               quick ? ", quick run" : "", load_before.c_str());
  ResultReporter progress;
  benchmark::RunSpecifiedBenchmarks(&progress);
  benchmark::Shutdown();
  finalize_results();
  const std::string load_after = loadavg();

  print_results();
  std::vector<Ratio> rs = ratios();
  std::vector<RatioRow> rows = evaluate(rs);
  print_ratios(rows);
  std::printf(
      "\nload average before %s, after %s (%zu CPUs): other work on the machine makes "
      "every figure noisy\n",
      load_before.c_str(), load_after.c_str(), allowed_cpus().size());
  bool ok = progress.errors() == 0;
  if (!json.empty()) {
    if (write_json(json, rows, load_before, load_after)) {
      std::printf("\nJSON: %s\n", json.c_str());
    } else {
      std::fprintf(stderr, "error: cannot write %s\n", json.c_str());
      ok = false;
    }
  }
  ok &= children.stop();
  return ok ? 0 : 1;
}
