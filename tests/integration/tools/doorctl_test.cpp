// doorctl end to end, against its manual (runtime/tools/doorctl/help.cpp): the real doorctl
// binary run as an operator would, on doors served by the real example servers (calculator,
// kv_store, fd_server, and c_classic's plain C server for a door with no typed interface). JSON
// output is read with Cap'n Proto's JSON codec; exit statuses are the manual's 0/1/2/3.
#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <doors/runtime.h>
#include <gtest/gtest.h>
#include <kj/encoding.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "calculator.door.h"
#include "example_process.h"
#include "kv_store.door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using capnp::JsonValue;

// ---------------------------------------------------------------------------------------------
// Running doorctl

ProgramResult doorctl(std::vector<std::string> args, const EnvChanges& env = {},
                      std::string stdin_data = {}) {
  return run_program(DOORS_DOORCTL, args, env, std::move(stdin_data));
}

// doorctl run as a user that is not root: as nobody (through setpriv, from util-linux) when the
// test runs as root, else as the test's own user. For what root is never refused.
ProgramResult doorctl_unprivileged(std::vector<std::string> args, const EnvChanges& env = {}) {
  if (::geteuid() != 0) return doorctl(std::move(args), env);
  std::vector<std::string> line = {"--reuid=65534", "--regid=65534", "--clear-groups", "--",
                                   DOORS_DOORCTL};
  line.insert(line.end(), args.begin(), args.end());
  return run_program("/usr/bin/setpriv", line, env);
}

// `r` exited with `code`; otherwise how it ended and what it printed.
::testing::AssertionResult exited_with(const ProgramResult& r, int code) {
  if (r.status.exited_with(code)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected exit status " << code << "; doorctl " << r.status.describe()
         << "\nstdout: " << r.out << "\nstderr: " << r.err;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t count_of(std::string_view text, std::string_view part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::string hex_id(uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(id));
  return buf;
}

// The canonical path of `path` (a descriptor's /proc link names it so).
std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    ADD_FAILURE() << "realpath " << path;
    return path;
  }
  return buf;
}

void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

// ---------------------------------------------------------------------------------------------
// Reading JSON: Cap'n Proto's JsonCodec::decodeRaw into a JsonValue, no schema involved. (Its
// 0.9.2 parser misreads \u escapes with the hex digits a-f; doorctl's output here has none.)

class Json {
 public:
  explicit Json(std::string text) : text_(std::move(text)) {
    try {
      capnp::JsonCodec codec;
      codec.decodeRaw(kj::ArrayPtr<const char>(text_.data(), text_.size()),
                      message_.initRoot<JsonValue>());
      valid_ = true;
    } catch (const kj::Exception& e) {
      error_ = e.getDescription().cStr();
    }
  }
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;

  // Success, or why the text is not one JSON value.
  ::testing::AssertionResult valid() const {
    if (valid_) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "not JSON (" << error_ << "): " << text_;
  }
  JsonValue::Reader root() { return message_.getRoot<JsonValue>().asReader(); }

 private:
  std::string text_;
  capnp::MallocMessageBuilder message_;
  bool valid_ = false;
  std::string error_;
};

// Compact JSON text of a value (Cap'n Proto's encoder: members in their order, no spaces).
std::string encode(JsonValue::Reader v) {
  capnp::JsonCodec codec;
  return codec.encodeRaw(v).cStr();
}

// The canonical compact form of JSON text, to compare documents written differently.
std::string canonical(const std::string& text) {
  Json json(text);
  EXPECT_TRUE(json.valid());
  return encode(json.root());
}

bool has(JsonValue::Reader v, std::string_view key) {
  if (!v.isObject()) return false;
  for (auto f : v.getObject()) {
    if (std::string_view(f.getName().cStr(), f.getName().size()) == key) return true;
  }
  return false;
}

// v's member `key`; a JSON null (and a test failure) when v is no object or lacks it.
JsonValue::Reader member(JsonValue::Reader v, std::string_view key) {
  if (v.isObject()) {
    for (auto f : v.getObject()) {
      if (std::string_view(f.getName().cStr(), f.getName().size()) == key) return f.getValue();
    }
  }
  ADD_FAILURE() << "no member \"" << key << "\" in " << encode(v);
  return {};
}

std::string text(JsonValue::Reader v) {
  if (v.isString()) return v.getString().cStr();
  ADD_FAILURE() << "not a string: " << encode(v);
  return {};
}

double number(JsonValue::Reader v) {
  if (v.isNumber()) return v.getNumber();
  ADD_FAILURE() << "not a number: " << encode(v);
  return -1;
}

// An integer: a JSON number, or a decimal string (Cap'n Proto prints 64-bit integers so).
int64_t integer(JsonValue::Reader v) {
  if (v.isNumber()) return static_cast<int64_t>(v.getNumber());
  if (v.isString()) {
    std::string s = v.getString().cStr();
    size_t used = 0;
    try {
      long long n = std::stoll(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
  }
  ADD_FAILURE() << "not an integer: " << encode(v);
  return -1;
}

bool boolean(JsonValue::Reader v) {
  if (v.isBoolean()) return v.getBoolean();
  ADD_FAILURE() << "not a boolean: " << encode(v);
  return false;
}

capnp::List<JsonValue>::Reader array(JsonValue::Reader v) {
  if (v.isArray()) return v.getArray();
  ADD_FAILURE() << "not an array: " << encode(v);
  return {};
}

// The entry of `method` of `interface` in a Stats object (introspection.capnp).
JsonValue::Reader method_stats(JsonValue::Reader stats, std::string_view interface,
                               std::string_view method) {
  for (auto i : array(member(stats, "interfaces"))) {
    if (text(member(i, "name")) != interface) continue;
    for (auto m : array(member(i, "methods"))) {
      if (text(member(m, "name")) == method) return m;
    }
  }
  ADD_FAILURE() << "no stats for " << interface << "." << method << " in " << encode(stats);
  return {};
}

// "name  value" lines of `doorctl info` (the name in a 12-column field).
std::string info_line(const std::string& out, std::string_view name) {
  for (const std::string& line : lines_of(out)) {
    if (line.size() > 12 && line.compare(0, name.size(), name) == 0 &&
        line.find_first_not_of(' ', name.size()) == 12)
      return line.substr(12);
  }
  ADD_FAILURE() << "no line \"" << name << "\" in:\n" << out;
  return {};
}

// ---------------------------------------------------------------------------------------------
// The servers

class DoorctlTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& p : untyped_) {
      ChildStatus s = p->signal_and_reap(SIGTERM);
      EXPECT_TRUE(s.exited_with(0)) << "c_classic_server " << s.describe();
    }
  }

  ExampleServer& start(const char* binary, const std::string& path,
                       std::vector<std::string> args = {}) {
    servers_.push_back(std::make_unique<ExampleServer>(binary, path, std::move(args)));
    return *servers_.back();
  }
  // calculator_server with a pool of 3 to 7 threads, its openLog files in log_dir_.
  ExampleServer& start_calculator(const std::string& path) {
    return start(Binaries::calculator_server(), path,
                 {"--log-dir", log_dir_, "--threads",
                  std::to_string(kMinThreads) + ":" + std::to_string(kMaxThreads)});
  }
  ExampleServer& start_kv(const std::string& path) { return start(Binaries::kv_server(), path); }
  // fd_server serving root_, which holds a.txt.
  ExampleServer& start_fd_server(const std::string& path) {
    if (::mkdir(root_.c_str(), 0755) != 0 && errno != EEXIST) ADD_FAILURE() << "mkdir " << root_;
    write_file(root_ + "/a.txt", "hello\n");
    return start(Binaries::fd_server(), path, {"--root", root_});
  }
  // c_classic_server (plain C, <door.h> only): a door with no typed interface. nullptr (and a
  // test failure) when it did not get ready. Stopped with SIGTERM at teardown.
  ExampleProcess* start_untyped(const std::string& path) {
    untyped_.push_back(
        std::make_unique<ExampleProcess>(DOORS_C_CLASSIC_SERVER, std::vector<std::string>{path}));
    auto ready = untyped_.back()->wait_ready();
    if (!ready) {
      ADD_FAILURE() << "c_classic_server: " << ready.message();
      return nullptr;
    }
    return untyped_.back().get();
  }

  static constexpr int kMinThreads = 3;
  static constexpr int kMaxThreads = 7;

  TempDir dir_;
  std::string calc_path_ = dir_.file("calculator");
  std::string kv_path_ = dir_.file("kv_store");
  std::string fd_path_ = dir_.file("fd_server");
  std::string untyped_path_ = dir_.file("upcase");
  std::string log_dir_ = dir_.file("logs");
  std::string root_ = dir_.file("root");
  std::vector<std::unique_ptr<ExampleServer>> servers_;
  std::vector<std::unique_ptr<ExampleProcess>> untyped_;
};

// ---------------------------------------------------------------------------------------------
// help, --version, the command line

using DoorctlHelpTest = DoorctlTest;

