// The server main's built-in option values (server_options.h), row by row.
#include "server_options.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>

#include <chrono>
#include <optional>
#include <string>

namespace doors::detail {
namespace {

using std::chrono::milliseconds;

TEST(ParseMode, GoodRows_Parsed) {
  struct Row {
    const char* text;
    mode_t mode;
  };
  const Row rows[] = {{"0", 0},       {"0000", 0},     {"7", 07},      {"640", 0640},
                      {"0640", 0640}, {"00640", 0640}, {"660", 0660},  {"0660", 0660},
                      {"600", 0600},  {"777", 0777},   {"0777", 0777}, {"1", 01}};
  for (const Row& row : rows) {
    std::optional<mode_t> sut = parse_mode(row.text);

    ASSERT_TRUE(sut.has_value()) << row.text;
    EXPECT_EQ(*sut, row.mode) << row.text;
  }
}

TEST(ParseMode, BadRows_Nullopt) {
  const char* rows[] = {"",
                        "1000",
                        "4755",
                        "04755",
                        "01777",
                        "0778",
                        "8",
                        "888",
                        "-1",
                        "+644",
                        "0x1ff",
                        " 644",
                        "644 ",
                        "rwx",
                        "6 44",
                        "0o644",
                        "99999999999999999999"};
  for (const char* text : rows) EXPECT_FALSE(parse_mode(text).has_value()) << "'" << text << "'";
}

TEST(ParseThreads, GoodRows_Parsed) {
  struct Row {
    const char* text;
    uint32_t min, max;
  };
  const Row rows[] = {{"1", 1, 1},         {"4", 4, 4},          {"2:8", 2, 8},  {"3:3", 3, 3},
                      {"1:4096", 1, 4096}, {"4096", 4096, 4096}, {"01:02", 1, 2}};
  for (const Row& row : rows) {
    std::optional<PoolBounds> sut = parse_threads(row.text);

    ASSERT_TRUE(sut.has_value()) << row.text;
    EXPECT_EQ(sut->min, row.min) << row.text;
    EXPECT_EQ(sut->max, row.max) << row.text;
  }
}

TEST(ParseThreads, BadRows_Nullopt) {
  const char* rows[] = {"",    "0",  "0:4",  "4:2",   "4097",       "1:4097",       "4097:4097",
                        ":",   "2:", ":8",   "2:8:9", "a",          "2-8",          " 2",
                        "2 ",  "-1", "2:-8", "+2",    "4294967296", "1:4294967297", "2:8 ",
                        "0x10"};
  for (const char* text : rows) {
    EXPECT_FALSE(parse_threads(text).has_value()) << "'" << text << "'";
  }
}

TEST(ParseDuration, GoodRows_Parsed) {
  struct Row {
    const char* text;
    milliseconds value;
  };
  const Row rows[] = {{"0", milliseconds(0)},
                      {"0s", milliseconds(0)},
                      {"0ms", milliseconds(0)},
                      {"250", milliseconds(250)},
                      {"250ms", milliseconds(250)},
                      {"5s", milliseconds(5000)},
                      {"30s", milliseconds(30000)},
                      {"86400s", milliseconds(86'400'000)},
                      {"86400000", milliseconds(86'400'000)},
                      {"86400000ms", milliseconds(86'400'000)}};
  for (const Row& row : rows) {
    std::optional<milliseconds> sut = parse_duration(row.text);

    ASSERT_TRUE(sut.has_value()) << row.text;
    EXPECT_EQ(*sut, row.value) << row.text;
  }
}

TEST(ParseDuration, BadRows_Nullopt) {
  const char* rows[] = {"",
                        "s",
                        "ms",
                        "5m",
                        "5h",
                        "1.5s",
                        "-1",
                        "-1s",
                        "5 s",
                        "5S",
                        "5MS",
                        "s5",
                        "5sms",
                        "5mss",
                        "86401s",
                        "86400001",
                        "86400001ms",
                        " 5",
                        "5 ",
                        "+5",
                        "5us",
                        "1e3",
                        "18446744073709551615s",
                        "18446744073709551616"};
  for (const char* text : rows) {
    EXPECT_FALSE(parse_duration(text).has_value()) << "'" << text << "'";
  }
}

TEST(LookupUser, Root_Zero) {
  std::string error;

  std::optional<uid_t> sut = lookup_user("root", &error);

  ASSERT_TRUE(sut.has_value()) << error;
  EXPECT_EQ(*sut, 0u);
}

TEST(LookupUser, NumericIds_TakenAsIs) {
  struct Row {
    const char* text;
    uid_t id;
  };
  // Numbers need no entry in the user database.
  const Row rows[] = {{"0", 0}, {"1000", 1000}, {"65534", 65534}, {"123456", 123456}};
  for (const Row& row : rows) {
    std::string error;

    std::optional<uid_t> sut = lookup_user(row.text, &error);

    ASSERT_TRUE(sut.has_value()) << row.text << ": " << error;
    EXPECT_EQ(*sut, row.id);
  }
}

TEST(LookupUser, NameInTheDatabase_ItsUid) {
  struct passwd* pw = ::getpwuid(0);
  ASSERT_NE(pw, nullptr);
  std::string name = pw->pw_name;
  std::string error;

  EXPECT_EQ(lookup_user(name, &error), uid_t{0}) << error;
}

TEST(LookupUser, UnknownNames_NulloptSayingSo) {
  for (const char* name : {"no-such-user-doors-test", "", "-1", "+5", "root "}) {
    std::string error;

    std::optional<uid_t> sut = lookup_user(name, &error);

    EXPECT_FALSE(sut.has_value()) << "'" << name << "'";
    EXPECT_EQ(error, std::string("no such user '") + name + "'");
  }
}

// (uid_t)-1 means "leave unchanged" to chown(2) and setresuid(2): as an owner it would silently
// change nothing.
TEST(LookupUser, MinusOneAsANumber_Refused) {
  std::string error;

  std::optional<uid_t> sut = lookup_user("4294967295", &error);

  EXPECT_FALSE(sut.has_value());
  EXPECT_EQ(error, "'4294967295' is not a valid user id");
}

TEST(LookupUser, NumberBeyondUidRange_NotANumber) {
  std::string error;

  std::optional<uid_t> sut = lookup_user("4294967296", &error);

  EXPECT_FALSE(sut.has_value());
  EXPECT_EQ(error, "no such user '4294967296'");
}

TEST(LookupGroup, Root_Zero) {
  std::string error;

  std::optional<gid_t> sut = lookup_group("root", &error);

  ASSERT_TRUE(sut.has_value()) << error;
  EXPECT_EQ(*sut, 0u);
}

TEST(LookupGroup, NumericIds_TakenAsIs) {
  struct Row {
    const char* text;
    gid_t id;
  };
  const Row rows[] = {{"0", 0}, {"100", 100}, {"65534", 65534}, {"123456", 123456}};
  for (const Row& row : rows) {
    std::string error;

    std::optional<gid_t> sut = lookup_group(row.text, &error);

    ASSERT_TRUE(sut.has_value()) << row.text << ": " << error;
    EXPECT_EQ(*sut, row.id);
  }
}

TEST(LookupGroup, NameInTheDatabase_ItsGid) {
  struct group* gr = ::getgrgid(0);
  ASSERT_NE(gr, nullptr);
  std::string name = gr->gr_name;
  std::string error;

  EXPECT_EQ(lookup_group(name, &error), gid_t{0}) << error;
}

TEST(LookupGroup, UnknownNames_NulloptSayingSo) {
  for (const char* name : {"no-such-group-doors-test", "", "-1", "root "}) {
    std::string error;

    std::optional<gid_t> sut = lookup_group(name, &error);

    EXPECT_FALSE(sut.has_value()) << "'" << name << "'";
    EXPECT_EQ(error, std::string("no such group '") + name + "'");
  }
}

TEST(LookupGroup, MinusOneAsANumber_Refused) {
  std::string error;

  std::optional<gid_t> sut = lookup_group("4294967295", &error);

  EXPECT_FALSE(sut.has_value());
  EXPECT_EQ(error, "'4294967295' is not a valid group id");
}

}  // namespace
}  // namespace doors::detail
