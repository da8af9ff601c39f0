// Descriptors passed with DOOR_DESCRIPTOR between processes, both ways, and a door descriptor
// handed on to a third process.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// --- client to server ------------------------------------------------------------------------

// Writes "from server" into the descriptor it is passed and closes its copy.
void write_into_passed_proc(void*, char*, std::size_t, door_desc_t* dp, uint_t n) {
  bool ok = n == 1 && (dp[0].d_attributes & DOOR_DESCRIPTOR);
  if (ok) {
    int fd = dp[0].d_data.d_desc.d_descriptor;
    ok = write_all(fd, "from server", 11);
    ::close(fd);
  }
  reply(ok ? "ok" : "no descriptor");
}

// door_call(3C): a descriptor passed with DOOR_DESCRIPTOR reaches the server as a descriptor
// for the same open file.
TEST(DoorCall, PipePassedToServer_ServerWritesIntoIt) {
  TempDir dir;
  auto server = fork_door_server(dir.file("door"), write_into_passed_proc);
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  Pipe pipe = Pipe::make();

  CallOutcome call = call_door(client.get(), "", {descriptor(pipe.write_end.get())});

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  EXPECT_EQ(call.data, "ok");
  char got[11] = {};
  ASSERT_TRUE(read_exact(pipe.read_end.get(), got, sizeof got, Deadline::standard()));
  EXPECT_EQ(std::string(got, sizeof got), "from server");
}

// door_call(3C): with DOOR_RELEASE "the descriptor is closed in the caller's process" once
// passed.
TEST(DoorCall, DescriptorWithRelease_ClosesSendersCopy) {
  TempDir dir;
  auto server = fork_door_server(dir.file("door"), write_into_passed_proc);
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  Pipe pipe = Pipe::make();
  int sent = pipe.write_end.release();

  CallOutcome call = call_door(client.get(), "", {descriptor(sent, DOOR_RELEASE)});

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  errno = 0;
  int flags = ::fcntl(sent, F_GETFD);
  int err = errno;
  EXPECT_EQ(flags, -1) << "the sender's descriptor is still open";
  EXPECT_EQ(err, EBADF);
  if (flags != -1) ::close(sent);
  // The only write end left was the server's, which it closed: the pipe reads to its end.
  char got[11] = {};
  ASSERT_TRUE(read_exact(pipe.read_end.get(), got, sizeof got, Deadline::standard()));
  char more;
  EXPECT_EQ(::read(pipe.read_end.get(), &more, 1), 0);
}

TEST(DoorCall, DescriptorWithoutRelease_SendersCopyStaysOpen) {
  TempDir dir;
  auto server = fork_door_server(dir.file("door"), write_into_passed_proc);
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  Pipe pipe = Pipe::make();

  CallOutcome call = call_door(client.get(), "", {descriptor(pipe.write_end.get())});

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  EXPECT_TRUE(fd_is_open(pipe.write_end.get()));
  EXPECT_TRUE(write_all(pipe.write_end.get(), "!", 1));
}

// The server is handed as many descriptors as were passed, in order.
TEST(DoorCall, SeveralDescriptors_ArriveInOrder) {
  TempDir dir;
  auto server =
      fork_door_server(dir.file("door"), [](void*, char*, std::size_t, door_desc_t* dp, uint_t n) {
        // Writes its index into each passed pipe.
        for (uint_t i = 0; i < n; ++i) {
          char c = static_cast<char>('0' + i);
          (void)write_all(dp[i].d_data.d_desc.d_descriptor, &c, 1);
          ::close(dp[i].d_data.d_desc.d_descriptor);
        }
        reply_value(n);
      });
  ASSERT_NE(server, nullptr);
  UniqueFd client = open_door(dir.file("door"));
  Pipe p0 = Pipe::make(), p1 = Pipe::make(), p2 = Pipe::make();

  CallOutcome call = call_door(client.get(), "three",
                               {descriptor(p0.write_end.get()), descriptor(p1.write_end.get()),
                                descriptor(p2.write_end.get())});

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  uint_t n = 0;
  ASSERT_TRUE(read_value(call.data, &n));
  EXPECT_EQ(n, 3u);
  char c0 = 0, c1 = 0, c2 = 0;
  ASSERT_TRUE(read_exact(p0.read_end.get(), &c0, 1, Deadline::standard()));
  ASSERT_TRUE(read_exact(p1.read_end.get(), &c1, 1, Deadline::standard()));
  ASSERT_TRUE(read_exact(p2.read_end.get(), &c2, 1, Deadline::standard()));
  EXPECT_EQ(std::string({c0, c1, c2}), "012");
}

