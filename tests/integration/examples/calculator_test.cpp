// The calculator example end to end: the real calculator_server binary, called through the
// generated CalculatorDoor::Client from this process.
#include <doors/runtime.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "calculator.door.h"
#include "call_error.h"
#include "example_process.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

kj::ArrayPtr<const kj::byte> bytes(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

std::string as_string(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

class CalculatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ExampleServer>(Binaries::calculator_server(), path_,
                                              std::vector<std::string>{"--log-dir", log_dir_});
    ASSERT_TRUE(server_->ready());
    sut_ = calc::CalculatorDoor::Client::open(path_);
  }
  void TearDown() override {
    sut_ = {};
    if (server_ && server_->ready()) server_->stop();
  }

  TempDir dir_;
  std::string path_ = dir_.file("calculator");
  std::string log_dir_ = dir_.file("logs");
  std::unique_ptr<ExampleServer> server_;
  calc::CalculatorDoor::Client sut_;
};

TEST_F(CalculatorTest, Add_ReturnsTheSum) {
  EXPECT_EQ(sut_.add(2, 3)->getSum(), 5);
  EXPECT_EQ(sut_.add(-7, 4)->getSum(), -3);
  EXPECT_EQ(sut_.add(INT64_MAX, INT64_MIN)->getSum(), -1);
}

