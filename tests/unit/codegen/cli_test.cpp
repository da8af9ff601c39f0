// doorc's command line, run as a user runs it: --help, --version, usage errors (exit 2), schema
// errors and missing files (exit 1), where the outputs go, and that unchanged outputs are left
// alone.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "temp_dir.h"

extern char** environ;

namespace {

using doors::test::TempDir;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs doorc with `args` in directory `cwd`; stdout and stderr go through files in `scratch`.
Run doorc(const TempDir& scratch, const std::string& cwd, std::vector<std::string> args) {
  std::vector<char*> argv;
  std::string program = DOORS_DOORC;
  argv.push_back(program.data());
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string out = scratch.file(".stdout"), err = scratch.file(".stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  Run run;
  int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << program << ": " << rc;
    return run;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = read_file(out);
  run.err = read_file(err);
  return run;
}

constexpr const char* kSchema = R"(@0xc0ffee0123456789;
using Door = import "/doors/door.capnp";
interface Calculator $Door.path("calculator") {
  add @0 (a :Int64, b :Int64) -> (sum :Int64);
}
)";

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(DoorcCli, Help_PrintsTheManualAndExits0) {
  TempDir dir;
  auto sut = doorc(dir, dir.path(), {"--help"});
  EXPECT_EQ(sut.exit_code, 0);
  EXPECT_NE(sut.out.find("SYNOPSIS\n    doorc [OPTION]... FILE.capnp..."), std::string::npos);
  EXPECT_NE(sut.out.find("--import-path=DIR"), std::string::npos);
  EXPECT_NE(sut.out.find("--src-prefix=PREFIX"), std::string::npos);
  EXPECT_EQ(sut.err, "");
}

TEST(DoorcCli, Version_PrintsTheProjectVersion) {
  TempDir dir;
  auto sut = doorc(dir, dir.path(), {"--version"});
  EXPECT_EQ(sut.exit_code, 0);
  EXPECT_EQ(sut.out, "doorc " DOORS_VERSION "\n");
}

TEST(DoorcCli, UnknownOption_Exits2WithOneLine) {
  TempDir dir;
  auto sut = doorc(dir, dir.path(), {"--bogus", "x.capnp"});
  EXPECT_EQ(sut.exit_code, 2);
  EXPECT_EQ(sut.err, "doorc: unknown option '--bogus'; see doorc --help\n");
  EXPECT_EQ(sut.out, "");
}

TEST(DoorcCli, NoFiles_Exits2) {
  TempDir dir;
  auto sut = doorc(dir, dir.path(), {"-o", "out"});
  EXPECT_EQ(sut.exit_code, 2);
  EXPECT_EQ(sut.err, "doorc: no input files; see doorc --help\n");
}

TEST(DoorcCli, OptionWithoutValue_Exits2) {
  TempDir dir;
  auto sut = doorc(dir, dir.path(), {"x.capnp", "-I"});
  EXPECT_EQ(sut.exit_code, 2);
  EXPECT_EQ(count_lines(sut.err), 1);
  EXPECT_NE(sut.err.find("option -I needs a value"), std::string::npos);
}

TEST(DoorcCli, SchemaError_Exits1WithFileLineColumn) {
  TempDir dir;
  write_file(dir.file("bad.capnp"),
             "@0xc0ffee0123456789;\nusing Door = import \"/doors/door.capnp\";\n"
             "interface A $Door.path(\"\") {}\n");
  auto sut = doorc(dir, dir.path(), {"bad.capnp"});
  EXPECT_EQ(sut.exit_code, 1);
  EXPECT_TRUE(std::regex_search(sut.err, std::regex("^error: bad\\.capnp:3:[0-9]+: "))) << sut.err;
  EXPECT_FALSE(std::ifstream(dir.file("bad.door.h")).good());
}

TEST(DoorcCli, MissingFile_Exits1) {
  TempDir dir;
  auto sut = doorc(dir, dir.path(), {"nope.capnp"});
  EXPECT_EQ(sut.exit_code, 1);
  EXPECT_EQ(sut.err, "error: nope.capnp: cannot open file\n");
}

TEST(DoorcCli, OneBadFileOfTwo_GeneratesTheOtherAndExits1) {
  TempDir dir;
  write_file(dir.file("calc.capnp"), kSchema);
  auto sut = doorc(dir, dir.path(), {"nope.capnp", "calc.capnp"});
  EXPECT_EQ(sut.exit_code, 1);
  EXPECT_TRUE(std::ifstream(dir.file("calc.door.h")).good());
  EXPECT_TRUE(std::ifstream(dir.file("calc.door.c++")).good());
}

TEST(DoorcCli, Output_GoesBesideCapnpCompileOutput) {
  TempDir dir;
  ASSERT_EQ(mkdir(dir.file("src").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir.file("src/sub").c_str(), 0755), 0);
  write_file(dir.file("src/sub/calc.capnp"), kSchema);
  auto sut = doorc(dir, dir.path(), {"--output=out", "--src-prefix=src", "src/sub/calc.capnp"});
  ASSERT_EQ(sut.exit_code, 0) << sut.err;
  auto header = read_file(dir.file("out/sub/calc.door.h"));
  EXPECT_NE(header.find("// Generated by doorc " DOORS_VERSION " from calc.capnp. DO NOT EDIT.\n"),
            std::string::npos);
  EXPECT_NE(header.find("#include \"calc.capnp.h\"\n"), std::string::npos);
  EXPECT_NE(read_file(dir.file("out/sub/calc.door.c++")).find("CalculatorDoor::kInfo"),
            std::string::npos);
}

TEST(DoorcCli, WithoutSrcPrefix_TheInputPathIsKept) {
  TempDir dir;
  ASSERT_EQ(mkdir(dir.file("src").c_str(), 0755), 0);
  write_file(dir.file("src/calc.capnp"), kSchema);
  auto sut = doorc(dir, dir.path(), {"-o", "out", dir.file("src/calc.capnp")});
  ASSERT_EQ(sut.exit_code, 0) << sut.err;
  EXPECT_TRUE(std::ifstream(dir.file("out/src/calc.door.h")).good());
}

TEST(DoorcCli, UnchangedOutput_IsNotRewritten) {
  TempDir dir;
  write_file(dir.file("calc.capnp"), kSchema);
  ASSERT_EQ(doorc(dir, dir.path(), {"calc.capnp"}).exit_code, 0);
  struct stat before {};
  ASSERT_EQ(stat(dir.file("calc.door.h").c_str(), &before), 0);

  auto sut = doorc(dir, dir.path(), {"calc.capnp"});

  ASSERT_EQ(sut.exit_code, 0);
  struct stat after {};
  ASSERT_EQ(stat(dir.file("calc.door.h").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // a rewrite renames a new file over it
}

TEST(DoorcCli, ChangedOutput_IsReplacedAtomically) {
  TempDir dir;
  write_file(dir.file("calc.capnp"), kSchema);
  write_file(dir.file("calc.door.h"), "stale\n");
  struct stat before {};
  ASSERT_EQ(stat(dir.file("calc.door.h").c_str(), &before), 0);

  auto sut = doorc(dir, dir.path(), {"calc.capnp"});

  ASSERT_EQ(sut.exit_code, 0);
  struct stat after {};
  ASSERT_EQ(stat(dir.file("calc.door.h").c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
  EXPECT_NE(read_file(dir.file("calc.door.h")).find("struct CalculatorDoor {"), std::string::npos);
  EXPECT_EQ(
      after.st_mode & 0777, 0666 & ~[] {
        mode_t m = umask(0);
        umask(m);
        return m;
      }());
}

TEST(DoorcCli, ImportPath_FindsAbsoluteImports) {
  TempDir dir;
  auto sut = doorc(dir, DOORS_CODEGEN_GOLDEN_DIR,
                   {"-I", "include", "-o", dir.file("out"), "importer.capnp"});
  ASSERT_EQ(sut.exit_code, 0) << sut.err;
  EXPECT_NE(read_file(dir.file("out/importer.door.h")).find("#include <shapes/shapes.door.h>\n"),
            std::string::npos);
}

TEST(DoorcCli, ImportPath_Missing_ImportFails) {
  TempDir dir;
  auto sut = doorc(dir, DOORS_CODEGEN_GOLDEN_DIR, {"-o", dir.file("out"), "importer.capnp"});
  EXPECT_EQ(sut.exit_code, 1);
  EXPECT_TRUE(std::regex_search(sut.err, std::regex("^error: importer\\.capnp:[0-9]+:[0-9]+: ")))
      << sut.err;
}

}  // namespace