// --- server to client ------------------------------------------------------------------------

// The server's file: opened on "open:<path>" (offset moved to 4) and kept; "offset" replies
// its current offset as an int64.
int g_server_file = -1;

void file_server_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  std::string_view args(argp, argp == nullptr ? 0 : n);
  if (args.substr(0, 5) == "open:") {
    std::string path(args.substr(5));
    g_server_file = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    ::lseek(g_server_file, 4, SEEK_SET);
    door_desc_t d = descriptor(g_server_file);
    reply("opened", &d, 1);
    return;
  }
  std::int64_t offset = ::lseek(g_server_file, 0, SEEK_CUR);
  reply_value(offset);
}

struct FileServer {
  TempDir dir;
  std::string file = [this] {
    std::string p = dir.make_file("data");
    UniqueFd f(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
    (void)write_all(f.get(), "0123456789", 10);
    return p;
  }();
  std::unique_ptr<ForkedServer> server = fork_door_server(dir.file("door"), file_server_proc);
  UniqueFd client = open_door(dir.file("door"));
  CallOutcome open_call() { return call_door(client.get(), "open:" + file); }
};

// door_return(3C): returned descriptors arrive as new descriptors in the caller, with
// DOOR_DESCRIPTOR in d_attributes.
TEST(DoorReturn, OpenedFile_ArrivesAsDescriptor) {
  FileServer fs;
  ASSERT_NE(fs.server, nullptr);
  fs.server->skip_leak_check("file_server_proc keeps the file it opened (its offset is checked)");

  CallOutcome sut = fs.open_call();

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, "opened");
  ASSERT_EQ(sut.descs.size(), 1u);
  EXPECT_TRUE(sut.descs[0].d_attributes & DOOR_DESCRIPTOR) << std::hex << sut.descs[0].d_attributes;
  UniqueFd received(sut.descs[0].d_data.d_desc.d_descriptor);
  EXPECT_TRUE(fd_is_open(received.get()));
}

// A passed descriptor shares the open file description: the same offset in both processes.
TEST(DoorReturn, OpenedFile_SharesOffsetWithServer) {
  FileServer fs;
  ASSERT_NE(fs.server, nullptr);
  fs.server->skip_leak_check("file_server_proc keeps the file it opened (its offset is checked)");
  CallOutcome call = fs.open_call();
  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  ASSERT_EQ(call.descs.size(), 1u);
  UniqueFd received(call.descs[0].d_data.d_desc.d_descriptor);

  char got[2] = {};
  ASSERT_EQ(::read(received.get(), got, 2), 2) << std::strerror(errno);

  EXPECT_EQ(std::string(got, 2), "45") << "the server's lseek(4) is not seen by the client";
  CallOutcome offset_call = call_door(fs.client.get(), "offset");
  std::int64_t server_offset = -1;
  ASSERT_TRUE(read_value(offset_call.data, &server_offset));
  EXPECT_EQ(server_offset, 6) << "the client's read is not seen by the server";
}

// "give": a pipe's write end returned with DOOR_RELEASE, the read end kept. "check": whether
// the read end sees end of file, i.e. every write end is closed, the server's included.
int g_kept_read_end = -1;