TEST_F(DoorctlHelpTest, Help_NoCommand_PrintsTheOverview) {
  auto sut = doorctl({"help"});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_TRUE(contains(sut.out, "doorctl - list, inspect, call and measure door servers"));
  EXPECT_TRUE(contains(sut.out, "EXIT STATUS"));
  EXPECT_EQ(sut.err, "");
}

TEST_F(DoorctlHelpTest, HelpOption_PrintsTheOverview) {
  auto overview = doorctl({"help"});

  for (const char* option : {"--help", "-h"}) {
    SCOPED_TRACE(option);
    auto sut = doorctl({option});

    ASSERT_TRUE(exited_with(sut, 0));
    EXPECT_EQ(sut.out, overview.out);
  }
}

TEST_F(DoorctlHelpTest, HelpCommand_PrintsThatCommandsManual) {
  for (const char* command : {"ls", "info", "schema", "call", "stats", "bench"}) {
    SCOPED_TRACE(command);
    auto sut = doorctl({"help", command});

    ASSERT_TRUE(exited_with(sut, 0));
    EXPECT_TRUE(contains(sut.out, std::string("doorctl ") + command + " - ")) << sut.out;
    EXPECT_TRUE(contains(sut.out, "EXIT STATUS")) << sut.out;
  }
}

TEST_F(DoorctlHelpTest, CommandHelpOption_PrintsTheSameManualAsHelpCommand) {
  auto manual = doorctl({"help", "call"});

  for (std::vector<std::string> args :
       {std::vector<std::string>{"call", "--help"}, {"call", "-h"}, {"call", "x", "y", "--help"}}) {
    SCOPED_TRACE(args.back());
    auto sut = doorctl(args);

    ASSERT_TRUE(exited_with(sut, 0));
    EXPECT_EQ(sut.out, manual.out);
    EXPECT_TRUE(contains(sut.out, "doorctl call - call a method of a door"));
  }
}

TEST_F(DoorctlHelpTest, HelpUnknownCommand_ExitsWithUsage) {
  auto sut = doorctl({"help", "frobnicate"});

  EXPECT_TRUE(exited_with(sut, 2));
  EXPECT_EQ(sut.out, "");
  EXPECT_TRUE(contains(sut.err, "doorctl: error: no command 'frobnicate'")) << sut.err;
}

TEST_F(DoorctlHelpTest, UnknownCommand_ExitsWithUsage) {
  auto sut = doorctl({"frobnicate"});

  EXPECT_TRUE(exited_with(sut, 2));
  EXPECT_EQ(sut.out, "");
  EXPECT_TRUE(contains(sut.err, "no command 'frobnicate'")) << sut.err;
  EXPECT_TRUE(contains(sut.err, "Try 'doorctl help'")) << sut.err;
}

TEST_F(DoorctlHelpTest, NoCommand_ExitsWithUsage) {
  for (std::vector<std::string> args : {std::vector<std::string>{}, {"--json"}}) {
    auto sut = doorctl(args);

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "a command is needed")) << sut.err;
  }
}

TEST_F(DoorctlHelpTest, UnknownOption_ExitsWithUsage) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--frob"}, {"info", "--frob", calc_path_}, {"ls", "--frob"}}) {
    SCOPED_TRACE(args.front());
    auto sut = doorctl(args);

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "unknown option '--frob'")) << sut.err;
  }
}

TEST_F(DoorctlHelpTest, Version_PrintsTheRuntimeVersion) {
  auto sut = doorctl({"--version"});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(sut.out, std::string("doorctl ") + doors::runtime_version() + "\n");
}

TEST_F(DoorctlHelpTest, TimeoutNotATime_ExitsWithUsage) {
  for (const char* bad : {"xyz", "5h", "-1s", ""}) {
    SCOPED_TRACE(bad);
    auto sut = doorctl({"--timeout", bad, "info", calc_path_});

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "is not a time")) << sut.err;
  }
}

// ---------------------------------------------------------------------------------------------
// ls

using DoorctlLsTest = DoorctlTest;

TEST_F(DoorctlLsTest, Ls_Doors_ListsPathPidInterfaceAndCommand) {
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());
  ExampleProcess* up = start_untyped(untyped_path_);
  ASSERT_NE(up, nullptr);

  auto sut = doorctl({"ls", dir_.path()});

  ASSERT_TRUE(exited_with(sut, 0));
  auto lines = lines_of(sut.out);
  ASSERT_EQ(lines.size(), 3u) << sut.out;
  EXPECT_EQ(lines[0].substr(0, 4), "PATH");
  EXPECT_TRUE(contains(lines[0], "PID") && contains(lines[0], "INTERFACE") &&
              contains(lines[0], "COMMAND"))
      << lines[0];
  struct Row {
    std::string path, pid, interface, command;
  };
  std::vector<Row> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    Row r;
    in >> r.path >> r.pid >> r.interface >> std::ws;
    std::getline(in, r.command);
    rows.push_back(r);
  }
  EXPECT_EQ(rows[0].path, calc_path_);
  EXPECT_EQ(rows[0].pid, std::to_string(calc.process().pid()));
  EXPECT_EQ(rows[0].interface, "Calculator");
  EXPECT_EQ(rows[0].command.rfind(Binaries::calculator_server(), 0), 0u) << rows[0].command;
  EXPECT_TRUE(contains(rows[0].command, "--path " + calc_path_)) << rows[0].command;
  EXPECT_EQ(rows[1].path, untyped_path_);
  EXPECT_EQ(rows[1].pid, std::to_string(up->pid()));
  EXPECT_EQ(rows[1].interface, "-");
  EXPECT_EQ(rows[1].command, std::string(DOORS_C_CLASSIC_SERVER) + " " + untyped_path_);
}

TEST_F(DoorctlLsTest, LsJson_Doors_ListsAnObjectPerDoor) {
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());
  auto& kv = start_kv(kv_path_);
  ASSERT_TRUE(kv.ready());
  ExampleProcess* up = start_untyped(untyped_path_);
  ASSERT_NE(up, nullptr);

  auto sut = doorctl({"--json", "ls", dir_.path()});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto doors = array(json.root());
  ASSERT_EQ(doors.size(), 3u) << sut.out;
  // Sorted by path: calculator, kv_store, upcase.
  auto c = doors[0];
  EXPECT_EQ(text(member(c, "path")), calc_path_);
  EXPECT_EQ(integer(member(c, "pid")), calc.process().pid());
  EXPECT_TRUE(contains(text(member(c, "command")), Binaries::calculator_server()));
  EXPECT_EQ(text(member(c, "interface")), "Calculator");
  EXPECT_EQ(text(member(c, "interfaceId")), hex_id(calc::CalculatorDoor::kInterfaceId));
  EXPECT_EQ(text(member(c, "status")), "serving");
  EXPECT_TRUE(member(c, "error").isNull());
  auto k = doors[1];
  EXPECT_EQ(text(member(k, "path")), kv_path_);
  EXPECT_EQ(integer(member(k, "pid")), kv.process().pid());
  EXPECT_EQ(text(member(k, "interface")), "KvStore");
  EXPECT_EQ(text(member(k, "interfaceId")), hex_id(kv::KvStoreDoor::kInterfaceId));
  auto u = doors[2];
  EXPECT_EQ(text(member(u, "path")), untyped_path_);
  EXPECT_EQ(integer(member(u, "pid")), up->pid());
  EXPECT_TRUE(contains(text(member(u, "command")), DOORS_C_CLASSIC_SERVER));
  EXPECT_TRUE(member(u, "interface").isNull());
  EXPECT_TRUE(member(u, "interfaceId").isNull());
  EXPECT_TRUE(member(u, "status").isNull());
  EXPECT_TRUE(member(u, "error").isNull());
}

TEST_F(DoorctlLsTest, Ls_FilesWithNoDoor_AreNotListed) {
  dir_.make_file("plain");
  ASSERT_EQ(::mkdir(dir_.file("subdir").c_str(), 0755), 0);
  // A door file whose server was killed: the file stays, nothing is attached to it.
  std::string stale = dir_.file("stale");
  {
    ExampleProcess killed(Binaries::calculator_server(), {"--path", stale});
    ASSERT_TRUE(killed.wait_ready());
    ASSERT_TRUE(killed.signal_and_reap(SIGKILL).killed_by(SIGKILL));
  }
  struct stat st;
  ASSERT_EQ(::lstat(stale.c_str(), &st), 0) << "the killed server's file is gone";
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());

  auto sut = doorctl({"--json", "ls", dir_.path()});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto doors = array(json.root());
  ASSERT_EQ(doors.size(), 1u) << sut.out;
  EXPECT_EQ(text(member(doors[0], "path")), calc_path_);
}

TEST_F(DoorctlLsTest, Ls_DoorTheCallerMayNotOpen_IsListedWithItsError) {
  dir_.chmod(0755);  // listable by the unprivileged caller
  // Write-only for its owner: attached, but doorctl's open(O_RDONLY) is refused.
  ASSERT_TRUE(start(Binaries::calculator_server(), calc_path_, {"--mode", "0200"}).ready());

  auto sut = doorctl_unprivileged({"ls", "--json", dir_.path()});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto doors = array(json.root());
  ASSERT_EQ(doors.size(), 1u) << sut.out;
  EXPECT_EQ(text(member(doors[0], "path")), calc_path_);
  EXPECT_TRUE(member(doors[0], "pid").isNull());
  EXPECT_TRUE(member(doors[0], "command").isNull());
  EXPECT_TRUE(member(doors[0], "interface").isNull());
  EXPECT_TRUE(contains(text(member(doors[0], "error")), "Permission denied")) << sut.out;
}

