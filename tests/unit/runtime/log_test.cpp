// The server log (log.h): levels, the file format, filtering, what messages may carry, rotation.
// The log is process-wide and cannot be sent back to stderr once it goes to a file: each test
// that writes a file points the log at its own TempDir and restores level and program name, so
// that the tests pass one per process (CTest) and all in one process alike.
#include <doors/runtime/error.h>
#include <doors/runtime/log.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace doors {
namespace {

using test::read_file;
using test::TempDir;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The message part of a file line ("<time> <program>[<pid>]: <level>: <message>").
std::string message_of(const std::string& line) {
  size_t at = line.find("]: ");
  if (at == std::string::npos) return "";
  at = line.find(": ", at + 3);
  return at == std::string::npos ? "" : line.substr(at + 2);
}

// Restores the level and the program name; points the log at a file of its own TempDir.
class LogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_program("log_test");
    set_log_level(LogLevel::kInfo);
    set_log_file(path);
  }
  void TearDown() override {
    set_log_level(LogLevel::kInfo);
    set_log_program(program_invocation_short_name);
  }
  TempDir dir;
  std::string path = dir.file("server.log");
};

// ---------------------------------------------------------------------------------------------
// Level names

TEST(LogLevelNames, ParseLogLevel_EveryRow) {
  struct Row {
    const char* name;
    std::optional<LogLevel> level;
  };
  const Row rows[] = {
      {"error", LogLevel::kError},  {"warning", LogLevel::kWarning},
      {"warn", LogLevel::kWarning}, {"info", LogLevel::kInfo},
      {"debug", LogLevel::kDebug},  {"", std::nullopt},
      {"ERROR", std::nullopt},      {"Info", std::nullopt},
      {"trace", std::nullopt},      {"err", std::nullopt},
      {"warning ", std::nullopt},   {" info", std::nullopt},
      {"infos", std::nullopt},      {"6", std::nullopt},
      {"notice", std::nullopt},
  };
  for (const Row& row : rows) {
    std::optional<LogLevel> sut = parse_log_level(row.name);

    EXPECT_EQ(sut, row.level) << "\"" << row.name << "\"";
  }
}

TEST(LogLevelNames, LevelName_EveryLevelRoundTrips) {
  struct Row {
    LogLevel level;
    const char* name;
    int syslog_priority;
  };
  const Row rows[] = {{LogLevel::kError, "error", 3},
                      {LogLevel::kWarning, "warning", 4},
                      {LogLevel::kInfo, "info", 6},
                      {LogLevel::kDebug, "debug", 7}};
  for (const Row& row : rows) {
    const char* sut = log_level_name(row.level);

    EXPECT_STREQ(sut, row.name);
    EXPECT_EQ(parse_log_level(sut), row.level);
    EXPECT_EQ(static_cast<int>(row.level), row.syslog_priority);
  }
}

TEST(LogLevelNames, LogEnabled_EveryLevelPair) {
  const LogLevel levels[] = {LogLevel::kError, LogLevel::kWarning, LogLevel::kInfo,
                             LogLevel::kDebug};
  for (size_t set = 0; set < 4; ++set) {
    set_log_level(levels[set]);
    EXPECT_EQ(log_level(), levels[set]);
    for (size_t asked = 0; asked < 4; ++asked) {
      EXPECT_EQ(log_enabled(levels[asked]), asked <= set)
          << log_level_name(levels[set]) << " / " << log_level_name(levels[asked]);
    }
  }
  set_log_level(LogLevel::kInfo);
}

// ---------------------------------------------------------------------------------------------
// A log file

TEST_F(LogFile, Line_TimestampProgramPidLevelMessage) {
  log(LogLevel::kInfo, "session %d opened", 7);

  std::string sut = read_file(path);
  std::regex expected(
      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z log_test\\[" +
      std::to_string(::getpid()) + "\\]: info: session 7 opened\n");
  EXPECT_TRUE(std::regex_match(sut, expected)) << sut;
}

TEST_F(LogFile, EveryLevel_NamedInItsLine) {
  set_log_level(LogLevel::kDebug);

  log(LogLevel::kError, "e");
  log(LogLevel::kWarning, "w");
  log(LogLevel::kInfo, "i");
  log(LogLevel::kDebug, "d");

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 4u);
  EXPECT_NE(sut[0].find("]: error: e"), std::string::npos) << sut[0];
  EXPECT_NE(sut[1].find("]: warning: w"), std::string::npos) << sut[1];
  EXPECT_NE(sut[2].find("]: info: i"), std::string::npos) << sut[2];
  EXPECT_NE(sut[3].find("]: debug: d"), std::string::npos) << sut[3];
}