void release_on_return_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  std::string_view args(argp, argp == nullptr ? 0 : n);
  if (args == "give") {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) child_fail("pipe2");
    g_kept_read_end = fds[0];
    door_desc_t d = descriptor(fds[1], DOOR_RELEASE);
    reply("", &d, 1);
    return;
  }
  bool eof = poll_readable(g_kept_read_end, Deadline::in(std::chrono::seconds(3)));
  char c;
  eof = eof && ::read(g_kept_read_end, &c, 1) == 0;
  reply_value(static_cast<std::uint8_t>(eof));
}

// door_return(3C): with DOOR_RELEASE the server's descriptor is closed once passed.
TEST(DoorReturn, DescriptorWithRelease_ClosesServersCopy) {
  TempDir dir;
  auto server = fork_door_server(dir.file("door"), release_on_return_proc);
  ASSERT_NE(server, nullptr);
  server->skip_leak_check("the procedure keeps the pipe's read end to see every write end close");
  UniqueFd client = open_door(dir.file("door"));
  CallOutcome give = call_door(client.get(), "give");
  ASSERT_EQ(give.rc, 0) << std::strerror(give.err);
  ASSERT_EQ(give.descs.size(), 1u);
  ::close(give.descs[0].d_data.d_desc.d_descriptor);  // the client's copy

  CallOutcome check = call_door(client.get(), "check");

  ASSERT_EQ(check.rc, 0) << std::strerror(check.err);
  std::uint8_t all_closed = 0;
  ASSERT_TRUE(read_value(check.data, &all_closed));
  EXPECT_TRUE(all_closed) << "the server still holds the descriptor it returned with DOOR_RELEASE";
}

// --- a door descriptor passed on -----------------------------------------------------------

// Server A attaches an outer door whose procedure returns a descriptor for a second, inner door.
struct TwoDoors {
  pid_t pid;
  door_info_t outer;
  door_info_t inner;
};

int g_inner_door = -1;

void inner_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  reply("inner:" + std::string(argp, argp == nullptr ? 0 : n));
}

void give_inner_proc(void*, char*, std::size_t, door_desc_t*, uint_t) {
  door_desc_t d = descriptor(g_inner_door);
  reply("", &d, 1);
}

std::unique_ptr<ForkedServer> fork_server_a(const std::string& path) {
  auto server = std::make_unique<ForkedServer>([&](ForkedServer::Child& child) {
    g_inner_door = door_create(inner_proc, nullptr, DOOR_NO_CANCEL);
    if (g_inner_door < 0) child_fail("door_create");
    int outer = child_serve_at(path, give_inner_proc);
    TwoDoors doors{::getpid(), {}, {}};
    if (door_info(outer, &doors.outer) != 0 || door_info(g_inner_door, &doors.inner) != 0)
      child_fail("door_info");
    child.ready_with(doors);
    child_wait_forever();
  });
  auto ready = server->wait_ready();
  if (!ready) {
    ADD_FAILURE() << ready.message();
    return nullptr;
  }
  return server;
}

// Server C, the third process: calls the door it is passed with "hello" and replies with what
// that door answered (or "error <errno>").
void call_passed_door_proc(void*, char*, std::size_t, door_desc_t* dp, uint_t n) {
  if (n != 1 || !(dp[0].d_attributes & DOOR_DESCRIPTOR)) {
    reply("error: no descriptor");
    return;
  }
  int d = dp[0].d_data.d_desc.d_descriptor;
  CallOutcome out = call_door(d, "hello");
  ::close(d);
  reply(out.rc == 0 ? out.data : "error " + std::to_string(out.err));
}

struct PassingDoors {
  TempDir dir;
  // Both servers are forked before this process makes any door call.
  std::unique_ptr<ForkedServer> a = fork_server_a(dir.file("a"));
  std::unique_ptr<ForkedServer> c = fork_door_server(dir.file("c"), call_passed_door_proc);
  UniqueFd client_a = open_door(dir.file("a"));
  UniqueFd client_c = open_door(dir.file("c"));
  TwoDoors a_doors() const { return a->payload_as<TwoDoors>(); }
};