TEST_F(DoorctlLsTest, Ls_SeveralDirs_SortsAllDoorsByPath) {
  // Listed in the order y, x; the doors come out sorted: x/a, x/b, y/a, y/c.
  std::string x = dir_.file("x"), y = dir_.file("y");
  ASSERT_EQ(::mkdir(x.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(y.c_str(), 0755), 0);
  for (const std::string& path : {y + "/c", x + "/b", y + "/a", x + "/a"})
    ASSERT_NE(start_untyped(path), nullptr);

  auto sut = doorctl({"ls", "--json", y, x});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  std::vector<std::string> paths;
  for (auto d : array(json.root())) paths.push_back(text(member(d, "path")));
  EXPECT_EQ(paths, (std::vector<std::string>{x + "/a", x + "/b", y + "/a", y + "/c"}));
}

TEST_F(DoorctlLsTest, Ls_NoDoors_ExitsZero) {
  dir_.make_file("plain");

  auto text_out = doorctl({"ls", dir_.path()});
  auto json_out = doorctl({"ls", "--json", dir_.path()});

  ASSERT_TRUE(exited_with(text_out, 0));
  EXPECT_EQ(lines_of(text_out.out).size(), 1u) << text_out.out;  // the header
  ASSERT_TRUE(exited_with(json_out, 0));
  EXPECT_EQ(canonical(json_out.out), "[]");
}

// As for doors::resolve_door_path, only a user other than root has doors in XDG_RUNTIME_DIR.
TEST_F(DoorctlLsTest, Ls_NoDir_ListsTheXdgRuntimeDoors) {
  dir_.chmod(0755);
  std::string runtime_dir = dir_.file("run");
  ASSERT_EQ(::mkdir(runtime_dir.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((runtime_dir + "/doors").c_str(), 0755), 0);
  std::string path = runtime_dir + "/doors/calculator";
  auto& calc = start(Binaries::calculator_server(), path, {"--mode", "0644"});
  ASSERT_TRUE(calc.ready());

  auto sut = doorctl_unprivileged({"ls", "--json"}, {{"XDG_RUNTIME_DIR", runtime_dir}});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  // /run/doors too, when it exists: other doors may be listed after ours.
  bool found = false;
  for (auto d : array(json.root())) found = found || text(member(d, "path")) == path;
  EXPECT_TRUE(found) << sut.out;
}

TEST_F(DoorctlLsTest, Ls_DirCannotBeRead_ExitsUnreachable) {
  std::string missing = dir_.file("missing");
  std::string file = dir_.make_file("plain");

  for (const std::string& bad : {missing, file}) {
    SCOPED_TRACE(bad);
    auto sut = doorctl({"ls", bad});

    EXPECT_TRUE(exited_with(sut, 3));
    EXPECT_TRUE(contains(sut.err, "doorctl: error: cannot read " + bad)) << sut.err;
  }
}

TEST_F(DoorctlLsTest, Ls_DirWithoutReadPermission_ExitsUnreachable) {
  dir_.chmod(0755);
  std::string closed = dir_.file("closed");
  ASSERT_EQ(::mkdir(closed.c_str(), 0), 0);

  auto sut = doorctl_unprivileged({"ls", closed});
  ::chmod(closed.c_str(), 0700);  // so that TempDir can remove it

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_TRUE(contains(sut.err, "Permission denied")) << sut.err;
}

// ---------------------------------------------------------------------------------------------
// info

using DoorctlInfoTest = DoorctlTest;

TEST_F(DoorctlInfoTest, Info_TypedDoor_PrintsServerInterfaceAndPool) {
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());

  auto sut = doorctl({"info", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(info_line(sut.out, "path"), calc_path_);
  std::string server = info_line(sut.out, "server");
  EXPECT_EQ(
      server.rfind(
          "pid " + std::to_string(calc.process().pid()) + ": " + Binaries::calculator_server(), 0),
      0u)
      << server;
  EXPECT_EQ(info_line(sut.out, "door").rfind("id 0x", 0), 0u);
  EXPECT_EQ(info_line(sut.out, "interface"),
            "Calculator (" + hex_id(calc::CalculatorDoor::kInterfaceId) + ")");
  std::string program = info_line(sut.out, "program");
  EXPECT_EQ(program.rfind("calculator_server ", 0), 0u) << program;
  EXPECT_TRUE(contains(program, ", serving, up ")) << program;
  EXPECT_TRUE(contains(info_line(sut.out, "pool"), "(bounds 3:7)")) << sut.out;
  EXPECT_TRUE(contains(info_line(sut.out, "clients"), "connections")) << sut.out;
  EXPECT_TRUE(contains(info_line(sut.out, "calls"), "to this door")) << sut.out;
}

TEST_F(DoorctlInfoTest, InfoJson_TypedDoor_HasTheServersFigures) {
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());

  auto sut = doorctl({"info", "--json", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto info = json.root();
  EXPECT_EQ(text(member(info, "path")), calc_path_);
  EXPECT_EQ(integer(member(info, "pid")), calc.process().pid());
  EXPECT_TRUE(contains(text(member(info, "command")), Binaries::calculator_server()));
  EXPECT_TRUE(boolean(member(info, "typed")));
  EXPECT_EQ(text(member(info, "interface")), "Calculator");
  EXPECT_EQ(text(member(info, "interfaceId")), hex_id(calc::CalculatorDoor::kInterfaceId));
  EXPECT_EQ(text(member(info, "program")), "calculator_server");
  EXPECT_EQ(text(member(info, "runtimeVersion")), doors::runtime_version());
  EXPECT_EQ(text(member(info, "status")), "serving");
  EXPECT_EQ(integer(member(info, "minThreads")), kMinThreads);
  EXPECT_EQ(integer(member(info, "maxThreads")), kMaxThreads);
  int64_t threads = integer(member(info, "threads"));
  EXPECT_GE(threads, kMinThreads);
  EXPECT_LE(threads, kMaxThreads);
  EXPECT_EQ(integer(member(info, "busyThreads")) + integer(member(info, "idleThreads")), threads);
  EXPECT_EQ(integer(member(info, "doors")), 1);
  EXPECT_EQ(integer(member(info, "attachments")), 1);
  EXPECT_FALSE(has(info, "error")) << sut.out;
}

TEST_F(DoorctlInfoTest, Info_JsonAfterThePath_IsTheGlobalOption) {
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());

  auto sut = doorctl({"info", calc_path_, "--json"});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  EXPECT_EQ(text(member(json.root(), "interface")), "Calculator");
}

TEST_F(DoorctlInfoTest, Info_UntypedDoor_SaysItHasNoInterface) {
  ExampleProcess* up = start_untyped(untyped_path_);
  ASSERT_NE(up, nullptr);

  auto sut = doorctl({"info", untyped_path_});
  auto sut_json = doorctl({"info", "--json", untyped_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(info_line(sut.out, "interface"), "none (the server does not use the Doors runtime)");
  EXPECT_EQ(info_line(sut.out, "server").rfind("pid " + std::to_string(up->pid()) + ": ", 0), 0u);
  ASSERT_TRUE(exited_with(sut_json, 0));
  Json json(sut_json.out);
  ASSERT_TRUE(json.valid());
  EXPECT_FALSE(boolean(member(json.root(), "typed")));
  EXPECT_EQ(integer(member(json.root(), "pid")), up->pid());
  EXPECT_FALSE(has(json.root(), "interface")) << sut_json.out;
}

TEST_F(DoorctlInfoTest, Info_FileWithNoDoor_ExitsUnreachable) {
  std::string plain = dir_.make_file("plain");

  auto sut = doorctl({"info", plain});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_EQ(sut.out, "");
  EXPECT_EQ(sut.err.rfind("doorctl: error: " + plain + " is not a door", 0), 0u) << sut.err;
}

TEST_F(DoorctlInfoTest, Info_MissingFile_ExitsUnreachable) {
  std::string missing = dir_.file("missing");

  auto sut = doorctl({"info", missing});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_TRUE(contains(sut.err, missing)) << sut.err;
  EXPECT_TRUE(contains(sut.err, "No such file or directory")) << sut.err;
}

TEST_F(DoorctlInfoTest, Info_DoorTheCallerMayNotOpen_ExitsUnreachable) {
  dir_.chmod(0755);
  ASSERT_TRUE(start(Binaries::calculator_server(), calc_path_, {"--mode", "0200"}).ready());

  auto sut = doorctl_unprivileged({"info", calc_path_});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_TRUE(contains(sut.err, "Permission denied")) << sut.err;
}

TEST_F(DoorctlInfoTest, Info_ServerKilled_ExitsUnreachable) {
  ExampleProcess killed(Binaries::calculator_server(), {"--path", calc_path_});
  ASSERT_TRUE(killed.wait_ready());
  ASSERT_TRUE(killed.signal_and_reap(SIGKILL).killed_by(SIGKILL));

  auto sut = doorctl({"info", calc_path_});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_TRUE(contains(sut.err, calc_path_)) << sut.err;
}

// doors::resolve_door_path: a bare name goes under $XDG_RUNTIME_DIR/doors/ for a user other than
// root, under /run/doors/ for root (which this test does not touch).
TEST_F(DoorctlInfoTest, Info_BareName_IsLookedUpInTheXdgRuntimeDir) {
  dir_.chmod(0755);
  std::string runtime_dir = dir_.file("run");
  ASSERT_EQ(::mkdir(runtime_dir.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((runtime_dir + "/doors").c_str(), 0755), 0);
  std::string path = runtime_dir + "/doors/calculator";
  auto& calc = start(Binaries::calculator_server(), path, {"--mode", "0644"});
  ASSERT_TRUE(calc.ready());

  auto sut =
      doorctl_unprivileged({"info", "--json", "calculator"}, {{"XDG_RUNTIME_DIR", runtime_dir}});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  EXPECT_EQ(text(member(json.root(), "path")), path);
  EXPECT_EQ(integer(member(json.root(), "pid")), calc.process().pid());
}

TEST_F(DoorctlInfoTest, Info_BareNameAsRoot_IsLookedUpInRunDoors) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root's bare names go to /run/doors";
  std::string name = unique_name("no_such_door");

  auto sut = doorctl({"info", name}, {{"XDG_RUNTIME_DIR", dir_.path()}});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_TRUE(contains(sut.err, "/run/doors/" + name)) << sut.err;
}

TEST_F(DoorctlInfoTest, Info_BadOperands_ExitWithUsage) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"info"}, {"info", calc_path_, "extra"}}) {
    SCOPED_TRACE(args.size());
    auto sut = doorctl(args);

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "Try 'doorctl help info'")) << sut.err;
  }
}

