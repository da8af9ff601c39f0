// Service in one process (a local door): attaching, detaching, revocation on destruction.
#include <doors/runtime.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "tester_server.h"

namespace doors::test {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(Service, AttachMissingFile_CreatedWithModeAndRemovedOnDetach) {
  TempDir dir;
  std::string path = dir.file("svc");
  TesterWitnesses w;
  Service sut(make_tester(&w));

  sut.attach(path, 0640);

  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(rt::TesterDoor::Client::open(path).add(1, 2)->getSum(), 3);
  sut.detach();
  EXPECT_FALSE(exists(path));
}

TEST(Service, AttachExistingFile_LeftInPlaceOnDetach) {
  TempDir dir;
  std::string path = dir.make_file("svc", 0600);
  TesterWitnesses w;
  Service sut(make_tester(&w));

  sut.attach(path);
  sut.detach();

  EXPECT_TRUE(exists(path));
}

TEST(Service, AttachWhereAnotherIsAttached_AlreadyExists) {
  TempDir dir;
  std::string path = dir.file("svc");
  TesterWitnesses w;
  Service first(make_tester(&w));
  first.attach(path);
  Service sut(make_tester(&w));

  try {
    sut.attach(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kAlreadyExists) << e.what();
  }
}

TEST(Service, AttachUnderMissingDirectory_NotFound) {
  TempDir dir;
  TesterWitnesses w;
  Service sut(make_tester(&w));

  try {
    sut.attach(dir.file("no/such/dir"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
  }
}

TEST(Service, Destroyed_ClientsSeeUnavailable) {
  TempDir dir;
  std::string path = dir.file("svc");
  TesterWitnesses w;
  auto sut = std::make_unique<Service>(make_tester(&w));
  sut->attach(path);
  auto client = rt::TesterDoor::Client::open(path);
  client.null();

  sut.reset();

  try {
    client.null();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable);
  }
  EXPECT_FALSE(exists(path));
}

TEST(Service, NoServer_InvalidArgument) { EXPECT_THROW(Service(nullptr), Error); }

}  // namespace
}  // namespace doors::test
