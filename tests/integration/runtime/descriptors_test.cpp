// Door.Fd fields and interface values (doors in messages) across processes.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "door_support.h"
#include "fd.h"
#include "tester_server.h"

namespace doors::test {
namespace {

std::string read_all(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

OwnedFd memfd_with(const std::string& content) {
  OwnedFd fd(::memfd_create("runtime-test", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_TRUE(write_all(fd.get(), content.data(), content.size()));
  return fd;
}

std::string data_string(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

kj::ArrayPtr<const kj::byte> bytes_of(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

TEST(TypedFd, ServerSendsDescriptor_ClientTakesIt) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());

  auto reply = f.client.openFile("log line");
  OwnedFd sut = reply.take_fd(reply->getFile());

  ASSERT_TRUE(sut.valid());
  EXPECT_EQ(read_all(sut.get()), "log line");
}

TEST(TypedFd, TakenTwice_InvalidArgument) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  auto reply = f.client.openFile("x");
  OwnedFd first = reply.take_fd(reply->getFile());

  try {
    reply.take_fd(reply->getFile());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
  }
  EXPECT_THROW(reply.take_fd(7), Error) << "an index past the list";
}

TEST(TypedFd, ClientSendsCopy_ServerReadsItAndClientKeepsIt) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  OwnedFd mine = memfd_with("from the client");

  auto sut = f.client.readFd(mine.get());

  EXPECT_EQ(std::string(sut->getContent().cStr()), "from the client");
  EXPECT_TRUE(fd_is_open(mine.get()));
}

TEST(TypedFd, ClientPassesOwnedFd_ClosedAfterSending) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  OwnedFd mine = memfd_with("owned");
  int number = mine.get();
  auto req = f.client.readFdRequest();
  req.set_fd(req->initFile(), std::move(mine));

  auto sut = req.send();

  EXPECT_EQ(std::string(sut->getContent().cStr()), "owned");
  EXPECT_FALSE(fd_is_open(number));
}

TEST(TypedFd, ListOfDescriptors_AllArrive) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  auto req = f.client.readFdsRequest();
  auto files = req->initFiles(6);
  for (unsigned i = 0; i < 6; ++i) req.set_fd(files[i], memfd_with("file " + std::to_string(i)));

  auto sut = req.send();

  ASSERT_EQ(sut->getContents().size(), 6u);
  for (unsigned i = 0; i < 6; ++i) {
    EXPECT_EQ(std::string(sut->getContents()[i].cStr()), "file " + std::to_string(i));
  }
}

TEST(TypedFd, IndexWithoutDescriptor_InvalidArgumentFromServer) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  auto req = f.client.readFdRequest();
  req->initFile().setIndex(3);  // no descriptor sent

  try {
    req.send();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    EXPECT_TRUE(e.remote());
  }
}

// An interface value: the server exports a Session door; the client calls it through its own
// typed client, and the server's unreferenced() runs (and the object is destroyed) when the
// client lets go.
TEST(TypedInterface, ReturnedSession_CalledAndUnreferencedWhenDropped) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  {
    rt::SessionDoor::Client sut;
    {
      auto reply = f.client.session();
      sut = rt::SessionDoor::Client(reply->getS());
    }
    ASSERT_TRUE(sut);

    sut.put("k", bytes_of("value"));
    auto got = sut.get("k");

    EXPECT_EQ(data_string(got->getValue()), "value");
    EXPECT_FALSE(f.witnesses.unreferenced.signaled()) << "still referenced";
  }

  EXPECT_TRUE(f.witnesses.unreferenced.wait(Deadline::standard()));
  EXPECT_TRUE(f.witnesses.session_deleted.wait(Deadline::standard()));
  EXPECT_EQ(f.client.add(1, 2)->getSum(), 3) << "the server keeps serving";
}

TEST(TypedInterface, SessionErrors_AreTyped) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  auto reply = f.client.session();
  rt::SessionDoor::Client session(reply->getS());

  try {
    session.get("missing");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
  }
}

// An interface value sent back to the server, which calls it itself.
TEST(TypedInterface, SessionPassedBackToServer_ServerCallsIt) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  f.server->skip_leak_check(
      "the server calls a door from a pool thread, which keeps that channel (as every libdoors "
      "thread does) until it ends: the channel outlives the test's calls by design");
  rt::SessionDoor::Client session(f.client.session()->getS());
  session.put("key", bytes_of("round trip"));

  auto sut = f.client.useSession(session, "key");

  EXPECT_EQ(data_string(sut->getValue()), "round trip");
}

TEST(TypedInterface, ClientFromNullCapability_InvalidArgument) {
  try {
    rt::SessionDoor::Client sut{rt::Session::Client(nullptr)};
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace doors::test