// ---------------------------------------------------------------------------------------------
// schema

using DoorctlSchemaTest = DoorctlTest;

TEST_F(DoorctlSchemaTest, Schema_Calculator_HasEveryMethodAndType) {
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());

  auto sut = doorctl({"schema", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  for (const char* part : {
           "using Door = import \"/doors/door.capnp\";",
           "interface Calculator @0xb67bafdd4a72c3fd $Door.path(\"calculator\") {",
           "add @0 (a :Int64, b :Int64) -> (sum :Int64);",
           "divide @1 (a :Int64, b :Int64) -> (quotient :Int64);",
           "total @2 (values :List(Float64)) -> (sum :Float64);",
           "openLog @3 (name :Text) -> (log :Door.Fd);",
           "session @4 () -> (s :Session);",
           "parse @5 (text :Text) -> (expression :Expression);",
           "evaluate @6 (expression :Expression, variables :List(Variable)) -> (value :Float64);",
           "struct Expression @0xb6f18f1189608ff8 {",
           "literal @0 :Float64;",
           "variable @1 :Text;",
           "operation :group {",
           "operator @2 :Operator;",
           "operands @3 :List(Expression);",
           "negate @4 :Expression;",
           "enum Operator @0x9b60d5bcbe9b5029 {",
           "subtract @1;",
           "interface Session @0x97f850fdd39e195c {",
           "put @0 (key :Text, value :Data) -> ();",
           "get @1 (key :Text) -> (value :Data);",
           "struct Variable @0xf41bb520b95614bd {",
           "name @0 :Text;",
           "value @1 :Float64;",
       }) {
    EXPECT_TRUE(contains(sut.out, part)) << "missing: " << part << "\n" << sut.out;
  }
}

TEST_F(DoorctlSchemaTest, Schema_EachExample_CompilesWithCapnp) {
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());
  auto& kv = start_kv(kv_path_);
  ASSERT_TRUE(kv.ready());
  auto& fd = start_fd_server(fd_path_);
  ASSERT_TRUE(fd.ready());

  for (const std::string& path : {calc_path_, kv_path_, fd_path_}) {
    SCOPED_TRACE(path);
    auto sut = doorctl({"schema", path});
    ASSERT_TRUE(exited_with(sut, 0));
    std::string file = path + ".from_door.capnp";
    write_file(file, sut.out);

    // No PWD: CTest runs tests elsewhere than its shell's PWD, and kj warns when they differ.
    auto compiled = run_program(
        DOORS_CAPNP,
        {"compile", "-o-", "-I", DOORS_DOOR_IMPORT_DIR, "-I", DOORS_CAPNP_IMPORT_DIR, file},
        {{"PWD", std::string(kUnset)}});

    EXPECT_TRUE(compiled.status.exited_with(0))
        << "capnp compile " << compiled.status.describe() << ": " << compiled.err << "\n"
        << sut.out;
    EXPECT_EQ(compiled.err, "");
  }
}

TEST_F(DoorctlSchemaTest, SchemaJson_HasInterfaceIdPathAndText) {
  auto& kv = start_kv(kv_path_);
  ASSERT_TRUE(kv.ready());
  auto plain = doorctl({"schema", kv_path_});

  auto sut = doorctl({"schema", "--json", kv_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  EXPECT_EQ(text(member(json.root(), "interface")), "KvStore");
  EXPECT_EQ(text(member(json.root(), "interfaceId")), hex_id(kv::KvStoreDoor::kInterfaceId));
  EXPECT_EQ(text(member(json.root(), "defaultPath")), kv::KvStoreDoor::kDefaultPath);
  EXPECT_EQ(text(member(json.root(), "schema")), plain.out);
  EXPECT_TRUE(contains(plain.out, "waitFor @4 (key :Text, timeoutMs :UInt32) -> (value :Data);"));
}

TEST_F(DoorctlSchemaTest, Schema_UntypedDoor_ExitsUnreachable) {
  ASSERT_NE(start_untyped(untyped_path_), nullptr);

  auto sut = doorctl({"schema", untyped_path_});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_EQ(sut.out, "");
  EXPECT_TRUE(contains(sut.err, "does not serve a typed interface")) << sut.err;
}

// ---------------------------------------------------------------------------------------------
// call: values of every kind, through JSON

class DoorctlCallTest : public DoorctlTest {
 protected:
  // `doorctl call path method json`, expected to succeed; its output, canonical.
  std::string call_ok(const std::string& path, const std::string& method, const std::string& json) {
    auto r = doorctl({"call", path, method, json});
    EXPECT_TRUE(exited_with(r, 0)) << method << " " << json;
    return canonical(r.out);
  }
};

TEST_F(DoorctlCallTest, Call_Int64_ResultIsAString) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"call", calc_path_, "add", R"({"a": 2, "b": 3})"});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(sut.out, "{\"sum\":\"5\"}\n");
}

TEST_F(DoorctlCallTest, Call_Int64AsStrings_KeepsEveryDigit) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  // 2^53 + 1 and INT64_MIN: no double holds them.
  EXPECT_EQ(call_ok(calc_path_, "add", R"({"a": "9007199254740993", "b": "0"})"),
            R"({"sum":"9007199254740993"})");
  EXPECT_EQ(call_ok(calc_path_, "add", R"({"a": "-9223372036854775807", "b": -1})"),
            R"({"sum":"-9223372036854775808"})");
}

TEST_F(DoorctlCallTest, Call_Float64List_IsSummed) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  EXPECT_EQ(call_ok(calc_path_, "total", R"({"values": [1.5, 2.25, -0.75]})"), R"({"sum":3})");
  EXPECT_EQ(call_ok(calc_path_, "total", R"({"values": []})"), R"({"sum":0})");
}

TEST_F(DoorctlCallTest, Call_DataAsBase64_RoundTrips) {
  ASSERT_TRUE(start_kv(kv_path_).ready());
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  std::string base64 =
      kj::encodeBase64(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()))
          .cStr();

  auto put = doorctl({"call", kv_path_, "put", R"({"key": "k", "value": ")" + base64 + "\"}"});
  auto sut = doorctl({"call", kv_path_, "get", R"({"key": "k"})"});

  ASSERT_TRUE(exited_with(put, 0));
  EXPECT_EQ(canonical(put.out), "{}");
  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  EXPECT_EQ(text(member(json.root(), "value")), base64);
}

TEST_F(DoorctlCallTest, Call_DataAsByteArray_IsAccepted) {
  ASSERT_TRUE(start_kv(kv_path_).ready());

  EXPECT_EQ(call_ok(kv_path_, "put", R"({"key": "k", "value": [104, 105, 0, 255]})"), "{}");
  EXPECT_EQ(call_ok(kv_path_, "get", R"({"key": "k"})"), R"({"value":"aGkA/w=="})");
}