TEST_F(LogFile, LevelWarning_InfoAndDebugDropped) {
  set_log_level(LogLevel::kWarning);

  log(LogLevel::kDebug, "debug");
  DOORS_LOG_INFO("info %s", "macro");
  log(LogLevel::kInfo, "info");
  DOORS_LOG_WARNING("warning %d", 1);
  log(LogLevel::kError, "error");

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 2u);
  EXPECT_EQ(message_of(sut[0]), "warning 1");
  EXPECT_EQ(message_of(sut[1]), "error");
}

TEST_F(LogFile, ControlCharacters_BecomeQuestionMarks) {
  log(LogLevel::kInfo,
      "a\tb\nc\rd\x1b[31me\x7f"
      "f\x01");

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 1u) << "one message, one line";
  EXPECT_EQ(message_of(sut[0]), "a?b?c?d?[31me?f?");
}

TEST_F(LogFile, NonAsciiUtf8_Kept) {
  log(LogLevel::kInfo, "caf\xc3\xa9");

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 1u);
  EXPECT_EQ(message_of(sut[0]), "caf\xc3\xa9");
}

// True when `text` is `n` copies of `c` (without printing kilobytes on failure).
::testing::AssertionResult is_run(const std::string& text, size_t n, char c) {
  if (text.size() != n) return ::testing::AssertionFailure() << text.size() << " bytes, not " << n;
  size_t other = text.find_first_not_of(c);
  if (other != std::string::npos) {
    return ::testing::AssertionFailure()
           << "byte " << other << " is 0x" << std::hex
           << static_cast<int>(static_cast<unsigned char>(text[other]));
  }
  return ::testing::AssertionSuccess();
}

TEST_F(LogFile, MessageOver4KiB_CutAt4KiBAndEndsWithOneNewline) {
  std::string big(10000, 'x');

  log(LogLevel::kInfo, "%s", big.c_str());

  std::string text = read_file(path);
  auto sut = lines_of(text);
  ASSERT_EQ(sut.size(), 1u);
  EXPECT_TRUE(is_run(message_of(sut[0]), 4096, 'x'));
  ASSERT_GE(text.size(), 2u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text[text.size() - 2], '\n');
}

TEST_F(LogFile, MessageOfExactly4KiB_Whole) {
  std::string fits(4096, 'z');

  log(LogLevel::kInfo, "%s", fits.c_str());

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 1u);
  EXPECT_TRUE(is_run(message_of(sut[0]), 4096, 'z'));
}

TEST_F(LogFile, CutInsideAUtf8Character_CutBeforeIt) {
  // 4094 bytes, then a three-byte character straddling the 4 KiB limit.
  std::string text = std::string(4094, 'u') + "\xe2\x82\xac";

  log(LogLevel::kInfo, "%s", text.c_str());

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 1u);
  EXPECT_TRUE(is_run(message_of(sut[0]), 4094, 'u'));
}

TEST_F(LogFile, Utf8CharacterEndingAt4KiB_Kept) {
  std::string text = std::string(4093, 'v') + "\xe2\x82\xac";

  log(LogLevel::kInfo, "%s", text.c_str());

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 1u);
  EXPECT_EQ(message_of(sut[0]).substr(4093), "\xe2\x82\xac");
}

TEST_F(LogFile, FileMissing_CreatedWithMode0640) {
  struct stat st;
  mode_t mask = ::umask(0);
  ::umask(mask);

  ASSERT_EQ(::stat(path.c_str(), &st), 0);

  EXPECT_EQ(st.st_mode & 0777, 0640u & ~mask);
}

