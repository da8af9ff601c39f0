// The example binaries' command lines as a user sees them: what the clients print and their exit
// statuses, the servers' --help, bad options and default paths.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "door_support.h"
#include "example_process.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Runs a client with --path and checks its exit status, stdout and stderr exactly.
void expect_run(const char* binary, const std::string& path, std::vector<std::string> args,
                int status, const std::string& out, const std::string& err = "") {
  args.insert(args.begin(), {"--path", path});
  ProgramResult r = run_program(binary, args);
  std::string cmd;
  for (const auto& a : args) cmd += " " + a;
  EXPECT_TRUE(r.status.exited_with(status)) << cmd << ": " << r.status.describe() << "\n" << r.err;
  EXPECT_EQ(r.out, out) << cmd;
  EXPECT_EQ(r.err, err) << cmd;
}

TEST(CalculatorCli, Commands_PrintTheirResults) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer server(Binaries::calculator_server(), path, {"--log-dir", dir.file("logs")});
  ASSERT_TRUE(server.ready());
  const char* client = Binaries::calculator_client();
  expect_run(client, path, {"add", "2", "3"}, 0, "5\n");
  expect_run(client, path, {"divide", "7", "2"}, 0, "3\n");
  expect_run(client, path, {"total", "1", "2.5", "3"}, 0, "6.5\n");
  expect_run(client, path, {"total"}, 0, "0\n");
  expect_run(client, path, {"session"}, 0,
             "session: put greeting = hello\nsession: get greeting -> hello\n");
  expect_run(client, path, {"session", "k", "v"}, 0, "session: put k = v\nsession: get k -> v\n");
}

TEST(CalculatorCli, Log_AppendsTheTextThroughTheReturnedDescriptor) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer server(Binaries::calculator_server(), path, {"--log-dir", dir.file("logs")});
  ASSERT_TRUE(server.ready());
  const char* client = Binaries::calculator_client();
  expect_run(client, path, {"log", "app", "hello", "world"}, 0, "appended 12 bytes to app.log\n");
  expect_run(client, path, {"log", "app", "again"}, 0, "appended 6 bytes to app.log\n");
  EXPECT_EQ(read_file(dir.file("logs/app.log")), "hello world\nagain\n");
}

TEST(CalculatorCli, Errors_PrintCodeAndMessageAndExit1) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  const char* client = Binaries::calculator_client();
  expect_run(client, path, {"divide", "1", "0"}, 1, "",
             "error: INVALID_ARGUMENT: division by zero\n");
  expect_run(client, path, {"divide", "-9223372036854775808", "-1"}, 1, "",
             "error: OUT_OF_RANGE: quotient does not fit in 64 bits\n");
  expect_run(client, path, {"log", "../x", "text"}, 1, "",
             "error: INVALID_ARGUMENT: log name must not contain '/', \"..\" or NUL\n");
}

TEST(CalculatorCli, Eval_GoodExpression_PrintsItsValue) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  const char* client = Binaries::calculator_client();
  expect_run(client, path, {"eval", "1 + 2 * (3 - x) / -y", "x=1", "y=4"}, 0, "0\n");
  expect_run(client, path, {"eval", "2.5 * 3"}, 0, "7.5\n");
  expect_run(client, path, {"eval", "1 / 3"}, 0, "0.3333333333333333\n");
  expect_run(client, path, {"eval", "-x - 1e3", "x=0.5"}, 0, "-1000.5\n");
  expect_run(client, path, {"eval", "rate * hours", "hours=7.5", "rate=2"}, 0, "15\n");
}

TEST(CalculatorCli, Eval_TypedErrors_PrintCodeAndMessageAndExit1) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  const char* client = Binaries::calculator_client();
  expect_run(client, path, {"eval", "1 / (x - 2)", "x=2"}, 1, "",
             "error: INVALID_ARGUMENT: division by zero\n");
  expect_run(client, path, {"eval", "x + y", "x=1"}, 1, "",
             "error: INVALID_ARGUMENT: unknown variable 'y'\n");
  expect_run(client, path, {"eval", "x", "x=1", "x=2"}, 1, "",
             "error: INVALID_ARGUMENT: duplicate variable 'x'\n");
  expect_run(client, path, {"eval", "2 * (x"}, 1, "",
             "error: INVALID_ARGUMENT: unclosed '(' at byte 4: expected an operator or ')' at "
             "byte 6, found the end of the text\n");
  expect_run(client, path, {"eval", "1e308 * 10"}, 1, "",
             "error: OUT_OF_RANGE: multiply overflows a Float64\n");
}