TEST_F(DoorctlCallTest, Call_ListOfText_IsAnArrayOfStrings) {
  ASSERT_TRUE(start_kv(kv_path_).ready());
  for (const char* key : {"b", "a/2", "a/1"})
    ASSERT_EQ(call_ok(kv_path_, "put", std::string(R"({"key": ")") + key + R"(", "value": ""})"),
              "{}");

  EXPECT_EQ(call_ok(kv_path_, "list", R"({"prefix": "a/"})"), R"({"keys":["a/1","a/2"]})");
  EXPECT_EQ(call_ok(kv_path_, "list", "{}"), R"({"keys":["a/1","a/2","b"]})");
}

TEST_F(DoorctlCallTest, Call_TextWithUnicodeEscapes_ReachesTheServerAsUtf8) {
  ASSERT_TRUE(start_kv(kv_path_).ready());
  // U+00E9, 'J', U+1F600 (a surrogate pair), a quote and a backslash.
  const std::string key = "\xc3\xa9J\xf0\x9f\x98\x80\"\\";

  auto put = doorctl({"call", kv_path_, "put",
                      R"({"key": "\u00e9\u004A\ud83d\uDE00\u0022\u005c", "value": "AQ=="})"});
  auto sut = doorctl({"call", kv_path_, "list", "{}"});

  ASSERT_TRUE(exited_with(put, 0));
  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto keys = array(member(json.root(), "keys"));
  ASSERT_EQ(keys.size(), 1u) << sut.out;
  EXPECT_EQ(text(keys[0]), key);
  auto kv = kv::KvStoreDoor::Client::open(kv_path_);
  EXPECT_EQ(kv.get(key)->getValue().size(), 1u);
}

TEST_F(DoorctlCallTest, Call_LoneSurrogateEscape_ExitsWithUsage) {
  ASSERT_TRUE(start_kv(kv_path_).ready());

  for (const char* bad :
       {R"({"key": "\ud83d", "value": ""})", R"({"key": "\ude00x", "value": ""})"}) {
    SCOPED_TRACE(bad);
    auto sut = doorctl({"call", kv_path_, "put", bad});

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "surrogate")) << sut.err;
  }
}

TEST_F(DoorctlCallTest, Call_Parse_ReturnsTheTreeWithEnumsUnionsGroupsAndRecursion) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = call_ok(calc_path_, "parse", R"({"text": "1 + 2 * x - -y"})");

  EXPECT_EQ(
      sut,
      R"({"expression":{"operation":{"operator":"subtract","operands":[)"
      R"({"operation":{"operator":"add","operands":[{"literal":1},)"
      R"({"operation":{"operator":"multiply","operands":[{"literal":2},{"variable":"x"}]}}]}},)"
      R"({"negate":{"variable":"y"}}]}}})");
}

TEST_F(DoorctlCallTest, Call_EvaluateWithParsedTree_ReturnsTheValue) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  auto parsed = doorctl({"call", calc_path_, "parse", R"({"text": "(1 + 2 * x) / -y"})"});
  ASSERT_TRUE(exited_with(parsed, 0));
  Json tree(parsed.out);
  ASSERT_TRUE(tree.valid());
  std::string expression = encode(member(tree.root(), "expression"));

  auto sut =
      doorctl({"call", calc_path_, "evaluate",
               R"({"expression": )" + expression +
                   R"(, "variables": [{"name": "x", "value": 4}, {"name": "y", "value": 3}]})"});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(canonical(sut.out), R"({"value":-3})");
}

TEST_F(DoorctlCallTest, Call_FdResult_PrintsIndexAndWhatItRefersTo) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = call_ok(calc_path_, "openLog", R"({"name": "audit"})");

  EXPECT_EQ(sut, R"({"log":{"index":0,"fd":")" + real_path(log_dir_) + R"(/audit.log"}})");
}

TEST_F(DoorctlCallTest, Call_FdServerOpen_PrintsTheOpenedFile) {
  ASSERT_TRUE(start_fd_server(fd_path_).ready());

  auto sut = call_ok(fd_path_, "open", R"({"path": "a.txt"})");

  EXPECT_EQ(sut, R"({"file":{"index":0,"fd":")" + real_path(root_) + R"(/a.txt"}})");
}

TEST_F(DoorctlCallTest, Call_InterfaceResult_PrintsItsInterfaceAndPid) {
  auto& calc = start_calculator(calc_path_);
  ASSERT_TRUE(calc.ready());

  auto sut = call_ok(calc_path_, "session", "{}");

  EXPECT_EQ(sut, R"({"s":{"door":"Session","pid":)" + std::to_string(calc.process().pid()) + "}}");
}

TEST_F(DoorctlCallTest, Call_NoJson_CallsWithDefaults) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"call", calc_path_, "add"});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(canonical(sut.out), R"({"sum":"0"})");
}

TEST_F(DoorctlCallTest, Call_JsonFromStdin_IsTheParameters) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"call", calc_path_, "parse", "-"}, {}, R"({"text": "1 + 2 * x"})");

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(
      canonical(sut.out),
      R"({"expression":{"operation":{"operator":"add","operands":[{"literal":1},)"
      R"({"operation":{"operator":"multiply","operands":[{"literal":2},{"variable":"x"}]}}]}}})");
}

TEST_F(DoorctlCallTest, Call_PrettyAndCompact_PrintTheSameValue) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  std::string params = R"({"text": "1 + 2 * x + 3 * (y - 4 / z) - 5 * w"})";

  auto pretty = doorctl({"call", "--pretty", calc_path_, "parse", params});
  auto compact = doorctl({"call", calc_path_, "parse", params, "--compact"});

  ASSERT_TRUE(exited_with(pretty, 0));
  ASSERT_TRUE(exited_with(compact, 0));
  EXPECT_EQ(canonical(pretty.out), canonical(compact.out));
  EXPECT_EQ(canonical(compact.out) + "\n", compact.out);  // one line, no spaces
  EXPECT_GT(count_of(pretty.out, "\n"), 1u) << pretty.out;
}

TEST_F(DoorctlCallTest, Call_FailingMethod_ExitsCallFailedWithTheTypedError) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"call", calc_path_, "divide", R"({"a": 1, "b": 0})"});

  EXPECT_TRUE(exited_with(sut, 1));
  EXPECT_EQ(sut.out, "");
  EXPECT_EQ(sut.err, "doorctl: error: INVALID_ARGUMENT: division by zero\n");
}

TEST_F(DoorctlCallTest, Call_UnknownMethod_ExitsWithUsageListingTheMethods) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"call", calc_path_, "multiply", "{}"});

  EXPECT_TRUE(exited_with(sut, 2));
  EXPECT_TRUE(contains(sut.err,
                       "Calculator has no method 'multiply' (it has: add, divide, "
                       "total, openLog, session, parse, evaluate)"))
      << sut.err;
}

TEST_F(DoorctlCallTest, Call_UnknownField_ExitsWithUsage) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"call", calc_path_, "add", R"({"a": 1, "c": 2})"});

  EXPECT_TRUE(exited_with(sut, 2));
  EXPECT_TRUE(contains(sut.err, "the parameters do not fit")) << sut.err;
  EXPECT_TRUE(contains(sut.err, "Unknown field")) << sut.err;  // Cap'n Proto's words
}

TEST_F(DoorctlCallTest, Call_WrongType_ExitsWithUsage) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  ASSERT_TRUE(start_kv(kv_path_).ready());
  const struct {
    const std::string& path;
    const char* method;
    const char* json;
  } kCases[] = {
      {calc_path_, "add", R"({"a": "x"})"},
      {calc_path_, "add", R"({"a": true})"},
      {calc_path_, "add", R"({"a": 1.5})"},
      {calc_path_, "add", R"({"a": [1]})"},
      {calc_path_, "total", R"({"values": 1})"},
      {calc_path_, "total", R"({"values": ["a"]})"},
      {calc_path_, "parse", R"({"text": 5})"},
      {calc_path_, "evaluate", R"({"expression": {"operation": {"operator": "power"}}})"},
      {calc_path_, "evaluate", R"({"expression": {"nothing": 1}})"},
      {kv_path_, "put", R"({"key": "k", "value": 5})"},
      {kv_path_, "put", R"({"key": "k", "value": "not base64!"})"},
      {kv_path_, "put", R"({"key": "k", "value": [256]})"},
      {kv_path_, "waitFor", R"({"key": "k", "timeoutMs": -1})"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.json);
    auto sut = doorctl({"call", c.path, c.method, c.json});

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_EQ(sut.out, "");
  }
}

TEST_F(DoorctlCallTest, Call_BadJson_ExitsWithUsage) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  for (const char* bad : {R"({"a": )", "nope", "[1, 2]", "", R"({"a": 1} x)"}) {
    SCOPED_TRACE(bad);
    auto sut = doorctl({"call", calc_path_, "add", "-"}, {}, bad);

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "the parameters do not fit")) << sut.err;
  }
}