#define ASSERT_PASSING_OK(p)         \
  ASSERT_NE((p).a, nullptr);         \
  ASSERT_NE((p).c, nullptr);         \
  ASSERT_TRUE((p).client_a.valid()); \
  ASSERT_TRUE((p).client_c.valid())

TEST(DoorCall, ReceivedDoorDescriptor_IsCallable) {
  PassingDoors p;
  ASSERT_PASSING_OK(p);
  CallOutcome got = call_door(p.client_a.get(), "");
  ASSERT_EQ(got.rc, 0) << std::strerror(got.err);
  ASSERT_EQ(got.descs.size(), 1u);
  UniqueFd inner(got.descs[0].d_data.d_desc.d_descriptor);

  CallOutcome sut = call_door(inner.get(), "direct");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, "inner:direct");
}

// door_call(3C): a passed door keeps its identity: d_id is its di_uniquifier.
TEST(DoorCall, ReceivedDoorDescriptor_DIdEqualsUniquifier) {
  PassingDoors p;
  ASSERT_PASSING_OK(p);

  CallOutcome sut = call_door(p.client_a.get(), "");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  ASSERT_EQ(sut.descs.size(), 1u);
  UniqueFd inner(sut.descs[0].d_data.d_desc.d_descriptor);
  EXPECT_TRUE(sut.descs[0].d_attributes & DOOR_DESCRIPTOR);
  EXPECT_EQ(value_of(sut.descs[0].d_data.d_desc.d_id), value_of(p.a_doors().inner.di_uniquifier));
  door_info_t info{};
  ASSERT_EQ(door_info(inner.get(), &info), 0) << std::strerror(errno);
  EXPECT_EQ(value_of(sut.descs[0].d_data.d_desc.d_id), value_of(info.di_uniquifier));
}

TEST(DoorCall, ReceivedDoorDescriptor_DoorInfoNamesItsServer) {
  PassingDoors p;
  ASSERT_PASSING_OK(p);
  CallOutcome got = call_door(p.client_a.get(), "");
  ASSERT_EQ(got.rc, 0) << std::strerror(got.err);
  ASSERT_EQ(got.descs.size(), 1u);
  UniqueFd inner(got.descs[0].d_data.d_desc.d_descriptor);
  door_info_t sut{};

  ASSERT_EQ(door_info(inner.get(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.di_target, p.a->pid());
  EXPECT_FALSE(sut.di_attributes & DOOR_LOCAL);
  EXPECT_TRUE(sut.di_attributes & DOOR_NO_CANCEL);
  EXPECT_EQ(value_of(sut.di_proc), value_of(p.a_doors().inner.di_proc));
}

// Any descriptor can be passed, door descriptors included, and they keep their identity: the
// client hands the door it got from A to C, and C's call reaches A's inner door.
TEST(DoorCall, DoorDescriptorPassedToThirdProcess_ThirdCanCallIt) {
  PassingDoors p;
  ASSERT_PASSING_OK(p);
  for (ForkedServer* server : {p.a.get(), p.c.get()})
    server->skip_leak_check(
        "server C calls A's door from a pool thread, which keeps that channel "
        "(as every libdoors thread does) until it ends: by design");
  CallOutcome got = call_door(p.client_a.get(), "");
  ASSERT_EQ(got.rc, 0) << std::strerror(got.err);
  ASSERT_EQ(got.descs.size(), 1u);
  int inner = got.descs[0].d_data.d_desc.d_descriptor;

  CallOutcome sut = call_door(p.client_c.get(), "", {descriptor(inner, DOOR_RELEASE)});

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, "inner:hello");
}

}  // namespace
}  // namespace doors::test