TEST_F(CalculatorTest, Add_Overflow_FailsWithOutOfRange) {
  auto e = error_of([&] { sut_.add(INT64_MAX, 1); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kOutOfRange);
  EXPECT_TRUE(e->remote());
}

TEST_F(CalculatorTest, Divide_RoundsTowardZero) {
  EXPECT_EQ(sut_.divide(7, 2)->getQuotient(), 3);
  EXPECT_EQ(sut_.divide(-7, 2)->getQuotient(), -3);
  EXPECT_EQ(sut_.divide(INT64_MIN, 1)->getQuotient(), INT64_MIN);
}

TEST_F(CalculatorTest, Divide_ByZero_FailsWithInvalidArgumentAndItsMessage) {
  auto e = error_of([&] { sut_.divide(1, 0); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kInvalidArgument);
  EXPECT_EQ(e->message(), "division by zero");
  EXPECT_TRUE(e->remote());
  EXPECT_STREQ(e->what(), "INVALID_ARGUMENT: division by zero");
  // A typed error, not a crash: the server goes on serving.
  EXPECT_EQ(sut_.add(1, 1)->getSum(), 2);
}

TEST_F(CalculatorTest, Divide_MinByMinusOne_FailsWithOutOfRange) {
  auto e = error_of([&] { sut_.divide(INT64_MIN, -1); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kOutOfRange);
}

TEST_F(CalculatorTest, Total_SumsTheValues) {
  auto req = sut_.totalRequest();
  auto values = req->initValues(3);
  values.set(0, 1);
  values.set(1, 2.5);
  values.set(2, 3);
  EXPECT_DOUBLE_EQ(req.send()->getSum(), 6.5);
}

TEST_F(CalculatorTest, Total_NoValues_IsZero) {
  auto req = sut_.totalRequest();
  req->initValues(0);
  EXPECT_EQ(req.send()->getSum(), 0.0);
}

TEST_F(CalculatorTest, Total_ListLargerThanInlineData_TravelsThroughSharedMemory) {
  constexpr unsigned kCount = 20'000;  // 160 KB of values: more than DOORS_INLINE_DATA_MAX
  auto req = sut_.totalRequest();
  auto values = req->initValues(kCount);
  for (unsigned i = 0; i < kCount; ++i) values.set(i, static_cast<double>(i));
  EXPECT_DOUBLE_EQ(req.send()->getSum(), double{kCount} * (kCount - 1) / 2);
}

TEST_F(CalculatorTest, OpenLog_ReturnsAnAppendingWritableDescriptor) {
  auto first = sut_.openLog("app");
  OwnedFd fd1 = first.take_fd(first->getLog());
  ASSERT_GE(fd1.get(), 0);
  int flags = ::fcntl(fd1.get(), F_GETFL);
  EXPECT_EQ(flags & O_ACCMODE, O_WRONLY);
  EXPECT_NE(flags & O_APPEND, 0);
  ASSERT_EQ(::write(fd1.get(), "one\n", 4), 4);

  auto second = sut_.openLog("app");
  OwnedFd fd2 = second.take_fd(second->getLog());
  ASSERT_EQ(::write(fd2.get(), "two\n", 4), 4);
  ASSERT_EQ(::write(fd1.get(), "three\n", 6), 6);

  EXPECT_EQ(read_file(log_dir_ + "/app.log"), "one\ntwo\nthree\n");
}

TEST_F(CalculatorTest, OpenLog_NameOf64Bytes_IsAccepted) {
  std::string name(64, 'x');
  auto reply = sut_.openLog(kj::StringPtr(name.c_str(), name.size()));
  OwnedFd fd = reply.take_fd(reply->getLog());
  EXPECT_GE(fd.get(), 0);
  struct stat st;
  EXPECT_EQ(::stat((log_dir_ + "/" + name + ".log").c_str(), &st), 0);
}

TEST_F(CalculatorTest, OpenLog_BadNames_FailWithInvalidArgument) {
  std::string too_long(65, 'x');
  for (std::string name : {std::string(), std::string("a/b"), std::string(".."),
                           std::string("x..y"), std::string("/etc/passwd"), too_long}) {
    SCOPED_TRACE("name \"" + name + "\"");
    auto e = error_of([&] { sut_.openLog(kj::StringPtr(name.c_str(), name.size())); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), Code::kInvalidArgument);
  }
  // Nothing was created outside the log directory, and nothing odd inside it.
  struct stat st;
  EXPECT_NE(::stat((dir_.path() + "/b.log").c_str(), &st), 0);
}

TEST_F(CalculatorTest, Session_PutThenGet_ReturnsTheValue) {
  calc::SessionDoor::Client session(sut_.session()->getS());
  session.put("k", bytes("value one"));
  EXPECT_EQ(as_string(session.get("k")->getValue()), "value one");
  session.put("k", bytes("value two"));
  EXPECT_EQ(as_string(session.get("k")->getValue()), "value two");
}

TEST_F(CalculatorTest, Session_GetOfMissingKey_FailsWithNotFound) {
  calc::SessionDoor::Client session(sut_.session()->getS());
  auto e = error_of([&] { session.get("missing"); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kNotFound);
  EXPECT_TRUE(e->remote());
}

TEST_F(CalculatorTest, Session_TwoSessions_AreIndependent) {
  calc::SessionDoor::Client a(sut_.session()->getS());
  calc::SessionDoor::Client b(sut_.session()->getS());
  a.put("k", bytes("a"));
  b.put("k", bytes("b"));
  EXPECT_EQ(as_string(a.get("k")->getValue()), "a");
  EXPECT_EQ(as_string(b.get("k")->getValue()), "b");
}

TEST_F(CalculatorTest, Session_LastReferenceClosed_ServerDropsTheSession) {
  {
    calc::SessionDoor::Client session(sut_.session()->getS());
    session.put("k", bytes("v"));
    ASSERT_TRUE(server_->process().wait_for_stderr("session 1 opened"));
    // A copy shares the reference: the session lives until the last copy is gone.
    calc::SessionDoor::Client copy = session;
    session = {};
    EXPECT_EQ(as_string(copy.get("k")->getValue()), "v");
  }
  // DOOR_UNREF at the server: the runtime destroys the Session object, which logs it.
  EXPECT_TRUE(server_->process().wait_for_stderr("session 1 closed"));
  // And the server is healthy.
  EXPECT_EQ(sut_.add(20, 22)->getSum(), 42);
  calc::SessionDoor::Client next(sut_.session()->getS());
  next.put("k", bytes("w"));
  EXPECT_EQ(as_string(next.get("k")->getValue()), "w");
}

TEST_F(CalculatorTest, Session_DoorOutlivesTheCalculatorClient) {
  calc::SessionDoor::Client session(sut_.session()->getS());
  sut_ = {};  // the session is a door of its own
  session.put("k", bytes("still here"));
  EXPECT_EQ(as_string(session.get("k")->getValue()), "still here");
}

// The server's own contract, as an operator sees it.

TEST(CalculatorServer, PathFileMadeBeforeStart_IsLeftInPlaceAtStop) {
  TempDir dir;
  std::string path = dir.make_file("calculator", 0600);
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  EXPECT_EQ(calc::CalculatorDoor::Client::open(path).add(1, 2)->getSum(), 3);
  server.stop(/*keep_file=*/true);
}

TEST(CalculatorServer, MissingParentDirectory_IsCreated) {
  TempDir dir;
  std::string path = dir.file("a/b/calculator");
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  EXPECT_EQ(calc::CalculatorDoor::Client::open(path).add(1, 2)->getSum(), 3);
  // The default log directory sits beside the door.
  struct stat st;
  EXPECT_EQ(::stat((path + ".logs").c_str(), &st), 0);
}

TEST(CalculatorServer, SecondServerOnTheSamePath_FailsAndLeavesTheFirstAlone) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer first(Binaries::calculator_server(), path);
  ASSERT_TRUE(first.ready());
  ProgramResult second =
      run_program(Binaries::calculator_server(), {"--path", path, "--log-dir", dir.file("l2")});
  EXPECT_TRUE(second.status.exited_with(1)) << second.status.describe();
  EXPECT_EQ(second.out, "");
  EXPECT_NE(second.err.find("calculator_server: error: "), std::string::npos) << second.err;
  EXPECT_EQ(calc::CalculatorDoor::Client::open(path).add(1, 2)->getSum(), 3);
}

TEST(CalculatorServer, SigintStopsLikeSigterm) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleProcess server(Binaries::calculator_server(), {"--path", path});
  ASSERT_TRUE(server.wait_ready());
  ChildStatus s = server.signal_and_reap(SIGINT);
  EXPECT_TRUE(s.exited_with(0)) << s.describe();
  struct stat st;
  EXPECT_NE(::lstat(path.c_str(), &st), 0);
}

TEST(CalculatorServer, Sighup_IsIgnored) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  ::kill(server.process().pid(), SIGHUP);
  ASSERT_TRUE(server.process().wait_for_stderr("SIGHUP: nothing to reload"));
  auto client = calc::CalculatorDoor::Client::open(path);
  EXPECT_EQ(client.add(1, 2)->getSum(), 3);
  EXPECT_EQ(client.add(3, 4)->getSum(), 7);
}

}  // namespace
}  // namespace doors::test