// Named ...ServerThreadIsCancelled: the sanitizer stages of .ci/run skip it (the deadline cancels
// the server's handler thread, which their runtimes do not survive inside an intercepted call).
TEST_F(DoorctlCallTest, Call_TimeoutBeforeTheReply_DeadlineExceeded_ServerThreadIsCancelled) {
  ASSERT_TRUE(start_kv(kv_path_).ready());
  auto start = std::chrono::steady_clock::now();

  auto sut = doorctl({"call", "--timeout", "200ms", kv_path_, "waitFor",
                      R"({"key": "never", "timeoutMs": 20000})"});

  EXPECT_TRUE(exited_with(sut, 1));
  EXPECT_EQ(sut.err.rfind("doorctl: error: DEADLINE_EXCEEDED: ", 0), 0u) << sut.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(DoorctlCallTest, Call_ServerStopsDuringTheCall_ExitsCallFailed) {
  auto& kv = start_kv(kv_path_);
  ASSERT_TRUE(kv.ready());
  kv.skip_leak_check("stopped while a call is in progress, which is what the test checks");
  ExampleProcess sut(DOORS_DOORCTL, {"call", "--timeout", "0", kv_path_, "waitFor",
                                     R"({"key": "never", "timeoutMs": 20000})"});
  ASSERT_TRUE(kv.process().wait_for_stderr("waits for 'never'"));

  kv.stop();  // SIGTERM: the server wakes its waiters with UNAVAILABLE
  ChildStatus status = sut.wait_exit();

  EXPECT_TRUE(status.exited_with(1)) << status.describe();
  EXPECT_EQ(sut.err().rfind("doorctl: error: UNAVAILABLE: ", 0), 0u) << sut.err();
}

TEST_F(DoorctlCallTest, Call_ServerKilledDuringTheCall_ExitsCallFailed) {
  ExampleProcess kv(Binaries::kv_server(), {"--path", kv_path_});
  ASSERT_TRUE(kv.wait_ready());
  ExampleProcess sut(DOORS_DOORCTL, {"call", "--timeout", "0", kv_path_, "waitFor",
                                     R"({"key": "never", "timeoutMs": 20000})"});
  ASSERT_TRUE(kv.wait_for_stderr("waits for 'never'"));

  ASSERT_TRUE(kv.signal_and_reap(SIGKILL).killed_by(SIGKILL));
  ChildStatus status = sut.wait_exit();

  EXPECT_TRUE(status.exited_with(1)) << status.describe() << "; stderr: " << sut.err();
  EXPECT_EQ(sut.err().rfind("doorctl: error: ", 0), 0u) << sut.err();
}

TEST_F(DoorctlCallTest, Call_UntypedDoor_ExitsUnreachable) {
  ASSERT_NE(start_untyped(untyped_path_), nullptr);

  auto sut = doorctl({"call", untyped_path_, "anything", "{}"});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_TRUE(contains(sut.err, "does not serve a typed interface")) << sut.err;
}

TEST_F(DoorctlCallTest, Call_NoDoor_ExitsUnreachable) {
  std::string plain = dir_.make_file("plain");

  auto sut = doorctl({"call", plain, "add", "{}"});

  EXPECT_TRUE(exited_with(sut, 3));
}

TEST_F(DoorctlCallTest, Call_MissingOperands_ExitWithUsage) {
  for (std::vector<std::string> args : {std::vector<std::string>{"call"},
                                        {"call", calc_path_},
                                        {"call", calc_path_, "add", "{}", "x"}}) {
    SCOPED_TRACE(args.size());
    auto sut = doorctl(args);

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "Try 'doorctl help call'")) << sut.err;
  }
}

TEST_F(DoorctlCallTest, CallFd_MissingFileOrDescriptor_ExitsWithUsage) {
  ASSERT_TRUE(start_fd_server(fd_path_).ready());

  for (std::string spec : {dir_.file("missing"), std::string("999")}) {
    SCOPED_TRACE(spec);
    auto sut = doorctl({"call", "--fd", spec, fd_path_, "open", R"({"path": "a.txt"})"});

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "--fd " + spec + ": ")) << sut.err;
  }
}

// No example method takes a Door.Fd parameter; fd_server's door refuses descriptors
// ($Door.refuseDescriptors), so one passed with --fd fails the call (door_call's ENOTSUP).
TEST_F(DoorctlCallTest, CallFd_DoorRefusingDescriptors_ExitsCallFailed) {
  ASSERT_TRUE(start_fd_server(fd_path_).ready());
  std::string file = dir_.make_file("passed");

  // A file, and a descriptor number: doorctl's stdin.
  for (const std::string& spec : {file, std::string("0")}) {
    SCOPED_TRACE(spec);
    auto sut = doorctl({"call", "--fd", spec, fd_path_, "open", R"({"path": "a.txt"})"});

    EXPECT_TRUE(exited_with(sut, 1));
    EXPECT_EQ(sut.out, "");
    EXPECT_EQ(sut.err.rfind("doorctl: error: FAILED_PRECONDITION: ", 0), 0u) << sut.err;
  }
}

TEST_F(DoorctlCallTest, Call_Results_AreWhatTheGeneratedClientGets) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  ASSERT_TRUE(start_kv(kv_path_).ready());
  int64_t want_sum = 0;
  std::string want_tree;
  {
    auto calc = calc::CalculatorDoor::Client::open(calc_path_);
    want_sum = calc.add(40, 2)->getSum();
    auto parsed = calc.parse("(1 - 2) - -x / 4");
    capnp::JsonCodec codec;
    want_tree = canonical(codec.encode(parsed->getExpression()).cStr());
  }

  auto sum = doorctl({"call", calc_path_, "add", R"({"a": 40, "b": 2})"});
  auto tree = doorctl({"call", calc_path_, "parse", R"({"text": "(1 - 2) - -x / 4"})"});
  auto put = doorctl({"call", kv_path_, "put", R"({"key": "k", "value": "AP8Q"})"});

  ASSERT_TRUE(exited_with(sum, 0));
  Json sum_json(sum.out);
  ASSERT_TRUE(sum_json.valid());
  EXPECT_EQ(integer(member(sum_json.root(), "sum")), want_sum);
  ASSERT_TRUE(exited_with(tree, 0));
  Json tree_json(tree.out);
  ASSERT_TRUE(tree_json.valid());
  EXPECT_EQ(encode(member(tree_json.root(), "expression")), want_tree);
  ASSERT_TRUE(exited_with(put, 0));
  auto kv = kv::KvStoreDoor::Client::open(kv_path_);
  auto value = kv.get("k")->getValue();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(value.begin()), value.size()),
            std::string("\x00\xff\x10", 3));
}

// ---------------------------------------------------------------------------------------------
// stats

class DoorctlStatsTest : public DoorctlTest {
 protected:
  // A calculator that took kAdds add calls and one divide by zero (through the generated client).
  void SetUp() override {
    ASSERT_TRUE(start_calculator(calc_path_).ready());
    auto calc = calc::CalculatorDoor::Client::open(calc_path_);
    for (int i = 0; i < kAdds; ++i) ASSERT_EQ(calc.add(i, 1)->getSum(), i + 1);
    try {
      calc.divide(1, 0);
      ADD_FAILURE() << "divide by zero succeeded";
    } catch (const doors::Error& e) {
      ASSERT_EQ(e.code(), Code::kInvalidArgument);
    }
  }
  static constexpr int kAdds = 7;
};