TEST_F(LogFile, ExistingFile_Appended) {
  log(LogLevel::kInfo, "first");
  set_log_file(path);  // opened again: appends, does not truncate

  log(LogLevel::kInfo, "second");

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 2u);
  EXPECT_EQ(message_of(sut[0]), "first");
  EXPECT_EQ(message_of(sut[1]), "second");
}

TEST_F(LogFile, ProgramNameSet_UsedInLines) {
  set_log_program("renamed");

  log(LogLevel::kInfo, "m");

  EXPECT_NE(read_file(path).find(" renamed[" + std::to_string(::getpid()) + "]: info: m\n"),
            std::string::npos);
}

TEST_F(LogFile, ReopenAfterRename_NewFileAtThePath) {
  log(LogLevel::kInfo, "before");
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);

  bool sut = reopen_log();
  log(LogLevel::kInfo, "after");

  EXPECT_TRUE(sut);
  auto now = lines_of(read_file(path));
  auto rotated = lines_of(read_file(path + ".1"));
  ASSERT_EQ(now.size(), 1u);
  ASSERT_EQ(rotated.size(), 1u);
  EXPECT_EQ(message_of(now[0]), "after");
  EXPECT_EQ(message_of(rotated[0]), "before");
}

TEST_F(LogFile, ReopenWhenPathUnreachable_FalseAndKeepsTheOldFile) {
  std::string sub = dir.file("sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  std::string inner = sub + "/server.log";
  set_log_file(inner);
  std::string moved = dir.file("moved.log");
  ASSERT_EQ(::rename(inner.c_str(), moved.c_str()), 0);
  ASSERT_EQ(::rmdir(sub.c_str()), 0);

  bool sut = reopen_log();
  log(LogLevel::kInfo, "still here");

  EXPECT_FALSE(sut);
  auto lines = lines_of(read_file(moved));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("error: cannot reopen log file " + inner), std::string::npos) << lines[0];
  EXPECT_EQ(message_of(lines[1]), "still here");
}

TEST_F(LogFile, SetLogFileUnopenable_ThrowsAndLogStaysWhereItWas) {
  std::string bad = dir.file("no/such/dir/server.log");

  try {
    set_log_file(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound) << e.what();
    EXPECT_NE(e.message().find(bad), std::string::npos) << e.what();
    EXPECT_EQ(e.sys_errno(), ENOENT);
  }
  log(LogLevel::kInfo, "kept");

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), 1u);
  EXPECT_EQ(message_of(sut[0]), "kept");
}

TEST_F(LogFile, SetLogFileOnADirectory_Throws) {
  EXPECT_THROW(set_log_file(dir.path()), Error);
  log(LogLevel::kInfo, "kept");

  EXPECT_EQ(lines_of(read_file(path)).size(), 1u);
}

TEST_F(LogFile, ConcurrentWriters_LinesNeverInterleave) {
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;

  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      std::string payload(300, static_cast<char>('a' + t));
      for (int i = 0; i < kLines; ++i) log(LogLevel::kInfo, "%d %s", t, payload.c_str());
    });
  }
  for (auto& th : threads) th.join();

  auto sut = lines_of(read_file(path));
  ASSERT_EQ(sut.size(), size_t{kThreads * kLines});
  for (const std::string& line : sut) {
    std::string m = message_of(line);
    ASSERT_EQ(m.size(), 302u) << line;
    int t = m[0] - '0';
    EXPECT_EQ(m.substr(2), std::string(300, static_cast<char>('a' + t))) << line;
  }
}

// ---------------------------------------------------------------------------------------------
// stderr (only while no test of this process has moved the log to a file)

TEST(LogStderr, Line_ProgramLevelMessage) {
  if (::getenv("JOURNAL_STREAM") != nullptr) GTEST_SKIP() << "stderr may be the journal";
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
  int saved = ::dup(STDERR_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(pipefd[1], STDERR_FILENO), STDERR_FILENO);
  set_log_program("log_test");

  log(LogLevel::kWarning, "to stderr %d", 3);

  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  set_log_program(program_invocation_short_name);
  char buf[256];
  ssize_t n = ::read(pipefd[0], buf, sizeof buf);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  if (n < 0 && errno == EAGAIN) GTEST_SKIP() << "an earlier test moved the log to a file";
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "log_test: warning: to stderr 3\n");
}

}  // namespace
}  // namespace doors