TEST(CalculatorCli, Eval_BadUsage_Exits2WithoutCalling) {
  // No server: a usage error is reported as one whether or not a server is running.
  TempDir dir;
  std::string path = dir.file("nothing");
  for (std::vector<std::string> args : {std::vector<std::string>{"eval"},
                                        {"eval", "x", "x"},
                                        {"eval", "x", "=1"},
                                        {"eval", "x", "x=one"},
                                        {"eval", "x", "x=1", "y"}}) {
    args.insert(args.begin(), {"--path", path});
    ProgramResult r = run_program(Binaries::calculator_client(), args);
    EXPECT_TRUE(r.status.exited_with(2)) << args[3] << ": " << r.status.describe();
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("usage: calculator_client"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("eval TEXT [NAME=VALUE...]"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(CalculatorCli, BadUsage_Exits2) {
  TempDir dir;
  const char* client = Binaries::calculator_client();
  for (std::vector<std::string> args : {std::vector<std::string>{},
                                        {"add", "1"},
                                        {"add", "1", "x"},
                                        {"frobnicate"},
                                        {"--bogus", "add", "1", "2"}}) {
    ProgramResult r = run_program(client, args);
    EXPECT_TRUE(r.status.exited_with(2)) << r.status.describe();
    EXPECT_NE(r.err.find("usage: calculator_client"), std::string::npos) << r.err;
  }
}

TEST(CalculatorCli, NoServer_Exit1WithAnError) {
  TempDir dir;
  ProgramResult r =
      run_program(Binaries::calculator_client(), {"--path", dir.file("nothing"), "add", "1", "2"});
  EXPECT_TRUE(r.status.exited_with(1)) << r.status.describe();
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(KvCli, Commands_Work) {
  TempDir dir;
  std::string path = dir.file("kv");
  ExampleServer server(Binaries::kv_server(), path);
  ASSERT_TRUE(server.ready());
  const char* client = Binaries::kv_client();
  expect_run(client, path, {"put", "color", "blue"}, 0, "put color: 4 bytes\n");
  expect_run(client, path, {"get", "color"}, 0, "blue");
  expect_run(client, path, {"put", "colour", "red"}, 0, "put colour: 3 bytes\n");
  expect_run(client, path, {"list", "col"}, 0, "color\ncolour\n");
  expect_run(client, path, {"delete", "color"}, 0, "deleted color\n");
  expect_run(client, path, {"list"}, 0, "colour\n");
  expect_run(client, path, {"get", "color"}, 1, "", "error: NOT_FOUND: no value for 'color'\n");
  expect_run(client, path, {"wait", "colour", "100"}, 0, "red");
  expect_run(client, path, {"wait", "never", "50"}, 1, "",
             "error: DEADLINE_EXCEEDED: no value for 'never' within 50 ms\n");
}

TEST(KvCli, PutFromAFile_StoresItsBytes) {
  TempDir dir;
  std::string path = dir.file("kv");
  ExampleServer server(Binaries::kv_server(), path);
  ASSERT_TRUE(server.ready());
  const char* client = Binaries::kv_client();
  std::string data = pattern(3 << 20, 42);  // 3 MiB: through shared memory both ways
  std::string file = dir.file("data.bin");
  {
    std::ofstream out(file, std::ios::binary);
    out << data;
  }
  expect_run(client, path, {"put", "blob", "@" + file}, 0, "put blob: 3145728 bytes\n");
  ProgramResult r = run_program(client, {"--path", path, "get", "blob"});
  EXPECT_TRUE(r.status.exited_with(0)) << r.status.describe() << r.err;
  EXPECT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data);
  // @- reads stdin.
  r = run_program(client, {"--path", path, "put", "in", "@-"}, {}, "from stdin");
  EXPECT_TRUE(r.status.exited_with(0)) << r.status.describe() << r.err;
  expect_run(client, path, {"get", "in"}, 0, "from stdin");
  expect_run(client, path, {"put", "x", "@" + dir.file("missing")}, 1, "",
             "error: " + dir.file("missing") + ": No such file or directory\n");
}

TEST(FdCli, PrintsTheFilesAndRefusesEscapes) {
  TempDir dir;
  std::string root = dir.file("root");
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  {
    std::ofstream(root + "/a.txt") << "first\n";
    std::ofstream(root + "/b.txt") << "second\n";
    std::ofstream(dir.file("secret")) << "secret\n";
  }
  std::string path = dir.file("fd_server");
  ExampleServer server(Binaries::fd_server(), path, {"--root", root});
  ASSERT_TRUE(server.ready());
  const char* client = Binaries::fd_client();
  expect_run(client, path, {"a.txt", "b.txt"}, 0, "first\nsecond\n");
  expect_run(client, path, {"../secret"}, 1, "",
             "error: PERMISSION_DENIED: '../secret' leads outside the served directory\n");
  expect_run(client, path, {"nope"}, 1, "", "error: NOT_FOUND: 'nope': no such file\n");
}

TEST(ServerCli, Help_PrintsUsageAndExits0) {
  for (const char* server :
       {Binaries::calculator_server(), Binaries::kv_server(), Binaries::fd_server()}) {
    ProgramResult r = run_program(server, {"--help"});
    EXPECT_TRUE(r.status.exited_with(0)) << server << ": " << r.status.describe();
    EXPECT_EQ(r.out.rfind("usage: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("--path PATH"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
  }
  ProgramResult r = run_program(Binaries::fd_server(), {"--help"});
  EXPECT_NE(r.out.find("--root DIR"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--walk"), std::string::npos) << r.out;
}

TEST(ServerCli, BadOptions_Exit2WithAMessage) {
  TempDir dir;
  std::string path = dir.file("door");
  struct Case {
    const char* server;
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {Binaries::calculator_server(), {"--bogus"}, "unknown option '--bogus'"},
      {Binaries::calculator_server(), {"--path"}, "option '--path' needs a value"},
      {Binaries::calculator_server(), {"--path="}, "option '--path' needs a non-empty PATH"},
      {Binaries::calculator_server(), {"--path", path, "extra"}, "unexpected argument 'extra'"},
      {Binaries::kv_server(), {"--path", path, "--max-bytes", "lots"}, "--max-bytes"},
      {Binaries::fd_server(), {"--path", path}, "--root DIR is required"},
      {Binaries::fd_server(), {"--walk=yes"}, "option '--walk' takes no value"},
  };
  for (const Case& c : cases) {
    ProgramResult r = run_program(c.server, c.args);
    EXPECT_TRUE(r.status.exited_with(2)) << c.message << ": " << r.status.describe();
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(exists(path)) << "a server that refused to start created its path";
  }
}

TEST(ServerCli, FdServerWithMissingRoot_Exits1) {
  TempDir dir;
  ProgramResult r = run_program(Binaries::fd_server(),
                                {"--path", dir.file("door"), "--root", dir.file("missing")});
  EXPECT_TRUE(r.status.exited_with(1)) << r.status.describe();
  EXPECT_NE(r.err.find("fd_server: error: "), std::string::npos) << r.err;
  EXPECT_FALSE(exists(dir.file("door")));
}

// Without --path a server attaches at its interface's $Door.path, resolved for a user under
// $XDG_RUNTIME_DIR/doors/ (made when missing), and the client finds it there by default too.
TEST(ServerCli, DefaultPath_UnderXdgRuntimeDir) {
  if (::geteuid() == 0) GTEST_SKIP() << "root's default doors live in /run/doors/";
  TempDir dir;
  EnvChanges env{{"XDG_RUNTIME_DIR", dir.path()}};
  ExampleProcess server(Binaries::calculator_server(), {}, env);
  ASSERT_TRUE(server.wait_ready());
  EXPECT_TRUE(exists(dir.file("doors/calculator")));
  ProgramResult r = run_program(Binaries::calculator_client(), {"add", "1", "2"}, env);
  EXPECT_TRUE(r.status.exited_with(0)) << r.status.describe() << r.err;
  EXPECT_EQ(r.out, "3\n");
  ChildStatus s = server.signal_and_reap(SIGTERM);
  EXPECT_TRUE(s.exited_with(0)) << s.describe();
  EXPECT_FALSE(exists(dir.file("doors/calculator")));
}

}  // namespace
}  // namespace doors::test