TEST_F(DoorctlStatsTest, StatsJson_AfterCalls_CountsThemPerMethod) {
  auto sut = doorctl({"stats", "--json", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto add = method_stats(json.root(), "Calculator", "add");
  EXPECT_GE(integer(member(add, "calls")), kAdds);
  EXPECT_EQ(integer(member(add, "errors")), 0);
  EXPECT_EQ(integer(member(add, "inFlight")), 0);
  auto latency = member(add, "latency");
  EXPECT_GT(integer(member(latency, "p50Ns")), 0);
  EXPECT_LE(integer(member(latency, "p50Ns")), integer(member(latency, "p90Ns")));
  EXPECT_LE(integer(member(latency, "p90Ns")), integer(member(latency, "p99Ns")));
  EXPECT_LE(integer(member(latency, "p99Ns")), integer(member(latency, "maxNs")));
  auto total = method_stats(json.root(), "Calculator", "total");
  EXPECT_EQ(integer(member(total, "calls")), 0);
}

TEST_F(DoorctlStatsTest, StatsJson_FailedCall_CountsAnError) {
  auto sut = doorctl({"stats", "--json", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto divide = method_stats(json.root(), "Calculator", "divide");
  EXPECT_GE(integer(member(divide, "calls")), 1);
  EXPECT_GE(integer(member(divide, "errors")), 1);
}

TEST_F(DoorctlStatsTest, StatsJson_HasServerAndPoolFigures) {
  auto sut = doorctl({"stats", "--json", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto stats = json.root();
  EXPECT_EQ(text(member(stats, "status")), "serving");
  EXPECT_EQ(integer(member(stats, "pid")), servers_[0]->process().pid());
  auto pool = member(stats, "pool");
  EXPECT_EQ(integer(member(pool, "minThreads")), kMinThreads);
  EXPECT_EQ(integer(member(pool, "maxThreads")), kMaxThreads);
  int64_t threads = integer(member(pool, "threads"));
  EXPECT_GE(threads, kMinThreads);
  EXPECT_LE(threads, kMaxThreads);
  EXPECT_EQ(integer(member(pool, "idleThreads")) + integer(member(pool, "busyThreads")), threads);
  EXPECT_EQ(integer(member(stats, "doors")), 1);
}

TEST_F(DoorctlStatsTest, StatsJson_CallInProgress_IsCountedInFlight) {
  auto& kv = start_kv(kv_path_);
  ASSERT_TRUE(kv.ready());
  ExampleProcess waiter(DOORS_DOORCTL, {"call", "--timeout", "0", kv_path_, "waitFor",
                                        R"({"key": "later", "timeoutMs": 20000})"});
  ASSERT_TRUE(kv.process().wait_for_stderr("waits for 'later'"));

  auto sut = doorctl({"stats", "--json", kv_path_});
  auto put = doorctl({"call", kv_path_, "put", R"({"key": "later", "value": "AQ=="})"});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  EXPECT_EQ(integer(member(method_stats(json.root(), "KvStore", "waitFor"), "inFlight")), 1);
  EXPECT_EQ(integer(member(method_stats(json.root(), "KvStore", "waitFor"), "calls")), 0);
  ASSERT_TRUE(exited_with(put, 0));
  EXPECT_TRUE(waiter.wait_exit().exited_with(0)) << waiter.err();
  EXPECT_EQ(canonical(waiter.out()), R"({"value":"AQ=="})");
}

TEST_F(DoorctlStatsTest, Stats_Text_HasTheHeaderAndARowPerMethod) {
  auto sut = doorctl({"stats", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  auto lines = lines_of(sut.out);
  ASSERT_GE(lines.size(), 2u) << sut.out;
  EXPECT_EQ(lines[0].rfind(calc_path_ + ": pid " + std::to_string(servers_[0]->process().pid()) +
                               ", serving, up ",
                           0),
            0u)
      << sut.out;
  EXPECT_TRUE(contains(lines[1], "(bounds 3:7)")) << sut.out;
  bool header = false;
  std::vector<std::string> methods;
  std::string add_row;
  for (const std::string& line : lines) {
    std::istringstream in(line);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    if (words ==
        std::vector<std::string>{"METHOD", "CALLS", "ERRORS", "BUSY", "P50", "P90", "P99", "MAX"})
      header = true;
    if (!words.empty() && words[0].rfind("Calculator.", 0) == 0) methods.push_back(words[0]);
    if (!words.empty() && words[0] == "Calculator.add") add_row = line;
  }
  EXPECT_TRUE(header) << sut.out;
  EXPECT_EQ(methods,
            (std::vector<std::string>{"Calculator.add", "Calculator.divide", "Calculator.total",
                                      "Calculator.openLog", "Calculator.session",
                                      "Calculator.parse", "Calculator.evaluate"}));
  std::istringstream add(add_row);
  std::string name;
  long calls = -1, errors = -1;
  add >> name >> calls >> errors;
  EXPECT_GE(calls, kAdds) << add_row;
  EXPECT_EQ(errors, 0) << add_row;
}

TEST_F(DoorctlStatsTest, StatsWatch_Count_PrintsThatManySamplesAndExits) {
  auto start = std::chrono::steady_clock::now();

  auto sut = doorctl({"stats", "--watch", "--count", "2", "--interval", "100ms", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(count_of(sut.out, "\nMETHOD "), 2u) << sut.out;
  EXPECT_EQ(count_of(sut.out, "CALLS/S"), 1u) << sut.out;  // a rate from the second sample on
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

TEST_F(DoorctlStatsTest, StatsWatchJson_PrintsOneObjectPerLine) {
  auto sut =
      doorctl({"stats", "--json", "--watch", "--count", "3", "--interval", "50ms", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  auto lines = lines_of(sut.out);
  ASSERT_EQ(lines.size(), 3u) << sut.out;
  int64_t previous = -1;
  for (const std::string& line : lines) {
    Json json(line);
    ASSERT_TRUE(json.valid());
    // Each sample is a stats call, counted by the next one.
    int64_t stats_calls =
        integer(member(method_stats(json.root(), "Introspection", "stats"), "calls"));
    EXPECT_GT(stats_calls, previous);
    previous = stats_calls;
  }
}

TEST_F(DoorctlStatsTest, Stats_WatchOptionsWithoutWatch_ExitWithUsage) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"stats", "--count", "2", calc_path_},
        {"stats", "--interval", "2s", calc_path_},
        {"stats", "--interval", "1s", calc_path_}}) {
    SCOPED_TRACE(args[1] + " " + args[2]);
    auto sut = doorctl(args);

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "go with --watch")) << sut.err;
  }
}

TEST_F(DoorctlStatsTest, Stats_BadWatchValues_ExitWithUsage) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"stats", "--watch", "--count", "0", calc_path_},
        {"stats", "--watch", "--count", "x", calc_path_},
        {"stats", "--watch", "--interval", "0", calc_path_},
        {"stats", "--watch", "--interval", "soon", calc_path_}}) {
    SCOPED_TRACE(args[2] + " " + args[3]);
    auto sut = doorctl(args);

    EXPECT_TRUE(exited_with(sut, 2));
  }
}

TEST_F(DoorctlStatsTest, Stats_UntypedDoor_ExitsUnreachable) {
  ASSERT_NE(start_untyped(untyped_path_), nullptr);

  auto sut = doorctl({"stats", untyped_path_});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_TRUE(contains(sut.err, "does not serve a typed interface")) << sut.err;
}

// ---------------------------------------------------------------------------------------------
// bench

using DoorctlBenchTest = DoorctlTest;

TEST_F(DoorctlBenchTest, BenchJson_CallsAndThreads_MakesExactlyThatManyCalls) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl(
      {"bench", "-n", "200", "-c", "2", "--json", calc_path_, "add", R"({"a": 1, "b": 2})"});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  auto bench = json.root();
  EXPECT_EQ(integer(member(bench, "calls")), 200);
  EXPECT_EQ(integer(member(bench, "errors")), 0);
  EXPECT_EQ(integer(member(bench, "threads")), 2);
  EXPECT_GT(number(member(bench, "seconds")), 0);
  EXPECT_GT(number(member(bench, "callsPerSecond")), 0);
  EXPECT_TRUE(member(bench, "firstError").isNull());
  EXPECT_EQ(sut.err, "");  // no progress line: stderr is no terminal
  auto latency = member(bench, "latencyNs");
  int64_t p50 = integer(member(latency, "p50")), p90 = integer(member(latency, "p90")),
          p99 = integer(member(latency, "p99")), p999 = integer(member(latency, "p999")),
          max = integer(member(latency, "max")), mean = integer(member(latency, "mean"));
  EXPECT_GT(p50, 0);
  EXPECT_LE(p50, p90);
  EXPECT_LE(p90, p99);
  EXPECT_LE(p99, p999);
  EXPECT_LE(p999, max);
  EXPECT_GT(mean, 0);
  EXPECT_LE(mean, max);
}

TEST_F(DoorctlBenchTest, BenchJson_Calls_AreCountedByTheServer) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"bench", "-n", "50", "--warmup", "5", "--json", calc_path_, "total",
                      R"({"values": [1, 2]})"});
  auto stats = doorctl({"stats", "--json", calc_path_});

  ASSERT_TRUE(exited_with(sut, 0));
  ASSERT_TRUE(exited_with(stats, 0));
  Json json(stats.out);
  ASSERT_TRUE(json.valid());
  // 50 counted calls and 5 warm-up calls.
  EXPECT_EQ(integer(member(method_stats(json.root(), "Calculator", "total"), "calls")), 55);
}

TEST_F(DoorctlBenchTest, BenchJson_Duration_StopsAfterIt) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  auto start = std::chrono::steady_clock::now();

  auto sut = doorctl({"bench", "--duration", "200ms", "--json", calc_path_, "add", "{}"});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  EXPECT_GT(integer(member(json.root(), "calls")), 0);
  EXPECT_EQ(integer(member(json.root(), "errors")), 0);
  EXPECT_GE(number(member(json.root(), "seconds")), 0.2);
  EXPECT_LT(number(member(json.root(), "seconds")), 5);
}

TEST_F(DoorctlBenchTest, Bench_Text_PrintsASummary) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"bench", "-n", "20", calc_path_, "add", R"({"a": 1, "b": 2})"});

  ASSERT_TRUE(exited_with(sut, 0));
  auto lines = lines_of(sut.out);
  ASSERT_EQ(lines.size(), 4u) << sut.out;
  EXPECT_EQ(lines[0].rfind("Calculator.add on " + calc_path_ + ": 20 calls from 1 thread in ", 0),
            0u)
      << sut.out;
  EXPECT_EQ(lines[1].rfind("  calls/s   ", 0), 0u) << sut.out;
  EXPECT_EQ(lines[2].rfind("  latency   p50 ", 0), 0u) << sut.out;
  EXPECT_EQ(lines[3], "  errors    0");
}

TEST_F(DoorctlBenchTest, Bench_FailingMethod_ExitsCallFailedWithTheFirstError) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"bench", "-n", "10", "--json", calc_path_, "divide", R"({"a": 1, "b": 0})"});

  EXPECT_TRUE(exited_with(sut, 1));
  Json json(sut.out);
  ASSERT_TRUE(json.valid());
  EXPECT_EQ(integer(member(json.root(), "calls")), 10);
  EXPECT_EQ(integer(member(json.root(), "errors")), 10);
  EXPECT_EQ(text(member(json.root(), "firstError")), "INVALID_ARGUMENT: division by zero");
  EXPECT_EQ(sut.err,
            "doorctl: error: 10 of 10 calls failed; the first: INVALID_ARGUMENT: division by "
            "zero\n");
}

TEST_F(DoorctlBenchTest, Bench_BadValues_ExitWithUsage) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  for (std::vector<std::string> options : {std::vector<std::string>{"-c", "0"},
                                           {"-c", "257"},
                                           {"-c", "two"},
                                           {"-n", "0"},
                                           {"-n", "-5"},
                                           {"-n", "100000001"},
                                           {"--duration", "0"},
                                           {"--duration", "later"},
                                           {"--warmup", "x"}}) {
    SCOPED_TRACE(options[0] + " " + options[1]);
    std::vector<std::string> args{"bench"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {calc_path_, "add", "{}"});

    auto sut = doorctl(args);

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_EQ(sut.out, "");
    EXPECT_TRUE(contains(sut.err, "Try 'doorctl help bench'")) << sut.err;
  }
}

// The manual's SYNOPSIS: -n CALLS | --duration TIME.
TEST_F(DoorctlBenchTest, Bench_CallsAndDuration_ExitWithUsage) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto sut = doorctl({"bench", "-n", "10", "--duration", "100ms", calc_path_, "add", "{}"});

  EXPECT_TRUE(exited_with(sut, 2));
  EXPECT_EQ(sut.out, "");
  EXPECT_TRUE(contains(sut.err, "-n and --duration")) << sut.err;
}

TEST_F(DoorctlBenchTest, Bench_UnknownMethodOrBadParameters_ExitWithUsage) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());

  auto no_method = doorctl({"bench", "-n", "1", calc_path_, "multiply", "{}"});
  auto bad_params = doorctl({"bench", "-n", "1", calc_path_, "add", R"({"c": 1})"});

  EXPECT_TRUE(exited_with(no_method, 2));
  EXPECT_TRUE(exited_with(bad_params, 2));
}

TEST_F(DoorctlBenchTest, Bench_UntypedDoor_ExitsUnreachable) {
  ASSERT_NE(start_untyped(untyped_path_), nullptr);

  auto sut = doorctl({"bench", "-n", "1", untyped_path_, "anything"});

  EXPECT_TRUE(exited_with(sut, 3));
}

// ---------------------------------------------------------------------------------------------
// Details of ls, help and stats --watch

TEST_F(DoorctlLsTest, Ls_OneDirCannotBeRead_TheOthersAreListedAndExit3) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  std::string missing = dir_.file("missing");

  auto sut = doorctl({"ls", "--json", missing, dir_.path()});

  EXPECT_TRUE(exited_with(sut, 3));
  EXPECT_TRUE(contains(sut.err, "cannot read " + missing)) << sut.err;
  Json json(sut.out);
  ASSERT_TRUE(json.valid()) << sut.out;
  auto doors = array(json.root());
  ASSERT_EQ(doors.size(), 1u) << sut.out;
  EXPECT_EQ(text(member(doors[0], "path")), calc_path_);
}

TEST_F(DoorctlLsTest, Ls_SymbolicLinkToADoor_ListedUnderItsOwnName) {
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  std::string links = dir_.file("links");
  ASSERT_EQ(::mkdir(links.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(calc_path_.c_str(), (links + "/calc").c_str()), 0);

  auto sut = doorctl({"ls", "--json", links});

  ASSERT_TRUE(exited_with(sut, 0));
  Json json(sut.out);
  ASSERT_TRUE(json.valid()) << sut.out;
  auto doors = array(json.root());
  ASSERT_EQ(doors.size(), 1u) << sut.out;
  EXPECT_EQ(text(member(doors[0], "path")), links + "/calc");
  EXPECT_EQ(text(member(doors[0], "interface")), "Calculator");
}

TEST_F(DoorctlHelpTest, HelpWithTwoCommands_ExitsWithUsage) {
  auto sut = doorctl({"help", "call", "extra"});

  EXPECT_TRUE(exited_with(sut, 2));
  EXPECT_TRUE(sut.out.empty()) << sut.out;
}

TEST_F(DoorctlStatsTest, Stats_WatchIntervalUnder10ms_ExitsWithUsage) {
  auto sut = doorctl({"stats", "--watch", "--interval", "1ms", "--count", "2", calc_path_});

  EXPECT_TRUE(exited_with(sut, 2));
  EXPECT_TRUE(contains(sut.err, "at least 10ms")) << sut.err;
}

// ---------------------------------------------------------------------------------------------
// Parameters that carry descriptors and doors: no example takes one, the runtime tests' Tester
// (tester_server) does.

class DoorctlTesterTest : public DoorctlTest {
 protected:
  void SetUp() override { ASSERT_TRUE(start(DOORS_TESTER_SERVER, tester_path_).ready()); }

  std::string file_with(const std::string& name, const std::string& content) {
    std::string path = dir_.file(name);
    std::ofstream(path) << content;
    return path;
  }

  std::string tester_path_ = dir_.file("tester");
};

TEST_F(DoorctlTesterTest, Call_FdParameter_TheServerReadsTheFileGivenWithFd) {
  std::string file = file_with("a.txt", "hello through a descriptor");

  auto sut = doorctl(
      {"call", "--compact", "--fd", file, tester_path_, "readFd", R"({"file": {"index": 0}})"});

  ASSERT_TRUE(exited_with(sut, 0));
  EXPECT_EQ(sut.out, "{\"content\":\"hello through a descriptor\"}\n");
}

TEST_F(DoorctlTesterTest, Call_ListOfFds_EachNamedByItsIndex) {
  std::string a = file_with("a.txt", "A");
  std::string b = file_with("b.txt", "B");

  auto sut = doorctl({"call", "--compact", "--fd", a, "--fd", b, tester_path_, "readFds",
                      R"({"files": [{"index": 1}, {"index": 0}, {"index": 1}]})"});

  // The same descriptor twice: the server's second take of index 1 is refused.
  EXPECT_TRUE(exited_with(sut, 1));
  EXPECT_TRUE(contains(sut.err, "INVALID_ARGUMENT")) << sut.err;

  auto once = doorctl({"call", "--compact", "--fd", a, "--fd", b, tester_path_, "readFds",
                       R"({"files": [{"index": 1}, {"index": 0}]})"});
  ASSERT_TRUE(exited_with(once, 0));
  EXPECT_EQ(once.out, "{\"contents\":[\"B\",\"A\"]}\n");
}

TEST_F(DoorctlTesterTest, Call_FdWithoutItsIndex_ExitsWithUsage) {
  std::string file = file_with("a.txt", "x");
  for (const char* json : {R"({"file": {}})", R"({"file": 0})", R"({"file": {"index": -1}})",
                           R"({"file": {"index": 0, "extra": 1}})"}) {
    SCOPED_TRACE(json);

    auto sut = doorctl({"call", "--fd", file, tester_path_, "readFd", json});

    EXPECT_TRUE(exited_with(sut, 2));
    EXPECT_TRUE(contains(sut.err, "Door.Fd")) << sut.err;
  }
}

// A door parameter is the path of a door, opened and passed: the server calls it (here as a
// Session, which a calculator is not, so the calculator's refusal comes back).
TEST_F(DoorctlTesterTest, Call_DoorParameter_ThePathsDoorIsPassedAndCalled) {
  servers_.front()->skip_leak_check(
      "the tester calls the passed door from a pool thread, which keeps that channel (as every "
      "libdoors thread does) until it ends: the channel outlives the test's calls by design");
  ASSERT_TRUE(start_calculator(calc_path_).ready());
  std::string json = "{\"s\": \"" + calc_path_ + "\", \"key\": \"k\"}";

  auto sut = doorctl({"call", tester_path_, "useSession", json});

  EXPECT_TRUE(exited_with(sut, 1));
  EXPECT_TRUE(contains(sut.err, "UNIMPLEMENTED: this door serves Calculator")) << sut.err;
}

TEST_F(DoorctlTesterTest, Call_DoorParameterThatIsNoDoor_ExitsWithUsage) {
  std::string plain = dir_.make_file("plain");
  std::string json = "{\"s\": \"" + plain + "\", \"key\": \"k\"}";

  auto sut = doorctl({"call", tester_path_, "useSession", json});

  EXPECT_TRUE(exited_with(sut, 2));
  EXPECT_TRUE(contains(sut.err, "is not a door")) << sut.err;
}

// Named ...ServerThreadIsCancelled: skipped by the sanitizer stages, as above.
TEST_F(DoorctlTesterTest, Call_MethodsTimeoutMsWithoutTimeoutOption_ServerThreadIsCancelled) {
  // slowDefault is $Door.timeoutMs(200): without --timeout its own deadline applies.
  auto sut = doorctl({"call", tester_path_, "slowDefault", R"({"millis": 5000})"});

  EXPECT_TRUE(exited_with(sut, 1));
  EXPECT_TRUE(contains(sut.err, "DEADLINE_EXCEEDED")) << sut.err;
}

}  // namespace
}  // namespace doors::test
